/*
 * coordinator/agent_list.h
 *     pgconvoy agent list: every agent the registry knows, with its state,
 *     its capacity and the units the catalog says it is running.
 *
 * Cost: one pass over the registry and one catalog query over the
 * running units (the units_running index), whatever the number of
 * agents: the answer never asks the catalog once per agent.
 */
#ifndef PGCONVOY_COORDINATOR_AGENT_LIST_H
#define PGCONVOY_COORDINATOR_AGENT_LIST_H

#include <stdint.h>

#include "coordinator/coord.h"

/*
 * The agents as JSON text (owned): {"agents": [...]}, one object per
 * agent in the registry's order, then one per agent the catalog has
 * running units on but the registry does not know (after a coordinator
 * restart, until its first heartbeat): state "unknown".
 * mono_now is zclock_mono() and wall_now_ms zclock_time() at the same
 * moment: a heartbeat's wall clock time is derived from its age.
 */
char *agent_list_json(coord_t *self, int64_t mono_now, int64_t wall_now_ms);

#endif
