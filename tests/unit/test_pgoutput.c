/*
 * tests/unit/test_pgoutput.c
 *     The pgoutput decoder against real PostgreSQL 15 bytes (the fixtures
 *     record.sh recorded), and against every truncation and corruption of
 *     them we can think of.
 *
 * usage: test_pgoutput FIXTURE_DIR
 *
 * Each fixture is decoded and rendered as one line (relations by name,
 * values as text) that must equal the line below written from record.sh's
 * workload; then what a line cannot show (LSNs, xids, commit times,
 * pointers) is checked against index.txt and between Begin and Commit.
 * Every buffer handed to the decoder is a malloc() of exactly its length,
 * so AddressSanitizer sees any read past the end.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/pgoutput.h"
#include "check.h"
#include "common/lsn.h"
#include "common/strbuf.h"

#define MAX_FIXTURES 128
#define MAX_SESSIONS 4

typedef struct
{
    char name[64]; /* file name, "004_insert.bin" */
    char *data;    /* owned, exactly len bytes */
    size_t len;
    uint64_t lsn; /* index.txt: the lsn column of the peek */
    uint32_t xid; /* index.txt: the xid column */
} fixture_t;

typedef struct
{
    char name[64]; /* "text", "binary" */
    fixture_t *fixtures[MAX_FIXTURES];
    size_t count;
} session_t;

static session_t s_sessions[MAX_SESSIONS];
static size_t s_nsessions;
static size_t s_truncations; /* prefixes checked, for the summary */

/* ---- expected content, from record.sh's workload ---------------------- */

static const char *const s_text_expected[] = {
    "begin",
    "type public.mood",
    "relation public.accounts d id:int4:key name:text balance:numeric(786438) doc:text feeling:mood",
    "insert public.accounts new(t:1 t:alice t:10.50 t[3000] t:happy)",
    "insert public.accounts new(t:2 n n n n)",
    "commit",
    "begin",
    "update public.accounts new(t:1 t:alice t:99.99 u t:happy)",
    "commit",
    "begin",
    "update public.accounts old K(t:2 n n n n) new(t:3 n n n n)",
    "commit",
    "begin",
    "relation public.events f id:int8:key payload:varchar(44):key at:timestamptz:key",
    "insert public.events new(t:1 t:created t:2024-01-02 03:04:05+00)",
    "update public.events old O(t:1 t:created t:2024-01-02 03:04:05+00) new(t:1 t:changed t:2024-01-02 03:04:05+00)",
    "delete public.events old O(t:1 t:changed t:2024-01-02 03:04:05+00)",
    "commit",
    "begin",
    "relation public.order_lines d order_id:int4:key line_no:int2:key sku:varchar(24) qty:int4",
    "insert public.order_lines new(t:100 t:1 t:SKU-A t:2)",
    "insert public.order_lines new(t:100 t:2 t:SKU-B t:1)",
    "update public.order_lines new(t:100 t:2 t:SKU-B t:5)",
    "delete public.order_lines old K(t:100 t:1 n n)",
    "commit",
    "begin",
    "origin upstream 0/0ABCDEF0",
    "delete public.accounts old K(t:3 n n n n)",
    "commit",
    "begin",
    "relation public.accounts d id:int4:key name:text balance:numeric(786438) doc:text email:text",
    "insert public.accounts new(t:4 t:dave t:0.00 t:short t:dave@example.com)",
    "commit",
    "begin",
    "message transactional pgconvoy hello",
    "commit",
    "message pgconvoy now",
    "begin",
    /* TRUNCATE gives the tables new files, which sends their Relation again */
    "relation public.order_lines d order_id:int4:key line_no:int2:key sku:varchar(24) qty:int4",
    "relation public.events f id:int8:key payload:varchar(44):key at:timestamptz:key",
    "truncate cascade restart_identity public.order_lines public.events",
    "commit",
    "begin",
    "relation public.accounts d id:int4:key name:text balance:numeric(786438) doc:text email:text",
    "truncate public.accounts",
    "commit",
};

static const char *const s_binary_expected[] = {
    "begin",
    "type public.mood",
    "relation public.accounts d id:int4:key name:text balance:numeric(786438) doc:text feeling:mood",
    /* int4 1; text; numeric 10.50 (2 digits 10|5000, weight 0, scale 2);
     * the enum's send function sends its label */
    "insert public.accounts new(b:00000001 b:616c696365 b:0002000000000002000a1388 b[3000] b:6861707079)",
    "insert public.accounts new(b:00000002 n n n n)",
    "commit",
};

/* ---- fixtures ---------------------------------------------------------- */

static char *
s_read_file(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    strbuf_t *buf = strbuf_new();
    char chunk[4096];
    size_t n = 0;

    (void) snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "rb");
    if (file == NULL)
    {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0)
    {
        strbuf_append_len(buf, chunk, n);
    }
    CHECK(!ferror(file));
    fclose(file);
    *len = strbuf_len(buf);
    return strbuf_finish(&buf);
}

/* A malloc() of exactly len bytes holding data[0..len). */
static char *
s_exact_copy(const char *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    CHECK(copy != NULL);
    memcpy(copy, data, len);
    return copy;
}

/* Reads index.txt and every file it names. */
static void
s_load_fixtures(const char *dir)
{
    size_t len = 0;
    char *index = s_read_file(dir, "index.txt", &len);
    char *save = NULL;

    for (char *line = strtok_r(index, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
    {
        char name[64];
        char lsn[32];

        if (line[0] == '#')
        {
            continue;
        }
        if (sscanf(line, "session %63s", name) == 1)
        {
            CHECK(s_nsessions < MAX_SESSIONS);
            session_t *session = &s_sessions[s_nsessions++];
            (void) snprintf(session->name, sizeof session->name, "%s", name);
            continue;
        }
        char xid_text[16];
        char *end = NULL;
        CHECK(sscanf(line, "%63s %31s %15s", name, lsn, xid_text) == 3);
        unsigned long xid = strtoul(xid_text, &end, 10);
        CHECK(*end == '\0' && xid <= UINT32_MAX);
        CHECK(s_nsessions > 0);
        session_t *session = &s_sessions[s_nsessions - 1];
        CHECK(session->count < MAX_FIXTURES);
        fixture_t *f = xcalloc(1, sizeof *f);
        (void) snprintf(f->name, sizeof f->name, "%s", name);
        CHECK(lsn_parse(lsn, &f->lsn) == 0);
        f->xid = (uint32_t) xid;
        char *whole = s_read_file(dir, name, &f->len);
        f->data = s_exact_copy(whole, f->len);
        free(whole);
        session->fixtures[session->count++] = f;
    }
    free(index);
}

static void
s_free_fixtures(void)
{
    for (size_t i = 0; i < s_nsessions; i++)
    {
        for (size_t j = 0; j < s_sessions[i].count; j++)
        {
            free(s_sessions[i].fixtures[j]->data);
            free(s_sessions[i].fixtures[j]);
        }
    }
}

static const fixture_t *
s_fixture(const char *session, const char *name)
{
    for (size_t i = 0; i < s_nsessions; i++)
    {
        for (size_t j = 0; j < s_sessions[i].count; j++)
        {
            if (strcmp(s_sessions[i].name, session) == 0 &&
                strcmp(s_sessions[i].fixtures[j]->name, name) == 0)
            {
                return s_sessions[i].fixtures[j];
            }
        }
    }
    fprintf(stderr, "no fixture %s in session %s\n", name, session);
    exit(1);
}

/* The relation id of a Relation, Insert, Update or Delete fixture. */
static uint32_t
s_relid_of(const fixture_t *f)
{
    const unsigned char *p = (const unsigned char *) f->data + 1;

    CHECK(f->len >= 5);
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | p[3];
}

/* ---- rendering --------------------------------------------------------- */

/* Type names for rendering: built-in OIDs, and the user type of the last
 * Type message. */
static uint32_t s_user_type_oid;
static char s_user_type_name[64];

static const char *
s_type_name(uint32_t oid)
{
    static const struct
    {
        uint32_t oid;
        const char *name;
    } builtin[] = {{20, "int8"},     {21, "int2"},      {23, "int4"},
                   {25, "text"},     {1043, "varchar"}, {1184, "timestamptz"},
                   {1700, "numeric"}};

    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
    {
        if (builtin[i].oid == oid)
        {
            return builtin[i].name;
        }
    }
    return oid == s_user_type_oid ? s_user_type_name : "?";
}

static void
s_render_tuple(strbuf_t *out, const pgoutput_tuple_t *tuple)
{
    strbuf_append(out, "(");
    for (uint16_t i = 0; i < tuple->ncols; i++)
    {
        const pgoutput_value_t *v = &tuple->values[i];
        strbuf_append(out, i ? " " : "");
        if (v->kind == PGOUTPUT_VALUE_NULL ||
            v->kind == PGOUTPUT_VALUE_UNCHANGED)
        {
            CHECK(v->data == NULL && v->len == 0);
            strbuf_appendf(out, "%c", (char) v->kind);
        }
        else if (v->len > 32)
        {
            strbuf_appendf(out, "%c[%" PRIu32 "]", (char) v->kind, v->len);
        }
        else if (v->kind == PGOUTPUT_VALUE_TEXT)
        {
            strbuf_append(out, "t:");
            strbuf_append_len(out, v->data, v->len);
        }
        else
        {
            CHECK(v->kind == PGOUTPUT_VALUE_BINARY);
            strbuf_append(out, "b:");
            for (uint32_t j = 0; j < v->len; j++)
            {
                strbuf_appendf(out, "%02x", (unsigned char) v->data[j]);
            }
        }
    }
    strbuf_append(out, ")");
}

static void
s_render_change(strbuf_t *out, const char *verb, const pgoutput_change_t *c)
{
    strbuf_appendf(out, "%s %s.%s", verb, c->relation->nspname,
                   c->relation->relname);
    if (c->old_kind != 0)
    {
        strbuf_appendf(out, " old %c", c->old_kind);
        s_render_tuple(out, &c->old_tuple);
    }
    if (c->new_tuple.ncols > 0)
    {
        strbuf_append(out, " new");
        s_render_tuple(out, &c->new_tuple);
    }
}

/* One line for msg; relation names come from dec's cache. */
static char *
s_render(const pgoutput_t *dec, const pgoutput_msg_t *msg)
{
    strbuf_t *out = strbuf_new();
    char lsn[LSN_BUFSIZE];

    switch (msg->type)
    {
        case PGOUTPUT_BEGIN:
            strbuf_append(out, "begin");
            break;
        case PGOUTPUT_COMMIT:
            strbuf_append(out, "commit");
            break;
        case PGOUTPUT_ORIGIN:
            strbuf_appendf(out, "origin %s %s", msg->origin.name,
                           lsn_format(msg->origin.lsn, lsn));
            break;
        case PGOUTPUT_TYPE:
            strbuf_appendf(out, "type %s.%s", msg->pgtype.nspname,
                           msg->pgtype.name);
            break;
        case PGOUTPUT_RELATION:
            strbuf_appendf(out, "relation %s.%s %c", msg->relation->nspname,
                           msg->relation->relname, msg->relation->replident);
            for (uint16_t i = 0; i < msg->relation->ncols; i++)
            {
                const pgoutput_column_t *col = &msg->relation->columns[i];
                strbuf_appendf(out, " %s:%s", col->name,
                               s_type_name(col->type_oid));
                if (col->typmod != -1)
                {
                    strbuf_appendf(out, "(%" PRId32 ")", col->typmod);
                }
                if (col->flags & PGOUTPUT_COLUMN_KEY)
                {
                    strbuf_append(out, ":key");
                }
            }
            break;
        case PGOUTPUT_INSERT:
            s_render_change(out, "insert", &msg->change);
            break;
        case PGOUTPUT_UPDATE:
            s_render_change(out, "update", &msg->change);
            break;
        case PGOUTPUT_DELETE:
            s_render_change(out, "delete", &msg->change);
            break;
        case PGOUTPUT_TRUNCATE:
            strbuf_append(out, "truncate");
            if (msg->truncate.options & PGOUTPUT_TRUNCATE_CASCADE)
            {
                strbuf_append(out, " cascade");
            }
            if (msg->truncate.options & PGOUTPUT_TRUNCATE_RESTART_IDENTITY)
            {
                strbuf_append(out, " restart_identity");
            }
            for (uint32_t i = 0; i < msg->truncate.nrelids; i++)
            {
                const pgoutput_relation_t *rel =
                    pgoutput_find_relation(dec, msg->truncate.relids[i]);
                CHECK(rel != NULL);
                strbuf_appendf(out, " %s.%s", rel->nspname, rel->relname);
            }
            break;
        case PGOUTPUT_MESSAGE:
            strbuf_appendf(out, "message%s %s ",
                           (msg->message.flags & PGOUTPUT_MESSAGE_TRANSACTIONAL)
                               ? " transactional"
                               : "",
                           msg->message.prefix);
            strbuf_append_len(out, msg->message.content, msg->message.len);
            break;
    }
    return strbuf_finish(&out);
}

/* ---- decoding the recorded sessions ------------------------------------ */

/*
 * Every prefix of f, 0 to len-1 bytes, must be refused with a message that
 * names a byte offset, and must leave the relation cache as it was.
 */
static void
s_check_truncations(pgoutput_t *dec, const fixture_t *f)
{
    pgoutput_msg_t msg;
    uint32_t relid = 0;
    const pgoutput_relation_t *before = NULL;

    if (f->data[0] == PGOUTPUT_RELATION)
    {
        relid = s_relid_of(f);
        before = pgoutput_find_relation(dec, relid);
    }
    for (size_t len = 0; len < f->len; len++)
    {
        char *prefix = s_exact_copy(f->data, len);
        int rc = pgoutput_decode(dec, prefix, len, &msg);
        if (rc != -1)
        {
            fprintf(stderr, "%s: prefix of %zu bytes was accepted\n", f->name,
                    len);
        }
        CHECK(rc == -1);
        CHECK(msg.type == 0); /* cleared */
        CHECK_CONTAINS(pgoutput_error(dec), "cannot decode ");
        CHECK_CONTAINS(pgoutput_error(dec), " at byte ");
        CHECK(relid == 0 || pgoutput_find_relation(dec, relid) == before);
        free(prefix);
        s_truncations++;
    }
}

/* What one transaction looked like so far, to check Commit against Begin. */
typedef struct
{
    bool open;
    pgoutput_begin_t begin;
    uint32_t xid; /* index.txt's xid of the Begin */
} txn_t;

static void
s_check_stream(txn_t *txn, const fixture_t *f, const pgoutput_msg_t *msg)
{
    /* 2024-01-01 00:00 UTC in PostgreSQL's epoch: recorded after that */
    const int64_t since =
        (INT64_C(1704067200) - PGOUTPUT_EPOCH_UNIX_SECONDS) * INT64_C(1000000);

    switch (msg->type)
    {
        case PGOUTPUT_BEGIN:
            CHECK(!txn->open);
            txn->open = true;
            txn->begin = msg->begin;
            txn->xid = f->xid;
            CHECK(msg->begin.xid == f->xid);
            /* f->lsn: of the first change (PostgreSQL 15 sends Begin with it) */
            CHECK(msg->begin.final_lsn >= f->lsn);
            CHECK(msg->begin.commit_time >= since);
            break;
        case PGOUTPUT_COMMIT:
            CHECK(txn->open);
            txn->open = false;
            CHECK(f->xid == txn->xid);
            CHECK(msg->commit.flags == 0);
            CHECK(msg->commit.commit_lsn == txn->begin.final_lsn);
            CHECK(msg->commit.end_lsn == f->lsn);
            CHECK(msg->commit.end_lsn > msg->commit.commit_lsn);
            CHECK(msg->commit.commit_time == txn->begin.commit_time);
            break;
        case PGOUTPUT_MESSAGE:
            CHECK(msg->message.lsn == f->lsn);
            /* transactional messages belong to the open transaction */
            CHECK(txn->open ==
                  ((msg->message.flags & PGOUTPUT_MESSAGE_TRANSACTIONAL) != 0));
            CHECK(f->xid == (txn->open ? txn->xid : 0));
            break;
        default:
            CHECK(txn->open);
            CHECK(f->xid == txn->xid);
            break;
    }
}

/* Decodes a session in order, each message after all its truncations. */
static void
s_run_session(const char *name, const char *const *expected, size_t nexpected)
{
    const session_t *session = NULL;
    pgoutput_t *dec = pgoutput_new();
    txn_t txn = {0};

    for (size_t i = 0; i < s_nsessions; i++)
    {
        if (strcmp(s_sessions[i].name, name) == 0)
        {
            session = &s_sessions[i];
        }
    }
    CHECK(session != NULL);
    CHECK(session->count == nexpected);
    for (size_t i = 0; i < session->count; i++)
    {
        const fixture_t *f = session->fixtures[i];
        pgoutput_msg_t msg;

        s_check_truncations(dec, f);
        if (pgoutput_decode(dec, f->data, f->len, &msg) != 0)
        {
            fprintf(stderr, "%s: %s\n", f->name, pgoutput_error(dec));
            CHECK(false);
        }
        CHECK(pgoutput_error(dec)[0] == '\0');
        CHECK((char) msg.type == f->data[0]);
        if (msg.type == PGOUTPUT_TYPE)
        {
            s_user_type_oid = msg.pgtype.oid;
            (void) snprintf(s_user_type_name, sizeof s_user_type_name, "%s",
                            msg.pgtype.name);
        }
        char *line = s_render(dec, &msg);
        if (strcmp(line, expected[i]) != 0)
        {
            fprintf(stderr, "%s/%s:\n  decoded  %s\n  expected %s\n", name,
                    f->name, line, expected[i]);
            CHECK(false);
        }
        free(line);
        s_check_stream(&txn, f, &msg);
    }
    CHECK(!txn.open);
    pgoutput_destroy(&dec);
    CHECK(dec == NULL);
    pgoutput_destroy(&dec); /* NULL is fine */
}

/* Decodes the text session up to and including the fixture named last. */
static pgoutput_t *
s_decoder_after(const char *last, pgoutput_msg_t *msg)
{
    pgoutput_t *dec = pgoutput_new();
    const session_t *session = &s_sessions[0];

    CHECK(strcmp(session->name, "text") == 0);
    for (size_t i = 0; i < session->count; i++)
    {
        const fixture_t *f = session->fixtures[i];
        CHECK(pgoutput_decode(dec, f->data, f->len, msg) == 0);
        if (strcmp(f->name, last) == 0)
        {
            return dec;
        }
    }
    fprintf(stderr, "no fixture %s\n", last);
    exit(1);
}

/* What the rendered lines cannot show. */
static void
s_test_details(void)
{
    pgoutput_msg_t msg;
    pgoutput_t *dec = s_decoder_after("004_insert.bin", &msg);
    const pgoutput_value_t *doc = &msg.change.new_tuple.values[3];
    const fixture_t *f = s_fixture("text", "004_insert.bin");

    /* text values point into the input, and are the whole TOASTed value */
    CHECK(msg.type == PGOUTPUT_INSERT);
    CHECK(doc->kind == PGOUTPUT_VALUE_TEXT && doc->len == 3000);
    CHECK(doc->data > f->data && doc->data + doc->len <= f->data + f->len);
    for (uint32_t i = 0; i < doc->len; i++)
    {
        CHECK(doc->data[i] == '0' + (char) (i % 10));
    }
    const pgoutput_relation_t *accounts = msg.change.relation;
    CHECK(strcmp(accounts->columns[4].name, "feeling") == 0);
    CHECK(accounts->columns[4].type_oid == s_user_type_oid);
    CHECK(accounts->columns[4].type_oid >= 16384);
    uint32_t accounts_relid = accounts->relid;
    pgoutput_destroy(&dec);

    /* the 'u' column: no data at all */
    dec = s_decoder_after("008_update.bin", &msg);
    CHECK(msg.change.old_kind == 0);
    CHECK(msg.change.new_tuple.values[3].kind == PGOUTPUT_VALUE_UNCHANGED);
    CHECK(msg.change.new_tuple.values[3].data == NULL);
    pgoutput_destroy(&dec);

    /* old key: the key columns, every other one null */
    dec = s_decoder_after("011_update.bin", &msg);
    CHECK(msg.change.old_kind == 'K');
    CHECK(msg.change.old_tuple.ncols == 5);
    CHECK(msg.change.old_tuple.values[0].kind == PGOUTPUT_VALUE_TEXT);
    for (int i = 1; i < 5; i++)
    {
        CHECK(msg.change.old_tuple.values[i].kind == PGOUTPUT_VALUE_NULL);
    }
    pgoutput_destroy(&dec);

    /* replica identity full: the whole old row, every column a key */
    dec = s_decoder_after("017_delete.bin", &msg);
    CHECK(msg.change.old_kind == 'O');
    CHECK(msg.change.relation->replident == 'f');
    CHECK(msg.change.new_tuple.ncols == 0);
    CHECK(msg.change.new_tuple.values == NULL);
    pgoutput_destroy(&dec);

    /* the origin's LSN and timestamp, as record.sh set them */
    dec = s_decoder_after("026_begin.bin", &msg);
    CHECK(msg.begin.commit_time ==
          (INT64_C(1714979289) - PGOUTPUT_EPOCH_UNIX_SECONDS) *
              INT64_C(1000000)); /* 2024-05-06 07:08:09+00 */
    pgoutput_destroy(&dec);
    dec = s_decoder_after("027_origin.bin", &msg);
    CHECK(msg.origin.lsn == UINT64_C(0x0ABCDEF0));
    pgoutput_destroy(&dec);

    /* re-sent after ALTER TABLE: same relid, new columns, replaced */
    dec = s_decoder_after("031_relation.bin", &msg);
    CHECK(msg.relation->relid == accounts_relid);
    CHECK(pgoutput_find_relation(dec, accounts_relid) == msg.relation);
    CHECK(msg.relation->ncols == 5);
    CHECK(strcmp(msg.relation->columns[4].name, "email") == 0);
    CHECK(msg.relation->columns[4].type_oid == 25);
    pgoutput_destroy(&dec);

    /* truncate: relids in the order given, options as bits */
    dec = s_decoder_after("041_truncate.bin", &msg);
    CHECK(msg.truncate.nrelids == 2);
    CHECK(msg.truncate.options ==
          (PGOUTPUT_TRUNCATE_CASCADE | PGOUTPUT_TRUNCATE_RESTART_IDENTITY));
    CHECK(strcmp(pgoutput_find_relation(dec, msg.truncate.relids[0])->relname,
                 "order_lines") == 0);
    CHECK(strcmp(pgoutput_find_relation(dec, msg.truncate.relids[1])->relname,
                 "events") == 0);
    pgoutput_destroy(&dec);
    dec = s_decoder_after("045_truncate.bin", &msg);
    CHECK(msg.truncate.nrelids == 1 && msg.truncate.options == 0);
    CHECK(msg.truncate.relids[0] == accounts_relid);
    pgoutput_destroy(&dec);
}

/* ---- corrupted messages ------------------------------------------------ */

/* Issue 9: a table may be named "a<newline>b"; an error naming it is
 * still one line. */
static void
s_test_error_one_line(void)
{
    static const char relation[] = "R\0\0\x40\x0epublic\0a\nb\x1b\0d\0\1"
                                   "\1id\0\0\0\0\x17\xff\xff\xff\xff";
    static const char insert[] = "I\0\0\x40\x0eN\0\2nn";
    pgoutput_t *dec = pgoutput_new();
    pgoutput_msg_t msg;

    CHECK(pgoutput_decode(dec, relation, sizeof relation - 1, &msg) == 0);
    CHECK(strcmp(msg.relation->relname, "a\nb\x1b") == 0);
    CHECK(pgoutput_decode(dec, insert, sizeof insert - 1, &msg) == -1);
    CHECK_CONTAINS(pgoutput_error(dec),
                   "has 2 columns, but relation 16398 \"public.a\\nb\\x1b\" "
                   "has 1");
    pgoutput_destroy(&dec);
}

/*
 * Decodes fixture name (of the text session, with the decoder's cache as
 * it was just before it, or empty if fresh) with bytes [at, at+n) replaced
 * by patch and extra bytes appended; it must fail, saying want.
 */
static void
s_check_refused(const char *name, bool fresh, size_t at, const char *patch,
                size_t n, size_t extra, const char *want)
{
    const fixture_t *f = s_fixture("text", name);
    const session_t *session = &s_sessions[0];
    pgoutput_t *dec = pgoutput_new();
    pgoutput_msg_t msg;

    for (size_t i = 0; !fresh && session->fixtures[i] != f; i++)
    {
        const fixture_t *g = session->fixtures[i];
        CHECK(pgoutput_decode(dec, g->data, g->len, &msg) == 0);
    }
    CHECK(at + n <= f->len);
    char *data = xcalloc(f->len + extra, 1);
    memcpy(data, f->data, f->len);
    memcpy(data + at, patch, n);
    char *copy = s_exact_copy(data, f->len + extra);
    CHECK(pgoutput_decode(dec, copy, f->len + extra, &msg) == -1);
    CHECK(msg.type == 0);
    CHECK_CONTAINS(pgoutput_error(dec), want);
    free(copy);
    free(data);
    pgoutput_destroy(&dec);
}

static void
s_test_refusals(void)
{
    pgoutput_t *dec = pgoutput_new();
    pgoutput_msg_t msg;
    uint32_t accounts = s_relid_of(s_fixture("text", "003_relation.bin"));

    /* nothing at all */
    CHECK(pgoutput_decode(dec, NULL, 0, &msg) == -1);
    CHECK_CONTAINS(
        pgoutput_error(dec),
        "cannot decode message: 1-byte message type at byte 0 runs past the end of the message at byte 0");
    pgoutput_destroy(&dec);

    /* wrong type bytes */
    s_check_refused(
        "004_insert.bin", false, 0, "X", 1, 0,
        "cannot decode message: unknown message type 0x58 at byte 0");
    s_check_refused("004_insert.bin", false, 0, "\0", 1, 0,
                    "unknown message type 0x00 at byte 0");
    s_check_refused(
        "001_begin.bin", false, 0, "S", 1, 0,
        "cannot decode Stream Start message: message type 'S' at byte 0 is not sent in protocol version 1");

    /* a relation nobody described */
    char *want =
        xasprintf("cannot decode Insert message: unknown relation id %" PRIu32
                  " at byte 1 (no Relation message described it)",
                  accounts);
    s_check_refused("004_insert.bin", true, 0, "", 0, 0, want);
    free(want);
    s_check_refused(
        "041_truncate.bin", false, 10, "\0\0\0\1", 4, 0,
        "cannot decode Truncate message: unknown relation id 1 at byte 10");

    /* column counts (5 for accounts): smaller, larger, negative */
    want = xasprintf(
        "cannot decode Insert message: new tuple at byte 6 has 4 columns, but relation %" PRIu32
        " \"public.accounts\" has 5",
        accounts);
    s_check_refused("005_insert.bin", false, 6, "\0\4", 2, 0, want);
    free(want);
    want = xasprintf("old tuple at byte 6 has 6 columns, but relation %" PRIu32
                     " \"public.accounts\" has 5",
                     accounts);
    s_check_refused("011_update.bin", false, 6, "\0\6", 2, 0, want);
    free(want);
    s_check_refused("005_insert.bin", false, 6, "\xff\xff", 2, 0,
                    "column count -1 at byte 6 is negative");
    s_check_refused(
        "003_relation.bin", false, 22, "\x7f\xff", 2, 0,
        "cannot decode Relation message: column count 32767 at byte 22 is more than the 73 bytes left can hold");
    s_check_refused(
        "041_truncate.bin", false, 1, "\x80\0\0\0", 4, 0,
        "cannot decode Truncate message: relation count -2147483648 at byte 1 is negative");
    s_check_refused(
        "041_truncate.bin", false, 1, "\0\0\0\3", 4, 0,
        "relation count 3 at byte 1 is more than the 9 bytes left can hold");

    /* huge and negative lengths: 005 is I, relid, N, ncols, 't', length */
    s_check_refused(
        "005_insert.bin", false, 9, "\x7f\xff\xff\xff", 4, 0,
        "cannot decode Insert message: value length 2147483647 at byte 9 is more than the 5 bytes left can hold");
    s_check_refused("005_insert.bin", false, 9, "\xff\xff\xff\xfb", 4, 0,
                    "value length -5 at byte 9 is negative");
    s_check_refused(
        "035_message.bin", false, 19, "\x7f\xff\xff\xff", 4, 0,
        "cannot decode Message message: content length 2147483647 at byte 19 is more than the 5 bytes left can hold");

    /* unknown kinds and markers */
    s_check_refused("005_insert.bin", false, 14, "x", 1, 0,
                    "unknown kind 0x78 of column 2 \"name\" at byte 14");
    s_check_refused("005_insert.bin", false, 5, "K", 1, 0,
                    "tuple marker 0x4B at byte 5 is not one of \"N\"");
    s_check_refused(
        "028_delete.bin", false, 5, "N", 1, 0,
        "cannot decode Delete message: tuple marker 0x4E at byte 5 is not one of \"KO\"");
    s_check_refused("011_update.bin", false, 18, "K", 1, 0,
                    "tuple marker 0x4B at byte 18 is not one of \"N\"");
    s_check_refused("003_relation.bin", false, 21, "x", 1, 0,
                    "unknown replica identity 0x78 at byte 21");
    s_check_refused(
        "006_commit.bin", false, 1, "\1", 1, 0,
        "cannot decode Commit message: unknown flags 0x01 at byte 1");

    /* a string without its NUL, and bytes after the end */
    s_check_refused(
        "027_origin.bin", false, 17, "!", 1, 0,
        "cannot decode Origin message: origin name at byte 9 has no terminating NUL before the message ends at byte 18");
    s_check_refused(
        "001_begin.bin", false, 0, "", 0, 3,
        "cannot decode Begin message: 3 unexpected bytes after the end of the message at byte 21");

    /* a refused Relation leaves the cached one in place */
    const fixture_t *r = s_fixture("text", "031_relation.bin");
    char *bad = s_exact_copy(r->data, r->len);
    pgoutput_msg_t last;
    dec = s_decoder_after("005_insert.bin", &last);
    const pgoutput_relation_t *cached = last.change.relation;
    bad[21] = 'x';
    CHECK(pgoutput_decode(dec, bad, r->len, &msg) == -1);
    CHECK(pgoutput_find_relation(dec, cached->relid) == cached);
    CHECK(strcmp(cached->columns[4].name, "feeling") == 0);
    free(bad);
    pgoutput_destroy(&dec);
}

int
main(int argc, char **argv)
{
    if (argc != 2)
    {
        fprintf(stderr, "usage: test_pgoutput FIXTURE_DIR\n");
        return 2;
    }
    s_load_fixtures(argv[1]);
    CHECK(s_nsessions == 2);
    s_run_session("text", s_text_expected,
                  sizeof s_text_expected / sizeof s_text_expected[0]);
    s_run_session("binary", s_binary_expected,
                  sizeof s_binary_expected / sizeof s_binary_expected[0]);
    s_test_details();
    s_test_refusals();
    s_test_error_one_line();
    printf("test_pgoutput: %zu fixtures decoded, %zu truncations refused\n",
           s_sessions[0].count + s_sessions[1].count, s_truncations);
    s_free_fixtures();
    return 0;
}
