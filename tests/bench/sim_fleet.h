/*
 * tests/bench/sim_fleet.h
 *     The fake agents: one DEALER socket each to the coordinator's agents
 *     endpoint, speaking the agents' protocol (Hello every heartbeat with
 *     the units held, Progress, Result, Release) without any PostgreSQL,
 *     answering every unit at once (or after a set run time) and timing
 *     the coordinator.
 *
 * All agents are served by the caller's thread: it polls the sockets and
 * calls sim_fleet_handle() for each readable one, sim_fleet_tick() often.
 * A unit runs in unit_ms: 0, the default, answers it at once (the
 * coordinator then sets the pace); the units of an AssignBatch run one
 * after the other.
 *
 * Held units, as a real agent holds them: the snapshot until its Release
 * (it takes no job slot); schema-pre from its Progress "started" until
 * the first copy is placed, so that placing copies and taking in the
 * post-data items are timed apart.
 *
 * Result-to-next-placement latency: when the last Result of a placement
 * (an Assign, or every unit of an AssignBatch) is sent, the agent has a
 * free job slot; the wait ends when its next Assign or AssignBatch
 * arrives. A wait counts as one where work remained if, when the slot
 * was freed, the coordinator had been told of at least as many units
 * left to place as the fleet had free slots (sim_workload's model).
 */
#ifndef PGCONVOY_BENCH_SIM_FLEET_H
#define PGCONVOY_BENCH_SIM_FLEET_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim_stats.h"
#include "sim_workload.h"

#define SIM_FLEET_KINDS 12 /* UnitKind values, UNIT_NONE to UNIT_VALIDATE */
#define SIM_FLEET_SPIKES 8 /* the longest waits kept */

typedef struct
{
    /* milestones, zclock_usecs(); 0 until they happen */
    int64_t prepare_sent;      /* prepare's Result, with the tables */
    int64_t prepare_next;      /* the first Assign anywhere after it */
    int64_t tables_created;    /* schema-pre's Progress started */
    int64_t first_copy;        /* the first copy placed */
    int64_t items_sent;        /* schema-pre's Result, with the items */
    int64_t items_next;        /* schema-pre's agent's next placement */
    int64_t snapshot_released; /* the snapshot's Release */
    int64_t finalize_sent;     /* finalize's Result */
    /* counters */
    int64_t units_done;     /* Results sent */
    int64_t units_received; /* units placed here, a batch's counted each */
    int64_t assigns;        /* Assign messages */
    int64_t batches;        /* AssignBatch messages */
    int64_t batched_units;  /* units that came in them */
    int64_t duplicates;     /* units placed a second time */
    int64_t overplaced;     /* placements beyond an agent's slots and
                             * the one that may wait for a slot */
    int64_t waited;         /* placements that waited there for a slot */
    int64_t unexpected;     /* messages or kinds not simulated */
    int64_t releases;       /* Release messages */
    int64_t hellos;         /* heartbeats sent */
    int64_t rewelcomes;     /* Welcomes again: declared lost meanwhile */
    int64_t lease_answer_max_ms; /* the slowest Hello -> Lease */
    int64_t lease_lapses; /* a Lease came after the last one ran out */
    int64_t by_kind[SIM_FLEET_KINDS]; /* units received, per kind */
} sim_fleet_marks_t;

typedef enum
{
    SIM_LATENCY_ALL,     /* every wait that ended */
    SIM_LATENCY_WORK,    /* waits where work remained */
    SIM_LATENCY_QUIET,   /* of those, no status read in flight meanwhile */
    SIM_LATENCY_COPY,    /* work remained, slot freed by copies */
    SIM_LATENCY_POST,    /* ... by schema-post units */
    SIM_LATENCY_ANALYZE, /* ... by analyze units */
    SIM_LATENCY_SET_COUNT
} sim_latency_set_t;

typedef struct
{
    double wait_ms; /* the wait */
    int64_t freed;  /* zclock_usecs() when the slot was freed */
    int kind;       /* UnitKind of what freed it */
    int64_t queued; /* the model's units left to place then */
    bool status;    /* a status read was in flight meanwhile */
    char agent[32]; /* whose slot */
} sim_spike_t;

typedef struct sim_fleet_t sim_fleet_t;

/* Connects agents DEALER sockets named sim-001..., each running units
 * of unit_ms (borrows workload). */
sim_fleet_t *sim_fleet_new(const char *endpoint, int agents, int jobs,
                           int unit_ms, sim_workload_t *workload);
void sim_fleet_destroy(sim_fleet_t **self_p);

size_t sim_fleet_size(const sim_fleet_t *self);
zsock_t *sim_fleet_socket(sim_fleet_t *self, size_t agent);
/* Handles what agent's socket holds, up to a fair share. */
void sim_fleet_handle(sim_fleet_t *self, size_t agent);
/* Results and heartbeats that are due, and a held schema-pre given up
 * waiting for. */
void sim_fleet_tick(sim_fleet_t *self);
/* Microseconds until sim_fleet_tick() has something to do. */
int64_t sim_fleet_next_tick_in(const sim_fleet_t *self);

size_t sim_fleet_welcomed(const sim_fleet_t *self);
bool sim_fleet_is_refused(const sim_fleet_t *self);
/* A status read (TASK_SHOW) starts or ends: waits it overlaps are told
 * apart. */
void sim_fleet_set_status_reading(sim_fleet_t *self, bool reading);

const sim_fleet_marks_t *sim_fleet_marks(const sim_fleet_t *self);
sim_stats_t *sim_fleet_latency(sim_fleet_t *self, sim_latency_set_t set);
/* The longest waits where work remained, longest first. */
size_t sim_fleet_spikes(const sim_fleet_t *self, const sim_spike_t **spikes);

#endif
