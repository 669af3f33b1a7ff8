/*
 * coordinator/registry.c
 *     In-memory list of agents. A few agents, looked up by name: a plain
 *     array is the right structure.
 */
#include "coordinator/registry.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

struct registry_t
{
    registry_agent_t **agents; /* owned */
    size_t count;
};

registry_t *
registry_new(void)
{
    return xcalloc(1, sizeof(registry_t));
}

void
registry_destroy(registry_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    registry_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
    {
        free(self->agents[i]->name);
        free(self->agents[i]->labels);
        zmsg_destroy(&self->agents[i]->route);
        free(self->agents[i]);
    }
    free(self->agents);
    free(self);
    *self_p = NULL;
}

registry_agent_t *
registry_find(registry_t *self, const char *name)
{
    for (size_t i = 0; i < self->count; i++)
    {
        if (strcmp(self->agents[i]->name, name) == 0)
        {
            return self->agents[i];
        }
    }
    return NULL;
}

registry_agent_t *
registry_find_route(registry_t *self, zmsg_t *route)
{
    zframe_t *id = route ? zmsg_first(route) : NULL;

    for (size_t i = 0; id != NULL && i < self->count; i++)
    {
        zframe_t *other = zmsg_first(self->agents[i]->route);
        if (other != NULL && zframe_eq(id, other))
        {
            return self->agents[i];
        }
    }
    return NULL;
}

registry_agent_t *
registry_heard(registry_t *self, const char *name, const char *labels, int jobs,
               zmsg_t **route_p, bool *is_new)
{
    registry_agent_t *agent = registry_find(self, name);

    *is_new = agent == NULL || !agent->alive;
    if (agent == NULL)
    {
        registry_agent_t **grown =
            realloc(self->agents, (self->count + 1) * sizeof *grown);
        assert(grown != NULL);
        self->agents = grown;
        agent = xcalloc(1, sizeof *agent);
        agent->name = xstrdup(name);
        self->agents[self->count++] = agent;
    }
    free(agent->labels);
    agent->labels = xstrdup(labels);
    zmsg_destroy(&agent->route);
    agent->route = *route_p;
    *route_p = NULL;
    agent->jobs = jobs > 0 ? jobs : 1;
    agent->last_seen = zclock_mono();
    agent->alive = true;
    /* a heartbeat may settle units it no longer runs */
    agent->busy = -1;
    return agent;
}

void
registry_recount(registry_t *self)
{
    for (size_t i = 0; i < self->count; i++)
    {
        self->agents[i]->busy = -1;
    }
}

bool
registry_is_leased(const registry_agent_t *agent, int64_t now)
{
    return agent->alive && now < agent->lease_until;
}

size_t
registry_size(const registry_t *self)
{
    return self->count;
}

registry_agent_t *
registry_at(registry_t *self, size_t index)
{
    assert(index < self->count);
    return self->agents[index];
}

size_t
registry_alive_count(const registry_t *self)
{
    size_t alive = 0;
    for (size_t i = 0; i < self->count; i++)
    {
        alive += self->agents[i]->alive;
    }
    return alive;
}
