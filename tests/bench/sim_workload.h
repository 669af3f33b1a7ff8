/*
 * tests/bench/sim_workload.h
 *     The database the fake agents pretend to migrate: its tables (what
 *     prepare reports), its post-data items (what schema-pre reports), and
 *     a model of which units the coordinator could place at any moment,
 *     from what the agents have told it so far.
 *
 * Tables are public.t000000, t000001, ...: the first `huge` ones are
 * split by the coordinator into ranges, the next `big` ones are too large
 * to be placed in batches, the rest are small. Every table has
 * items_per_table phase-1 items (its primary key, then indexes), whose
 * tags start with the table's name so that a schema-post Assign, which
 * carries no table, still names it.
 */
#ifndef PGCONVOY_BENCH_SIM_WORKLOAD_H
#define PGCONVOY_BENCH_SIM_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "pgconvoy.pb-c.h"

typedef struct
{
    int tables;          /* how many tables */
    int items_per_table; /* phase-1 items (indexes, constraints) of each */
    int big;             /* tables of SIM_WORKLOAD_BIG_BYTES */
    int huge;            /* tables of SIM_WORKLOAD_HUGE_BYTES, split */
    int fk_items;        /* phase-2 items (foreign keys), for finalize */
    int64_t split_bytes; /* the task's split size, as sent in TASK_CREATE */
} sim_workload_options_t;

#define SIM_WORKLOAD_BIG_BYTES (256LL * 1024 * 1024)
#define SIM_WORKLOAD_HUGE_BYTES (4LL * 1024 * 1024 * 1024)

typedef struct sim_workload_t sim_workload_t;

sim_workload_t *sim_workload_new(const sim_workload_options_t *opts);
void sim_workload_destroy(sim_workload_t **self_p);

/* Fills prepare's Result: the tables and the versions. The arrays are
 * borrowed from the workload: do not free them with the Result. */
void sim_workload_fill_prepare(sim_workload_t *self, Pgconvoy__Result *res);
/* Fills schema-pre's Result with every item, borrowed likewise. */
void sim_workload_fill_schema_pre(sim_workload_t *self, Pgconvoy__Result *res);

int64_t sim_workload_item_count(const sim_workload_t *self);
/* Copy units: one per table, more for the split ones. */
int64_t sim_workload_copy_units(const sim_workload_t *self);
/* Every unit of the task: prepare, snapshot, schema-pre, copies, one
 * schema-post per phase-1 item, one analyze per table, finalize. */
int64_t sim_workload_total_units(const sim_workload_t *self);

/* The model. schema-pre said the tables exist: the copies are queued. */
void sim_workload_on_tables_created(sim_workload_t *self);
/* schema-pre's Result was sent: the items of loaded tables are queued. */
void sim_workload_on_items_sent(sim_workload_t *self);
/* A unit was received for the first time. */
void sim_workload_on_assigned(sim_workload_t *self, const Pgconvoy__Assign *a);
/* A unit's Result (ok) was sent. */
void sim_workload_on_done(sim_workload_t *self, const Pgconvoy__Assign *a);
/* Units the coordinator has been told enough to queue and has not placed
 * yet (never negative). */
int64_t sim_workload_queued(const sim_workload_t *self);

#endif
