/*
 * agent/unit_schema_post.c
 *     The schema-post unit: the post-data items that schema-pre read
 *     (indexes, constraints, extended statistics), built after their
 *     table's load, one unit by one or several small tables' in a group.
 *
 * Every item commits with its row in pgconvoy.step_done (schema_step.c),
 * so an item run twice is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/schema_step.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* Adds to script, for the items of assigns[0..n) not in done, each
 * item's SQL and its step_done row, in schema_step_lock_order()'s order.
 * Returns how many it added. */
static size_t
s_group_script(PGconn *tgt, const Pgconvoy__Assign *const *assigns, size_t n,
               const PGresult *done, strbuf_t *script)
{
    char *key = PQescapeLiteral(tgt, assigns[0]->task_key,
                                strlen(assigns[0]->task_key));
    const Pgconvoy__SchemaItem **items = NULL;
    size_t count = 0;
    size_t added = 0;

    for (size_t k = 0; k < n; k++)
    {
        count += assigns[k]->n_items;
    }
    items = xcalloc(count > 0 ? count : 1, sizeof *items);
    count = 0;
    for (size_t k = 0; k < n; k++)
    {
        for (size_t i = 0; i < assigns[k]->n_items; i++)
        {
            items[count++] = assigns[k]->items[i];
        }
    }
    schema_step_lock_order(items, count);
    for (size_t j = 0; j < count; j++)
    {
        char step[40];
        bool is_done = false;

        schema_step_item_name(items[j], step, sizeof step);
        for (int row = 0; row < PQntuples(done) && !is_done; row++)
        {
            is_done = strcmp(PQgetvalue(done, row, 0), step) == 0;
        }
        if (!is_done)
        {
            strbuf_appendf(script,
                           "%s\n;\nINSERT INTO pgconvoy.step_done "
                           "(task_key, step) VALUES (%s, '%s');\n",
                           items[j]->sql, key, step);
            added++;
        }
    }
    free(items);
    PQfreemem(key);
    return added;
}

/*
 * The index and constraint builds of several small tables in one
 * transaction, with their step_done rows: one commit and one round trip
 * instead of one each. A failure undoes them all, and the caller runs
 * the units one by one, which tells whose build failed. Not for a schema
 * the user made beforehand, whose objects may exist already: that needs
 * each item's own verdict.
 */
int
unit_schema_post_group(unit_t *self, const Pgconvoy__Assign *const *assigns,
                       size_t n, Pgconvoy__Result **res)
{
    const Pgconvoy__Assign *a = assigns[0];
    strbuf_t *steps = strbuf_new();
    strbuf_t *script = strbuf_new();
    char *error = NULL;
    PGconn *tgt = NULL;
    PGresult *done = NULL;
    int rc = -1;

    if (a->skip_schema)
    {
        goto cleanup;
    }
    tgt = connpool_take(unit_pool(self), a->target, NULL, "target", "schema",
                        &error);
    if (tgt == NULL)
    {
        rc = unit_fail(res[0], error, true);
        goto cleanup;
    }
    strbuf_append(steps, "{");
    for (size_t k = 0; k < n; k++)
    {
        for (size_t i = 0; i < assigns[k]->n_items; i++)
        {
            char step[40];
            schema_step_item_name(assigns[k]->items[i], step, sizeof step);
            strbuf_append_array_text(steps, step);
        }
    }
    strbuf_append(steps, "}");
    const char *params[2] = {a->task_key, strbuf_data(steps)};
    done = pgconn_query(tgt,
                        "SELECT step FROM pgconvoy.step_done WHERE task_key = "
                        "$1 AND step = ANY ($2::text[])",
                        2, params, &error);
    if (done == NULL)
    {
        rc = unit_fail(res[0], error, true);
        goto cleanup;
    }
    /* large maintenance_work_mem: index builds are what this is for */
    strbuf_append(script,
                  "BEGIN;\nSET LOCAL maintenance_work_mem = '512MB';\n");
    if (s_group_script(tgt, assigns, n, done, script) == 0)
    {
        rc = 0;
        goto cleanup;
    }
    strbuf_append(script, "COMMIT;");
    int step_rc = schema_step_exec(tgt, strbuf_data(script), false, &error);
    if (step_rc != 0)
    {
        rc = unit_fail(res[0], error,
                       step_rc == SCHEMA_STEP_TRANSIENT ||
                           pgconn_is_transient(tgt, NULL));
        error = NULL;
        goto cleanup;
    }
    rc = 0;

cleanup:
    PQclear(done);
    strbuf_destroy(&steps);
    strbuf_destroy(&script);
    connpool_give(unit_pool(self), &tgt);
    return rc;
}

int
unit_schema_post_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    char *error = NULL;
    PGconn *tgt = connpool_take(unit_pool(self), a->target, NULL, "target",
                                "schema", &error);
    int rc = -1;

    if (tgt == NULL)
    {
        return unit_fail(res, error, true);
    }
    rc = schema_step_run_items(a, tgt, res);
    connpool_give(unit_pool(self), &tgt);
    return rc;
}
