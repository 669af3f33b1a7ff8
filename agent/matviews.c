/*
 * agent/matviews.c
 *     Refreshing the target's materialized views at the cutover.
 *
 * Only views that are populated on the target are refreshed: finalize
 * populated those the source had populated, and one the source left
 * unpopulated (WITH NO DATA) stays so, as pg_restore leaves it. A view
 * reads other views only once they are refreshed: each one's level is
 * the longest chain of views beneath it, and levels go in order, the
 * views of one level at once on several sessions (schema_fanout.h), as
 * finalize populates them.
 */
#include "agent/matviews.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "agent/schema_fanout.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/*
 * The levels of the views of a query's CTE "views" (its column oid, NULL
 * for one not found): 0 for a view that reads none of the others, else
 * one more than the highest of those it reads. What a view reads is in
 * its rewrite rule's dependencies, followed through plain views (a view
 * over a plain view over another reads that other). A function that
 * reads a view is not seen, as pg_restore --jobs does not see it: a view
 * refreshed before one it reads through a function fails ("has not been
 * populated") when finalize populates it, and is refreshed again in
 * order. Ends with the CTE "levels" (oid, level), a row a path.
 */
#define MATVIEWS_LEVELS_CTE                                                    \
    "rules AS ( "                                                              \
    "  SELECT r.ev_class AS of, d.refobjid AS rel "                            \
    "    FROM pg_rewrite r "                                                   \
    "    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass "              \
    "                    AND d.objid = r.oid "                                 \
    "                    AND d.refclassid = 'pg_class'::regclass "             \
    "   WHERE d.refobjid <> r.ev_class), "                                     \
    "reach (v, rel) AS ( "                                                     \
    "  SELECT of, rel FROM rules WHERE of IN (SELECT oid FROM views) "         \
    "  UNION "                                                                 \
    "  SELECT reach.v, rules.rel FROM reach "                                  \
    "    JOIN pg_class c ON c.oid = reach.rel AND c.relkind = 'v' "            \
    "    JOIN rules ON rules.of = c.oid), "                                    \
    "reads AS ( "                                                              \
    "  SELECT DISTINCT v, rel AS u FROM reach "                                \
    "   WHERE rel IN (SELECT oid FROM views) AND rel <> v), "                  \
    "levels (oid, level) AS ( "                                                \
    "  SELECT oid, 0 FROM views WHERE oid IS NOT NULL "                        \
    "  UNION ALL "                                                             \
    "  SELECT reads.v, levels.level + 1 FROM levels "                          \
    "    JOIN reads ON reads.u = levels.oid) "

/* The cutover's: every populated view of the database, by level. */
static const char *const s_views_sql =
    "WITH RECURSIVE views AS ( "
    "  SELECT c.oid FROM pg_class c "
    "    JOIN pg_namespace n ON n.oid = c.relnamespace "
    "   WHERE c.relkind = 'm' AND c.relispopulated "
    "     AND n.nspname NOT IN ('pg_catalog', 'information_schema')), "
    MATVIEWS_LEVELS_CTE
    "SELECT n.nspname, c.relname, l.level "
    "  FROM (SELECT oid, max(level) AS level FROM levels GROUP BY oid) l "
    "  JOIN pg_class c ON c.oid = l.oid "
    "  JOIN pg_namespace n ON n.oid = c.relnamespace "
    " ORDER BY l.level, n.nspname, c.relname";

/* Finalize's: the views named by $1 (one qualified name a line, as
 * pg_dump quotes them), the level of each by its position there. */
static const char *const s_levels_sql =
    "WITH RECURSIVE views AS ( "
    "  SELECT i, to_regclass(name) AS oid "
    "    FROM unnest(string_to_array($1, E'\\n')) WITH ORDINALITY "
    "         AS n (name, i)), "
    MATVIEWS_LEVELS_CTE
    "SELECT views.i, max(levels.level) "
    "  FROM views JOIN levels ON levels.oid = views.oid "
    " GROUP BY views.i";

/* The view an item populates, as pg_dump names it in its statement
 * ("REFRESH MATERIALIZED VIEW name;" on a line of its own), appended to
 * names; false if the item has none. */
static bool
s_append_view_name(strbuf_t *names, const char *sql)
{
    static const char prefix[] = "\nREFRESH MATERIALIZED VIEW ";
    const char *at = strstr(sql, prefix);

    if (at == NULL)
    {
        return false;
    }
    at += strlen(prefix);
    const char *end = strchr(at, '\n');
    end = end != NULL ? end : at + strlen(at);
    /* the name ends at the line's last ';' (a quoted one may hold one) */
    while (end > at && end[-1] != ';')
    {
        end--;
    }
    if (end == at)
    {
        return false;
    }
    strbuf_appendf(names, "%s%.*s", strbuf_len(names) > 0 ? "\n" : "",
                   (int) (end - 1 - at), at);
    return true;
}

int *
matviews_levels(PGconn *tgt, Pgconvoy__SchemaItem *const *items, size_t n,
                int *max_level)
{
    strbuf_t *names = strbuf_new();
    PGresult *r = NULL;
    int *levels = NULL;
    char *error = NULL;
    bool named = true;

    *max_level = 0;
    for (size_t i = 0; i < n && named; i++)
    {
        named = s_append_view_name(names, items[i]->sql);
    }
    const char *params[1] = {strbuf_data(names)};
    r = named ? pgconn_query(tgt, s_levels_sql, 1, params, &error) : NULL;
    /* every view found: a view not found would be refreshed before
     * those it reads */
    if (r != NULL && (size_t) PQntuples(r) == n)
    {
        levels = xcalloc(n, sizeof *levels);
        for (int row = 0; row < PQntuples(r); row++)
        {
            size_t i = strtoull(PQgetvalue(r, row, 0), NULL, 10);
            int level = atoi(PQgetvalue(r, row, 1));

            if (i >= 1 && i <= n)
            {
                levels[i - 1] = level;
                *max_level = level > *max_level ? level : *max_level;
            }
        }
    }
    else
    {
        log_debug("target database \"%s\": materialized views refreshed one "
                  "by one: %s",
                  PQdb(tgt), error != NULL ? error : "a view not found");
    }
    free(error);
    PQclear(r);
    strbuf_destroy(&names);
    return levels;
}

/* The views of the cutover's refresh: rows of s_views_sql from first. */
typedef struct
{
    const PGresult *views;
    int first;
} s_views_t;

/* REFRESH of view i of ctx, quoted for conn. */
static char *
s_refresh_sql(void *ctx, size_t i, PGconn *conn)
{
    const s_views_t *v = ctx;
    int row = v->first + (int) i;
    char *qualname = pgconn_quote_qualified(
        conn, PQgetvalue(v->views, row, 0), PQgetvalue(v->views, row, 1));
    char *sql = qualname != NULL
                    ? xasprintf("REFRESH MATERIALIZED VIEW %s", qualname)
                    : NULL;

    free(qualname);
    return sql;
}

int
matviews_refresh(const Pgconvoy__Assign *a, PGconn *tgt, Pgconvoy__Result *res)
{
    char *error = NULL;
    PGresult *views = pgconn_query(tgt, s_views_sql, 0, NULL, &error);
    int64_t started = zclock_mono();
    bool *ok = NULL;
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
    /*
     * The writes are stopped while this runs: the views of a level are
     * refreshed at once, on several sessions; one that failed there is
     * refreshed again on tgt, which says why if it fails again.
     */
    ok = xcalloc((size_t) PQntuples(views) + 1, sizeof *ok);
    for (int first = 0, end = 0; first < PQntuples(views); first = end)
    {
        const char *level = PQgetvalue(views, first, 2);
        s_views_t level_views = {views, first};

        end = first;
        while (end < PQntuples(views) &&
               strcmp(PQgetvalue(views, end, 2), level) == 0)
        {
            end++;
        }
        (void) schema_fanout_scripts(a->target, "cdc", tgt,
                                     (size_t) (end - first), NULL,
                                     s_refresh_sql, &level_views, ok + first,
                                     SCHEMA_FANOUT_SESSIONS);
        for (int i = first; i < end; i++)
        {
            if (ok[i])
            {
                continue;
            }
            char *sql = s_refresh_sql(&level_views, (size_t) (i - first), tgt);
            if (sql == NULL)
            {
                error = pgconn_error_text(tgt, NULL);
            }
            if (sql == NULL || pgconn_command(tgt, sql, &error) != 0)
            {
                rc = unit_fail(res,
                               xasprintf("target database \"%s\": could not "
                                         "refresh materialized view %s.%s at "
                                         "the cutover: %s",
                                         a->target->dbname,
                                         PQgetvalue(views, i, 0),
                                         PQgetvalue(views, i, 1), error),
                               pgconn_is_transient(tgt, NULL));
                free(sql);
                goto cleanup;
            }
            free(sql);
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
    free(ok);
    free(error);
    PQclear(views);
    return rc;
}
