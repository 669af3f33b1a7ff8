/*
 * coordinator/advance.c
 *     Moving a database forward as far as its units allow: the copy units
 *     once its tables exist, a table's index builds as soon as it is
 *     loaded and its ANALYZE once they are built, a new snapshot when the
 *     old one is lost, and finalize once everything is in.
 *
 * Called on every result, so nothing here reads more than the rows it
 * acts on: counts come from unit_counts, lookups through indexes.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/lsn.h"
#include "common/strbuf.h"
#include "coordinator/advance.h"
#include "coordinator/databases.h"
#include "coordinator/dispatch.h"
#include "coordinator/items.h"
#include "coordinator/plan.h"
#include "coordinator/sweep.h"
#include "coordinator/tasks.h"
#include "coordinator/units.h"

/* the most ranges one table is cut into */
#define ADVANCE_MAX_PARTS 256
/* PostgreSQL's default block size, to turn pages into bytes */
#define ADVANCE_BLOCK_SIZE 8192
/* a table of this size or more has its builds queued once it is
 * loaded, whatever the post-data sweep's place (advance_table_loaded) */
#define ADVANCE_EARLY_BUILD_BYTES (16LL * 1024 * 1024)
/* the weight of an index build whose table is not known */
#define ADVANCE_UNKNOWN_BYTES (1LL << 40)
/*
 * What an index build costs per byte of its table, against a B-tree's,
 * by access method, as the item's SQL (pg_dump's) names it: builds go
 * largest weight first, so that the long ones do not start last. On the
 * schema-rich benchmark a GiST exclusion constraint on a 2 MB table took
 * 4 s, a B-tree on a 10 MB one 0.3 s; GIN takes a few times a B-tree.
 * Those over 8 go ahead of the copies too.
 */
#define ADVANCE_BUILD_COST                                                     \
    "CASE WHEN si.sql LIKE '% USING gist %' "                                  \
    "       OR si.sql LIKE '% USING spgist %' THEN 16 "                        \
    "     WHEN si.sql LIKE '% USING gin %' THEN 4 ELSE 1 END"

/*
 * No holder of the snapshot while copies wait for it: take another.
 * Offline, any snapshot will do. Online, the copies must read as of the
 * slot's consistent point: once a copy has read under the old snapshot,
 * a new slot cannot match it, so the full load starts over. A snapshot
 * lost is a transient trouble (a source restarting, an agent dying):
 * however often it happens, a new one is taken, after a growing pause.
 */
static void
s_retake_snapshot(coord_t *self, int64_t task_id, int64_t db_id, bool online,
                  int64_t queued)
{
    int kind = online ? K_SLOT : K_SNAPSHOT;

    /* a copy that failed rolled back what it read: only those that
     * committed, or may still, tie the load to the old snapshot */
    if (online && store_int(self->store, 0,
                            "SELECT count(*) FROM units WHERE database_id = ? "
                            "AND kind = ? AND (state = 'done' OR "
                            "(state = 'running' AND started = 1))",
                            "ii", db_id, (int64_t) K_COPY) > 0)
    {
        plan_restart_load(self, task_id, db_id);
        return;
    }
    int64_t lost = units_count(self->store, db_id, kind, "'done', 'failed'");
    int64_t pause = units_backoff_ms(lost > 1 ? (int) lost - 1 : 0);
    coord_event(self, task_id, "warn",
                "database_id=%" PRId64 " taking a new %s for the %" PRId64
                " copies not started yet%s",
                db_id, online ? "slot and snapshot" : "snapshot", queued,
                pause > 0 ? ", after a pause: it was lost often" : "");
    if (units_add(self->store, task_id, db_id, kind, 0, 0, 0) == 0)
    {
        (void) units_defer(self->store, store_last_id(self->store), pause);
    }
}

/* FULL_LOAD: keeps a snapshot held while copies need it; once every copy
 * is done, queues what is left to build. Returns true then. */
static bool
s_advance_full_load(coord_t *self, int64_t task_id, int64_t db_id, bool online)
{
    int64_t queued = units_count(self->store, db_id, K_COPY, "'queued'");
    /* assigned is not started: the holder waits for every copy to
     * have imported the snapshot */
    int64_t unstarted = queued + store_int(self->store, 0,
                                           "SELECT count(*) FROM units "
                                           "WHERE database_id = ? AND "
                                           "kind = ? AND state = "
                                           "'running' AND started = 0",
                                           "ii", db_id, (int64_t) K_COPY);
    int64_t unfinished =
        units_count(self->store, db_id, K_COPY, "'queued', 'running'");
    /* released ones (started = 1) are on their way out */
    int64_t holders =
        store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE "
                  "database_id = ? AND state IN ('queued', "
                  "'running') AND started = 0 AND kind IN " UNITS_HOLDER_KINDS,
                  "i", db_id);

    if (queued > 0 && holders == 0)
    {
        s_retake_snapshot(self, task_id, db_id, online, queued);
        return false;
    }
    /* online, a copy tried again must read as of the slot's start too:
     * the slot's snapshot is held until every copy is done */
    /* and not before schema-pre is done: it may still make tables whose
     * copies are to come; nor before every table's copies are queued
     * (the copies' sweep, which schema-pre's result starts) */
    bool schema_done =
        units_count(self->store, db_id, K_SCHEMA_PRE, "'done'") > 0 &&
        sweep_is_done(self->store, db_id, SWEEP_COPIES) &&
        !items_are_staged(self->store, db_id);
    if ((online ? unfinished : unstarted) == 0 && holders > 0 && schema_done)
    {
        plan_release_snapshots(self, db_id);
    }
    /* the copies may be done before schema-pre has read the post-data
     * items, or before they are all written: those are needed first */
    if (unfinished > 0 || !schema_done)
    {
        return false;
    }
    /* once: online, the database stays in FULL_LOAD while it builds,
     * and this runs on each of their results */
    char now[40];
    store_now(now, sizeof now);
    if (store_exec(self->store,
                   "UPDATE databases SET loaded_at = ? "
                   "WHERE id = ? AND loaded_at IS NULL",
                   "si", now, db_id) == 0 &&
        store_changes(self->store) > 0)
    {
        (void) advance_queue_items(self, task_id, db_id, 0);
        int64_t left = items_count_builds(self->store, db_id) -
                       units_count(self->store, db_id, K_SCHEMA_POST, "'done'");
        if (left > 0)
        {
            coord_event(self, task_id, "info",
                        "database_id=%" PRId64 " full load done, building "
                        "the %" PRId64 " indexes and constraints left",
                        db_id, left);
        }
    }
    return true;
}

/*
 * Indexes and constraints built: finalize, beside the last ANALYZE units.
 * Offline, the database is completed once both are done; online, finalize
 * starts the changes' apply, and waits for the ANALYZE units so that the
 * tables are analyzed before the cutover can be.
 */
static void
s_advance_build(coord_t *self, int64_t task_id, int64_t db_id, bool online)
{
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE database_id = ? AND "
                  "state = 'running' AND kind IN " UNITS_HOLDER_KINDS,
                  "i", db_id) > 0)
    {
        plan_release_snapshots(self, db_id); /* in case a Release was lost */
    }
    /* the tables loaded before the items were known get their builds
     * from the post-data sweep: finalize waits for it */
    if (!sweep_is_done(self->store, db_id, SWEEP_POSTDATA) ||
        units_count(self->store, db_id, K_SCHEMA_POST, "'queued', 'running'") >
            0)
    {
        return;
    }
    /*
     * Every index is built: the tables not analyzed yet are now. A
     * table's ANALYZE is queued as soon as its last index is built; the
     * analyze sweep, which visits every table of the database a chunk per
     * pass, only catches what that missed, and so runs once per database,
     * not whenever the queue of builds runs dry for a moment.
     */
    if (sweep_start(self->store, db_id, SWEEP_ANALYZE) > 0)
    {
        self->sweep_wanted = true;
        return;
    }
    if (!sweep_is_done(self->store, db_id, SWEEP_ANALYZE))
    {
        return;
    }
    /*
     * Offline, finalize need not wait for the last ANALYZE units: they
     * commit table by table (unit_analyze.c), so finalize's locks (a
     * trigger on a partitioned table takes its partitions) wait for one
     * table at most, and its half second of statements runs beside them.
     */
    int64_t analyzing =
        units_count(self->store, db_id, K_ANALYZE, "'queued', 'running'");
    int64_t finalize =
        units_count(self->store, db_id, K_FINALIZE, "'queued', 'running'");
    int64_t finalized = units_count(self->store, db_id, K_FINALIZE, "'done'");

    if (finalize == 0 && finalized == 0 && (!online || analyzing == 0))
    {
        (void) units_add(self->store, task_id, db_id, K_FINALIZE, 0, 0, 0);
    }
    else if (!online && finalized > 0 && analyzing == 0)
    {
        (void) plan_move_database(self, db_id, DB_COMPLETED, NULL);
    }
}

/*
 * Moves one database forward as far as its units allow. Offline, the
 * build after the full load is COMPLETING; online, the database stays in
 * FULL_LOAD until its indexes are built, as COMPLETING is the cutover.
 */
void
advance_database(coord_t *self, int64_t task_id, int64_t db_id)
{
    bool online = plan_is_online(self, task_id);
    bool building = false;
    db_state_t state = plan_database_state(self, db_id);

    if (state == DB_FULL_LOAD)
    {
        building = s_advance_full_load(self, task_id, db_id, online);
        if (building && !online)
        {
            (void) plan_move_database(self, db_id, DB_COMPLETING, NULL);
        }
    }
    else if (state == DB_COMPLETING)
    {
        building = !online;
    }
    if (building)
    {
        s_advance_build(self, task_id, db_id, online);
    }
    plan_update_task_state(self, task_id);
}

void
advance_request(coord_t *self, int64_t task_id, int64_t db_id)
{
    for (size_t i = 0; i < self->n_advance; i++)
    {
        if (self->advance[i].db_id == db_id)
        {
            return;
        }
    }
    self->advance =
        realloc(self->advance, (self->n_advance + 1) * sizeof *self->advance);
    if (self->advance == NULL)
    {
        abort();
    }
    self->advance[self->n_advance].task_id = task_id;
    self->advance[self->n_advance].db_id = db_id;
    self->n_advance++;
}

void
advance_requested(coord_t *self)
{
    /* moving one database forward may ask for another: until none is */
    while (self->n_advance > 0)
    {
        struct coord_advance_t next = self->advance[--self->n_advance];
        advance_database(self, next.task_id, next.db_id);
    }
    /* a post-data sweep held back by a long queue goes on once the
     * queue runs low: the builds it queues are needed then */
    if (self->sweep_held && !self->sweep_wanted &&
        sweep_may_go_on(self->store, SWEEP_POSTDATA))
    {
        self->sweep_wanted = true;
    }
}

/* Queues one copy unit per block range of the table. */
static void
s_add_copy_units(coord_t *self, int64_t task_id, int64_t db_id,
                 int64_t table_id, int64_t pages, int64_t bytes_est,
                 int64_t split_bytes)
{
    int64_t size = pages * ADVANCE_BLOCK_SIZE;
    int64_t parts = 1;

    if (split_bytes > 0 && size > split_bytes)
    {
        parts = (size + split_bytes - 1) / split_bytes;
        parts = parts < ADVANCE_MAX_PARTS ? parts : ADVANCE_MAX_PARTS;
    }
    (void) store_exec(self->store, "UPDATE tables_ SET parts = ? WHERE id = ?",
                      "ii", parts, table_id);
    for (int64_t i = 0; i < parts; i++)
    {
        /* the last range is open-ended: the table may have grown */
        int64_t last = i == parts - 1 ? 0 : pages * (i + 1) / parts;
        (void) store_exec(self->store,
                          "INSERT INTO units (task_id, database_id, kind, "
                          "table_id, priority, weight, part, first_page, "
                          "last_page) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          "iiiiiiiii", task_id, db_id, (int64_t) K_COPY,
                          table_id, (int64_t) units_kind_priority(K_COPY),
                          bytes_est / parts, i, pages * i / parts, last);
    }
}

/* Queues the copies of one table, unless queued already. */
static void
s_start_table_copies(coord_t *self, int64_t task_id, int64_t db_id,
                     int64_t table_id, int64_t pages, int64_t bytes_est,
                     int64_t split_bytes)
{
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE table_id = ? AND kind = ?",
                  "ii", table_id, (int64_t) K_COPY) == 0)
    {
        s_add_copy_units(self, task_id, db_id, table_id, pages, bytes_est,
                         split_bytes);
    }
}

void
advance_start_copies(coord_t *self, int64_t task_id, int64_t db_id,
                     Pgconvoy__TableRef *const *tables, size_t n)
{
    db_state_t state = plan_database_state(self, db_id);
    tasks_row_t task;
    store_rows_t *rows = NULL;

    /* the first tables made move the database to its load; more may
     * come from schema-pre until it is done */
    if (state != DB_SCHEMA && state != DB_FULL_LOAD)
    {
        return;
    }
    /* gone: split_bytes 0, no table split */
    (void) tasks_get(self->store, task_id, &task);
    for (size_t i = 0; i < n; i++)
    {
        rows = store_query(self->store,
                           "SELECT id, pages, bytes_est FROM tables_ "
                           "WHERE database_id = ? AND schema_name = ? "
                           "AND table_name = ?",
                           "iss", db_id, tables[i]->schema, tables[i]->name);
        /* not one to copy (a partitioned parent, one left out) */
        if (store_rows_next(rows))
        {
            s_start_table_copies(self, task_id, db_id, store_rows_int(rows, 0),
                                 store_rows_int(rows, 1),
                                 store_rows_int(rows, 2), task.split_bytes);
        }
        store_rows_done(&rows);
    }
    /* every table: in chunks, between other messages (advance_sweep) */
    if (n == 0 && sweep_start(self->store, db_id, SWEEP_COPIES) > 0)
    {
        self->sweep_wanted = true;
    }
    if (state == DB_SCHEMA)
    {
        (void) plan_move_database(self, db_id, DB_FULL_LOAD, NULL);
    }
}

/* The copies' sweep, on one chunk: each table's copies, once. */
static void
s_sweep_copies(coord_t *self, const sweep_chunk_t *chunk)
{
    tasks_row_t task;

    /* gone: split_bytes 0, no table split */
    (void) tasks_get(self->store, chunk->task_id, &task);
    for (size_t i = 0; i < chunk->n; i++)
    {
        const sweep_table_t *t = &chunk->tables[i];
        s_start_table_copies(self, chunk->task_id, chunk->db_id, t->id,
                             t->pages, t->bytes_est, task.split_bytes);
    }
}

/* The post-data sweep, on one chunk: the builds of the tables loaded
 * before the items were known, and the ANALYZE of those with none.
 * Tables loaded since were seen to as they completed. */
static void
s_sweep_postdata(coord_t *self, const sweep_chunk_t *chunk)
{
    for (size_t i = 0; i < chunk->n; i++)
    {
        const sweep_table_t *t = &chunk->tables[i];
        if (t->loaded)
        {
            (void) advance_queue_items(self, chunk->task_id, chunk->db_id,
                                       t->id);
            (void) advance_queue_analyze(self, chunk->task_id, chunk->db_id,
                                         t->id);
        }
    }
}

/*
 * One chunk of the first database's staged items, written out; with the
 * last, its post-data sweep starts. Returns true if there was one.
 */
static bool
s_write_items(coord_t *self)
{
    int64_t db_id = items_staged_database(self->store);
    databases_row_t db;
    bool last = false;

    if (db_id == 0)
    {
        return false;
    }
    (void) databases_get(self->store, db_id, &db);
    /* a database over (failed, cancelled) builds nothing more */
    if (db.state != DB_FULL_LOAD && db.state != DB_COMPLETING)
    {
        log_debug("database_id=%" PRId64 " staged items dropped: the "
                  "database is %s",
                  db_id, states_db_name(db.state));
        items_drop(self->store, db_id);
        return true;
    }
    if (items_write_chunk(self->store, db_id, &last) <= 0)
    {
        /* logged; dropped, so that the loop does not spin on them */
        items_drop(self->store, db_id);
        plan_fail_database(self, db.task_id, db_id,
                           "the post-data items could not be kept in the "
                           "catalog");
        return true;
    }
    if (last)
    {
        log_debug("database_id=%" PRId64 " every post-data item written",
                  db_id);
        (void) sweep_start(self->store, db_id, SWEEP_POSTDATA);
    }
    advance_request(self, db.task_id, db_id);
    dispatch_request(self);
    return true;
}

/* The analyze sweep, on one chunk: the ANALYZE of each loaded table
 * that has none yet (advance_queue_analyze() checks each). */
static void
s_sweep_analyze(coord_t *self, const sweep_chunk_t *chunk)
{
    for (size_t i = 0; i < chunk->n; i++)
    {
        if (chunk->tables[i].loaded)
        {
            (void) advance_queue_analyze(self, chunk->task_id, chunk->db_id,
                                         chunk->tables[i].id);
        }
    }
}

bool
advance_sweep(coord_t *self)
{
    bool more = s_write_items(self);

    for (int kind = 0; kind < SWEEP_KIND_COUNT; kind++)
    {
        sweep_chunk_t chunk;
        if (sweep_take(self->store, (sweep_kind_t) kind, &chunk) <= 0)
        {
            continue;
        }
        more = true;
        db_state_t state = plan_database_state(self, chunk.db_id);
        /* a database over (failed, cancelled) queues nothing more */
        if (state != DB_FULL_LOAD &&
            (kind == SWEEP_COPIES || state != DB_COMPLETING))
        {
            log_debug("database_id=%" PRId64 " sweep=%s ended: the database "
                      "is %s",
                      chunk.db_id, sweep_kind_name((sweep_kind_t) kind),
                      states_db_name(state));
            sweep_end(self->store, chunk.db_id, (sweep_kind_t) kind);
            continue;
        }
        if (kind == SWEEP_COPIES)
        {
            s_sweep_copies(self, &chunk);
        }
        else if (kind == SWEEP_POSTDATA)
        {
            s_sweep_postdata(self, &chunk);
        }
        else
        {
            s_sweep_analyze(self, &chunk);
        }
        log_debug("database_id=%" PRId64 " sweep=%s tables=%zu swept",
                  chunk.db_id, sweep_kind_name((sweep_kind_t) kind), chunk.n);
        /* what the chunk queued is placed at the end of this pass, and
         * the sweep's end may let the database move on */
        advance_request(self, chunk.task_id, chunk.db_id);
        dispatch_request(self);
    }
    self->sweep_wanted = more;
    /* advance_requested() looks again once its queue runs low */
    bool held = sweep_is_held(self->store, SWEEP_POSTDATA);
    if (held && !self->sweep_held)
    {
        log_debug("sweep=post-data held until fewer than %d units are "
                  "queued",
                  SWEEP_QUEUE_LOW);
    }
    self->sweep_held = held;
    return more;
}

/*
 * Queues the phase-1 items (indexes, constraints) not queued yet: of one
 * table once it is loaded (table_id), or (0) those of tables not copied,
 * such as a partitioned table's, once the load is done.
 */
int64_t
advance_queue_items(coord_t *self, int64_t task_id, int64_t db_id,
                    int64_t table_id)
{
    /* one table's items through items_by_table; all of them, only when
     * the load is done; either way the cost follows the items queued */
#define ITEMS_INSERT                                                           \
    "INSERT INTO units (task_id, database_id, kind, item_id, priority, "       \
    "                   weight) "                                              \
    "SELECT ?, ?, ?, si.id, "                                                  \
    "       ? + CASE WHEN " ADVANCE_BUILD_COST " > 8 THEN ? ELSE 0 END, "      \
    "       coalesce((SELECT t.bytes_est FROM tables_ t "                      \
    "                  WHERE t.database_id = si.database_id "                  \
    "                    AND t.schema_name = si.table_schema "                 \
    "                    AND t.table_name = si.table_name), ?) "               \
    "       * " ADVANCE_BUILD_COST " "
#define ITEMS_NEW                                                              \
    "   AND NOT EXISTS (SELECT 1 FROM units u WHERE u.item_id = si.id) "       \
    " ORDER BY si.id"
    static const char *const one_table =
        ITEMS_INSERT "  FROM tables_ tt JOIN schema_items si "
                     "    ON si.database_id = tt.database_id "
                     "   AND si.table_schema = tt.schema_name "
                     "   AND si.table_name = tt.table_name AND si.phase = 1 "
                     " WHERE tt.id = ? AND tt.database_id = ? " ITEMS_NEW;
    /* the tables copied have theirs from the post-data sweep, or when
     * they are loaded: not all at once here */
    static const char *const uncopied =
        ITEMS_INSERT "  FROM schema_items si "
                     " WHERE si.database_id = ? AND si.loose <> 0 "
                     "   AND si.phase = 1 AND ? = 0 " ITEMS_NEW;
#undef ITEMS_INSERT
#undef ITEMS_NEW

    (void) store_exec(self->store, table_id != 0 ? one_table : uncopied,
                      "iiiiiiii", task_id, db_id, (int64_t) K_SCHEMA_POST,
                      (int64_t) units_kind_priority(K_SCHEMA_POST),
                      /* the slowest builds ahead of the copies left: each
                       * is a long chain of its own, that the copies can
                       * run beside, not after */
                      (int64_t) (units_kind_priority(K_COPY) + 1 -
                                 units_kind_priority(K_SCHEMA_POST)),
                      /* an item of no known table may be big: never
                       * batched, and early, as the largest go first */
                      (int64_t) ADVANCE_UNKNOWN_BYTES,
                      table_id != 0 ? table_id : db_id,
                      table_id != 0 ? db_id : table_id);
    return store_changes(self->store);
}

void
advance_table_loaded(coord_t *self, int64_t task_id, int64_t db_id,
                     int64_t table_id)
{
    /* the sweep is to pass it: its builds would only queue behind the
     * copies of the other tables, and take their results' time */
    if (!sweep_has_passed(self->store, db_id, SWEEP_POSTDATA, table_id) &&
        store_int(self->store, 0, "SELECT bytes_est FROM tables_ WHERE id = ?",
                  "i", table_id) < ADVANCE_EARLY_BUILD_BYTES)
    {
        return;
    }
    if (plan_database_state(self, db_id) == DB_FULL_LOAD)
    {
        (void) advance_queue_items(self, task_id, db_id, table_id);
    }
    (void) advance_queue_analyze(self, task_id, db_id, table_id);
}

/*
 * Queues the ANALYZE of one loaded table whose indexes and constraints
 * are all built: after them, so that expression indexes get statistics
 * too; not after the whole load, so that it overlaps with the other
 * tables' copies. The items are known once schema-pre is done and they
 * are all written (items.c). Looked up by the table's key: its cost
 * follows the table's items. None for a task created with no_analyze:
 * its statistics are autovacuum's to gather, as after pg_restore.
 */
int64_t
advance_queue_analyze(coord_t *self, int64_t task_id, int64_t db_id,
                      int64_t table_id)
{
    if (store_exec(
            self->store,
            "INSERT INTO units (task_id, database_id, kind, table_id, "
            "                   priority, weight) "
            "SELECT ?, t.database_id, ?, t.id, ?, t.bytes_est FROM tables_ t "
            " WHERE t.id = ? AND t.database_id = ? AND t.state = 'COMPLETED' "
            "   AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.id = ? "
            "                     AND k.no_analyze <> 0) "
            "   AND EXISTS (SELECT 1 FROM units s WHERE s.database_id = "
            "               t.database_id AND s.kind = ? AND s.state = 'done') "
            "   AND NOT EXISTS (SELECT 1 FROM staged_items x "
            "                    WHERE x.database_id = t.database_id) "
            "   AND NOT EXISTS (SELECT 1 FROM units u WHERE u.table_id = t.id "
            "                     AND u.kind = ?) "
            "   AND NOT EXISTS (SELECT 1 FROM schema_items si "
            "                    WHERE si.database_id = t.database_id "
            "                      AND si.table_schema = t.schema_name "
            "                      AND si.table_name = t.table_name "
            "                      AND si.phase = 1 "
            "                      AND NOT EXISTS (SELECT 1 FROM units u "
            "                                       WHERE u.item_id = si.id "
            "                                         AND u.state = 'done'))",
            "iiiiiiii", task_id, (int64_t) K_ANALYZE,
            (int64_t) units_kind_priority(K_ANALYZE), table_id, db_id, task_id,
            (int64_t) K_SCHEMA_PRE, (int64_t) K_ANALYZE) != 0)
    {
        return 0;
    }
    return store_changes(self->store);
}

void
advance_validation(coord_t *self, int64_t task_id, int64_t db_id)
{
    int64_t tables = 0;
    int64_t differ = 0;
    char *names = NULL;
    databases_row_t db;
    store_rows_t *rows = NULL;

    /* the row's end_lsn, for the error, is read with its state */
    if (databases_get(self->store, db_id, &db) != 0 ||
        db.state != DB_COMPLETING)
    {
        return;
    }
    if (units_count(self->store, db_id, K_VALIDATE,
                    "'queued', 'running', 'done', 'failed', 'cancelled'") == 0)
    {
        /* the tables as the cdc unit knows them: every one migrated */
        (void) store_exec(
            self->store,
            "INSERT INTO units (task_id, database_id, kind, table_id, "
            "                   priority, weight) "
            "SELECT ?, database_id, ?, id, ?, bytes_est FROM tables_ "
            " WHERE database_id = ? ORDER BY bytes_est DESC, id",
            "iiii", task_id, (int64_t) K_VALIDATE,
            (int64_t) units_kind_priority(K_VALIDATE), db_id);
        coord_event(self, task_id, "info",
                    "database_id=%" PRId64 " applied up to the cutover: "
                    "comparing its %" PRId64 " tables on both sides",
                    db_id, store_changes(self->store));
        return;
    }
    if (units_count(self->store, db_id, K_VALIDATE, "'queued', 'running'") > 0)
    {
        return;
    }
    rows = store_query(self->store,
                       /* each: 'table "s.t": source N rows, checksum
                        * C, target M rows, checksum D' */
                       "SELECT count(*), count(differs), "
                       "       group_concat(differs, '; ') "
                       "FROM tables_ WHERE database_id = ?",
                       "i", db_id);
    if (store_rows_next(rows))
    {
        tables = store_rows_int(rows, 0);
        differ = store_rows_int(rows, 1);
        names = xstrdup(store_rows_text(rows, 2));
    }
    store_rows_done(&rows);
    if (differ > 0)
    {
        char *error = xasprintf(
            "validation failed: %" PRId64 " of %" PRId64 " tables differ "
            "between source and target after applying up to " LSN_FMT
            ": %s (writes on the source after the cutover command also "
            "show here)",
            differ, tables, LSN_ARGS(db.end_lsn), names);
        plan_fail_database(self, task_id, db_id, error);
        free(error);
    }
    else
    {
        coord_event(self, task_id, "info",
                    "database_id=%" PRId64 " all %" PRId64 " tables "
                    "identical on both sides: finishing the cutover",
                    db_id, tables);
        plan_confirm_validated(self, db_id);
    }
    free(names);
}
