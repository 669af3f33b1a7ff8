/*
 * tests/unit/test_results.c
 *     What a unit's failure does, by the state of its database: under
 *     way, a transient failure is tried again; once the database failed
 *     (a unit let go answers with a retryable failure), the unit is
 *     cancelled, and nothing is queued for a database that is over.
 */
#include "check.h"
#include "coord_fixture.h"
#include "coordinator/plan.h"
#include "coordinator/results.h"
#include "coordinator/units.h"

/* A retryable failure of unit id, from agent a1. */
static void
s_fail(coord_fixture_t *fx, int64_t id)
{
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;

    r.unit_id = (uint64_t) id;
    r.retryable = true;
    r.error = "released before it started: not run";
    results_on_result(&fx->coord, "a1", &r);
}

static int
s_state(coord_fixture_t *fx, int64_t id)
{
    units_row_t u;

    CHECK(units_get(fx->coord.store, id, &u) == 0);
    return u.state;
}

int
main(void)
{
    coord_fixture_t fx;
    int64_t db = 0;

    coord_fixture_open(&fx, "results");
    store_t *store = fx.coord.store;
    int64_t task = coord_fixture_task(&fx, "t1", false, "db1", 0, &db);

    /* under way: tried again */
    CHECK(units_add(store, task, db, K_ANALYZE, 0, 0, 0) == 0);
    int64_t id = coord_fixture_place(&fx, db, K_ANALYZE, "a1");
    s_fail(&fx, id);
    CHECK_EQ_INT(s_state(&fx, id), UNIT_QUEUED);

    /* placed again; its database fails while it runs: cancelled */
    CHECK(store_exec(store, "UPDATE units SET not_before = 0 WHERE id = ?",
                     "i", id) == 0);
    CHECK_EQ_INT(coord_fixture_place(&fx, db, K_ANALYZE, "a1"), id);
    plan_fail_database(&fx.coord, task, db, "another unit failed");
    CHECK_EQ_INT(s_state(&fx, id), UNIT_RUNNING);
    s_fail(&fx, id);
    CHECK_EQ_INT(s_state(&fx, id), UNIT_CANCELLED);
    CHECK_EQ_INT(units_count(store, db, K_ANALYZE, "'queued', 'running'"), 0);

    coord_fixture_close(&fx);
    puts("test_results: ok");
    return 0;
}
