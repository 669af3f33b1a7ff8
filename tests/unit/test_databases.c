/*
 * tests/unit/test_databases.c
 *     Database rows read back as the coordinator wrote them, through its
 *     own handling of what the agents report: created, prepared, a slot
 *     and snapshot held then let go, a cutover asked for, the stream's
 *     report (LSNs past 2^63 too); names of 63 bytes, and longer ones
 *     cut as PostgreSQL cuts them; every state's spelling; no database.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coord_fixture.h"
#include "coordinator/databases.h"
#include "coordinator/dispatch.h"
#include "coordinator/plan.h"
#include "coordinator/results.h"
#include "coordinator/units.h"

/* 63 bytes: the longest name PostgreSQL keeps */
#define LONGEST_NAME                                                           \
    "d23456789_123456789_123456789_123456789_123456789_123456789_123"

static void
s_test_online(coord_fixture_t *fx)
{
    int64_t db_id = 0;
    int64_t task_id =
        coord_fixture_task(fx, "online", true, LONGEST_NAME, 0, &db_id);
    store_t *store = fx->coord.store;
    databases_row_t d;

    CHECK_EQ_INT(strlen(LONGEST_NAME), 63);
    /* as created: its NULLs (snapshot, snapshot_unit, slot) read as none */
    CHECK(databases_get(store, db_id, &d) == 0);
    CHECK_EQ_INT(d.id, db_id);
    CHECK_EQ_INT(d.task_id, task_id);
    CHECK_EQ_STR(d.name, LONGEST_NAME);
    CHECK_EQ_STR(d.target_name, LONGEST_NAME);
    CHECK_EQ_INT(d.state, DB_PREPARING);
    CHECK(!d.skip_schema && !d.has_snapshot && !d.cutover && !d.validate);
    CHECK_EQ_INT(d.snapshot_unit, 0);
    CHECK_EQ_STR(d.slot, "");
    CHECK(d.start_lsn == 0 && d.end_lsn == 0 && d.received_lsn == 0 &&
          d.applied_lsn == 0 && d.source_lsn == 0);
    CHECK_EQ_INT(d.latency_ms + d.pending, 0);

    /* the checks passed: its slot is named, the target has the schema */
    coord_fixture_prepare(fx, db_id, NULL, 0, true);
    CHECK(databases_get(store, db_id, &d) == 0);
    CHECK_EQ_INT(d.state, DB_SCHEMA);
    CHECK(d.skip_schema);
    CHECK_EQ_INT(strncmp(d.slot, "pgconvoy_", 9), 0);
    CHECK(strlen(d.slot) > 40 && strlen(d.slot) <= 63);

    /* the slot unit holds the snapshot, taken at the slot's start */
    Pgconvoy__Progress p = PGCONVOY__PROGRESS__INIT;
    int64_t slot_unit = coord_fixture_place(fx, db_id, K_SLOT, "a1");
    p.unit_id = (uint64_t) slot_unit;
    p.snapshot = "00000003-0000001B-1";
    p.lsn = 0x16B3748ULL;
    results_on_progress(&fx->coord, "a1", &p);
    CHECK(databases_get(store, db_id, &d) == 0);
    CHECK(d.has_snapshot);
    CHECK_EQ_INT(d.snapshot_unit, slot_unit);
    CHECK(d.start_lsn == 0x16B3748ULL);

    /* schema-pre has made the tables: the full load starts */
    p = (Pgconvoy__Progress) PGCONVOY__PROGRESS__INIT;
    p.unit_id = (uint64_t) coord_fixture_place(fx, db_id, K_SCHEMA_PRE, "a1");
    p.started = true;
    results_on_progress(&fx->coord, "a1", &p);
    char *message = NULL;
    CHECK(plan_cutover(&fx->coord, task_id, LONGEST_NAME, true, &message) == 0);
    free(message);
    CHECK(databases_get(store, db_id, &d) == 0);
    CHECK_EQ_INT(d.state, DB_FULL_LOAD);
    CHECK(d.cutover && d.validate);

    /* the stream's report; LSNs are unsigned, SQLite's integers not */
    Pgconvoy__CdcProgress cdc = PGCONVOY__CDC_PROGRESS__INIT;
    CHECK(units_add(store, task_id, db_id, K_CDC, 0, 0, 0) == 0);
    p = (Pgconvoy__Progress) PGCONVOY__PROGRESS__INIT;
    p.unit_id = (uint64_t) coord_fixture_place(fx, db_id, K_CDC, "a2");
    p.cdc = &cdc;
    cdc.received_lsn = 0xFFFFFFFF00000010ULL;
    cdc.applied_lsn = 0x8000000000000000ULL;
    cdc.source_lsn = 0xFFFFFFFFFFFFFFFFULL;
    /* below 2^63: results.c's "? > 0" compares it signed */
    cdc.end_lsn = 0x7000000000000001ULL;
    cdc.latency_ms = 250;
    cdc.pending = 42;
    results_on_progress(&fx->coord, "a2", &p);
    CHECK(databases_get(store, db_id, &d) == 0);
    CHECK(d.received_lsn == 0xFFFFFFFF00000010ULL);
    CHECK(d.applied_lsn == 0x8000000000000000ULL);
    CHECK(d.source_lsn == 0xFFFFFFFFFFFFFFFFULL);
    CHECK(d.end_lsn == 0x7000000000000001ULL);
    CHECK_EQ_INT(d.latency_ms, 250);
    CHECK_EQ_INT(d.pending, 42);

    /* let go: copies queued from now on need a new snapshot */
    plan_release_snapshots(&fx->coord, db_id);
    CHECK(databases_get(store, db_id, &d) == 0);
    CHECK(!d.has_snapshot);
    CHECK_EQ_INT(d.snapshot_unit, 0);
    CHECK(d.start_lsn == 0x16B3748ULL);
}

/* A name over 63 bytes is cut to 63, as PostgreSQL cuts it. */
static void
s_test_long_name(coord_fixture_t *fx)
{
    int64_t db_id = 0;
    databases_row_t d;

    (void) coord_fixture_task(fx, "long", false, LONGEST_NAME "4567", 0,
                              &db_id);
    CHECK(databases_get(fx->coord.store, db_id, &d) == 0);
    CHECK_EQ_STR(d.name, LONGEST_NAME);
    CHECK_EQ_STR(d.target_name, LONGEST_NAME);
    CHECK(d.slot[0] == '\0');
}

/* Every spelling reads as its state; one of no state, and no database. */
static void
s_test_spellings(coord_fixture_t *fx)
{
    int64_t db_id = 0;
    databases_row_t d;

    (void) coord_fixture_task(fx, "spelt", false, "db", 0, &db_id);
    CHECK_SPELLINGS(fx, "databases", db_id, DB_STATE_COUNT, states_db_name,
                    db_state_t, databases_get, d);
    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_FAILED);
    coord_fixture_set_state(fx, "databases", db_id, "full_load");
    CHECK(databases_get(fx->coord.store, db_id, &d) == 0);
    CHECK_EQ_INT(d.state, DB_STATE_COUNT);
    CHECK_EQ_STR(d.name, "db");

    memset(&d, 0x5a, sizeof d);
    CHECK(databases_get(fx->coord.store, 999999, &d) == -1);
    CHECK_EQ_INT(d.id, 0);
    CHECK_EQ_STR(d.name, "");
    CHECK_EQ_STR(d.slot, "");
    CHECK(!d.has_snapshot && !d.cutover);
    CHECK_EQ_INT(d.state, DB_STATE_COUNT);
    CHECK_EQ_INT(plan_database_state(&fx->coord, 999999), DB_STATE_COUNT);
}

/* The number of units of kind of database db_id in state (a name). */
static int64_t
s_units_in(coord_fixture_t *fx, int64_t db_id, int kind, const char *state)
{
    return store_int(fx->coord.store, -1,
                     "SELECT count(*) FROM units WHERE database_id = ? AND "
                     "kind = ? AND state = ?",
                     "iis", db_id, (int64_t) kind, state);
}

/*
 * An online load that starts over (its snapshot lost after copies read
 * under it): every copy and ANALYZE queued again as new, whatever it
 * was; the tables QUEUED with no rows counted; a new slot queued, whose
 * Assign empties the target's tables first; what else was done stays.
 */
static void
s_test_restart_load(coord_fixture_t *fx)
{
    int64_t db_id = 0;
    int64_t task_id = coord_fixture_task(fx, "reload", true, "rl", 0, &db_id);
    store_t *store = fx->coord.store;
    char now[40];
    databases_row_t d;

    coord_fixture_prepare(fx, db_id, NULL, 0, true);
    store_now(now, sizeof now);
    for (int i = 0; i < 3; i++)
    {
        CHECK(store_exec(store,
                         "INSERT INTO tables_ (database_id, schema_name, "
                         "table_name, columns, state, rows, bytes) "
                         "VALUES (?, 'public', ?, '', 'COMPLETED', 10, 100)",
                         "is", db_id, i == 0 ? "t0" : i == 1 ? "t1" : "t2") ==
              0);
        int64_t table_id = store_last_id(store);
        CHECK(units_add(store, task_id, db_id, K_COPY, table_id, 0, 100) == 0);
        CHECK(units_add(store, task_id, db_id, K_ANALYZE, table_id, 0, 100) ==
              0);
    }
    CHECK(units_add(store, task_id, db_id, K_SCHEMA_POST, 0, 0, 0) == 0);
    /* copies: one done, one running (started), one queued; an ANALYZE
     * done; an index build done */
    int64_t copy = coord_fixture_place(fx, db_id, K_COPY, "a1");
    CHECK(units_move(store, copy, UNIT_DONE, NULL) == 0);
    copy = coord_fixture_place(fx, db_id, K_COPY, "a2");
    CHECK(store_exec(store, "UPDATE units SET started = 1 WHERE id = ?", "i",
                     copy) == 0);
    int64_t analyze = coord_fixture_place(fx, db_id, K_ANALYZE, "a1");
    CHECK(units_move(store, analyze, UNIT_DONE, NULL) == 0);
    int64_t build = coord_fixture_place(fx, db_id, K_SCHEMA_POST, "a1");
    CHECK(units_move(store, build, UNIT_DONE, NULL) == 0);
    int64_t slots = s_units_in(fx, db_id, K_SLOT, "queued");

    plan_restart_load(&fx->coord, task_id, db_id);

    CHECK_EQ_INT(s_units_in(fx, db_id, K_COPY, "queued"), 3);
    CHECK_EQ_INT(s_units_in(fx, db_id, K_ANALYZE, "queued"), 3);
    CHECK_EQ_INT(s_units_in(fx, db_id, K_SCHEMA_POST, "done"), 1);
    CHECK_EQ_INT(store_int(store, -1,
                           "SELECT count(*) FROM units WHERE database_id = ? "
                           "AND kind IN (?, ?) AND (started <> 0 OR agent "
                           "IS NOT NULL OR rows <> 0)",
                           "iii", db_id, (int64_t) K_COPY,
                           (int64_t) K_ANALYZE),
                 0);
    /* unit_counts, kept by triggers, agree with the rows */
    CHECK_EQ_INT(units_count(store, db_id, K_COPY, "'queued'"), 3);
    CHECK_EQ_INT(units_count(store, db_id, K_COPY, "'done', 'running'"), 0);
    CHECK_EQ_INT(store_int(store, -1,
                           "SELECT count(*) FROM tables_ WHERE database_id = "
                           "? AND state = 'QUEUED' AND rows = 0 AND bytes = 0",
                           "i", db_id),
                 3);
    CHECK_EQ_INT(s_units_in(fx, db_id, K_SLOT, "queued"), slots + 1);
    CHECK(databases_get(store, db_id, &d) == 0);
    CHECK_EQ_INT(d.reloads, 1);
    CHECK(!d.has_snapshot);

    /* the new slot's Assign says to empty the tables first */
    int64_t slot = coord_fixture_place(fx, db_id, K_SLOT, "a1");
    Pgconvoy__Assign *a = dispatch_build_assign(&fx->coord, slot);
    CHECK(a != NULL && a->truncate_target);
    pgconvoy__assign__free_unpacked(a, NULL);
}

int
main(void)
{
    coord_fixture_t fx;

    coord_fixture_open(&fx, "databases");
    s_test_online(&fx);
    s_test_long_name(&fx);
    s_test_spellings(&fx);
    s_test_restart_load(&fx);
    coord_fixture_close(&fx);
    puts("test_databases: ok");
    return 0;
}
