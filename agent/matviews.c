/*
 * agent/matviews.c
 *     Refreshing the target's materialized views at the cutover.
 *
 * Only views that are populated on the target are refreshed: finalize
 * populated those the source had populated, and one the source left
 * unpopulated (WITH NO DATA) stays so, as pg_restore leaves it. A view
 * reads other views only once they are refreshed: each one's level is
 * the longest chain of views beneath it, and levels go in order.
 */
#include "agent/matviews.h"

#include <inttypes.h>
#include <stdlib.h>

#include <czmq.h>

#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

static const char *const s_views_sql =
    "WITH RECURSIVE views AS ( "
    "  SELECT c.oid FROM pg_class c "
    "    JOIN pg_namespace n ON n.oid = c.relnamespace "
    "   WHERE c.relkind = 'm' AND c.relispopulated "
    "     AND n.nspname NOT IN ('pg_catalog', 'information_schema')), "
    /* view v reads view u: through v's rewrite rule */
    "reads AS ( "
    "  SELECT DISTINCT r.ev_class AS v, d.refobjid AS u "
    "    FROM pg_rewrite r "
    "    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass "
    "                    AND d.objid = r.oid "
    "                    AND d.refclassid = 'pg_class'::regclass "
    "   WHERE r.ev_class IN (SELECT oid FROM views) "
    "     AND d.refobjid IN (SELECT oid FROM views) "
    "     AND d.refobjid <> r.ev_class), "
    "levels (oid, level) AS ( "
    "  SELECT oid, 0 FROM views "
    "  UNION ALL "
    "  SELECT reads.v, levels.level + 1 FROM levels "
    "    JOIN reads ON reads.u = levels.oid) "
    "SELECT n.nspname, c.relname "
    "  FROM (SELECT oid, max(level) AS level FROM levels GROUP BY oid) l "
    "  JOIN pg_class c ON c.oid = l.oid "
    "  JOIN pg_namespace n ON n.oid = c.relnamespace "
    " ORDER BY l.level, n.nspname, c.relname";

int
matviews_refresh(const Pgconvoy__Assign *a, PGconn *tgt, Pgconvoy__Result *res)
{
    char *error = NULL;
    PGresult *views = pgconn_query(tgt, s_views_sql, 0, NULL, &error);
    int64_t started = zclock_mono();
    int rc = -1;

    if (views == NULL)
    {
        rc = unit_fail(res,
                       xasprintf("target database \"%s\": could not list the "
                                 "materialized views: %s",
                                 a->target->dbname, error),
                       pgconn_is_transient(tgt, NULL));
        goto cleanup;
    }
    for (int i = 0; i < PQntuples(views); i++)
    {
        const char *nsp = PQgetvalue(views, i, 0);
        const char *name = PQgetvalue(views, i, 1);
        char *qualname = pgconn_quote_qualified(tgt, nsp, name);
        char *sql = xasprintf("REFRESH MATERIALIZED VIEW %s", qualname);
        int failed = pgconn_command(tgt, sql, &error);

        free(sql);
        free(qualname);
        if (failed != 0)
        {
            rc = unit_fail(res,
                           xasprintf("target database \"%s\": could not "
                                     "refresh materialized view %s.%s at the "
                                     "cutover: %s",
                                     a->target->dbname, nsp, name, error),
                           pgconn_is_transient(tgt, NULL));
            goto cleanup;
        }
    }
    if (PQntuples(views) > 0)
    {
        log_info("db=%s %d materialized view(s) refreshed in %" PRId64 " ms",
                 a->target->dbname, PQntuples(views),
                 (int64_t) (zclock_mono() - started));
    }
    rc = 0;

cleanup:
    free(error);
    PQclear(views);
    return rc;
}
