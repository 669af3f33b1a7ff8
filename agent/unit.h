/*
 * agent/unit.h
 *     One unit of work running on its own thread: what it was asked to do,
 *     how it reports progress, and the run function of each kind.
 *
 * The main thread owns the unit_t; the unit's thread only reads assign
 * and the atomic flags, and talks back through its own PUSH socket
 * (ZeroMQ sockets are not shared between threads).
 */
#ifndef PGFERRY_AGENT_UNIT_H
#define PGFERRY_AGENT_UNIT_H

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "pgferry.pb-c.h"

typedef struct unit_t unit_t;

/*
 * Creates a unit for the Assign in env, taking ownership of env.
 * results_endpoint is where the thread's PUSH socket connects.
 */
unit_t *unit_new(Pgferry__Envelope **env_p, const char *results_endpoint,
                 const char *agent_name, const char *pg_bin);
void unit_destroy(unit_t **self_p);

/* Starts the unit's thread. Returns 0 or -1. */
int unit_start(unit_t *self);
/* Waits for the thread; call once its Result has been received. */
void unit_join(unit_t *self);

uint64_t unit_id(const unit_t *self);
const Pgferry__Assign *unit_assign(const unit_t *self);
const char *unit_agent_name(const unit_t *self);
const char *unit_pg_bin(const unit_t *self);
/* Asks a held unit (snapshot) to let go. */
void unit_release(unit_t *self);
bool unit_is_released(const unit_t *self);

/* From the unit's thread: counters so far, or the exported snapshot. */
void unit_report_progress(unit_t *self, int64_t rows, int64_t bytes,
                          const char *snapshot);
/* From a unit's thread: a copy has imported the snapshot (whose holder
 * may let go once every copy said so); schema-pre has created the tables
 * (the copies may start). */
void unit_report_started(unit_t *self);

/*
 * The run functions, one per kind. Each fills res (allocated fields,
 * freed with the Result) and returns 0 on success or -1 with res->error
 * set.
 */
int unit_prepare_run(unit_t *self, Pgferry__Result *res);
int unit_snapshot_run(unit_t *self, Pgferry__Result *res);
int unit_schema_pre_run(unit_t *self, Pgferry__Result *res);
int unit_schema_post_run(unit_t *self, Pgferry__Result *res);
int unit_finalize_run(unit_t *self, Pgferry__Result *res);
int unit_analyze_run(unit_t *self, Pgferry__Result *res);
int unit_copy_run(unit_t *self, Pgferry__Result *res);

/* Sets res->error (taking ownership of error) and res->retryable. */
int unit_fail(Pgferry__Result *res, char *error, bool retryable);

/* Appends to res's lists, taking ownership of what is added. */
void unit_add_problem(Pgferry__Result *res, char *problem);
void unit_add_table(Pgferry__Result *res, Pgferry__TableRef *table);
void unit_add_item(Pgferry__Result *res, Pgferry__SchemaItem *item);

#endif
