/*
 * agent/copy_trim.c
 *     char(n) values of a binary COPY sent without their trailing blanks.
 *
 * A binary COPY's message is a row: a 16-bit field count, then each field
 * as a 32-bit length (-1 for NULL) and that many bytes, all big-endian.
 * The first message begins with the file header, the last is the trailer
 * (a field count of -1). A row is checked whole before any byte moves,
 * so a message of any other shape passes unchanged.
 */
#include "agent/copy_trim.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/pgconn.h"
#include "common/strbuf.h"

/* pg_type.oid of bpchar, fixed in every release */
#define COPY_TRIM_BPCHAR_OID 1042
/* a bpchar typmod is the length plus VARHDRSZ; -1 when none was given */
#define COPY_TRIM_VARHDRSZ 4
/* "PGCOPY\n\377\r\n\0", then 32-bit flags and a 32-bit extension length */
#define COPY_TRIM_SIGNATURE "PGCOPY\n\377\r\n"
#define COPY_TRIM_SIGNATURE_LEN 11
#define COPY_TRIM_HEADER_LEN 19

struct copy_trim_t
{
    bool *trim;      /* per column: char(n) on the target, owned */
    int n;           /* columns */
    bool useful;     /* any trim[i] */
    int64_t dropped; /* bytes left out so far */
};

copy_trim_t *
copy_trim_new_from_types(const Oid *types, const int *typmods, int n)
{
    copy_trim_t *self = xcalloc(1, sizeof *self);

    self->trim = xcalloc(n > 0 ? (size_t) n : 1, sizeof *self->trim);
    self->n = n;
    for (int i = 0; i < n; i++)
    {
        self->trim[i] =
            types[i] == COPY_TRIM_BPCHAR_OID && typmods[i] > COPY_TRIM_VARHDRSZ;
        self->useful = self->useful || self->trim[i];
    }
    return self;
}

copy_trim_t *
copy_trim_new(PGconn *tgt, const char *qualified, const char *columns,
              char **error)
{
    /* no row read: the result's description is the columns' types, in
     * the order of the list, as the target has them */
    char *sql = xasprintf("SELECT %s FROM %s LIMIT 0", columns, qualified);
    PGresult *r = PQexec(tgt, sql);
    copy_trim_t *self = NULL;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        *error = pgconn_error_text(tgt, r);
        goto cleanup;
    }
    int n = PQnfields(r);
    Oid *types = xcalloc(n > 0 ? (size_t) n : 1, sizeof *types);
    int *typmods = xcalloc(n > 0 ? (size_t) n : 1, sizeof *typmods);

    for (int i = 0; i < n; i++)
    {
        types[i] = PQftype(r, i);
        typmods[i] = PQfmod(r, i);
    }
    self = copy_trim_new_from_types(types, typmods, n);
    free(typmods);
    free(types);

cleanup:
    PQclear(r);
    free(sql);
    return self;
}

void
copy_trim_destroy(copy_trim_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    copy_trim_t *self = *self_p;

    free(self->trim);
    free(self);
    *self_p = NULL;
}

bool
copy_trim_is_useful(const copy_trim_t *self)
{
    return self->useful;
}

int64_t
copy_trim_dropped(const copy_trim_t *self)
{
    return self->dropped;
}

static uint32_t
s_get32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

static void
s_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

/* Where the row starts in msg: after the header if msg has one. Returns
 * that offset, or -1 if msg is a header too short to be one. */
static long
s_row_start(const unsigned char *msg, size_t len)
{
    if (len < COPY_TRIM_SIGNATURE_LEN ||
        memcmp(msg, COPY_TRIM_SIGNATURE, COPY_TRIM_SIGNATURE_LEN) != 0)
    {
        return 0;
    }
    if (len < COPY_TRIM_HEADER_LEN)
    {
        return -1;
    }
    uint32_t extension = s_get32(msg + COPY_TRIM_HEADER_LEN - 4);
    if (extension > len - COPY_TRIM_HEADER_LEN)
    {
        return -1;
    }
    return (long) (COPY_TRIM_HEADER_LEN + extension);
}

/* Whether row (len bytes) is exactly one row of self->n fields. */
static bool
s_is_row(const copy_trim_t *self, const unsigned char *row, size_t len)
{
    size_t pos = 2;

    if (len < 2 || (int) (row[0] << 8 | row[1]) != self->n)
    {
        return false;
    }
    for (int i = 0; i < self->n; i++)
    {
        if (len - pos < 4)
        {
            return false;
        }
        uint32_t field = s_get32(row + pos);
        pos += 4;
        if (field == UINT32_MAX) /* NULL */
        {
            continue;
        }
        if (field > len - pos)
        {
            return false;
        }
        pos += field;
    }
    return pos == len;
}

size_t
copy_trim_row(copy_trim_t *self, char *msg, size_t len)
{
    unsigned char *p = (unsigned char *) msg;
    long start = s_row_start(p, len);

    if (start < 0 || !s_is_row(self, p + start, len - (size_t) start))
    {
        return len;
    }
    /* each field moves down by what the fields before it lost */
    size_t from = (size_t) start + 2;
    size_t to = from;

    for (int i = 0; i < self->n; i++)
    {
        uint32_t field = s_get32(p + from);
        uint32_t kept = field;

        if (field != UINT32_MAX && self->trim[i])
        {
            while (kept > 0 && p[from + 4 + kept - 1] == ' ')
            {
                kept--;
            }
        }
        if (to != from || kept != field)
        {
            s_put32(p + to, kept);
            if (field != UINT32_MAX && kept > 0 && to != from)
            {
                memmove(p + to + 4, p + from + 4, kept);
            }
        }
        from += 4 + (field == UINT32_MAX ? 0 : field);
        to += 4 + (field == UINT32_MAX ? 0 : kept);
    }
    self->dropped += (int64_t) (from - to);
    return to;
}
