/*
 * agent/schema_step.c
 *     Schema steps: scripts run on the target each with its row in
 *     pgconvoy.step_done, in one transaction, so that a step run again (a
 *     unit placed a second time, an agent that died) is skipped; and the
 *     bookkeeping schema those rows live in.
 */
#include "agent/schema_step.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/matviews.h"
#include "agent/schema_fanout.h"
#include "agent/target_tables.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

static const char *const s_bookkeeping_sql =
    "CREATE SCHEMA IF NOT EXISTS pgconvoy; "
    "CREATE TABLE IF NOT EXISTS pgconvoy.partition_done ("
    "  task_key text, schema_name text, table_name text, part int, "
    "  rows bigint, bytes bigint, done_at timestamptz DEFAULT now(), "
    "  PRIMARY KEY (task_key, schema_name, table_name, part)); "
    "CREATE TABLE IF NOT EXISTS pgconvoy.step_done ("
    "  task_key text, step text, done_at timestamptz DEFAULT now(), "
    "  PRIMARY KEY (task_key, step)); "
    /* the latest placement of each copy unit that began to write */
    "CREATE TABLE IF NOT EXISTS pgconvoy.fence ("
    "  task_key text, unit_id bigint, epoch int NOT NULL, "
    "  PRIMARY KEY (task_key, unit_id)); "
    /* online: the snapshot of the current slot, that copies read under */
    "CREATE TABLE IF NOT EXISTS pgconvoy.load_snapshot ("
    "  task_key text PRIMARY KEY, snapshot text NOT NULL)";

/* At most this many items of a kind run in one transaction (a batch of
 * ALTER INDEX ... ATTACH PARTITION: a few kB each, with pg_dump's
 * settings) */
#define SCHEMA_STEP_BATCH 64

/* Tries to make the bookkeeping this often: two units (schema-pre and a
 * slot) making it at once may collide on the catalog's unique keys */
#define SCHEMA_STEP_MAKE_TRIES 5

int
schema_step_make_bookkeeping(PGconn *tgt, char **error)
{
    int rc = -1;

    for (int i = 0; i < SCHEMA_STEP_MAKE_TRIES && rc != 0; i++)
    {
        free(*error);
        *error = NULL;
        rc = pgconn_command(tgt, s_bookkeeping_sql, error);
    }
    return rc;
}

/* One statement of schema_step_start_load(): 0, or -1 with *error and
 * *transient set. */
static int
s_load_exec(PGconn *tgt, const char *sql, int nparams,
            const char *const *params, bool *transient, char **error)
{
    PGresult *r = PQexecParams(tgt, sql, nparams, NULL, params, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        *error = pgconn_error_text(tgt, r);
        *transient = pgconn_is_transient(tgt, r);
        rc = -1;
    }
    PQclear(r);
    return rc;
}

int
schema_step_start_load(PGconn *tgt, const Pgconvoy__Assign *a,
                       const char *snapshot, char **error)
{
    const char *params[2] = {a->task_key, snapshot};
    bool transient = false;
    char *ignored = NULL;
    int rc = -1;

    if (schema_step_make_bookkeeping(tgt, error) != 0 ||
        s_load_exec(tgt, "BEGIN", 0, NULL, &transient, error) != 0 ||
        s_load_exec(tgt, "SET LOCAL lock_timeout = '10s'", 0, NULL, &transient,
                    error) != 0 ||
        /* waits for the copies under the old snapshot that hold its row
         * (FOR SHARE) to end; any copy after this finds it changed */
        s_load_exec(tgt,
                    "INSERT INTO pgconvoy.load_snapshot (task_key, snapshot) "
                    "VALUES ($1, $2) ON CONFLICT (task_key) DO UPDATE "
                    "SET snapshot = excluded.snapshot",
                    2, params, &transient, error) != 0 ||
        (a->truncate_target &&
         s_load_exec(tgt,
                     "DELETE FROM pgconvoy.partition_done WHERE task_key = $1",
                     1, params, &transient, error) != 0) ||
        s_load_exec(tgt, "COMMIT", 0, NULL, &transient, error) != 0)
    {
        transient = transient || pgconn_is_transient(tgt, NULL);
        (void) pgconn_command(tgt, "ROLLBACK", &ignored);
        free(ignored);
        goto cleanup;
    }
    /*
     * Emptied after that commit, in chunks (target_tables.h): no copy of
     * the old load can commit any more, and none of the new one starts
     * before this unit reports. Cut short, the unit runs again, empties
     * them again and forgets what was copied again.
     */
    if (a->truncate_target &&
        target_tables_empty(tgt, a->tables, a->n_tables, &transient, error) <
            0)
    {
        goto cleanup;
    }
    rc = 0;

cleanup:
    return rc == 0 ? 0 : transient ? SCHEMA_STEP_TRANSIENT : -1;
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

/* Whether step is in pgconvoy.step_done: 1 yes, 0 no, -1 with *error
 * set. */
static int
s_step_done(PGconn *tgt, const char *task_key, const char *step,
            char **error)
{
    const char *params[2] = {task_key, step};
    PGresult *r =
        pgconn_query(tgt,
                     "SELECT 1 FROM pgconvoy.step_done WHERE task_key = $1 "
                     "AND step = $2",
                     2, params, error);
    int done = r == NULL ? -1 : PQntuples(r) > 0;

    PQclear(r);
    return done;
}

char *
schema_step_script(PGconn *tgt, const char *task_key, const char *step,
                   const char *sql)
{
    char *key = PQescapeLiteral(tgt, task_key, strlen(task_key));
    char *name = PQescapeLiteral(tgt, step, strlen(step));
    char *script = NULL;

    if (key != NULL && name != NULL)
    {
        /* large maintenance_work_mem: index builds are what this is for */
        script = xasprintf(
            "BEGIN;\nSET LOCAL maintenance_work_mem = '512MB';\n"
            "%s\n;\nINSERT INTO pgconvoy.step_done (task_key, step) "
            "VALUES (%s, %s);\nCOMMIT;",
            sql, key, name);
    }
    PQfreemem(key);
    PQfreemem(name);
    return script;
}

int
schema_step_run(PGconn *tgt, const char *task_key, const char *step,
                const char *sql, bool may_exist, char **error)
{
    int done = s_step_done(tgt, task_key, step, error);
    char *script = NULL;
    int rc = -1;

    if (done != 0)
    {
        return done > 0 ? 0 : -1;
    }
    script = schema_step_script(tgt, task_key, step, sql);
    if (script == NULL)
    {
        *error = pgconn_error_text(tgt, NULL);
        return pgconn_is_transient(tgt, NULL) ? SCHEMA_STEP_TRANSIENT : -1;
    }
    rc = schema_step_exec(tgt, script, may_exist, error);
    if (rc > 0)
    {
        /* there already: done, for the next attempt too */
        const char *params[2] = {task_key, step};
        PGresult *r = pgconn_query(tgt,
                                   "INSERT INTO pgconvoy.step_done (task_key, "
                                   "step) VALUES ($1, $2)",
                                   2, params, error);
        rc = r != NULL ? 0 : -1;
        PQclear(r);
    }
    else if (rc != 0)
    {
        /*
         * Two placements of one unit (the first one's agent thought lost,
         * still running) each run the step; the second waits on the
         * first's locks and then fails, the object or the step_done row
         * there already. The step is done: not a failure.
         */
        char *ignored = NULL;

        if (s_step_done(tgt, task_key, step, &ignored) > 0)
        {
            free(*error);
            *error = NULL;
            rc = 0;
        }
        free(ignored);
    }
    free(script);
    return rc;
}

void
schema_step_item_name(const Pgconvoy__SchemaItem *item, char *step, size_t size)
{
    snprintf(step, size, "item:%" PRIu64, item->id);
}

/* How many items from a->items[from] on are of kind, in a row. */
static size_t
s_run_of_kind(const Pgconvoy__Assign *a, size_t from, const char *kind)
{
    size_t n = 0;

    while (from + n < a->n_items && strcmp(a->items[from + n]->kind, kind) == 0)
    {
        n++;
    }
    return n;
}

/*
 * Runs the n items in one transaction, one round trip, with their
 * step_done rows. For items that may run again, done or not: no step is
 * looked up first, and a step done already is left as it is. Returns 0,
 * or -1 with nothing done (the items are then run one by one, which
 * names the one that fails).
 */
static int
s_run_batch(const Pgconvoy__Assign *a, PGconn *tgt,
            Pgconvoy__SchemaItem *const *items, size_t n)
{
    strbuf_t *script = strbuf_new();
    char *key = PQescapeLiteral(tgt, a->task_key, strlen(a->task_key));
    char *error = NULL;
    int rc = -1;

    if (key == NULL)
    {
        goto cleanup;
    }
    strbuf_append(script, "BEGIN;\n");
    for (size_t k = 0; k < n; k++)
    {
        strbuf_appendf(script, "%s\n;\n", items[k]->sql);
    }
    strbuf_append(script, "INSERT INTO pgconvoy.step_done (task_key, step) "
                          "VALUES ");
    for (size_t k = 0; k < n; k++)
    {
        char step[40];

        schema_step_item_name(items[k], step, sizeof step);
        /* the step's name is "item:" and a number: nothing to quote */
        strbuf_appendf(script, "%s(%s, '%s')", k > 0 ? ", " : "", key, step);
    }
    strbuf_append(script, " ON CONFLICT DO NOTHING;\nCOMMIT;");
    rc = schema_step_exec(tgt, strbuf_data(script), false, &error) == 0 ? 0
                                                                        : -1;
    if (rc != 0)
    {
        log_debug("target database \"%s\": %zu %s items in one "
                  "transaction failed, run one by one: %s",
                  a->target->dbname, n, items[0]->kind, error);
    }

cleanup:
    free(error);
    PQfreemem(key);
    strbuf_destroy(&script);
    return rc;
}

/*
 * Populates the n materialized views of items at once, a level at a time
 * (matviews_levels()), as pg_restore --jobs does: a view's refresh is
 * its query, seconds or minutes of it on a production database. Best
 * effort, as schema_fanout_run(): the pass over the items one by one
 * that follows finds them done, or refreshes and reports one that
 * failed.
 */
static void
s_refresh_at_once(const Pgconvoy__Assign *a, PGconn *tgt,
                  Pgconvoy__SchemaItem *const *items, size_t n)
{
    int max_level = 0;
    int *levels = matviews_levels(tgt, items, n, &max_level);
    Pgconvoy__SchemaItem **level = xcalloc(n, sizeof *level);

    for (int l = 0; levels != NULL && l <= max_level; l++)
    {
        size_t in_level = 0;
        for (size_t i = 0; i < n; i++)
        {
            if (levels[i] == l)
            {
                level[in_level++] = items[i];
            }
        }
        size_t committed =
            schema_fanout_run(a, tgt, level, in_level, SCHEMA_FANOUT_SESSIONS);
        log_debug("target database \"%s\": %zu of %zu materialized views "
                  "of level %d populated at once",
                  a->target->dbname, committed, in_level, l);
    }
    free(level);
    free(levels);
}

int
schema_step_run_items(const Pgconvoy__Assign *a, PGconn *tgt,
                      Pgconvoy__Result *res)
{
    size_t fanned_until = 0;
    size_t batched_until = 0;
    size_t refreshed_until = 0;

    for (size_t i = 0; i < a->n_items; i++)
    {
        const Pgconvoy__SchemaItem *item = a->items[i];
        char step[40];
        char *error = NULL;

        /*
         * pg_dump puts a database's foreign keys together, after what
         * they need (the indexes, and those attached to partitioned
         * ones): they run at once, and the pass below finds them done,
         * or runs again and reports one that failed
         */
        size_t keys =
            i >= fanned_until ? s_run_of_kind(a, i, "FK CONSTRAINT") : 0;
        if (keys > 1)
        {
            size_t committed = schema_fanout_run(a, tgt, a->items + i, keys,
                                                 SCHEMA_FANOUT_SESSIONS);
            log_debug("target database \"%s\": %zu of %zu foreign keys "
                      "added at once",
                      a->target->dbname, committed, keys);
            fanned_until = i + keys;
        }

        size_t views = i >= refreshed_until
                           ? s_run_of_kind(a, i, "MATERIALIZED VIEW DATA")
                           : 0;
        if (views > 1)
        {
            s_refresh_at_once(a, tgt, a->items + i, views);
            refreshed_until = i + views;
        }

        /*
         * A partitioned index gets its partitions' indexes attached one
         * ALTER INDEX each, hundreds in a row on a database with many
         * partitions; each takes a fraction of a millisecond, so their
         * round trips and commits were most of their cost. ATTACH is a
         * no-op on an index attached already: they run in batches, with
         * no step looked up first.
         */
        size_t attaches =
            i >= batched_until ? s_run_of_kind(a, i, "INDEX ATTACH") : 0;
        if (attaches > 1)
        {
            size_t n = attaches < SCHEMA_STEP_BATCH ? attaches
                                                    : SCHEMA_STEP_BATCH;
            if (s_run_batch(a, tgt, a->items + i, n) == 0)
            {
                i += n - 1;
                continue;
            }
            batched_until = i + n;
        }

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

/* An item of a group, and its place there. */
typedef struct
{
    const Pgconvoy__SchemaItem *item;
    size_t at;
} group_item_t;

/* How strong a lock the item's statement takes on its table, strongest
 * (0) first: ALTER TABLE ... ADD CONSTRAINT takes ACCESS EXCLUSIVE,
 * CREATE STATISTICS SHARE UPDATE EXCLUSIVE, CREATE INDEX SHARE. */
static int
s_lock_rank(const char *kind)
{
    if (strcmp(kind, "CONSTRAINT") == 0)
    {
        return 0;
    }
    return strcmp(kind, "STATISTICS") == 0 ? 1 : 2;
}

/*
 * schema_step_lock_order()'s: by table, and on each table the strongest
 * lock first, then as given. Two groups may hold items of one
 * table (a batch is its head and the next units by number), and each
 * transaction holds its locks until it commits: taken in any order,
 * they waited for each other until deadlock_timeout (1 s) ended it,
 * "deadlock detected", and the group ran again one by one (the
 * schema-rich benchmark, one run in three). Taken by table name, and
 * never raised on a table another transaction holds too, they cannot
 * form a cycle.
 */
static int
s_group_item_cmp(const void *x, const void *y)
{
    const group_item_t *a = x;
    const group_item_t *b = y;
    int c = strcmp(a->item->table_schema, b->item->table_schema);

    if (c == 0)
    {
        c = strcmp(a->item->table_name, b->item->table_name);
    }
    if (c == 0)
    {
        c = s_lock_rank(a->item->kind) - s_lock_rank(b->item->kind);
    }
    if (c == 0)
    {
        c = a->at < b->at ? -1 : a->at > b->at ? 1 : 0;
    }
    return c;
}

void
schema_step_lock_order(const Pgconvoy__SchemaItem **items, size_t n)
{
    group_item_t *sorted = xcalloc(n > 0 ? n : 1, sizeof *sorted);

    for (size_t i = 0; i < n; i++)
    {
        sorted[i].item = items[i];
        sorted[i].at = i;
    }
    qsort(sorted, n, sizeof *sorted, s_group_item_cmp);
    for (size_t i = 0; i < n; i++)
    {
        items[i] = sorted[i].item;
    }
    free(sorted);
}
