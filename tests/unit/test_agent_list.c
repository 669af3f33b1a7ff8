/*
 * tests/unit/test_agent_list.c
 *     pgconvoy agent list: each registered agent with its state, lease,
 *     heartbeat and jobs in use, the running units on the agent that
 *     runs them (holders taking no job, a batch one), the placements
 *     beyond its jobs as waiting, and an agent the catalog names but the
 *     registry does not know listed as unknown.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coord_fixture.h"
#include "coordinator/agent_list.h"
#include "coordinator/units.h"

/* 2026-11-24T10:02:11Z, in ms */
#define WALL_NOW ((int64_t) 1795514531000)
#define MONO_NOW ((int64_t) 1000000)

static registry_agent_t *
s_hear(coord_t *c, const char *name, const char *labels, int jobs)
{
    bool is_new = false;
    zmsg_t *route = zmsg_new();

    CHECK(zmsg_addstr(route, name) == 0);
    return registry_heard(c->registry, name, labels, jobs, &route, &is_new);
}

static void
s_unit(coord_t *c, int64_t task, int64_t db, int kind, int64_t table,
       const char *state, const char *agent)
{
    CHECK(store_exec(c->store,
                     "INSERT INTO units (task_id, database_id, kind, "
                     "table_id, state, priority, agent) "
                     "VALUES (?, ?, ?, nullif(?, 0), ?, 50, ?)",
                     "iiiiss", task, db, (int64_t) kind, table, state,
                     agent) == 0);
}

static json_object *
s_get(json_object *obj, const char *key)
{
    json_object *v = NULL;
    CHECK(json_object_object_get_ex(obj, key, &v));
    return v;
}

static json_object *
s_agent(json_object *agents, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(agents); i++)
    {
        json_object *a = json_object_array_get_idx(agents, i);
        if (strcmp(json_object_get_string(s_get(a, "name")), name) == 0)
        {
            return a;
        }
    }
    CHECK(!"agent listed");
    return NULL;
}

int
main(void)
{
    coord_fixture_t fx;
    int64_t db = 0;

    coord_fixture_open(&fx, "agent_list");
    coord_t *c = &fx.coord;
    int64_t task = coord_fixture_task(&fx, "t1", true, "db1", 0, &db);

    registry_agent_t *a1 = s_hear(c, "a1", "zone=a", 2);
    a1->last_seen = MONO_NOW - 2500;
    a1->lease_until = MONO_NOW + 1000;
    registry_agent_t *a2 = s_hear(c, "a2", "", 3);
    a2->last_seen = MONO_NOW - 500;
    a2->lease_until = MONO_NOW - 1; /* heard, its lease not renewed yet */
    registry_agent_t *a3 = s_hear(c, "a3", "", 1);
    a3->last_seen = MONO_NOW - 60000;
    a3->alive = false;

    CHECK(store_exec(c->store,
                     "INSERT INTO tables_ (id, database_id, schema_name, "
                     "table_name, columns) VALUES (7, ?, 'public', 'orders', "
                     "'id')",
                     "i", db) == 0);
    s_unit(c, task, db, K_CDC, 0, "running", "a1");
    s_unit(c, task, db, K_COPY, 7, "running", "a1");
    s_unit(c, task, db, K_SNAPSHOT, 0, "running", "a1"); /* takes no job */
    s_unit(c, task, db, K_COPY, 7, "done", "a2");
    s_unit(c, task, db, K_COPY, 7, "running", "ghost");
    /* a4, 2 jobs: a batch of three copies, an ANALYZE, and a copy
     * placed to wait for a slot */
    registry_agent_t *a4 = s_hear(c, "a4", "", 2);
    a4->last_seen = MONO_NOW;
    a4->lease_until = MONO_NOW + 1000;
    for (int i = 0; i < 3; i++)
    {
        s_unit(c, task, db, K_COPY, 7, "running", "a4");
    }
    CHECK(store_exec(c->store,
                     "UPDATE units SET batch = (SELECT min(id) FROM units "
                     "WHERE agent = 'a4') WHERE agent = 'a4'",
                     NULL) == 0);
    s_unit(c, task, db, K_ANALYZE, 7, "running", "a4");
    s_unit(c, task, db, K_COPY, 7, "running", "a4");

    char *text = agent_list_json(c, MONO_NOW, WALL_NOW);
    json_object *root = json_tokener_parse(text);
    CHECK(root != NULL);
    json_object *agents = s_get(root, "agents");
    CHECK_EQ_INT(json_object_array_length(agents), 5);

    json_object *o = s_agent(agents, "a1");
    CHECK_EQ_STR(json_object_get_string(s_get(o, "state")), "alive");
    CHECK(json_object_get_boolean(s_get(o, "leased")));
    CHECK_EQ_STR(json_object_get_string(s_get(o, "labels")), "zone=a");
    CHECK_EQ_STR(json_object_get_string(s_get(o, "lastHeartbeat")),
                 "2026-11-24T10:02:08Z");
    CHECK_EQ_INT(json_object_get_int(s_get(o, "lastHeartbeatAgeSeconds")), 2);
    CHECK_EQ_INT(json_object_get_int(s_get(o, "jobs")), 2);
    CHECK_EQ_INT(json_object_get_int(s_get(o, "jobsInUse")), 2);
    json_object *units = s_get(o, "units");
    CHECK_EQ_INT(json_object_array_length(units), 3);
    json_object *u = json_object_array_get_idx(units, 0);
    CHECK_EQ_STR(json_object_get_string(s_get(u, "kind")), "cdc");
    CHECK_EQ_STR(json_object_get_string(s_get(u, "task")), "t1");
    CHECK_EQ_STR(json_object_get_string(s_get(u, "database")), "db1");
    CHECK(s_get(u, "table") == NULL);
    u = json_object_array_get_idx(units, 1);
    CHECK_EQ_STR(json_object_get_string(s_get(u, "kind")), "copy");
    CHECK_EQ_STR(json_object_get_string(s_get(u, "table")), "public.orders");

    o = s_agent(agents, "a2");
    CHECK_EQ_STR(json_object_get_string(s_get(o, "state")), "unleased");
    CHECK(json_object_get_boolean(s_get(o, "alive")));
    CHECK(!json_object_get_boolean(s_get(o, "leased")));
    CHECK_EQ_INT(json_object_get_int(s_get(o, "jobsInUse")), 0);
    CHECK_EQ_INT(json_object_array_length(s_get(o, "units")), 0);

    o = s_agent(agents, "a4");
    CHECK_EQ_INT(json_object_get_int(s_get(o, "jobsInUse")), 2);
    CHECK_EQ_INT(json_object_get_int(s_get(o, "unitsWaiting")), 1);
    CHECK_EQ_INT(json_object_array_length(s_get(o, "units")), 5);
    CHECK_EQ_INT(json_object_get_int(s_get(s_agent(agents, "a1"),
                                           "unitsWaiting")),
                 0);

    o = s_agent(agents, "a3");
    CHECK_EQ_STR(json_object_get_string(s_get(o, "state")), "lost");
    CHECK_EQ_INT(json_object_get_int(s_get(o, "lastHeartbeatAgeSeconds")), 60);

    o = s_agent(agents, "ghost");
    CHECK_EQ_STR(json_object_get_string(s_get(o, "state")), "unknown");
    CHECK(s_get(o, "lastHeartbeat") == NULL);
    CHECK_EQ_INT(json_object_get_int(s_get(o, "jobsInUse")), 1);
    CHECK_EQ_INT(json_object_array_length(s_get(o, "units")), 1);

    json_object_put(root);
    free(text);
    coord_fixture_close(&fx);
    return 0;
}
