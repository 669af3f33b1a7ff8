/*
 * tests/unit/test_units.c
 *     Unit rows: every move states.c allows goes through (with its
 *     columns: the agent, the placement, the error), every other is
 *     refused and leaves the row as it was; the unit counts the triggers
 *     keep follow each move; cancelling takes what it is asked to; a row
 *     reads back as written, its NULLs as 0, and a report is taken only
 *     from the agent a unit runs on; a unit born done counts as done.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coord_fixture.h"
#include "coordinator/states.h"
#include "coordinator/units.h"

static char s_text[256];

/* The unit's state, as the catalog has it. */
static const char *
s_state(store_t *store, int64_t id)
{
    (void) store_string(store, s_text, sizeof s_text,
                        "SELECT state FROM units WHERE id = ?", "i", id);
    return s_text;
}

/* A new queued unit of kind in database db. */
static int64_t
s_new(store_t *store, int64_t db, int kind)
{
    CHECK(units_add(store, 1, db, kind, 0, 0, 0) == 0);
    return store_last_id(store);
}

/* Puts a fresh unit in state from by the allowed moves. */
static int64_t
s_unit_in(store_t *store, unit_state_t from)
{
    int64_t id = s_new(store, 1, K_COPY);

    if (from == UNIT_QUEUED)
    {
        return id;
    }
    if (from == UNIT_CANCELLED)
    {
        CHECK(store_exec(store,
                         "UPDATE units SET state = 'cancelled' "
                         "WHERE id = ?",
                         "i", id) == 0);
        return id;
    }
    CHECK(units_place(store, id, "a1", id, 1, 1.0) == 0);
    if (from != UNIT_RUNNING)
    {
        CHECK(units_move(store, id, from, "boom") == 0);
    }
    return id;
}

/* Every pair of states: the move goes through exactly when allowed. */
static void
s_test_every_move(store_t *store)
{
    for (int from = 0; from < UNIT_STATE_COUNT; from++)
    {
        for (int to = 0; to < UNIT_STATE_COUNT; to++)
        {
            int64_t id = s_unit_in(store, (unit_state_t) from);
            bool allowed =
                states_unit_can_move((unit_state_t) from, (unit_state_t) to);
            int rc = to == UNIT_RUNNING
                         ? units_place(store, id, "a2", id, 2, 2.0)
                         : units_move(store, id, (unit_state_t) to, "err");

            CHECK_EQ_INT(rc, allowed ? 0 : from == to ? 1 : -1);
            CHECK_EQ_STR(s_state(store, id),
                         states_unit_name(allowed ? (unit_state_t) to
                                                  : (unit_state_t) from));
        }
    }
    /* no such unit: refused */
    CHECK(units_move(store, 999999, UNIT_DONE, NULL) == -1);
}

/* What each move writes besides the state. */
static void
s_test_columns(store_t *store)
{
    int64_t id = s_new(store, 1, K_COPY);

    CHECK(units_place(store, id, "agent-x", 77, 5, 12.5) == 0);
    CHECK(store_string(store, s_text, sizeof s_text,
                       "SELECT agent || ' ' || batch || ' ' || placement || "
                       "' ' || attempts || ' ' || assigned_at FROM units "
                       "WHERE id = ?",
                       "i", id) == 0);
    CHECK_EQ_STR(s_text, "agent-x 77 5 1 12.5");
    /* tried again: nobody's, its error kept for the status */
    CHECK(units_move(store, id, UNIT_QUEUED, "lost") == 0);
    CHECK(store_string(store, s_text, sizeof s_text,
                       "SELECT coalesce(agent, '-') || ' ' || error FROM "
                       "units WHERE id = ?",
                       "i", id) == 0);
    CHECK_EQ_STR(s_text, "- lost");
    /* placed again: a new agent, attempts counted, the error cleared */
    CHECK(units_place(store, id, "agent-y", id, 6, 13.0) == 0);
    CHECK(store_string(store, s_text, sizeof s_text,
                       "SELECT agent || ' ' || attempts || ' ' || "
                       "coalesce(error, '-') FROM units WHERE id = ?",
                       "i", id) == 0);
    CHECK_EQ_STR(s_text, "agent-y 2 -");
    CHECK(units_move(store, id, UNIT_FAILED, "for good") == 0);
    CHECK(store_string(store, s_text, sizeof s_text,
                       "SELECT error FROM units WHERE id = ?", "i", id) == 0);
    CHECK_EQ_STR(s_text, "for good");
}

/* Cancelling: one database, one kind or all, running ones or not; the
 * counts the triggers keep follow. */
static void
s_test_cancel(store_t *store)
{
    int64_t queued = s_new(store, 2, K_COPY);
    int64_t running = s_new(store, 2, K_COPY);
    int64_t cdc = s_new(store, 2, K_CDC);
    int64_t done = s_new(store, 2, K_ANALYZE);
    int64_t other = s_new(store, 3, K_COPY);

    CHECK(units_place(store, running, "a", running, 1, 1.0) == 0);
    CHECK(units_place(store, cdc, "a", cdc, 2, 1.0) == 0);
    CHECK(units_place(store, done, "a", done, 3, 1.0) == 0);
    CHECK(units_move(store, done, UNIT_DONE, NULL) == 0);

    CHECK_EQ_INT(units_cancel(store, 2, K_CDC, true), 1);
    CHECK_EQ_STR(s_state(store, cdc), "cancelled");
    CHECK_EQ_STR(s_state(store, running), "running");
    /* the queued only */
    CHECK_EQ_INT(units_cancel(store, 2, 0, false), 1);
    CHECK_EQ_STR(s_state(store, queued), "cancelled");
    CHECK_EQ_STR(s_state(store, running), "running");
    CHECK_EQ_INT(units_cancel(store, 2, 0, true), 1);
    CHECK_EQ_STR(s_state(store, running), "cancelled");
    /* done stays done, another database is left alone */
    CHECK_EQ_STR(s_state(store, done), "done");
    CHECK_EQ_STR(s_state(store, other), "queued");
    CHECK_EQ_INT(units_count(store, 2, K_COPY, "'cancelled'"), 2);
    CHECK_EQ_INT(units_count(store, 2, K_COPY, "'queued', 'running'"), 0);
    CHECK_EQ_INT(units_count(store, 3, K_COPY, "'queued'"), 1);
    /* the task's: its databases' added up */
    CHECK_EQ_INT(units_count_task(store, 1, K_COPY, "'queued'"),
                 units_count(store, 1, K_COPY, "'queued'") + 1);
    CHECK(units_count(store, 1, K_COPY, "'queued'") > 0);
}

/* units_get(): a row as units_add() and units_place() wrote it, its
 * NULLs (table, item, batch, assigned_at) read as 0; none: -1. */
static void
s_test_get(store_t *store)
{
    units_row_t u;
    int64_t id = 0;

    CHECK(units_add(store, 1, 2, K_SCHEMA_POST, 0, 0, 4096) == 0);
    id = store_last_id(store);
    CHECK(units_get(store, id, &u) == 0);
    CHECK_EQ_INT(u.id, id);
    CHECK_EQ_INT(u.task_id, 1);
    CHECK_EQ_INT(u.database_id, 2);
    CHECK_EQ_INT(u.kind, K_SCHEMA_POST);
    CHECK_EQ_INT(u.state, UNIT_QUEUED);
    CHECK_EQ_INT(u.table_id, 0);
    CHECK_EQ_INT(u.item_id, 0);
    CHECK_EQ_INT(u.priority, units_kind_priority(K_SCHEMA_POST));
    CHECK_EQ_INT(u.weight, 4096);
    CHECK_EQ_INT(u.attempts, 0);
    CHECK(u.assigned_at == 0.0);
    CHECK(!u.started);
    CHECK_EQ_INT(u.batch, 0);
    CHECK_EQ_INT(u.placement, 0);
    CHECK_EQ_INT(u.part + u.first_page + u.last_page + u.rows + u.bytes, 0);

    CHECK(units_place(store, id, "a1", 41, 7, 12.5) == 0);
    CHECK(store_exec(store,
                     "UPDATE units SET started = 1, rows = 10, bytes = 300 "
                     "WHERE id = ?",
                     "i", id) == 0);
    CHECK(units_get(store, id, &u) == 0);
    CHECK_EQ_INT(u.state, UNIT_RUNNING);
    CHECK_EQ_INT(u.attempts, 1);
    CHECK(u.assigned_at == 12.5);
    CHECK(u.started);
    CHECK_EQ_INT(u.batch, 41);
    CHECK_EQ_INT(u.placement, 7);
    CHECK_EQ_INT(u.rows, 10);
    CHECK_EQ_INT(u.bytes, 300);

    /* no such unit: zeroed, in no state */
    memset(&u, 0x5a, sizeof u);
    CHECK(units_get(store, 999999, &u) == -1);
    CHECK_EQ_INT(u.id, 0);
    CHECK_EQ_INT(u.kind, 0);
    CHECK_EQ_INT(u.state, UNIT_STATE_COUNT);
}

/* Every spelling reads as its state; one of no state, as none. */
static void
s_test_spellings(coord_fixture_t *fx)
{
    store_t *store = fx->coord.store;
    int64_t id = s_new(store, 1, K_COPY);
    units_row_t u;

    CHECK_SPELLINGS(fx, "units", id, UNIT_STATE_COUNT, states_unit_name,
                    unit_state_t, units_get, u);
    coord_fixture_set_state(fx, "units", id, "Running");
    CHECK(units_get(store, id, &u) == 0);
    CHECK_EQ_INT(u.state, UNIT_STATE_COUNT);
    CHECK_EQ_INT(u.id, id);
}

/* units_get_running(): the unit's agent, in full, and running only. */
static void
s_test_get_running(store_t *store)
{
    /* agents name themselves (--name): longer than any buffer, and
     * telling two apart by their last byte */
    char agent[300];
    char other[300];
    int64_t id = s_new(store, 1, K_COPY);
    units_row_t u;

    memset(agent, 'a', sizeof agent - 1);
    agent[sizeof agent - 1] = '\0';
    memcpy(other, agent, sizeof other);
    other[sizeof other - 2] = 'b';

    /* queued: nobody's */
    CHECK(units_get_running(store, id, agent, &u) == -1);
    CHECK_EQ_INT(u.state, UNIT_STATE_COUNT);
    CHECK(units_place(store, id, agent, id, 3, 1.0) == 0);
    CHECK(units_get_running(store, id, agent, &u) == 0);
    CHECK_EQ_INT(u.id, id);
    CHECK_EQ_INT(u.state, UNIT_RUNNING);
    CHECK_EQ_INT(u.placement, 3);
    CHECK(units_get_running(store, id, other, &u) == -1);
    CHECK_EQ_INT(u.id, 0);
    CHECK(units_get_running(store, id, "a", &u) == -1);
    CHECK(units_get_running(store, 999999, agent, &u) == -1);
    /* done: its agent's reports are no longer taken */
    CHECK(units_move(store, id, UNIT_DONE, NULL) == 0);
    CHECK(units_get_running(store, id, agent, &u) == -1);
    CHECK(units_get(store, id, &u) == 0);
    CHECK_EQ_INT(u.state, UNIT_DONE);
}

/* units_add_done(): a unit another did on its way (a copy that analyzed
 * its table) is born done, on that agent, counted as done and never as
 * queued; a load started over may queue it again. */
static void
s_test_add_done(store_t *store)
{
    units_row_t u;

    CHECK(store_exec(store,
                     "INSERT INTO tables_ (database_id, schema_name, "
                     "table_name, columns) VALUES (3, 's', 't', 'a')",
                     NULL) == 0);
    int64_t table = store_last_id(store);
    int64_t done_before = units_count(store, 3, K_ANALYZE, "'done'");

    CHECK(units_add_done(store, 1, 3, K_ANALYZE, table, "a2") == 0);
    int64_t id = store_last_id(store);
    CHECK(units_get(store, id, &u) == 0);
    CHECK_EQ_INT(u.state, UNIT_DONE);
    CHECK_EQ_INT(u.kind, K_ANALYZE);
    CHECK_EQ_INT(u.table_id, table);
    CHECK_EQ_INT(u.attempts, 1);
    CHECK(u.assigned_at == 0.0); /* never placed */
    (void) store_string(store, s_text, sizeof s_text,
                        "SELECT agent FROM units WHERE id = ?", "i", id);
    CHECK_EQ_STR(s_text, "a2");
    CHECK_EQ_INT(units_count(store, 3, K_ANALYZE, "'done'"), done_before + 1);
    CHECK_EQ_INT(units_count(store, 3, K_ANALYZE, "'queued', 'running'"), 0);
    CHECK(units_move(store, id, UNIT_QUEUED, NULL) == 0);
    CHECK_EQ_INT(units_count(store, 3, K_ANALYZE, "'queued'"), 1);
}

int
main(void)
{
    coord_fixture_t fx;
    coord_fixture_open(&fx, "units");
    store_t *store = fx.coord.store;

    CHECK(
        store_exec(store,
                   "INSERT INTO tasks (project_id, name, task_type, state, "
                   "task_key, split_bytes) VALUES (1, 'T', 'OfflineMigration', "
                   "'Running', 'key-1', 0)",
                   NULL) == 0);
    for (int db = 1; db <= 3; db++)
    {
        CHECK(store_exec(store,
                         "INSERT INTO databases (task_id, name, target_name, "
                         "state) VALUES (1, 'db' || ?, 'db' || ?, "
                         "'FULL_LOAD')",
                         "ii", (int64_t) db, (int64_t) db) == 0);
    }
    s_test_every_move(store);
    s_test_columns(store);
    s_test_cancel(store);
    s_test_get(store);
    s_test_spellings(&fx);
    s_test_get_running(store);
    s_test_add_done(store);

    coord_fixture_close(&fx);
    puts("test_units: ok");
    return 0;
}
