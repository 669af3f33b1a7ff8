/*
 * agent/unit_finalize.c
 *     The finalize unit, once a database's load is done: the items left
 *     for the end (foreign keys, triggers, privileges, materialized views'
 *     contents), the sequences' values and the large objects; then, for
 *     an offline database, the pgconvoy schema goes. The sequences and the
 *     bookkeeping's removal serve the cdc unit's cutover too.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/large_objects.h"
#include "agent/schema_step.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

int
unit_copy_sequences(const Pgconvoy__Assign *a, PGconn *src, PGconn *tgt,
                    Pgconvoy__Result *res)
{
    char *error = NULL;
    PGresult *seqs = pgconn_query(
        tgt,
        "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences "
        "WHERE schemaname <> 'pgconvoy'",
        0, NULL, &error);
    int rc = 0;

    for (int i = 0; seqs != NULL && i < PQntuples(seqs) && rc == 0; i++)
    {
        const char *name = PQgetvalue(seqs, i, 0);
        const char *exists_params[1] = {name};
        PGresult *on_src =
            pgconn_query(src, "SELECT to_regclass($1) IS NOT NULL", 1,
                         exists_params, &error);
        PGresult *value = NULL;

        if (on_src != NULL && PQgetvalue(on_src, 0, 0)[0] == 't')
        {
            char *sql = xasprintf("SELECT last_value, is_called FROM %s", name);
            value = pgconn_query(src, sql, 0, NULL, &error);
            free(sql);
            if (value != NULL)
            {
                const char *params[3] = {name, PQgetvalue(value, 0, 0),
                                         PQgetvalue(value, 0, 1)};
                PGresult *set =
                    pgconn_query(tgt, "SELECT setval($1::regclass, $2, $3)", 3,
                                 params, &error);
                PQclear(set);
                rc = set != NULL ? 0 : -1;
            }
        }
        if (error != NULL)
        {
            rc = unit_fail(res,
                           xasprintf("sequence \"%s\": could not copy "
                                     "its value: %s",
                                     name, error),
                           true);
            free(error);
            error = NULL;
        }
        PQclear(value);
        PQclear(on_src);
    }
    if (seqs == NULL)
    {
        rc = unit_fail(res,
                       xasprintf("target database \"%s\": could not "
                                 "list sequences: %s",
                                 a->target->dbname, error),
                       true);
        free(error);
    }
    PQclear(seqs);
    return rc;
}

int
unit_drop_bookkeeping(const Pgconvoy__Assign *a, PGconn *tgt,
                      Pgconvoy__Result *res)
{
    char *error = NULL;
    int rc = 0;

    if (pgconn_command(tgt, "DROP SCHEMA IF EXISTS pgconvoy CASCADE", &error) !=
        0)
    {
        rc = unit_fail(res,
                       xasprintf("target database \"%s\": could not "
                                 "drop schema \"pgconvoy\": %s",
                                 a->target->dbname, error),
                       true);
        free(error);
    }
    return rc;
}

int
unit_finalize_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    char *error = NULL;
    PGconn *src = NULL;
    PGconn *tgt = NULL;
    PGresult *r = NULL;
    int rc = -1;

    src = pgconn_connect(a->source, NULL, "source", "finalize", &error);
    if (src == NULL || (tgt = pgconn_connect(a->target, NULL, "target",
                                             "finalize", &error)) == NULL)
    {
        rc = unit_fail(res, error, true);
        error = NULL;
        goto cleanup;
    }
    /* no pgconvoy schema: an earlier attempt finished, up to its DROP */
    r = pgconn_query(tgt, "SELECT to_regnamespace('pgconvoy') IS NULL", 0, NULL,
                     &error);
    if (r == NULL)
    {
        rc = unit_fail(res, error, true);
        error = NULL;
        goto cleanup;
    }
    if (PQgetvalue(r, 0, 0)[0] == 't')
    {
        res->skipped = true;
        rc = 0;
        goto cleanup;
    }
    if (schema_step_run_items(a, tgt, res) != 0 ||
        unit_copy_sequences(a, src, tgt, res) != 0 ||
        (a->large_objects && large_objects_sync(a, src, tgt, res) != 0))
    {
        goto cleanup;
    }
    if (a->last && unit_drop_bookkeeping(a, tgt, res) != 0)
    {
        goto cleanup;
    }
    rc = 0;

cleanup:
    free(error);
    PQclear(r);
    PQfinish(src);
    PQfinish(tgt);
    return rc;
}
