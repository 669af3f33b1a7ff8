/*
 * agent/unit_analyze.c
 *     The analyze unit: statistics for one table, run once its indexes are
 *     built (so that expression indexes get theirs too) while other tables
 *     still load, so that the application's first queries after the switch
 *     are planned well. Most whole tables need none: their copies analyze
 *     them (copy_analyze.h); this is for the others, for the parts of
 *     split tables and for a copy that could not.
 *
 * Small tables' units are grouped into one ANALYZE of several tables.
 * The group commits table by table, as ANALYZE does outside a transaction
 * block: finalize runs beside the last of these units, and a group that
 * kept its tables' locks to the end could hold a partition while waiting
 * for its parent, which finalize's CREATE TRIGGER on the parent holds
 * while waiting for the partition (deadlock_timeout, then a retry). The
 * copies' ANALYZE of their small tables runs before any finalize, so it
 * keeps one commit for its group (unit_copy.c).
 * A failure of a group runs its units again one by one.
 */
#include <stdlib.h>

#include "agent/unit.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

int
unit_analyze_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);

    return unit_analyze_group(self, &a, 1, &res);
}

int
unit_analyze_tables(PGconn *tgt, const char *const *qualified, size_t n,
                    bool one_transaction, char **error)
{
    strbuf_t *sql = strbuf_new();
    bool block = one_transaction && n > 1;
    int rc;

    strbuf_append(sql, block ? "BEGIN; ANALYZE " : "ANALYZE ");
    for (size_t k = 0; k < n; k++)
    {
        strbuf_appendf(sql, "%s%s", k > 0 ? ", " : "", qualified[k]);
    }
    if (block)
    {
        strbuf_append(sql, "; COMMIT");
    }
    rc = pgconn_command(tgt, strbuf_data(sql), error);
    if (rc != 0)
    {
        char *ignored = NULL;

        /* the session goes back to the pool: out of the failed block */
        (void) pgconn_command(tgt, "ROLLBACK", &ignored);
        free(ignored);
    }
    strbuf_destroy(&sql);
    return rc;
}

int
unit_analyze_group(unit_t *self, const Pgconvoy__Assign *const *assigns,
                   size_t n, Pgconvoy__Result **res)
{
    const Pgconvoy__Assign *a = assigns[0];
    char *error = NULL;
    PGconn *tgt = connpool_take(unit_pool(self), a->target, NULL, "target",
                                "analyze", &error);
    char **names = xcalloc(n, sizeof *names);
    int rc = -1;

    if (tgt == NULL)
    {
        rc = unit_fail(res[0], error, true);
        goto cleanup;
    }
    for (size_t k = 0; k < n; k++)
    {
        names[k] = pgconn_quote_qualified(tgt, assigns[k]->table->schema,
                                          assigns[k]->table->name);
    }
    rc = unit_analyze_tables(tgt, (const char *const *) names, n, false,
                             &error);
    if (rc != 0)
    {
        /* one table: its own error; several: the group is run again
         * one by one, which names the table */
        rc = unit_fail(
            res[0],
            n == 1 ? xasprintf("table \"%s.%s\": could not "
                               "ANALYZE: %s",
                               a->table->schema, a->table->name, error)
                   : xasprintf("could not ANALYZE %zu tables: %s", n, error),
            pgconn_is_transient(tgt, NULL));
        free(error);
    }

cleanup:
    for (size_t k = 0; k < n; k++)
    {
        free(names[k]);
    }
    free(names);
    connpool_give(unit_pool(self), &tgt);
    return rc;
}
