/*
 * agent/pgoutput.h
 *     Decodes the messages of pgoutput, PostgreSQL's logical replication
 *     output plugin (protocol version 1, as PostgreSQL 15 sends it), and
 *     keeps the Relation messages seen so far, so that the row changes that
 *     follow can be read column by column.
 *
 * Pure: no I/O and no logging. A message that cannot be decoded (truncated,
 * malformed, or about a relation never described) makes pgoutput_decode()
 * return -1 and leaves one line in pgoutput_error() saying what is wrong
 * and at which byte offset of the message, for the caller to log with the
 * context it alone has (slot, LSN). No byte past the given length is read.
 *
 * Lifetimes: a decoded pgoutput_msg_t borrows from the input buffer (every
 * string and value, except a Relation's names) and from the pgoutput_t
 * (tuples, truncate relation ids, the cached relations). It is valid until
 * the next pgoutput_decode() on the same pgoutput_t or until the buffer is
 * freed, whichever comes first.
 */
#ifndef PGCONVOY_PGOUTPUT_H
#define PGCONVOY_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>

/* Timestamps are microseconds since 2000-01-01 00:00 UTC, this many
 * seconds after the Unix epoch. */
#define PGOUTPUT_EPOCH_UNIX_SECONDS INT64_C(946684800)

/* pgoutput_column_t.flags: the column is part of the replica identity */
#define PGOUTPUT_COLUMN_KEY 0x01
/* pgoutput_truncate_t.options */
#define PGOUTPUT_TRUNCATE_CASCADE 0x01
#define PGOUTPUT_TRUNCATE_RESTART_IDENTITY 0x02
/* pgoutput_logical_message_t.flags: sent inside its transaction */
#define PGOUTPUT_MESSAGE_TRANSACTIONAL 0x01

/* The message type byte, the first byte of every message. */
typedef enum
{
    PGOUTPUT_BEGIN = 'B',
    PGOUTPUT_COMMIT = 'C',
    PGOUTPUT_ORIGIN = 'O',
    PGOUTPUT_RELATION = 'R',
    PGOUTPUT_TYPE = 'Y',
    PGOUTPUT_INSERT = 'I',
    PGOUTPUT_UPDATE = 'U',
    PGOUTPUT_DELETE = 'D',
    PGOUTPUT_TRUNCATE = 'T',
    PGOUTPUT_MESSAGE = 'M', /* pg_logical_emit_message(), option messages */
} pgoutput_msg_type_t;

/* One column of a tuple, as its kind byte says it was sent. */
typedef enum
{
    PGOUTPUT_VALUE_NULL = 'n',
    PGOUTPUT_VALUE_UNCHANGED = 'u', /* TOASTed and unchanged: not sent */
    PGOUTPUT_VALUE_TEXT = 't',      /* the type's output function */
    PGOUTPUT_VALUE_BINARY = 'b',    /* its send function, option binary */
} pgoutput_value_kind_t;

typedef struct
{
    pgoutput_value_kind_t kind;
    /* text or binary: borrowed from the input, NOT NUL-terminated;
     * NULL for null and unchanged */
    const char *data;
    uint32_t len; /* bytes at data; 0 for null and unchanged */
} pgoutput_value_t;

typedef struct
{
    uint16_t ncols;                 /* always the relation's column count */
    const pgoutput_value_t *values; /* ncols values, in column order */
} pgoutput_tuple_t;

typedef struct
{
    uint8_t flags;    /* PGOUTPUT_COLUMN_KEY */
    const char *name; /* NUL-terminated */
    uint32_t type_oid;
    int32_t typmod; /* -1: none */
} pgoutput_column_t;

/* Dropped and generated columns are not sent, in Relation messages or in
 * tuples. Names are as sent: the namespace is "" for pg_catalog. */
typedef struct
{
    uint32_t relid;
    const char *nspname;
    const char *relname;
    char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    uint16_t ncols;
    const pgoutput_column_t *columns; /* ncols, in tuple order */
} pgoutput_relation_t;

typedef struct
{
    uint64_t final_lsn;  /* of the commit record */
    int64_t commit_time; /* see PGOUTPUT_EPOCH_UNIX_SECONDS */
    uint32_t xid;
} pgoutput_begin_t;

typedef struct
{
    uint8_t flags;       /* always 0 in version 1; others are refused */
    uint64_t commit_lsn; /* the Begin's final_lsn */
    uint64_t end_lsn;    /* just past the commit record: confirm this one */
    int64_t commit_time; /* the Begin's commit_time */
} pgoutput_commit_t;

/* The transaction was replayed from elsewhere (a replication origin). */
typedef struct
{
    uint64_t lsn; /* the commit LSN on the origin */
    const char *name;
} pgoutput_origin_t;

/* A type that is not built in; sent before the first Relation using it. */
typedef struct
{
    uint32_t oid;
    const char *nspname;
    const char *name;
} pgoutput_type_t;

/* Insert, Update and Delete. */
typedef struct
{
    const pgoutput_relation_t *relation; /* from the cache, borrowed */
    /* 0: none (Insert, and Update when the key did not change under
     * replica identity default or index); 'K': the old key, with every
     * other column null; 'O': the whole old row (replica identity full) */
    char old_kind;
    pgoutput_tuple_t old_tuple; /* when old_kind is not 0 */
    pgoutput_tuple_t new_tuple; /* Insert and Update; empty for Delete */
} pgoutput_change_t;

typedef struct
{
    uint8_t options; /* PGOUTPUT_TRUNCATE_* */
    uint32_t nrelids;
    const uint32_t *relids; /* each one is in the cache */
} pgoutput_truncate_t;

typedef struct
{
    uint8_t flags; /* PGOUTPUT_MESSAGE_TRANSACTIONAL */
    uint64_t lsn;
    const char *prefix;
    const char *content; /* NOT NUL-terminated */
    uint32_t len;
} pgoutput_logical_message_t;

typedef struct
{
    pgoutput_msg_type_t type; /* says which member of the union is set */
    union
    {
        pgoutput_begin_t begin;
        pgoutput_commit_t commit;
        pgoutput_origin_t origin;
        const pgoutput_relation_t *relation; /* as now cached */
        pgoutput_type_t pgtype;
        pgoutput_change_t change; /* Insert, Update, Delete */
        pgoutput_truncate_t truncate;
        pgoutput_logical_message_t message;
    };
} pgoutput_msg_t;

/* Now, on the protocol's clock: microseconds since 2000-01-01 00:00 UTC
 * (commit times, standby status updates). */
int64_t pgoutput_now_us(void);

/* A decoder with its relation cache, for one replication stream. */
typedef struct pgoutput_t pgoutput_t;

pgoutput_t *pgoutput_new(void);
void pgoutput_destroy(pgoutput_t **self_p);

/*
 * Decodes one message: the payload of an XLogData ('w') message, from its
 * type byte on, len bytes. Borrows data (see the lifetimes above). A
 * Relation message replaces the cached relation with the same id, which
 * invalidates pointers to the old one. Returns 0, or -1 with *msg cleared
 * and pgoutput_error() set; a failed message changes no cached relation.
 * Message types of later protocol versions (streaming, two-phase) are
 * refused.
 */
int pgoutput_decode(pgoutput_t *self, const char *data, size_t len,
                    pgoutput_msg_t *msg);

/* Why the last pgoutput_decode() failed; valid until the next one. */
const char *pgoutput_error(const pgoutput_t *self);

/* The cached relation with this id, or NULL if no Relation described it. */
const pgoutput_relation_t *pgoutput_find_relation(const pgoutput_t *self,
                                                  uint32_t relid);

#endif
