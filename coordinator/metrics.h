/*
 * coordinator/metrics.h
 *     The /metrics page: the catalog's tasks, databases, tables, units
 *     and the agents, in the Prometheus text exposition format.
 *
 * Cost per scrape: O(tasks + databases + tables of unfinished tasks +
 * agents), plus the queue's counts from unit_counts (no scan of units).
 * Counters are the catalog's running totals; rates (rows per second,
 * changes per second) are left to Prometheus's rate().
 */
#ifndef PGCONVOY_COORDINATOR_METRICS_H
#define PGCONVOY_COORDINATOR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/agent_snapshot.h"
#include "coordinator/store.h"

/*
 * The page, read through store (borrowed: a reader of the caller's
 * thread) and agents (borrowed, n of them, heartbeat ages counted to
 * now, a zclock_mono()). Returns text to free(), or NULL (logged) if the
 * catalog could not be read.
 */
char *metrics_render(store_t *store, const agent_snapshot_agent_t *agents,
                     size_t n, int64_t now);

#endif
