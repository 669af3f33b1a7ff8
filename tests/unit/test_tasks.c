/*
 * tests/unit/test_tasks.c
 *     Task rows read back as plan_create_task() and the moves of a task
 *     wrote them; every state's spelling reads as that state; no such
 *     task reads as -1; a request missing what the planner reads is
 *     refused before it.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coord_fixture.h"
#include "coordinator/plan.h"
#include "coordinator/tasks.h"

/* As created: Pending, with the request's settings. */
static void
s_test_created(coord_fixture_t *fx)
{
    int64_t db_id = 0;
    int64_t online = coord_fixture_task(fx, "on", true, "shop", 5000, &db_id);
    int64_t offline = coord_fixture_task(fx, "off", false, "hr", 0, &db_id);
    tasks_row_t t;

    CHECK(tasks_get(fx->coord.store, online, &t) == 0);
    CHECK_EQ_INT(t.id, online);
    CHECK_EQ_INT(t.project_id, 1);
    CHECK_EQ_INT(t.state, TASK_PENDING);
    CHECK_EQ_INT(strlen(t.task_key), 36); /* a canonical UUID */
    CHECK_EQ_INT(t.src_port, 5433);
    CHECK_EQ_INT(t.tgt_port, 5434);
    CHECK_EQ_INT(t.split_bytes, 5000);
    CHECK(t.online);
    CHECK(t.fix_replica_identity);
    CHECK(plan_is_online(&fx->coord, online));

    CHECK(tasks_get(fx->coord.store, offline, &t) == 0);
    CHECK_EQ_INT(t.id, offline);
    CHECK_EQ_INT(t.split_bytes, 1024LL * 1024 * 1024); /* the default */
    CHECK(!t.online);
    CHECK(!t.fix_replica_identity);
    CHECK(!plan_is_online(&fx->coord, offline));

    /* the checks passed: it runs; cancelled, it is over */
    coord_fixture_prepare(fx, db_id, NULL, 0, false);
    CHECK(tasks_get(fx->coord.store, offline, &t) == 0);
    CHECK_EQ_INT(t.state, TASK_RUNNING);
    plan_cancel_task(&fx->coord, offline);
    CHECK(tasks_get(fx->coord.store, offline, &t) == 0);
    CHECK_EQ_INT(t.state, TASK_CANCELED);
}

/* Every spelling reads as its state; one of no state, and no task. */
static void
s_test_spellings(coord_fixture_t *fx)
{
    int64_t db_id = 0;
    int64_t id = coord_fixture_task(fx, "spelt", false, "db", 0, &db_id);
    tasks_row_t t;

    CHECK_SPELLINGS(fx, "tasks", id, TASK_STATE_COUNT, states_task_name,
                    task_state_t, tasks_get, t);
    coord_fixture_set_state(fx, "tasks", id, "RUNNING");
    CHECK(tasks_get(fx->coord.store, id, &t) == 0);
    CHECK_EQ_INT(t.state, TASK_STATE_COUNT);

    memset(&t, 0x5a, sizeof t);
    CHECK(tasks_get(fx->coord.store, 999999, &t) == -1);
    CHECK_EQ_INT(t.id, 0);
    CHECK_EQ_STR(t.task_key, "");
    CHECK(!t.online);
    CHECK_EQ_INT(t.state, TASK_STATE_COUNT);
    CHECK(!plan_is_online(&fx->coord, 999999));
}

/* CHECKs that req is refused with a message containing want. */
static void
s_check_refused(const Pgconvoy__Request *req, const char *want)
{
    char *problem = plan_task_request_problem(req);

    CHECK(problem != NULL);
    if (problem != NULL)
    {
        CHECK_CONTAINS(problem, want);
    }
    free(problem);
}

/* No servers, no databases, nameless ones: each refused (a request
 * without a source once crashed the coordinator); a whole one passes. */
static void
s_test_request_problems(void)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    Pgconvoy__Endpoint src = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__Endpoint tgt = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__DatabaseOption db = PGCONVOY__DATABASE_OPTION__INIT;
    Pgconvoy__DatabaseOption *dbs[1] = {&db};

    s_check_refused(&req, "no source server given");
    req.source = &src;
    s_check_refused(&req, "no source server given");
    src.host = "127.0.0.1";
    src.dbname = "shop";
    src.port = 70000;
    s_check_refused(&req, "no source server given");
    src.port = 5433;
    s_check_refused(&req, "no target server given");
    tgt = src;
    req.target = &tgt;
    s_check_refused(&req, "no database given");
    req.n_databases = 1;
    req.databases = dbs;
    s_check_refused(&req, "database 1 has no name");
    db.name = "shop";
    s_check_refused(&req, "database 1 has no name");
    db.target_name = "shop";
    CHECK(plan_task_request_problem(&req) == NULL);
}

int
main(void)
{
    coord_fixture_t fx;

    coord_fixture_open(&fx, "tasks");
    s_test_created(&fx);
    s_test_spellings(&fx);
    s_test_request_problems();
    coord_fixture_close(&fx);
    puts("test_tasks: ok");
    return 0;
}
