/*
 * coordinator/agent_list.c
 *     Builds the answer to pgconvoy agent list from the registry and the
 *     catalog's running units.
 *
 * The registry holds monotonic times only (a wall clock step must not
 * kill agents): the wall clock time shown for a heartbeat is now minus
 * its age, so it is as good as the clocks at the moment of asking.
 */
#include "coordinator/agent_list.h"

#include <json-c/json.h>
#include <time.h>

#include "common/strbuf.h"
#include "coordinator/units.h"

/* "2026-11-24T10:02:11Z" of wall_ms (Unix time, ms) */
static json_object *
s_utc(int64_t wall_ms)
{
    char buf[32];
    struct tm tm;
    time_t t = (time_t) (wall_ms / 1000);

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        return NULL;
    }
    return json_object_new_string(buf);
}

/* "alive", "alive" without a current lease is "unleased" (no units are
 * placed on it), "lost" once it missed its heartbeats */
static const char *
s_state(const registry_agent_t *agent, int64_t mono_now)
{
    if (!agent->alive)
    {
        return "lost";
    }
    return registry_is_leased(agent, mono_now) ? "alive" : "unleased";
}

/* The agent's object, its units to come; agent NULL for one the catalog
 * names and the registry does not know (never heard: no heartbeat). */
static json_object *
s_agent_json(const char *name, const registry_agent_t *agent, int64_t mono_now,
             int64_t wall_now_ms)
{
    json_object *o = json_object_new_object();
    int64_t age_ms = agent ? mono_now - agent->last_seen : 0;
    bool leased = agent && registry_is_leased(agent, mono_now);

    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(
        o, "labels",
        json_object_new_string(agent && agent->labels ? agent->labels : ""));
    json_object_object_add(
        o, "state",
        json_object_new_string(agent ? s_state(agent, mono_now) : "unknown"));
    json_object_object_add(o, "alive",
                           json_object_new_boolean(agent && agent->alive));
    json_object_object_add(o, "leased", json_object_new_boolean(leased));
    json_object_object_add(o, "lastHeartbeat",
                           agent ? s_utc(wall_now_ms - age_ms) : NULL);
    json_object_object_add(o, "lastHeartbeatAgeSeconds",
                           agent ? json_object_new_int64(age_ms / 1000) : NULL);
    json_object_object_add(o, "jobs",
                           json_object_new_int(agent ? agent->jobs : 0));
    json_object_object_add(o, "jobsInUse", json_object_new_int(0));
    json_object_object_add(o, "units", json_object_new_array());
    return o;
}

/* Adds the running unit at rows' cursor to its agent's object (made,
 * and indexed in by_name, if the registry did not know the agent). */
static void
s_add_unit(json_object *agents, json_object *by_name, const store_rows_t *rows)
{
    const char *name = store_rows_text(rows, 0);
    json_object *agent = NULL;
    json_object *field = NULL;
    json_object *u = json_object_new_object();
    int kind = (int) store_rows_int(rows, 2);

    if (!json_object_object_get_ex(by_name, name, &agent))
    {
        agent = s_agent_json(name, NULL, 0, 0);
        json_object_array_add(agents, agent);
        json_object_object_add(by_name, name, json_object_get(agent));
    }
    json_object_object_add(u, "id",
                           json_object_new_int64(store_rows_int(rows, 1)));
    json_object_object_add(u, "kind",
                           json_object_new_string(units_kind_name(kind)));
    json_object_object_add(u, "project",
                           json_object_new_string(store_rows_text(rows, 3)));
    json_object_object_add(u, "task",
                           json_object_new_string(store_rows_text(rows, 4)));
    json_object_object_add(u, "database",
                           json_object_new_string(store_rows_text(rows, 5)));
    json_object_object_add(
        u, "table",
        store_rows_is_null(rows, 6)
            ? NULL
            : json_object_new_string(store_rows_text(rows, 6)));
    (void) json_object_object_get_ex(agent, "units", &field);
    json_object_array_add(field, u);
    /* snapshot and slot holders only wait: they take no job slot, as
     * the dispatcher counts (dispatch.c) */
    if (store_rows_int(rows, 7) != 0 &&
        json_object_object_get_ex(agent, "jobsInUse", &field))
    {
        (void) json_object_int_inc(field, 1);
    }
}

char *
agent_list_json(coord_t *self, int64_t mono_now, int64_t wall_now_ms)
{
    json_object *root = json_object_new_object();
    json_object *agents = json_object_new_array();
    json_object *by_name = json_object_new_object(); /* name -> agent */
    store_rows_t *rows = NULL;

    for (size_t i = 0; i < registry_size(self->registry); i++)
    {
        registry_agent_t *a = registry_at(self->registry, i);
        json_object *o = s_agent_json(a->name, a, mono_now, wall_now_ms);
        json_object_array_add(agents, o);
        json_object_object_add(by_name, a->name, json_object_get(o));
    }
    /* one query for every agent's units: units_running covers it */
    rows = store_query(self->store,
                       "SELECT u.agent, u.id, u.kind, p.name, t.name, d.name, "
                       "       tb.schema_name || '.' || tb.table_name, "
                       "       u.kind NOT IN " UNITS_HOLDER_KINDS
                       "  FROM units u JOIN tasks t ON t.id = u.task_id "
                       "  JOIN projects p ON p.id = t.project_id "
                       "  JOIN databases d ON d.id = u.database_id "
                       "  LEFT JOIN tables_ tb ON tb.id = u.table_id "
                       " WHERE u.state = 'running' AND u.agent IS NOT NULL "
                       " ORDER BY u.agent, u.id",
                       NULL);
    while (store_rows_next(rows))
    {
        s_add_unit(agents, by_name, rows);
    }
    store_rows_done(&rows);
    json_object_put(by_name);
    json_object_object_add(root, "agents", agents);
    char *text = xstrdup(json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return text;
}
