/*
 * agent/schema_step.c
 *     Schema steps: scripts run on the target each with its row in
 *     pgferry.step_done, in one transaction, so that a step run again (a
 *     unit placed a second time, an agent that died) is skipped; and the
 *     bookkeeping schema those rows live in.
 */
#include "agent/schema_step.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/unit.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

static const char *const s_bookkeeping_sql =
    "CREATE SCHEMA IF NOT EXISTS pgferry; "
    "CREATE TABLE IF NOT EXISTS pgferry.partition_done ("
    "  task_key text, schema_name text, table_name text, part int, "
    "  rows bigint, bytes bigint, done_at timestamptz DEFAULT now(), "
    "  PRIMARY KEY (task_key, schema_name, table_name, part)); "
    "CREATE TABLE IF NOT EXISTS pgferry.step_done ("
    "  task_key text, step text, done_at timestamptz DEFAULT now(), "
    "  PRIMARY KEY (task_key, step)); "
    /* the latest placement of each copy unit that began to write */
    "CREATE TABLE IF NOT EXISTS pgferry.fence ("
    "  task_key text, unit_id bigint, epoch int NOT NULL, "
    "  PRIMARY KEY (task_key, unit_id))";

int
schema_step_make_bookkeeping(PGconn *tgt, char **error)
{
    return pgconn_command(tgt, s_bookkeeping_sql, error);
}

int
schema_step_exec(PGconn *tgt, const char *script, bool may_exist, char **error)
{
    PGresult *r = PQexec(tgt, script);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    /* duplicate_table (an index), duplicate_object (a constraint, a
     * trigger), invalid_table_definition (a primary key of another name) */
    bool exists = state != NULL &&
                  (strcmp(state, "42P07") == 0 || strcmp(state, "42710") == 0 ||
                   strcmp(state, "42P16") == 0);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        char *ignored = NULL;

        rc = may_exist && exists           ? 1
             : pgconn_is_transient(tgt, r) ? SCHEMA_STEP_TRANSIENT
                                           : -1;
        if (rc < 0)
        {
            *error = pgconn_error_text(tgt, r);
        }
        (void) pgconn_command(tgt, "ROLLBACK", &ignored);
        free(ignored);
    }
    PQclear(r);
    return rc;
}

int
schema_step_run(PGconn *tgt, const char *task_key, const char *step,
                const char *sql, bool may_exist, char **error)
{
    const char *params[2] = {task_key, step};
    PGresult *r =
        pgconn_query(tgt,
                     "SELECT 1 FROM pgferry.step_done WHERE task_key = $1 "
                     "AND step = $2",
                     2, params, error);
    char *key = NULL;
    char *name = NULL;
    char *script = NULL;
    int rc = -1;

    if (r == NULL)
    {
        return -1;
    }
    if (PQntuples(r) > 0)
    {
        PQclear(r);
        return 0;
    }
    PQclear(r);
    key = PQescapeLiteral(tgt, task_key, strlen(task_key));
    name = PQescapeLiteral(tgt, step, strlen(step));
    /* large maintenance_work_mem: index builds are what this is for */
    script = xasprintf("BEGIN;\nSET LOCAL maintenance_work_mem = '512MB';\n"
                       "%s\n;\nINSERT INTO pgferry.step_done (task_key, step) "
                       "VALUES (%s, %s);\nCOMMIT;",
                       sql, key, name);
    rc = schema_step_exec(tgt, script, may_exist, error);
    if (rc > 0)
    {
        /* there already: done, for the next attempt too */
        char *done = xasprintf("INSERT INTO pgferry.step_done (task_key, "
                               "step) VALUES (%s, %s)",
                               key, name);
        rc = pgconn_command(tgt, done, error);
        free(done);
    }
    PQfreemem(key);
    PQfreemem(name);
    free(script);
    return rc;
}

void
schema_step_item_name(const Pgferry__SchemaItem *item, char *step, size_t size)
{
    snprintf(step, size, "item:%" PRIu64, item->id);
}

int
schema_step_run_items(const Pgferry__Assign *a, PGconn *tgt,
                      Pgferry__Result *res)
{
    for (size_t i = 0; i < a->n_items; i++)
    {
        const Pgferry__SchemaItem *item = a->items[i];
        char step[40];
        char *error = NULL;

        schema_step_item_name(item, step, sizeof step);
        /* with the tables there beforehand, their indexes may be too */
        int step_rc = schema_step_run(tgt, a->task_key, step, item->sql,
                                      a->skip_schema, &error);
        if (step_rc != 0)
        {
            bool transient = step_rc == SCHEMA_STEP_TRANSIENT ||
                             pgconn_is_transient(tgt, NULL);
            int rc = unit_fail(res,
                               xasprintf("target database \"%s\": could not "
                                         "create %s %s: %s",
                                         a->target->dbname, item->kind,
                                         item->tag, error),
                               transient);
            free(error);
            return rc;
        }
        free(error);
    }
    return 0;
}
