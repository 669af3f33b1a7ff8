/*
 * coordinator/results.c
 *     What the agents report: progress (a snapshot held, a copy started,
 *     the tables created, the stream's position and counters), results
 *     (a unit done or failed) and units lost with their agent.
 *
 * A result is taken only from the agent the unit is placed on: a unit
 * placed elsewhere since is settled by its new placement, and the
 * target's own bookkeeping makes either run skip what the other did.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/advance.h"
#include "coordinator/databases.h"
#include "coordinator/dispatch.h"
#include "coordinator/items.h"
#include "coordinator/plan.h"
#include "coordinator/results.h"
#include "coordinator/states.h"
#include "coordinator/sweep.h"
#include "coordinator/tables.h"
#include "coordinator/units.h"

/* The cdc unit's latency under which a database is READY_TO_COMPLETE,
 * and over which it is CATCHING_UP again. */
#define RESULTS_READY_LATENCY_MS 1000
#define RESULTS_BEHIND_LATENCY_MS 10000

typedef struct
{
    uint64_t id;
    int kind;
    int64_t task_id;
    int64_t db_id;
    int64_t table_id;
    int attempts;
} results_lost_t;

/* A table's state; TABLE_STATE_COUNT if it is gone. */
static table_state_t
s_table_state(coord_t *self, int64_t id)
{
    tables_row_t table;

    (void) tables_get(self->store, id, &table);
    return table.state;
}

/*
 * A table's state moves here only, checked against states.c's table: a
 * move it does not allow is a bug, logged and refused. LOADING keeps when
 * it started, COMPLETED when it ended, ERROR its first error. Returns 0 if
 * it moved, 1 if it was there already, -1 if refused.
 */
static int
s_move_table(coord_t *self, int64_t table_id, table_state_t to,
             const char *error)
{
    table_state_t from = s_table_state(self, table_id);
    char now[40];

    if (from == to)
    {
        return 1;
    }
    if (!states_table_can_move(from, to))
    {
        log_error("table_id=%" PRId64 " cannot move from %s to %s", table_id,
                  states_table_name(from), states_table_name(to));
        return -1;
    }
    store_now(now, sizeof now);
    return store_exec(self->store,
                      "UPDATE tables_ SET state = ?, "
                      "started_at = CASE WHEN ? THEN coalesce(started_at, ?) "
                      "             ELSE started_at END, "
                      "ended_at = CASE WHEN ? THEN ? ELSE ended_at END, "
                      "error = coalesce(error, ?) WHERE id = ?",
                      "sisissi", states_table_name(to),
                      (int64_t) (to == TABLE_LOADING), now,
                      (int64_t) (to == TABLE_COMPLETED), now, error,
                      table_id) == 0
               ? 0
               : -1;
}

/*
 * A table the stream carries that the task did not list: a partition
 * created on the source during CDC (the publication names its
 * partitioned table). It is added as loaded, with its counters, so that
 * the status shows it and the cutover's --validate compares it too: rows
 * it held before it was attached to its parent were never published.
 */
static void
s_add_cdc_table(coord_t *self, int64_t db_id, const Pgconvoy__TableChanges *t)
{
    char now[40];
    int64_t task_id = store_int(self->store, 0,
                                "SELECT task_id FROM databases WHERE id = ?",
                                "i", db_id);

    store_now(now, sizeof now);
    if (store_exec(self->store,
                   "INSERT INTO tables_ (database_id, schema_name, "
                   "table_name, columns, state, started_at, ended_at, "
                   "cdc_ins, cdc_upd, cdc_del) "
                   "VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?)",
                   "isssssiii", db_id, t->schema, t->name,
                   states_table_name(TABLE_COMPLETED), now, now, t->inserts,
                   t->updates, t->deletes) == 0)
    {
        coord_event(self, task_id, "warn",
                    "database_id=%" PRId64 " table %s.%s appeared in the "
                    "change stream: created on the source after the full "
                    "load started, its changes are applied from now on; rows "
                    "it held before it was published are not (--validate "
                    "compares it)",
                    db_id, t->schema, t->name);
    }
}

/*
 * The WAL a database's slot holds back on its source, as the cdc unit
 * measured it (the caller keeps it in the catalog): a warning event each
 * time it crosses --slot-wal-warn, not at every report.
 */
static void
s_note_slot_wal(coord_t *self, const databases_row_t *db, int64_t db_id,
                int64_t bytes)
{
    if (self->slot_wal_warn > 0 && db->slot_wal_bytes <= self->slot_wal_warn &&
        bytes > self->slot_wal_warn)
    {
        coord_event(self, db->task_id, "warn",
                    "database_id=%" PRId64 " the replication slot holds "
                    "back %" PRId64 " MB of WAL on the source, over "
                    "--slot-wal-warn (%" PRId64 " MB): the source's disk "
                    "fills while the target is behind",
                    db_id, bytes >> 20, self->slot_wal_warn >> 20);
    }
}

/*
 * The cdc unit's report: where the stream stands and each table's
 * counters, as the target committed them (so replacing, never adding).
 * Moves the database between CATCHING_UP and READY_TO_COMPLETE.
 */
static void
s_store_cdc(coord_t *self, int64_t db_id, const Pgconvoy__CdcProgress *cdc)
{
    databases_row_t db;

    if (databases_get(self->store, db_id, &db) != 0)
    {
        return;
    }
    s_note_slot_wal(self, &db, db_id, (int64_t) cdc->slot_wal_bytes);
    (void) store_exec(self->store,
                      "UPDATE databases SET received_lsn = ?, applied_lsn = ?, "
                      "source_lsn = ?, latency_ms = ?, pending = ?, "
                      "end_lsn = CASE WHEN ? > 0 THEN ? ELSE end_lsn END, "
                      "slot_wal_bytes = ? WHERE id = ?",
                      "iiiiiiiii", (int64_t) cdc->received_lsn,
                      (int64_t) cdc->applied_lsn, (int64_t) cdc->source_lsn,
                      cdc->latency_ms, cdc->pending, (int64_t) cdc->end_lsn,
                      (int64_t) cdc->end_lsn, (int64_t) cdc->slot_wal_bytes,
                      db_id);
    for (size_t i = 0; i < cdc->n_tables; i++)
    {
        const Pgconvoy__TableChanges *t = cdc->tables[i];
        if (store_exec(self->store,
                       "UPDATE tables_ SET cdc_ins = ?, cdc_upd = ?, "
                       "cdc_del = ? WHERE database_id = ? AND "
                       "schema_name = ? AND table_name = ?",
                       "iiiiss", t->inserts, t->updates, t->deletes, db_id,
                       t->schema, t->name) == 0 &&
            store_changes(self->store) == 0)
        {
            s_add_cdc_table(self, db_id, t);
        }
    }
    db_state_t state = db.state;
    if (state == DB_CATCHING_UP && cdc->latency_ms < RESULTS_READY_LATENCY_MS)
    {
        (void) plan_move_database(self, db_id, DB_READY_TO_COMPLETE, NULL);
    }
    else if (state == DB_READY_TO_COMPLETE &&
             cdc->latency_ms > RESULTS_BEHIND_LATENCY_MS)
    {
        (void) plan_move_database(self, db_id, DB_CATCHING_UP, NULL);
    }
}

static void
s_insert_tables(coord_t *self, int64_t db_id, const Pgconvoy__Result *r)
{
    for (size_t i = 0; i < r->n_tables; i++)
    {
        const Pgconvoy__TableRef *t = r->tables[i];
        (void) store_exec(self->store,
                          "INSERT INTO tables_ (database_id, schema_name, "
                          "table_name, bytes_est, rows_est, binary_ok, "
                          "columns, pages, analyze_early) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          "issiiisii", db_id, t->schema, t->name, t->bytes,
                          t->rows, (int64_t) t->binary, t->columns, t->pages,
                          (int64_t) t->analyze_early);
    }
}

static void
s_on_prepare(coord_t *self, int64_t task_id, int64_t db_id,
             const Pgconvoy__Result *r)
{
    if (r->ok)
    {
        (void) store_exec(self->store,
                          "UPDATE tasks SET source_version = ?, "
                          "target_version = ? WHERE id = ?",
                          "ssi", r->source_version, r->target_version, task_id);
        (void) store_exec(self->store,
                          "UPDATE databases SET skip_schema = ? WHERE id = ?",
                          "ii", (int64_t) r->target_has_schema, db_id);
        s_insert_tables(self, db_id, r);
        for (size_t i = 0; i < r->n_notices; i++)
        {
            pending_add_notice(self->pending, task_id, r->notices[i]);
            coord_event(self, task_id, "warn", "database_id=%" PRId64 " %s",
                        db_id, r->notices[i]);
        }
    }
    else if (!r->retryable)
    {
        for (size_t i = 0; i < r->n_problems; i++)
        {
            pending_add_problem(self->pending, task_id, r->problems[i]);
        }
        if (r->n_problems == 0)
        {
            pending_add_problem(self->pending, task_id, r->error);
        }
        /* with the refusal: the next try meets them */
        for (size_t i = 0; i < r->n_notices; i++)
        {
            pending_add_notice(self->pending, task_id, r->notices[i]);
        }
    }
}

/*
 * The post-data items are known: those of tables loaded meanwhile can be
 * built now, and the tables without any analyzed. Nothing here follows
 * the size of the database: the items are kept as one row (items.c),
 * written out a chunk per pass of the loop, and the rest is left to the
 * sweeps (sweep.h): the copies of tables no Progress named, then, once
 * every item is written, the builds and ANALYZE of tables loaded
 * already.
 */
static void
s_on_schema_pre(coord_t *self, int64_t task_id, int64_t db_id,
                const Pgconvoy__Result *r)
{
    advance_start_copies(self, task_id, db_id, NULL, 0);
    if (r->n_items > 0)
    {
        /* the post-data sweep starts with the last chunk */
        (void) items_stage(self->store, db_id, r);
        self->sweep_wanted = true;
    }
    else if (sweep_start(self->store, db_id, SWEEP_POSTDATA) > 0)
    {
        self->sweep_wanted = true;
    }
}

/* One range of a table is in; the last one completes the table. A
 * whole table may come analyzed too (Result.analyzed): its ANALYZE unit
 * is recorded done, so that none is queued. */
static void
s_on_copy_done(coord_t *self, const char *agent, int64_t task_id,
               int64_t db_id, int64_t table_id, const Pgconvoy__Result *r)
{
    (void) store_exec(self->store,
                      "UPDATE units SET rows = ?, bytes = ? WHERE id = ?",
                      "iii", r->rows, r->bytes, (int64_t) r->unit_id);
    if (r->analyzed &&
        store_int(self->store, 1,
                  "SELECT count(*) FROM units WHERE table_id = ? AND kind = ?",
                  "ii", table_id, (int64_t) K_ANALYZE) == 0)
    {
        (void) units_add_done(self->store, task_id, db_id, K_ANALYZE,
                              table_id, agent);
    }
    if (store_int(self->store, 1,
                  "SELECT count(*) FROM units WHERE table_id = ? AND "
                  "kind = ? AND state <> 'done'",
                  "ii", table_id, (int64_t) K_COPY) > 0)
    {
        return;
    }
    (void) store_exec(self->store,
                      "UPDATE tables_ SET "
                      "rows = (SELECT sum(rows) FROM units WHERE "
                      "        table_id = tables_.id AND kind = ?), "
                      "bytes = (SELECT sum(bytes) FROM units WHERE "
                      "         table_id = tables_.id AND kind = ?) "
                      "WHERE id = ?",
                      "iii", (int64_t) K_COPY, (int64_t) K_COPY, table_id);
    (void) s_move_table(self, table_id, TABLE_COMPLETED, NULL);
    advance_table_loaded(self, task_id, db_id, table_id);
}

/*
 * The database waits out a failure: shown in its status (what failed
 * last, since when, tries failed in a row) until a unit of it succeeds.
 * Told once as an event, when the waiting starts.
 */
static void
s_note_trouble(coord_t *self, int64_t task_id, int64_t db_id,
               const char *error, int64_t retries)
{
    char now[40];
    bool started = store_int(self->store, 0,
                             "SELECT trouble_since IS NULL FROM databases "
                             "WHERE id = ?",
                             "i", db_id) != 0;

    store_now(now, sizeof now);
    (void) store_exec(self->store,
                      "UPDATE databases SET trouble = ?, trouble_retries = ?, "
                      "trouble_since = coalesce(trouble_since, ?) "
                      "WHERE id = ?",
                      "sisi", error, retries, now, db_id);
    if (started)
    {
        coord_event(self, task_id, "warn",
                    "database_id=%" PRId64 " waiting out a failure, trying "
                    "again until it works: %s",
                    db_id, error);
    }
}

/* A unit of the database worked: whatever it waited out is over. */
static void
s_clear_trouble(coord_t *self, int64_t task_id, int64_t db_id)
{
    int64_t retries = store_int(self->store, -1,
                                "SELECT trouble_retries FROM databases "
                                "WHERE id = ? AND trouble IS NOT NULL",
                                "i", db_id);

    if (retries < 0)
    {
        return;
    }
    (void) store_exec(self->store,
                      "UPDATE databases SET trouble = NULL, "
                      "trouble_since = NULL, trouble_retries = 0 "
                      "WHERE id = ?",
                      "i", db_id);
    coord_event(self, task_id, "info",
                "database_id=%" PRId64 " working again after %" PRId64
                " failed tries",
                db_id, retries);
}

/* A unit failed: try it again, or fail its database. */
static void
s_on_failure(coord_t *self, int64_t unit_id, int kind, int64_t task_id,
             int64_t db_id, int64_t table_id, int attempts,
             const Pgconvoy__Result *r)
{
    if ((kind == K_SNAPSHOT || kind == K_SLOT) && !r->retryable)
    {
        /* the source cannot give one (a privilege, a setting): say so
         * now, not after retries */
        (void) units_move(self->store, unit_id, UNIT_FAILED, r->error);
        plan_fail_database(self, task_id, db_id, r->error);
        return;
    }
    if (kind == K_SNAPSHOT || kind == K_SLOT)
    {
        /* the snapshot is gone; FULL_LOAD takes another if copies wait */
        (void) units_move(self->store, unit_id, UNIT_FAILED, r->error);
        /* gone with it, unless another holder took a snapshot since
         * (its agent was lost, and this is heard only now) */
        (void) store_exec(self->store,
                          "UPDATE databases SET snapshot = NULL, "
                          "snapshot_unit = NULL WHERE id = ? AND "
                          "snapshot_unit = ?",
                          "ii", db_id, unit_id);
        return;
    }
    if (kind == K_CLEANUP && r->source_stream_dropped)
    {
        /* task show lists only what is left */
        (void) store_exec(self->store,
                          "UPDATE databases SET source_stream_dropped = 1 "
                          "WHERE id = ?",
                          "i", db_id);
    }
    if (kind == K_CLEANUP && !r->retryable)
    {
        /* nothing left to fail: say what is left behind, and how to go */
        (void) units_move(self->store, unit_id, UNIT_FAILED, r->error);
        coord_event(self, task_id, "error",
                    "database_id=%" PRId64 " the replication slot, "
                    "publication or origin could not be dropped; drop them "
                    "by hand (pg_drop_replication_slot, DROP PUBLICATION, "
                    "pg_replication_origin_drop): %s",
                    db_id, r->error);
        return;
    }
    if (kind == K_COPY && r->snapshot_lost)
    {
        /* not the copy's fault: it runs again, under a new snapshot,
         * without using up an attempt */
        coord_event(self, task_id, "warn",
                    "unit=%" PRId64 " could not import the snapshot, "
                    "taking a new one: %s",
                    unit_id, r->error);
        (void) units_move(self->store, unit_id, UNIT_QUEUED, NULL);
        (void) store_exec(self->store,
                          "UPDATE units SET attempts = attempts - 1 "
                          "WHERE id = ?",
                          "i", unit_id);
        (void) s_move_table(self, table_id, TABLE_QUEUED, NULL);
        plan_release_snapshots(self, db_id);
        return;
    }
    /*
     * Its database failed or was cancelled while it ran (a unit let go
     * answers so, retryable): nothing of it is tried again, or a build
     * would be placed for a database that is over. Cleaning up is what
     * such a database still needs.
     */
    if (kind != K_CLEANUP &&
        states_db_is_final(plan_database_state(self, db_id)))
    {
        (void) units_move(self->store, unit_id, UNIT_CANCELLED, r->error);
        return;
    }
    /*
     * A transient failure (a server restarting, a network cut) is tried
     * again for as long as it lasts, with a growing pause: no outage
     * fails a database. Only the checks' unit is bounded, as a CLI waits
     * for their verdict.
     */
    if (r->retryable && (kind != K_PREPARE || attempts < COORD_MAX_ATTEMPTS))
    {
        int64_t pause = units_backoff_ms(attempts);

        coord_event(self, task_id, "warn",
                    "unit=%" PRId64 " kind=%s attempt %d failed, trying "
                    "again in %" PRId64 " s: %s",
                    unit_id, units_kind_name(kind), attempts, pause / 1000,
                    r->error);
        (void) units_move(self->store, unit_id, UNIT_QUEUED, r->error);
        (void) units_defer(self->store, unit_id, pause);
        if (kind != K_PREPARE)
        {
            s_note_trouble(self, task_id, db_id, r->error, attempts);
        }
        /* a table's state is its load's: an index build or ANALYZE
         * tried again leaves it as it is */
        if (kind == K_COPY && s_table_state(self, table_id) == TABLE_LOADING)
        {
            (void) s_move_table(self, table_id, TABLE_QUEUED, NULL);
        }
        return;
    }
    (void) units_move(self->store, unit_id, UNIT_FAILED, r->error);
    if (kind == K_COPY)
    {
        (void) s_move_table(self, table_id, TABLE_ERROR, r->error);
    }
    if (kind != K_PREPARE)
    {
        plan_fail_database(self, task_id, db_id, r->error);
    }
}

void
results_on_progress(coord_t *self, const char *agent,
                    const Pgconvoy__Progress *p)
{
    units_row_t unit;

    if (units_get_running(self->store, (int64_t) p->unit_id, agent, &unit) != 0)
    {
        return; /* a unit we no longer expect from this agent */
    }
    int kind = unit.kind;
    int64_t db_id = unit.database_id;
    int64_t task_id = unit.task_id;
    bool released = unit.started;
    if (p->trouble[0] != '\0')
    {
        /* a unit retrying by itself (cdc): it waits out a failure */
        if (store_begin(self->store) == 0)
        {
            s_note_trouble(self, task_id, db_id, p->trouble, p->retries);
            /* the slot grows most while the target is away: shown then
             * too, when the source could be asked */
            databases_row_t db;
            if (p->slot_wal_bytes > 0 &&
                databases_get(self->store, db_id, &db) == 0)
            {
                s_note_slot_wal(self, &db, db_id, (int64_t) p->slot_wal_bytes);
                (void) store_exec(self->store,
                                  "UPDATE databases SET slot_wal_bytes = ? "
                                  "WHERE id = ?",
                                  "ii", (int64_t) p->slot_wal_bytes, db_id);
            }
            (void) store_commit(self->store);
        }
    }
    else if (kind == K_CDC && p->cdc != NULL)
    {
        if (store_begin(self->store) == 0)
        {
            s_clear_trouble(self, task_id, db_id);
            s_store_cdc(self, db_id, p->cdc);
            if (p->cdc->validating)
            {
                /* it only waits now: its job slot goes to the
                 * validate units (dispatch.c) */
                (void) store_exec(self->store,
                                  "UPDATE units SET started = 1 WHERE id = ?",
                                  "i", (int64_t) p->unit_id);
                advance_validation(self, task_id, db_id);
            }
            (void) store_commit(self->store);
        }
        if (p->cdc->validating)
        {
            dispatch_request(self);
        }
    }
    else if ((kind == K_SNAPSHOT || kind == K_SLOT) && !released &&
             p->snapshot[0] != '\0')
    {
        /* online: the stream starts where the snapshot was taken */
        (void) store_exec(self->store,
                          "UPDATE databases SET snapshot = ?, "
                          "snapshot_unit = ?, start_lsn = "
                          "CASE WHEN ? > 0 THEN ? ELSE start_lsn END "
                          "WHERE id = ?",
                          "siiii", p->snapshot, (int64_t) p->unit_id,
                          (int64_t) p->lsn, (int64_t) p->lsn, db_id);
        log_info("database_id=%" PRId64 " snapshot=%s agent=%s holds the "
                 "snapshot",
                 db_id, p->snapshot, agent);
        dispatch_request(self);
    }
    else if (kind == K_SCHEMA_PRE && p->started)
    {
        /* the tables exist: the copies need not wait for the post-data
         * items, which schema-pre reads next */
        if (store_begin(self->store) == 0)
        {
            advance_start_copies(self, task_id, db_id, p->tables, p->n_tables);
            (void) store_commit(self->store);
        }
        dispatch_request(self);
    }
    else if (kind == K_COPY && p->started)
    {
        if (store_begin(self->store) == 0)
        {
            (void) store_exec(self->store,
                              "UPDATE units SET started = 1 WHERE id = ?", "i",
                              (int64_t) p->unit_id);
            /* remember every agent that worked on the table, for the
             * status */
            int64_t table_id = unit.table_id;
            (void) store_exec(
                self->store,
                "UPDATE tables_ SET agents = CASE WHEN instr(',' || agents "
                "|| ',', ',' || ? || ',') > 0 THEN agents WHEN agents = '' "
                "THEN ? ELSE agents || ',' || ? END WHERE id = ?",
                "sssi", agent, agent, agent, table_id);
            /* another range of it may have made it LOADING already */
            if (s_table_state(self, table_id) == TABLE_QUEUED)
            {
                (void) s_move_table(self, table_id, TABLE_LOADING, NULL);
            }
            advance_request(self, task_id, db_id);
            (void) store_commit(self->store);
        }
    }
    else if (kind == K_COPY)
    {
        (void) store_exec(self->store,
                          "UPDATE units SET bytes = ? WHERE id = ?", "ii",
                          p->bytes, (int64_t) p->unit_id);
    }
}

void
results_on_result(coord_t *self, const char *agent, const Pgconvoy__Result *r)
{
    units_row_t unit;

    if (units_get_running(self->store, (int64_t) r->unit_id, agent, &unit) != 0)
    {
        /* placed elsewhere since, or cancelled: the target's own
         * bookkeeping makes the other run skip or redo it */
        log_info("unit=%" PRIu64 " agent=%s result ignored: the unit is no "
                 "longer this agent's",
                 r->unit_id, agent);
        return;
    }
    int kind = unit.kind;
    int64_t task_id = unit.task_id;
    int64_t db_id = unit.database_id;
    int64_t table_id = unit.table_id;
    int attempts = unit.attempts;

    if (store_begin(self->store) != 0)
    {
        return;
    }
    if (r->ok)
    {
        (void) units_move(self->store, (int64_t) r->unit_id, UNIT_DONE, NULL);
        s_clear_trouble(self, task_id, db_id);
        if (kind == K_SCHEMA_PRE)
        {
            s_on_schema_pre(self, task_id, db_id, r);
        }
        else if (kind == K_COPY)
        {
            s_on_copy_done(self, agent, task_id, db_id, table_id, r);
        }
        else if (kind == K_SCHEMA_POST)
        {
            /* the table's last index may be in: its ANALYZE can go */
            int64_t item_table =
                store_int(self->store, 0,
                          "SELECT t.id FROM units u "
                          "  JOIN schema_items si ON si.id = u.item_id "
                          "  JOIN tables_ t ON t.database_id = si.database_id "
                          "   AND (t.schema_name, t.table_name) = "
                          "       (si.table_schema, si.table_name) "
                          " WHERE u.id = ?",
                          "i", (int64_t) r->unit_id);
            if (item_table != 0)
            {
                advance_queue_analyze(self, task_id, db_id, item_table);
            }
        }
        else if (kind == K_VALIDATE)
        {
            /* a difference is no failure of the unit: kept, and told once
             * every table is compared */
            (void) store_exec(
                self->store, "UPDATE tables_ SET differs = ? WHERE id = ?",
                "si", r->n_problems > 0 ? r->problems[0] : NULL, table_id);
            advance_validation(self, task_id, db_id);
        }
        else if (kind == K_FINALIZE && plan_is_online(self, task_id))
        {
            /* the copy is whole: now the changes made since */
            databases_row_t db;
            if (databases_get(self->store, db_id, &db) == 0 &&
                db.state == DB_FULL_LOAD)
            {
                (void) plan_move_database(
                    self, db_id, db.cutover ? DB_COMPLETING : DB_CATCHING_UP,
                    NULL);
            }
            (void) units_add(self->store, task_id, db_id, K_CDC, 0, 0, 0);
            coord_event(self, task_id, "info",
                        "database_id=%" PRId64 " full load and schema done, "
                        "applying the changes made since",
                        db_id);
        }
        else if (kind == K_CDC)
        {
            if (r->cdc != NULL)
            {
                s_store_cdc(self, db_id, r->cdc);
            }
            (void) plan_move_database(self, db_id, DB_COMPLETED, NULL);
        }
    }
    else
    {
        log_warn("unit=%" PRIu64 " kind=%s agent=%s failed: %s", r->unit_id,
                 units_kind_name(kind), agent, r->error);
        s_on_failure(self, (int64_t) r->unit_id, kind, task_id, db_id, table_id,
                     attempts, r);
    }
    if (kind == K_PREPARE)
    {
        s_on_prepare(self, task_id, db_id, r);
        units_row_t settled;
        /* failed for good, not queued again for another try */
        if (!r->ok &&
            units_get(self->store, (int64_t) r->unit_id, &settled) == 0 &&
            settled.state == UNIT_FAILED)
        {
            (void) plan_move_database(self, db_id, DB_FAILED, r->error);
        }
    }
    else
    {
        advance_request(self, task_id, db_id);
    }
    (void) store_commit(self->store);
    if (kind == K_PREPARE)
    {
        plan_prepare_verdict(self, task_id);
    }
    if (kind == K_CLEANUP)
    {
        plan_finish_delete(self, task_id);
    }
    dispatch_request(self);
}

/* Settles one unit whose agent no longer runs it, as a failure. */
static void
s_forget_unit(coord_t *self, const char *agent, const results_lost_t *u)
{
    Pgconvoy__Result lost = PGCONVOY__RESULT__INIT;
    char *why = xasprintf("agent \"%s\" was lost while running this %s unit",
                          agent, units_kind_name(u->kind));

    lost.unit_id = u->id;
    lost.error = why;
    lost.retryable = u->attempts < COORD_MAX_PLACEMENTS;
    coord_event(self, u->task_id, "warn", "unit=%" PRIu64 " %s", u->id, why);
    if (store_begin(self->store) == 0)
    {
        /* COORD_MAX_PLACEMENTS, not COORD_MAX_ATTEMPTS, bounds this: a
         * placement lost to a dead agent is no failure of the unit */
        s_on_failure(self, (int64_t) u->id, u->kind, u->task_id, u->db_id,
                     u->table_id, lost.retryable ? 0 : u->attempts, &lost);
        if (u->kind == K_PREPARE)
        {
            s_on_prepare(self, u->task_id, u->db_id, &lost);
        }
        else
        {
            advance_request(self, u->task_id, u->db_id);
        }
        (void) store_commit(self->store);
        if (u->kind == K_PREPARE)
        {
            plan_prepare_verdict(self, u->task_id);
        }
        if (u->kind == K_CLEANUP)
        {
            plan_finish_delete(self, u->task_id);
        }
    }
    free(why);
}

void
results_forget_agent_units(coord_t *self, const char *agent,
                           const uint64_t *still_running, size_t n,
                           int64_t up_to)
{
    store_rows_t *rows = store_query(
        self->store,
        "SELECT id, kind, task_id, database_id, coalesce(table_id, 0), "
        "attempts FROM units WHERE state = 'running' AND agent = ? AND "
        "placement <= ?",
        "si", agent, up_to);
    results_lost_t *lost = NULL;
    size_t nlost = 0;

    /* collect first: settling a unit changes the rows being read */
    while (store_rows_next(rows))
    {
        results_lost_t u = {(uint64_t) store_rows_int(rows, 0),
                            (int) store_rows_int(rows, 1),
                            store_rows_int(rows, 2),
                            store_rows_int(rows, 3),
                            store_rows_int(rows, 4),
                            (int) store_rows_int(rows, 5)};
        bool running = false;
        for (size_t i = 0; i < n; i++)
        {
            running = running || still_running[i] == u.id;
        }
        if (!running)
        {
            lost = realloc(lost, (nlost + 1) * sizeof *lost);
            if (lost == NULL)
            {
                abort();
            }
            lost[nlost++] = u;
        }
    }
    store_rows_done(&rows);
    for (size_t i = 0; i < nlost; i++)
    {
        s_forget_unit(self, agent, &lost[i]);
    }
    free(lost);
    if (nlost > 0)
    {
        dispatch_request(self);
    }
}
