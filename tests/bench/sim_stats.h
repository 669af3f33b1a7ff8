/*
 * tests/bench/sim_stats.h
 *     A growing set of samples (latencies, round trips) and the figures
 *     the benchmark prints from it: count, mean, quantiles, max.
 *
 * Samples are kept, not binned: 100,000 of them cost 800 kB, and exact
 * quantiles need no choice of buckets.
 */
#ifndef PGCONVOY_BENCH_SIM_STATS_H
#define PGCONVOY_BENCH_SIM_STATS_H

#include <stddef.h>

typedef struct sim_stats_t sim_stats_t;

sim_stats_t *sim_stats_new(void);
void sim_stats_destroy(sim_stats_t **self_p);

void sim_stats_add(sim_stats_t *self, double value);
size_t sim_stats_count(const sim_stats_t *self);
double sim_stats_mean(const sim_stats_t *self);
double sim_stats_max(const sim_stats_t *self);
/* The nearest-rank quantile q (0 to 1) of the samples; 0 when there are
 * none. Sorts them the first time after an add. */
double sim_stats_quantile(sim_stats_t *self, double q);

#endif
