/*
 * agent/copy_analyze.c
 *     Statistics gathered in the copy's own transaction (copy_analyze.h).
 */
#include "agent/copy_analyze.h"

#include <stdlib.h>

#include "agent/target_tables.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

int
copy_analyze_find(PGconn *src, Pgconvoy__TableRef *const *tables, size_t n,
                  bool *ok, char **error)
{
    PGresult *r = target_tables_query(
        src, tables, n,
        "SELECT u.i FROM unnest($1::text[], $2::text[]) "
        "       WITH ORDINALITY AS u(s, n, i) "
        "  JOIN pg_catalog.pg_namespace ns ON ns.nspname = u.s "
        "  JOIN pg_catalog.pg_class c "
        "    ON c.relnamespace = ns.oid AND c.relname = u.n "
        " WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_index x "
        "                    WHERE x.indrelid = c.oid "
        "                      AND x.indexprs IS NOT NULL) "
        "   AND NOT EXISTS (SELECT FROM pg_catalog.pg_statistic_ext e "
        "                    WHERE e.stxrelid = c.oid) "
        "   AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h "
        "                    WHERE h.inhparent = c.oid)",
        error);

    if (r == NULL)
    {
        return -1;
    }
    for (size_t i = 0; i < n; i++)
    {
        ok[i] = false;
    }
    for (int row = 0; row < PQntuples(r); row++)
    {
        size_t i = (size_t) strtoull(PQgetvalue(r, row, 0), NULL, 10);
        if (i >= 1 && i <= n)
        {
            ok[i - 1] = true;
        }
    }
    PQclear(r);
    return 0;
}

int
copy_analyze_run(PGconn *tgt, const char *const *qualified, size_t n,
                 char **error)
{
    strbuf_t *sql = strbuf_new();
    int rc;

    strbuf_append(sql, "SAVEPOINT pgconvoy_analyze; ANALYZE ");
    for (size_t i = 0; i < n; i++)
    {
        strbuf_appendf(sql, "%s%s", i > 0 ? ", " : "", qualified[i]);
    }
    strbuf_append(sql, "; RELEASE SAVEPOINT pgconvoy_analyze");
    rc = pgconn_command(tgt, strbuf_data(sql), error);
    if (rc != 0)
    {
        char *ignored = NULL;

        /* a failed SAVEPOINT leaves nothing to roll back to: the
         * transaction is lost then, and its commit says so */
        (void) pgconn_command(tgt, "ROLLBACK TO SAVEPOINT pgconvoy_analyze",
                              &ignored);
        free(ignored);
    }
    strbuf_destroy(&sql);
    return rc;
}
