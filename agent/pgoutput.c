/*
 * agent/pgoutput.c
 *     Decoding pgoutput protocol version 1 messages, and the cache of
 *     Relation messages that gives row changes their column names.
 *
 * Message layouts follow PostgreSQL 15's src/backend/replication/logical/
 * proto.c (logicalrep_write_*). Every byte is read through one reader_t,
 * whose reads are bounds-checked and sticky: after the first failure every
 * read returns zero and moves nothing, and the first error is the one
 * reported. Counts read from the wire are checked against the bytes left
 * before anything is allocated for them, so a corrupt count cannot make us
 * allocate much more than the message itself.
 */
#include "agent/pgoutput.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"

#define PGOUTPUT_ERROR_SIZE 256

/* Bytes a Relation message needs at least per column: flags, name's NUL,
 * type oid, typmod. */
#define RELATION_COLUMN_MIN_SIZE (1 + 1 + 4 + 4)

/* A cached Relation message. */
typedef struct
{
    pgoutput_relation_t rel;    /* strings point into raw */
    pgoutput_column_t *columns; /* owned, rel.columns */
    char *raw;                  /* owned copy of the whole message */
} relentry_t;

/* Space reused from one message to the next. */
typedef struct
{
    pgoutput_value_t *values; /* owned */
    size_t capacity;          /* values allocated */
} values_buf_t;

struct pgoutput_t
{
    relentry_t **rels;               /* owned, sorted by relid */
    size_t nrels;                    /* entries used */
    size_t rels_capacity;            /* entries allocated */
    values_buf_t old_values;         /* the last change's old tuple */
    values_buf_t new_values;         /* the last change's new tuple */
    uint32_t *relids;                /* owned, the last Truncate's */
    size_t relids_capacity;          /* relids allocated */
    char error[PGOUTPUT_ERROR_SIZE]; /* why the last decode failed */
};

/* A bounds-checked read position in one message. */
typedef struct
{
    const uint8_t *data; /* the message, borrowed */
    size_t len;          /* its length */
    size_t pos;          /* offset of the next byte to read */
    const char *name;    /* the message's name, for errors ("Insert") */
    char *error;         /* the decoder's error buffer */
    bool failed;         /* an error was set: reads return 0 from now on */
} reader_t;

/* ---- the reader -------------------------------------------------------- */

/* Sets the error (the first one only) and fails the reader. */
static void s_fail(reader_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_fail(reader_t *r, const char *fmt, ...)
{
    if (r->failed)
    {
        return;
    }
    r->failed = true;
    int n = snprintf(r->error, PGOUTPUT_ERROR_SIZE,
                     "cannot decode %s%smessage: ", r->name ? r->name : "",
                     r->name ? " " : "");
    if (n > 0 && n < PGOUTPUT_ERROR_SIZE)
    {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(r->error + n, PGOUTPUT_ERROR_SIZE - (size_t) n, fmt,
                         ap);
        va_end(ap);
    }
    /* names from the stream are quoted, and a table may be called
     * "a<newline>b": the error stays one line (issue 9) */
    char *escaped = strbuf_escape_controls(r->error);
    (void) snprintf(r->error, PGOUTPUT_ERROR_SIZE, "%s", escaped);
    free(escaped);
}

/* Returns the next n bytes and moves past them, or NULL if they are not
 * all there. */
static const uint8_t *
s_take(reader_t *r, size_t n, const char *field)
{
    if (r->failed)
    {
        return NULL;
    }
    if (n > r->len - r->pos)
    {
        s_fail(
            r,
            "%zu-byte %s at byte %zu runs past the end of the message at byte %zu",
            n, field, r->pos, r->len);
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

/* Reads an n-byte big-endian unsigned integer; 0 on failure. */
static uint64_t
s_read_uint(reader_t *r, size_t n, const char *field)
{
    const uint8_t *p = s_take(r, n, field);
    uint64_t value = 0;

    for (size_t i = 0; p != NULL && i < n; i++)
    {
        value = value << 8 | p[i];
    }
    return value;
}

static uint8_t
s_read_u8(reader_t *r, const char *field)
{
    return (uint8_t) s_read_uint(r, 1, field);
}

static uint32_t
s_read_u32(reader_t *r, const char *field)
{
    return (uint32_t) s_read_uint(r, 4, field);
}

static uint64_t
s_read_u64(reader_t *r, const char *field)
{
    return s_read_uint(r, 8, field);
}

/*
 * Reads a signed count of 2 or 4 bytes for items of at least item_size
 * bytes each, refusing one that is negative or that the rest of the
 * message cannot hold. 0 on failure.
 */
static uint32_t
s_read_count(reader_t *r, size_t n, size_t item_size, const char *field)
{
    size_t at = r->pos;
    uint64_t raw = s_read_uint(r, n, field);
    int64_t count = n == 2 ? (int16_t) raw : (int32_t) raw;

    if (r->failed)
    {
        return 0;
    }
    if (count < 0)
    {
        s_fail(r, "%s %lld at byte %zu is negative", field, (long long) count,
               at);
        return 0;
    }
    if ((uint64_t) count > (r->len - r->pos) / item_size)
    {
        s_fail(r,
               "%s %lld at byte %zu is more than the %zu bytes left can hold",
               field, (long long) count, at, r->len - r->pos);
        return 0;
    }
    return (uint32_t) count;
}

/* Reads a NUL-terminated string; NULL on failure. */
static const char *
s_read_string(reader_t *r, const char *field)
{
    if (r->failed)
    {
        return NULL;
    }
    const char *start = (const char *) r->data + r->pos;
    const char *nul = memchr(start, '\0', r->len - r->pos);
    if (nul == NULL)
    {
        s_fail(
            r,
            "%s at byte %zu has no terminating NUL before the message ends at byte %zu",
            field, r->pos, r->len);
        return NULL;
    }
    r->pos += (size_t) (nul - start) + 1;
    return start;
}

/* Reads an Int32 length and that many bytes; NULL on failure. */
static const char *
s_read_bytes(reader_t *r, const char *field, uint32_t *len)
{
    *len = s_read_count(r, 4, 1, field);
    return (const char *) s_take(r, *len, field);
}

/* Fails unless the reader is exactly at the end; returns 0 or -1. */
static int
s_finish(reader_t *r)
{
    if (!r->failed && r->pos != r->len)
    {
        s_fail(r,
               "%zu unexpected bytes after the end of the message at byte %zu",
               r->len - r->pos, r->pos);
    }
    return r->failed ? -1 : 0;
}

/* ---- the relation cache ------------------------------------------------ */

static void
s_relentry_destroy(relentry_t **entry_p)
{
    if (*entry_p == NULL)
    {
        return;
    }
    free((*entry_p)->columns);
    free((*entry_p)->raw);
    free(*entry_p);
    *entry_p = NULL;
}

/* The index of relid in self->rels, or of where it would go. */
static size_t
s_find_slot(const pgoutput_t *self, uint32_t relid)
{
    size_t lo = 0;
    size_t hi = self->nrels;

    while (lo < hi)
    {
        size_t mid = lo + (hi - lo) / 2;
        if (self->rels[mid]->rel.relid < relid)
        {
            lo = mid + 1;
        }
        else
        {
            hi = mid;
        }
    }
    return lo;
}

const pgoutput_relation_t *
pgoutput_find_relation(const pgoutput_t *self, uint32_t relid)
{
    size_t slot = s_find_slot(self, relid);

    if (slot < self->nrels && self->rels[slot]->rel.relid == relid)
    {
        return &self->rels[slot]->rel;
    }
    return NULL;
}

/* Stores entry (taking it), replacing the one with the same relid. */
static void
s_store_relation(pgoutput_t *self, relentry_t **entry_p)
{
    relentry_t *entry = *entry_p;
    size_t slot = s_find_slot(self, entry->rel.relid);

    *entry_p = NULL;
    if (slot < self->nrels && self->rels[slot]->rel.relid == entry->rel.relid)
    {
        s_relentry_destroy(&self->rels[slot]);
        self->rels[slot] = entry;
        return;
    }
    if (self->nrels == self->rels_capacity)
    {
        size_t capacity = self->rels_capacity ? self->rels_capacity * 2 : 16;
        relentry_t **rels = xcalloc(capacity, sizeof(relentry_t *));
        if (self->nrels > 0)
        {
            memcpy(rels, self->rels, self->nrels * sizeof(relentry_t *));
        }
        free(self->rels);
        self->rels = rels;
        self->rels_capacity = capacity;
    }
    memmove(&self->rels[slot + 1], &self->rels[slot],
            (self->nrels - slot) * sizeof(relentry_t *));
    self->rels[slot] = entry;
    self->nrels++;
}

/* Reads a relation id and finds it in the cache; NULL on failure. */
static const pgoutput_relation_t *
s_read_relation(pgoutput_t *self, reader_t *r)
{
    size_t at = r->pos;
    uint32_t relid = s_read_u32(r, "relation id");

    if (r->failed)
    {
        return NULL;
    }
    const pgoutput_relation_t *rel = pgoutput_find_relation(self, relid);
    if (rel == NULL)
    {
        s_fail(
            r,
            "unknown relation id %u at byte %zu (no Relation message described it)",
            relid, at);
    }
    return rel;
}

/* ---- messages ---------------------------------------------------------- */

/* Makes room for n values; the old contents are not kept. */
static pgoutput_value_t *
s_reserve_values(values_buf_t *buf, size_t n)
{
    if (n > buf->capacity)
    {
        free(buf->values);
        buf->values = xcalloc(n, sizeof *buf->values);
        buf->capacity = n;
    }
    return buf->values;
}

/* Reads TupleData for rel into buf and *out. */
static void
s_read_tuple(reader_t *r, const pgoutput_relation_t *rel, const char *which,
             values_buf_t *buf, pgoutput_tuple_t *out)
{
    size_t at = r->pos;
    uint32_t ncols = s_read_count(r, 2, 1, "column count");

    if (r->failed)
    {
        return;
    }
    if (ncols != rel->ncols)
    {
        s_fail(
            r,
            "%s tuple at byte %zu has %u columns, but relation %u \"%s.%s\" has %u",
            which, at, ncols, rel->relid, rel->nspname, rel->relname,
            rel->ncols);
        return;
    }
    pgoutput_value_t *values = s_reserve_values(buf, ncols);
    for (uint32_t i = 0; i < ncols && !r->failed; i++)
    {
        pgoutput_value_t *value = &values[i];
        size_t kind_at = r->pos;
        uint8_t kind = s_read_u8(r, "column kind");

        memset(value, 0, sizeof *value);
        switch (kind)
        {
            case PGOUTPUT_VALUE_NULL:
            case PGOUTPUT_VALUE_UNCHANGED:
                value->kind = (pgoutput_value_kind_t) kind;
                break;
            case PGOUTPUT_VALUE_TEXT:
            case PGOUTPUT_VALUE_BINARY:
                value->kind = (pgoutput_value_kind_t) kind;
                value->data = s_read_bytes(r, "value length", &value->len);
                break;
            default:
                s_fail(r, "unknown kind 0x%02X of column %u \"%s\" at byte %zu",
                       kind, i + 1, rel->columns[i].name, kind_at);
                break;
        }
    }
    out->ncols = (uint16_t) ncols;
    out->values = values;
}

/* Reads a one-byte tuple marker, failing unless it is one of allowed. */
static uint8_t
s_read_marker(reader_t *r, const char *allowed)
{
    size_t at = r->pos;
    uint8_t marker = s_read_u8(r, "tuple marker");

    if (!r->failed && (marker == 0 || strchr(allowed, marker) == NULL))
    {
        s_fail(r, "tuple marker 0x%02X at byte %zu is not one of \"%s\"",
               marker, at, allowed);
    }
    return marker;
}

static int
s_decode_begin(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    (void) self;
    msg->begin.final_lsn = s_read_u64(r, "final LSN");
    msg->begin.commit_time = (int64_t) s_read_u64(r, "commit time");
    msg->begin.xid = s_read_u32(r, "xid");
    return s_finish(r);
}

static int
s_decode_commit(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    (void) self;
    msg->commit.flags = s_read_u8(r, "flags");
    if (msg->commit.flags != 0)
    {
        /* as PostgreSQL's own apply worker does */
        s_fail(r, "unknown flags 0x%02X at byte 1", msg->commit.flags);
    }
    msg->commit.commit_lsn = s_read_u64(r, "commit LSN");
    msg->commit.end_lsn = s_read_u64(r, "end LSN");
    msg->commit.commit_time = (int64_t) s_read_u64(r, "commit time");
    return s_finish(r);
}

static int
s_decode_origin(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    (void) self;
    msg->origin.lsn = s_read_u64(r, "origin LSN");
    msg->origin.name = s_read_string(r, "origin name");
    return s_finish(r);
}

static int
s_decode_type(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    (void) self;
    msg->pgtype.oid = s_read_u32(r, "type oid");
    msg->pgtype.nspname = s_read_string(r, "namespace");
    msg->pgtype.name = s_read_string(r, "type name");
    return s_finish(r);
}

/* Decodes from a private copy of the message, which the cache keeps: the
 * names point into it. */
static int
s_decode_relation(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    relentry_t *entry = xcalloc(1, sizeof *entry);
    pgoutput_relation_t *rel = &entry->rel;
    reader_t copy = *r;

    entry->raw = xcalloc(r->len, 1);
    memcpy(entry->raw, r->data, r->len);
    copy.data = (const uint8_t *) entry->raw;

    rel->relid = s_read_u32(&copy, "relation id");
    rel->nspname = s_read_string(&copy, "namespace");
    rel->relname = s_read_string(&copy, "relation name");
    size_t ident_at = copy.pos;
    rel->replident = (char) s_read_u8(&copy, "replica identity");
    if (!copy.failed && strchr("dnfi", rel->replident) == NULL)
    {
        s_fail(&copy, "unknown replica identity 0x%02X at byte %zu",
               (uint8_t) rel->replident, ident_at);
    }
    uint32_t ncols =
        s_read_count(&copy, 2, RELATION_COLUMN_MIN_SIZE, "column count");
    entry->columns = xcalloc(ncols, sizeof *entry->columns);
    for (uint32_t i = 0; i < ncols && !copy.failed; i++)
    {
        pgoutput_column_t *column = &entry->columns[i];
        column->flags = s_read_u8(&copy, "column flags");
        column->name = s_read_string(&copy, "column name");
        column->type_oid = s_read_u32(&copy, "column type oid");
        column->typmod = (int32_t) s_read_u32(&copy, "column typmod");
    }
    rel->ncols = (uint16_t) ncols;
    rel->columns = entry->columns;
    if (s_finish(&copy) != 0)
    {
        s_relentry_destroy(&entry);
        return -1;
    }
    uint32_t relid = rel->relid;
    s_store_relation(self, &entry);
    msg->relation = pgoutput_find_relation(self, relid);
    return 0;
}

static int
s_decode_insert(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    pgoutput_change_t *change = &msg->change;

    change->relation = s_read_relation(self, r);
    (void) s_read_marker(r, "N");
    if (!r->failed)
    {
        s_read_tuple(r, change->relation, "new", &self->new_values,
                     &change->new_tuple);
    }
    return s_finish(r);
}

static int
s_decode_update(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    pgoutput_change_t *change = &msg->change;

    change->relation = s_read_relation(self, r);
    uint8_t marker = s_read_marker(r, "KON");
    if (!r->failed && marker != 'N')
    {
        change->old_kind = (char) marker;
        s_read_tuple(r, change->relation, "old", &self->old_values,
                     &change->old_tuple);
        (void) s_read_marker(r, "N");
    }
    if (!r->failed)
    {
        s_read_tuple(r, change->relation, "new", &self->new_values,
                     &change->new_tuple);
    }
    return s_finish(r);
}

static int
s_decode_delete(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    pgoutput_change_t *change = &msg->change;

    change->relation = s_read_relation(self, r);
    change->old_kind = (char) s_read_marker(r, "KO");
    if (!r->failed)
    {
        s_read_tuple(r, change->relation, "old", &self->old_values,
                     &change->old_tuple);
    }
    return s_finish(r);
}

static int
s_decode_truncate(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    /* checked against the bytes left, the options byte among them: that
     * is fine, as (1 + 4 * n) / 4 is still n */
    uint32_t nrelids = s_read_count(r, 4, 4, "relation count");

    msg->truncate.options = s_read_u8(r, "options");
    if (nrelids > self->relids_capacity)
    {
        free(self->relids);
        self->relids = xcalloc(nrelids, sizeof *self->relids);
        self->relids_capacity = nrelids;
    }
    for (uint32_t i = 0; i < nrelids && !r->failed; i++)
    {
        const pgoutput_relation_t *rel = s_read_relation(self, r);
        self->relids[i] = rel ? rel->relid : 0;
    }
    msg->truncate.nrelids = nrelids;
    msg->truncate.relids = self->relids;
    return s_finish(r);
}

static int
s_decode_message(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg)
{
    (void) self;
    msg->message.flags = s_read_u8(r, "flags");
    msg->message.lsn = s_read_u64(r, "LSN");
    msg->message.prefix = s_read_string(r, "prefix");
    msg->message.content = s_read_bytes(r, "content length", &msg->message.len);
    return s_finish(r);
}

typedef int (*decode_fn_t)(pgoutput_t *self, reader_t *r, pgoutput_msg_t *msg);

/* Every message type byte we know, by name; the later protocol versions'
 * have no decoder and are refused by name. */
static const struct
{
    uint8_t type;
    const char *name;
    decode_fn_t decode; /* NULL: not sent in protocol version 1 */
} s_messages[] = {
    {PGOUTPUT_BEGIN, "Begin", s_decode_begin},
    {PGOUTPUT_COMMIT, "Commit", s_decode_commit},
    {PGOUTPUT_ORIGIN, "Origin", s_decode_origin},
    {PGOUTPUT_RELATION, "Relation", s_decode_relation},
    {PGOUTPUT_TYPE, "Type", s_decode_type},
    {PGOUTPUT_INSERT, "Insert", s_decode_insert},
    {PGOUTPUT_UPDATE, "Update", s_decode_update},
    {PGOUTPUT_DELETE, "Delete", s_decode_delete},
    {PGOUTPUT_TRUNCATE, "Truncate", s_decode_truncate},
    {PGOUTPUT_MESSAGE, "Message", s_decode_message},
    {'S', "Stream Start", NULL},
    {'E', "Stream Stop", NULL},
    {'c', "Stream Commit", NULL},
    {'A', "Stream Abort", NULL},
    {'b', "Begin Prepare", NULL},
    {'P', "Prepare", NULL},
    {'K', "Commit Prepared", NULL},
    {'r', "Rollback Prepared", NULL},
    {'p', "Stream Prepare", NULL},
};

int
pgoutput_decode(pgoutput_t *self, const char *data, size_t len,
                pgoutput_msg_t *msg)
{
    reader_t r = {
        .data = (const uint8_t *) data,
        .len = len,
        .error = self->error,
    };
    size_t i = 0;

    assert(data != NULL || len == 0);
    memset(msg, 0, sizeof *msg);
    self->error[0] = '\0';

    uint8_t type = s_read_u8(&r, "message type");
    if (r.failed)
    {
        return -1;
    }
    while (i < sizeof s_messages / sizeof s_messages[0] &&
           s_messages[i].type != type)
    {
        i++;
    }
    if (i == sizeof s_messages / sizeof s_messages[0])
    {
        s_fail(&r, "unknown message type 0x%02X at byte 0", type);
        return -1;
    }
    r.name = s_messages[i].name;
    if (s_messages[i].decode == NULL)
    {
        s_fail(&r,
               "message type '%c' at byte 0 is not sent in protocol version 1",
               type);
        return -1;
    }
    msg->type = (pgoutput_msg_type_t) type;
    if (s_messages[i].decode(self, &r, msg) != 0)
    {
        memset(msg, 0, sizeof *msg);
        return -1;
    }
    return 0;
}

const char *
pgoutput_error(const pgoutput_t *self)
{
    return self->error;
}

pgoutput_t *
pgoutput_new(void)
{
    return xcalloc(1, sizeof(pgoutput_t));
}

void
pgoutput_destroy(pgoutput_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    pgoutput_t *self = *self_p;

    for (size_t i = 0; i < self->nrels; i++)
    {
        s_relentry_destroy(&self->rels[i]);
    }
    free(self->rels);
    free(self->old_values.values);
    free(self->new_values.values);
    free(self->relids);
    free(self);
    *self_p = NULL;
}

int64_t
pgoutput_now_us(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t) ts.tv_sec - PGOUTPUT_EPOCH_UNIX_SECONDS) * 1000000 +
           ts.tv_nsec / 1000;
}
