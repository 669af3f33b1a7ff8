/*
 * coordinator/units.c
 *     Unit kinds, and unit rows shared by the planner and the dispatcher.
 */
#include "coordinator/units.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"

static const char *const s_kind_names[] = {
    "none",     "prepare", "snapshot", "schema-pre", "copy",    "schema-post",
    "finalize", "analyze", "slot",     "cdc",        "cleanup", "validate"};

const char *
units_kind_name(int kind)
{
    return kind >= 0 && kind <= K_VALIDATE ? s_kind_names[kind] : "unknown";
}

int
units_kind_priority(int kind)
{
    switch (kind)
    {
        case K_PREPARE:
            return 100;
        case K_CLEANUP:
            return 95;
        case K_SNAPSHOT:
        case K_SLOT:
            return 90;
        case K_CDC:
            return 85;
        case K_SCHEMA_PRE:
            return 80;
        case K_VALIDATE: /* the cutover waits for them */
            return 75;
        case K_FINALIZE:
            return 70;
        /* copies before builds: a table's copy starts its chain (copy,
         * builds, ANALYZE), and a copy left queued behind builds of
         * other tables ends the load with a chain on one agent */
        case K_COPY:
            return 62;
        case K_SCHEMA_POST:
            return 60;
        case K_ANALYZE:
            return 55;
        default:
            return 50;
    }
}

int
units_add(store_t *store, int64_t task_id, int64_t db_id, int kind,
          int64_t table_id, int64_t item_id, int64_t weight)
{
    return store_exec(store,
                      "INSERT INTO units (task_id, database_id, kind, "
                      "table_id, item_id, priority, weight) "
                      "VALUES (?, ?, ?, nullif(?, 0), nullif(?, 0), ?, ?)",
                      "iiiiiii", task_id, db_id, (int64_t) kind, table_id,
                      item_id, (int64_t) units_kind_priority(kind), weight);
}

int
units_add_done(store_t *store, int64_t task_id, int64_t db_id, int kind,
               int64_t table_id, const char *agent)
{
    return store_exec(store,
                      "INSERT INTO units (task_id, database_id, kind, "
                      "table_id, state, priority, agent, attempts) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                      "iiiisis", task_id, db_id, (int64_t) kind, table_id,
                      states_unit_name(UNIT_DONE),
                      (int64_t) units_kind_priority(kind), agent);
}

/* units_get()'s one query, by the key; s_decode() follows its order */
#define UNITS_ROW_SQL                                                          \
    "SELECT id, task_id, database_id, table_id, item_id, kind, state, "        \
    "priority, weight, attempts, assigned_at, started, batch, placement, "     \
    "part, first_page, last_page, rows, bytes, agent FROM units WHERE id = ?"
#define UNITS_ROW_STATE 6
#define UNITS_ROW_AGENT 19

static void
s_decode(const store_rows_t *rows, units_row_t *row)
{
    row->id = store_rows_int(rows, 0);
    row->task_id = store_rows_int(rows, 1);
    row->database_id = store_rows_int(rows, 2);
    row->table_id = store_rows_int(rows, 3); /* NULL reads as 0 */
    row->item_id = store_rows_int(rows, 4);
    row->kind = (int) store_rows_int(rows, 5);
    (void) states_unit_parse(store_rows_text(rows, UNITS_ROW_STATE),
                             &row->state);
    row->priority = store_rows_int(rows, 7);
    row->weight = store_rows_int(rows, 8);
    row->attempts = (int) store_rows_int(rows, 9);
    row->assigned_at = store_rows_double(rows, 10);
    row->started = store_rows_int(rows, 11) != 0;
    row->batch = store_rows_int(rows, 12);
    row->placement = store_rows_int(rows, 13);
    row->part = store_rows_int(rows, 14);
    row->first_page = store_rows_int(rows, 15);
    row->last_page = store_rows_int(rows, 16);
    row->rows = store_rows_int(rows, 17);
    row->bytes = store_rows_int(rows, 18);
}

/* True if the cursor's unit is running on agent, compared in full: the
 * row struct keeps no copy of the agent */
static bool
s_runs_on(const store_rows_t *rows, const char *agent)
{
    unit_state_t state = UNIT_STATE_COUNT;

    (void) states_unit_parse(store_rows_text(rows, UNITS_ROW_STATE), &state);
    return state == UNIT_RUNNING &&
           !store_rows_is_null(rows, UNITS_ROW_AGENT) &&
           strcmp(store_rows_text(rows, UNITS_ROW_AGENT), agent) == 0;
}

/* units_get(), and (agent not NULL) units_get_running() */
static int
s_get(store_t *store, int64_t id, const char *agent, units_row_t *row)
{
    store_rows_t *rows = store_query(store, UNITS_ROW_SQL, "i", id);
    int rc = -1;

    memset(row, 0, sizeof *row);
    row->state = UNIT_STATE_COUNT;
    if (store_rows_next(rows) && (agent == NULL || s_runs_on(rows, agent)))
    {
        s_decode(rows, row);
        rc = 0;
    }
    store_rows_done(&rows);
    return rc;
}

int
units_get(store_t *store, int64_t id, units_row_t *row)
{
    return s_get(store, id, NULL, row);
}

int
units_get_running(store_t *store, int64_t id, const char *agent,
                  units_row_t *row)
{
    assert(agent != NULL);
    return s_get(store, id, agent, row);
}

/* After a guarded UPDATE of one unit changed nothing: 1 if the unit is
 * in to already, else -1 with the refused move logged. */
static int
s_not_moved(store_t *store, int64_t unit_id, unit_state_t to)
{
    units_row_t row;

    /* no such unit: its state reads as UNIT_STATE_COUNT */
    (void) units_get(store, unit_id, &row);
    unit_state_t from = row.state;
    if (from == to)
    {
        return 1;
    }
    log_error("unit=%" PRId64 " cannot move from %s to %s", unit_id,
              from == UNIT_STATE_COUNT ? "nowhere (no such unit)"
                                       : states_unit_name(from),
              states_unit_name(to));
    return -1;
}

int
units_move(store_t *store, int64_t unit_id, unit_state_t to, const char *error)
{
    char sources[64];
    /* a unit queued again is nobody's; its last error stays for the
     * status until it is placed */
    char *sql = xasprintf("UPDATE units SET state = ?, error = coalesce(?, "
                          "error), agent = CASE WHEN ? THEN NULL ELSE agent "
                          "END WHERE id = ? AND state IN (%s)",
                          states_unit_sources(to, sources, sizeof sources));
    int rc = store_exec(store, sql, "ssii", states_unit_name(to), error,
                        (int64_t) (to == UNIT_QUEUED), unit_id);

    free(sql);
    if (rc != 0)
    {
        return -1;
    }
    return store_changes(store) == 1 ? 0 : s_not_moved(store, unit_id, to);
}

int
units_place(store_t *store, int64_t unit_id, const char *agent, int64_t batch,
            int64_t placement, double now)
{
    char sources[64];
    char *sql = xasprintf(
        "UPDATE units SET state = ?, agent = ?, attempts = attempts + 1, "
        "epoch = epoch + 1, "
        "assigned_at = ?, error = NULL, started = 0, batch = ?, "
        "placement = ? WHERE id = ? AND state IN (%s)",
        states_unit_sources(UNIT_RUNNING, sources, sizeof sources));
    int rc = store_exec(store, sql, "ssdiii", states_unit_name(UNIT_RUNNING),
                        agent, now, batch, placement, unit_id);

    free(sql);
    if (rc != 0)
    {
        return -1;
    }
    return store_changes(store) == 1
               ? 0
               : s_not_moved(store, unit_id, UNIT_RUNNING);
}

/* the longest pause between two tries of a unit */
#define UNITS_MAX_BACKOFF_MS 60000

int64_t
units_backoff_ms(int failures)
{
    if (failures <= 0)
    {
        return 0;
    }
    int64_t pause = (int64_t) 1000 << (failures < 17 ? failures - 1 : 16);
    return pause < UNITS_MAX_BACKOFF_MS ? pause : UNITS_MAX_BACKOFF_MS;
}

int
units_defer(store_t *store, int64_t unit_id, int64_t pause_ms)
{
    return store_exec(store, "UPDATE units SET not_before = ? WHERE id = ?",
                      "ii", (int64_t) zclock_time() + pause_ms, unit_id);
}

int64_t
units_cancel(store_t *store, int64_t db_id, int kind, bool running)
{
    char sources[64];
    /* the kind spelt out or left out, never "? = 0 OR": that would
     * keep the index from narrowing to it */
    char *sql = xasprintf(
        "UPDATE units SET state = ? WHERE database_id = ? AND kind %s ? "
        "AND state IN (%s) AND (? OR state <> ?)",
        kind != 0 ? "=" : "<>",
        states_unit_sources(UNIT_CANCELLED, sources, sizeof sources));
    int rc = store_exec(store, sql, "siiis", states_unit_name(UNIT_CANCELLED),
                        db_id, (int64_t) kind, (int64_t) running,
                        states_unit_name(UNIT_RUNNING));

    free(sql);
    return rc == 0 ? store_changes(store) : -1;
}

/* The units of kind in states (a list of quoted names) of database
 * db_id, or of every database of task task_id when db_id is 0. */
static int64_t
s_count(store_t *store, int64_t task_id, int64_t db_id, int kind,
        const char *states)
{
    /* kept by triggers (store.c): no units are counted here */
    char *sql = xasprintf(
        "SELECT coalesce(sum(n), 0) FROM unit_counts WHERE %s AND kind = ? "
        "AND state IN (%s)",
        db_id != 0 ? "database_id = ?"
                   : "database_id IN (SELECT id FROM databases "
                     "WHERE task_id = ?)",
        states);
    int64_t n = store_int(store, 0, sql, "ii", db_id != 0 ? db_id : task_id,
                          (int64_t) kind);
    free(sql);
    return n;
}

int64_t
units_count(store_t *store, int64_t db_id, int kind, const char *states)
{
    return s_count(store, 0, db_id, kind, states);
}

int64_t
units_count_task(store_t *store, int64_t task_id, int kind, const char *states)
{
    return s_count(store, task_id, 0, kind, states);
}
