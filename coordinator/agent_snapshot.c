/*
 * coordinator/agent_snapshot.c
 *     The registry's agents, copied under a mutex for other threads.
 *
 * Only agent_snapshot_publish() writes, only on the loop's thread; the
 * mutex is held for copies only, never for I/O.
 */
#include "coordinator/agent_snapshot.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/strbuf.h"

struct agent_snapshot_t
{
    pthread_mutex_t lock;           /* protects agents and n */
    agent_snapshot_agent_t *agents; /* owned; under lock */
    size_t n;                       /* of agents; under lock */
};

agent_snapshot_t *
agent_snapshot_new(void)
{
    agent_snapshot_t *self = xcalloc(1, sizeof *self);

    (void) pthread_mutex_init(&self->lock, NULL);
    return self;
}

void
agent_snapshot_free(agent_snapshot_agent_t **agents_p, size_t n)
{
    assert(agents_p != NULL);
    if (*agents_p == NULL)
    {
        return;
    }
    for (size_t i = 0; i < n; i++)
    {
        free((*agents_p)[i].name);
    }
    free(*agents_p);
    *agents_p = NULL;
}

void
agent_snapshot_destroy(agent_snapshot_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    agent_snapshot_t *self = *self_p;

    agent_snapshot_free(&self->agents, self->n);
    (void) pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* A deep copy of n agents. */
static agent_snapshot_agent_t *
s_copy_agents(const agent_snapshot_agent_t *agents, size_t n)
{
    agent_snapshot_agent_t *copy = xcalloc(n > 0 ? n : 1, sizeof *copy);

    for (size_t i = 0; i < n; i++)
    {
        copy[i] = agents[i];
        copy[i].name = xstrdup(agents[i].name);
    }
    return copy;
}

void
agent_snapshot_publish(agent_snapshot_t *self, registry_t *registry)
{
    size_t n = registry_size(registry);
    agent_snapshot_agent_t *agents = xcalloc(n > 0 ? n : 1, sizeof *agents);
    agent_snapshot_agent_t *old = NULL;
    size_t old_n = 0;

    /* built outside the lock: readers wait for the swap only */
    for (size_t i = 0; i < n; i++)
    {
        const registry_agent_t *agent = registry_at(registry, i);
        agents[i].name = xstrdup(agent->name);
        agents[i].last_seen = agent->last_seen;
        agents[i].jobs = agent->jobs;
        agents[i].alive = agent->alive;
    }
    (void) pthread_mutex_lock(&self->lock);
    old = self->agents;
    old_n = self->n;
    self->agents = agents;
    self->n = n;
    (void) pthread_mutex_unlock(&self->lock);
    agent_snapshot_free(&old, old_n);
}

agent_snapshot_agent_t *
agent_snapshot_copy(agent_snapshot_t *self, size_t *n_p)
{
    agent_snapshot_agent_t *copy = NULL;

    (void) pthread_mutex_lock(&self->lock);
    copy = s_copy_agents(self->agents, self->n);
    *n_p = self->n;
    (void) pthread_mutex_unlock(&self->lock);
    return copy;
}
