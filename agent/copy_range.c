/*
 * agent/copy_range.c
 *     The condition that picks one part of a split table: a block range
 *     from PostgreSQL 14 on, a primary key range before.
 *
 * Every part of a table must compute the same bounds, or rows are lost
 * or doubled: the bounds depend only on the part's numbers and on what
 * the task's snapshot shows, which is the same for every part.
 */
#include "agent/copy_range.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/pgconn.h"
#include "common/strbuf.h"

/* The first version with TID range scans */
#define COPY_RANGE_TID_SCAN 140000

/*
 * The table's primary key when it is one column of an integer type, and
 * its smallest and largest value (NULL, NULL for an empty table); no row
 * when there is no such key. The key's name comes back quoted.
 */
static const char *const s_key_sql =
    "SELECT quote_ident(a.attname) "
    "  FROM pg_index i "
    "  JOIN pg_attribute a ON a.attrelid = i.indrelid "
    "                     AND a.attnum = i.indkey[0] "
    " WHERE i.indrelid = $1::regclass AND i.indisprimary "
    "   AND i.indnatts = 1 "
    "   AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, "
    "                      'int8'::regtype)";

int64_t
copy_range_bound(int64_t min, int64_t max, uint32_t i, uint32_t n)
{
    /* unsigned: max - min may not fit in an int64, it fits in a uint64;
     * span / n * i + (span % n) * i / n is i/n of span, exactly rounded
     * down, and neither product can overflow for n < 2^32 */
    uint64_t span = (uint64_t) max - (uint64_t) min;
    uint64_t offset = span / n * i + (span % n) * i / n;

    return (int64_t) ((uint64_t) min + offset);
}

/* ctid >= '(first,0)' AND ctid < '(last,0)', the last part open-ended
 * so that no row past the size measured at prepare time is missed */
static char *
s_block_range(const Pgconvoy__TableRef *t)
{
    char upper[64] = "";

    if (t->last_page > 0)
    {
        snprintf(upper, sizeof upper, " AND ctid < '(%lld,0)'::tid",
                 (long long) t->last_page);
    }
    return xasprintf("ctid >= '(%lld,0)'::tid%s", (long long) t->first_page,
                     upper);
}

/* key >= bound(part) AND key < bound(part + 1), the first and last parts
 * open-ended: a row written after prepare, with a key outside the range
 * then measured, is still in one part. */
static char *
s_key_range(const Pgconvoy__TableRef *t, const char *key, int64_t min,
            int64_t max)
{
    strbuf_t *where = strbuf_new();

    if (t->part > 0)
    {
        strbuf_appendf(where, "%s >= %" PRId64, key,
                       copy_range_bound(min, max, t->part, t->parts));
    }
    if (t->part + 1 < t->parts)
    {
        strbuf_appendf(where, "%s%s < %" PRId64, t->part > 0 ? " AND " : "",
                       key, copy_range_bound(min, max, t->part + 1, t->parts));
    }
    if (strbuf_len(where) == 0)
    {
        strbuf_append(where, "true"); /* one part: cannot happen, but safe */
    }
    return strbuf_finish(&where);
}

char *
copy_range_where(PGconn *src, const Pgconvoy__TableRef *t, const char *qualified,
                 char **error)
{
    const char *params[1] = {qualified};
    PGresult *r = NULL;
    char *key = NULL;
    char *sql = NULL;
    char *where = NULL;

    if (PQserverVersion(src) >= COPY_RANGE_TID_SCAN)
    {
        return s_block_range(t);
    }
    r = pgconn_query(src, s_key_sql, 1, params, error);
    if (r == NULL)
    {
        return NULL;
    }
    if (PQntuples(r) == 0)
    {
        /* no key to cut by: one part reads it all, in one scan */
        PQclear(r);
        return xstrdup(t->part == 0 ? "true" : "false");
    }
    key = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    sql = xasprintf("SELECT min(%s)::int8, max(%s)::int8 FROM ONLY %s", key,
                    key, qualified);
    r = pgconn_query(src, sql, 0, NULL, error);
    if (r != NULL)
    {
        if (PQgetisnull(r, 0, 0) || PQgetisnull(r, 0, 1))
        {
            where = xstrdup(t->part == 0 ? "true" : "false"); /* empty */
        }
        else
        {
            where = s_key_range(t, key, strtoll(PQgetvalue(r, 0, 0), NULL, 10),
                                strtoll(PQgetvalue(r, 0, 1), NULL, 10));
        }
    }
    PQclear(r);
    free(sql);
    free(key);
    return where;
}
