/*
 * tests/bench/sim_stats.c
 *     Samples kept in one array, sorted on demand for quantiles.
 */
#include "sim_stats.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/strbuf.h"

struct sim_stats_t
{
    double *values; /* owned, count of them used, capacity allocated */
    size_t count;
    size_t capacity;
    double sum;  /* for the mean */
    bool sorted; /* values is in ascending order */
};

sim_stats_t *
sim_stats_new(void)
{
    sim_stats_t *self = xcalloc(1, sizeof *self);

    self->sorted = true;
    return self;
}

void
sim_stats_destroy(sim_stats_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    free((*self_p)->values);
    free(*self_p);
    *self_p = NULL;
}

void
sim_stats_add(sim_stats_t *self, double value)
{
    if (self->count == self->capacity)
    {
        size_t capacity = self->capacity ? 2 * self->capacity : 1024;
        double *grown = realloc(self->values, capacity * sizeof *grown);
        if (grown == NULL)
        {
            abort(); /* as xcalloc does: a benchmark has no plan B */
        }
        self->values = grown;
        self->capacity = capacity;
    }
    self->values[self->count++] = value;
    self->sum += value;
    self->sorted = false;
}

size_t
sim_stats_count(const sim_stats_t *self)
{
    return self->count;
}

double
sim_stats_mean(const sim_stats_t *self)
{
    return self->count ? self->sum / (double) self->count : 0;
}

static int
s_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *) a;
    double y = *(const double *) b;

    return (x > y) - (x < y);
}

double
sim_stats_max(const sim_stats_t *self)
{
    double max = 0;

    for (size_t i = 0; i < self->count; i++)
    {
        max = self->values[i] > max ? self->values[i] : max;
    }
    return max;
}

double
sim_stats_quantile(sim_stats_t *self, double q)
{
    size_t rank = 0;

    if (self->count == 0)
    {
        return 0;
    }
    if (!self->sorted)
    {
        qsort(self->values, self->count, sizeof *self->values,
              s_compare_doubles);
        self->sorted = true;
    }
    /* nearest rank: the smallest value with at least q of them at or
     * under it */
    rank = (size_t) (q * (double) self->count);
    rank += (double) rank < q * (double) self->count; /* ceil, without libm */
    rank = rank < 1 ? 1 : rank;
    rank = rank > self->count ? self->count : rank;
    return self->values[rank - 1];
}
