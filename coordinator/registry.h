/*
 * coordinator/registry.h
 *     The agents the coordinator knows: name, how to reach them, capacity
 *     and when they were last heard from.
 *
 * The registry is memory only: after a restart agents re-register with
 * their next heartbeat, which carries all the registry needs.
 */
#ifndef PGCONVOY_COORDINATOR_REGISTRY_H
#define PGCONVOY_COORDINATOR_REGISTRY_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct registry_t registry_t;

typedef struct
{
    char *name;        /* owned */
    char *labels;      /* owned */
    zmsg_t *route;     /* routing frames to reach the agent, owned */
    int jobs;          /* units it runs at once (snapshot holders aside) */
    int64_t last_seen; /* zclock_mono() of the last heartbeat */
    int64_t lease_until; /* zclock_mono() by which the agent's last lease
                          * has run out, at the latest */
    bool alive;        /* false once it missed its heartbeats */
    uint64_t incarnation; /* the process heard last under this name */
    uint64_t superseded;  /* the one it replaced while that one lived: if
                           * that one speaks again, two processes share
                           * the name */
    int busy; /* job slots its running units take, as dispatch.c last
               * counted them, its placements since added; -1: to be
               * counted again (after any message of the agent's) */
    bool short_only; /* counted with busy: every unit it runs is short,
                      * so one more may wait there for a slot */
} registry_agent_t;

registry_t *registry_new(void);
void registry_destroy(registry_t **self_p);

/*
 * Records a heartbeat. Returns the agent; *is_new tells whether it was
 * unknown or dead before (worth an info line). Takes route.
 */
registry_agent_t *registry_heard(registry_t *self, const char *name,
                                 const char *labels, int jobs, zmsg_t **route_p,
                                 bool *is_new);

/* Borrowed; NULL if unknown. */
registry_agent_t *registry_find(registry_t *self, const char *name);
/* Finds the agent whose route's first frame matches route's. */
registry_agent_t *registry_find_route(registry_t *self, zmsg_t *route);

/* True if units may be placed on agent at now: alive, and its lease
 * (as far as we know) not run out. */
bool registry_is_leased(const registry_agent_t *agent, int64_t now);

/*
 * Every agent's busy slots are to be counted again: after a change of
 * the catalog that may have moved units of any agent (a CLI request, a
 * tick, a sweep, a batch undone).
 */
void registry_recount(registry_t *self);

size_t registry_size(const registry_t *self);
registry_agent_t *registry_at(registry_t *self, size_t index);
size_t registry_alive_count(const registry_t *self);

#endif
