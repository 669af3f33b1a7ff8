/*
 * coordinator/results.h
 *     What agents report about their units.
 */
#ifndef PGFERRY_COORDINATOR_RESULTS_H
#define PGFERRY_COORDINATOR_RESULTS_H

#include "coordinator/coord.h"

void results_on_progress(coord_t *self, const char *agent,
                         const Pgferry__Progress *progress);
void results_on_result(coord_t *self, const char *agent,
                       const Pgferry__Result *result);
/* Places again the units an agent no longer runs (it died or restarted).
 * still_running: the units it says it runs; NULL means none. Units
 * placed after older_than (a wall clock time) are left alone. */
void results_forget_agent_units(coord_t *self, const char *agent,
                                const uint64_t *still_running, size_t n,
                                double older_than);

#endif
