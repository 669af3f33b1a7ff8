/*
 * coordinator/agent_snapshot.h
 *     A copy of the agent registry for other threads: each agent's name,
 *     when it was last heard from and whether it counts as alive.
 *
 * The registry belongs to the coordinator's loop, and heartbeats are
 * kept in memory only (the catalog's agents.last_seen is the last
 * Hello), so a reader elsewhere (the /metrics page) cannot ask either.
 * The loop publishes a copy once per tick under a mutex; readers take a
 * copy of the copy, so neither side waits on the other for longer than
 * a memcpy of a few agents.
 */
#ifndef PGCONVOY_COORDINATOR_AGENT_SNAPSHOT_H
#define PGCONVOY_COORDINATOR_AGENT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/registry.h"

typedef struct agent_snapshot_t agent_snapshot_t;

/* One agent as of the latest publish. */
typedef struct
{
    char *name;        /* owned by the array agent_snapshot_copy() made */
    int64_t last_seen; /* zclock_mono() of its last heartbeat */
    int jobs;          /* units it runs at once */
    bool alive;
} agent_snapshot_agent_t;

agent_snapshot_t *agent_snapshot_new(void);
void agent_snapshot_destroy(agent_snapshot_t **self_p);

/* From the loop: replaces the copy with registry's agents (borrowed). */
void agent_snapshot_publish(agent_snapshot_t *self, registry_t *registry);

/* From any thread: the agents of the latest publish, *n_p of them, in an
 * array the caller frees with agent_snapshot_free(). */
agent_snapshot_agent_t *agent_snapshot_copy(agent_snapshot_t *self,
                                            size_t *n_p);
void agent_snapshot_free(agent_snapshot_agent_t **agents_p, size_t n);

#endif
