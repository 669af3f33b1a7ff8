/*
 * agent/checksum.c
 *     Row counts and content checksums of one table on both sides.
 */
#include "agent/checksum.h"

#include <stdlib.h>

#include "common/pgconn.h"
#include "common/strbuf.h"

/*
 * The checksums hash each row's text, which depends on session settings.
 * Every session pins how values print (PGCONN_PINNED_OPTIONS) but for
 * the time zone, which a timestamptz's text carries along and so need
 * not be one for values to travel; hashed, it must: a source database in
 * another time zone than the target's printed every timestamptz
 * differently, and identical tables failed validation.
 */
#define CHECKSUM_SETTINGS "SET TimeZone = 'UTC'"

int
checksum_pin_settings(PGconn *conn, char **error)
{
    return pgconn_command(conn, CHECKSUM_SETTINGS, error);
}

/*
 * Row count and an order-independent checksum of one table on one side,
 * sent without waiting: both sides compute at once. Each row is hashed
 * as a ROW() of the source's columns, named, so that a target table
 * whose columns stand in another order compares equal: pg_dump itself
 * puts an inheritance child's inherited columns before its own. The
 * list leaves out generated columns; each side computes its own.
 */
static int
s_send(PGconn *conn, const Pgconvoy__TableRef *t)
{
    char *q = pgconn_quote_qualified(conn, t->schema, t->name);
    char *row = t->columns[0] != '\0' ? xasprintf("ROW(%s)", t->columns)
                                       : xstrdup("r");
    char *sql = xasprintf(
        "SELECT count(*), coalesce(sum(('x' || substr(md5(%s::text), 1, 16))"
        "::bit(64)::bigint), 0) FROM ONLY %s r",
        row, q);
    int ok = PQsendQuery(conn, sql);

    free(sql);
    free(row);
    free(q);
    return ok ? 0 : -1;
}

/* "N rows, checksum C" of the query sent last (free() it), NULL with
 * *error set. */
static char *
s_get(PGconn *conn, char **error)
{
    PGresult *r = PQgetResult(conn);
    PGresult *extra = NULL;
    char *text = NULL;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
    {
        text = xasprintf("%s rows, checksum %s", PQgetvalue(r, 0, 0),
                         PQgetvalue(r, 0, 1));
    }
    else
    {
        *error = pgconn_error_text(conn, r);
    }
    PQclear(r);
    while ((extra = PQgetResult(conn)) != NULL)
    {
        PQclear(extra);
    }
    return text;
}

int
checksum_compare(PGconn *src, PGconn *tgt, const Pgconvoy__TableRef *t,
                 char **on_src, char **on_tgt, char **error)
{
    char *src_error = NULL;
    char *tgt_error = NULL;
    bool src_sent = s_send(src, t) == 0;
    bool tgt_sent = s_send(tgt, t) == 0;

    *on_src = src_sent ? s_get(src, &src_error) : NULL;
    *on_tgt = tgt_sent ? s_get(tgt, &tgt_error) : NULL;
    if (*on_src != NULL && *on_tgt != NULL)
    {
        return 0;
    }
    *error = xasprintf("table \"%s.%s\" could not be compared: source: %s; "
                       "target: %s",
                       t->schema, t->name,
                       src_error  ? src_error
                       : src_sent ? "-"
                                  : "could not send the query",
                       tgt_error  ? tgt_error
                       : tgt_sent ? "-"
                                  : "could not send the query");
    free(src_error);
    free(tgt_error);
    free(*on_src);
    free(*on_tgt);
    *on_src = NULL;
    *on_tgt = NULL;
    return -1;
}
