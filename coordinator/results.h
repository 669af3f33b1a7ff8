/*
 * coordinator/results.h
 *     What agents report about their units.
 */
#ifndef PGCONVOY_COORDINATOR_RESULTS_H
#define PGCONVOY_COORDINATOR_RESULTS_H

#include "coordinator/coord.h"

void results_on_progress(coord_t *self, const char *agent,
                         const Pgconvoy__Progress *progress);
void results_on_result(coord_t *self, const char *agent,
                       const Pgconvoy__Result *result);
/* Places again the units an agent no longer runs (it died or restarted).
 * still_running: the units it says it runs; NULL means none. Units of
 * placements after up_to (the last the agent said it received) may be on
 * their way to it, and are left alone; RESULTS_ALL_PLACEMENTS forgets
 * every unit the agent was given. */
#define RESULTS_ALL_PLACEMENTS INT64_MAX
void results_forget_agent_units(coord_t *self, const char *agent,
                                const uint64_t *still_running, size_t n,
                                int64_t up_to);

#endif
