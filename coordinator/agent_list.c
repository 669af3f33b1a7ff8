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
#include <stdlib.h>
#include <string.h>
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
    json_object_object_add(o, "unitsWaiting", json_object_new_int(0));
    json_object_object_add(o, "units", json_object_new_array());
    return o;
}

/* Adds the running unit at rows' cursor to its agent's object (made,
 * and indexed in by_name, if the registry did not know the agent);
 * placed: it is the first unit of its placement (a batch's units share
 * one). */
static void
s_add_unit(json_object *agents, json_object *by_name, const store_rows_t *rows,
           bool placed)
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
    /* snapshot and slot holders only wait: they take no job slot, and
     * a batch takes one, as the dispatcher counts (dispatch.c); what is
     * beyond the jobs waits on the agent for a slot (s_split_waiting) */
    if (placed && store_rows_int(rows, 7) != 0 &&
        json_object_object_get_ex(agent, "jobsInUse", &field))
    {
        (void) json_object_int_inc(field, 1);
    }
}

/*
 * The placements counted in jobsInUse beyond the agent's jobs wait there
 * for a slot (agent/backlog.h): which of them runs, the catalog does not
 * know, only how many wait. An agent the registry does not know has no
 * jobs to compare with.
 */
static void
s_split_waiting(json_object *agents)
{
    for (size_t i = 0; i < json_object_array_length(agents); i++)
    {
        json_object *a = json_object_array_get_idx(agents, i);
        json_object *in_use = NULL;
        json_object *jobs = NULL;
        json_object *waiting = NULL;

        if (!json_object_object_get_ex(a, "jobsInUse", &in_use) ||
            !json_object_object_get_ex(a, "jobs", &jobs) ||
            !json_object_object_get_ex(a, "unitsWaiting", &waiting))
        {
            continue;
        }
        int placed = json_object_get_int(in_use);
        int slots = json_object_get_int(jobs);
        if (slots > 0 && placed > slots)
        {
            (void) json_object_set_int(in_use, slots);
            (void) json_object_set_int(waiting, placed - slots);
        }
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
                       "       u.kind NOT IN " UNITS_HOLDER_KINDS ", "
                       "       coalesce(u.batch, u.id) "
                       "  FROM units u JOIN tasks t ON t.id = u.task_id "
                       "  JOIN projects p ON p.id = t.project_id "
                       "  JOIN databases d ON d.id = u.database_id "
                       "  LEFT JOIN tables_ tb ON tb.id = u.table_id "
                       " WHERE u.state = 'running' AND u.agent IS NOT NULL "
                       " ORDER BY u.agent, coalesce(u.batch, u.id), u.id",
                       NULL);
    /* a batch's units come together: a new (agent, batch) is a placement */
    char *last_agent = NULL;
    int64_t last_batch = 0;
    while (store_rows_next(rows))
    {
        const char *agent = store_rows_text(rows, 0);
        int64_t batch = store_rows_int(rows, 8);
        bool placed = last_agent == NULL || strcmp(last_agent, agent) != 0 ||
                      batch != last_batch;
        s_add_unit(agents, by_name, rows, placed);
        if (placed)
        {
            free(last_agent);
            last_agent = xstrdup(agent);
            last_batch = batch;
        }
    }
    free(last_agent);
    store_rows_done(&rows);
    s_split_waiting(agents);
    json_object_put(by_name);
    json_object_object_add(root, "agents", agents);
    char *text = xstrdup(json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return text;
}
