/*
 * agent/unit.h
 *     One unit of work running on its own thread: what it was asked to do,
 *     how it reports progress, and the run function of each kind.
 *
 * The main thread owns the unit_t; the unit's thread only reads assign
 * and the atomic flags, and talks back through its own PUSH socket
 * (ZeroMQ sockets are not shared between threads).
 */
#ifndef PGCONVOY_AGENT_UNIT_H
#define PGCONVOY_AGENT_UNIT_H

#include <czmq.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "agent/connpool.h"
#include "pgconvoy.pb-c.h"

typedef struct unit_t unit_t;

/*
 * Creates a unit for the Assign in env, or for the units of the
 * AssignBatch in env (run one after the other on one thread, each with
 * its own Result), taking ownership of env. results_endpoint is where
 * the thread's PUSH socket connects.
 */
unit_t *unit_new(Pgconvoy__Envelope **env_p, const char *results_endpoint,
                 const char *agent_name, const char *pg_bin, connpool_t *pool);
void unit_destroy(unit_t **self_p);

/* Starts the unit's thread. Returns 0 or -1. */
int unit_start(unit_t *self);
/* Waits for the thread; call once its Result has been received. */
void unit_join(unit_t *self);

/* The unit running now (of a batch, the current one). */
uint64_t unit_id(const unit_t *self);
const Pgconvoy__Assign *unit_assign(const unit_t *self);
/* True if id is this unit, or one of its batch (run, running or not
 * started yet). */
bool unit_runs(const unit_t *self, uint64_t id);
/* True if id is the batch's last unit: its Result is the last. */
bool unit_is_last(const unit_t *self, uint64_t id);
/* From the main thread: the Result of unit id was passed on to the
 * coordinator (Results come in the batch's order). */
void unit_note_result(unit_t *self, uint64_t id);
/* The ids of the units whose Result was not passed on yet, at most max:
 * running, still to run, or finished a moment ago. */
size_t unit_pending_ids(const unit_t *self, uint64_t *ids, size_t max);
const char *unit_agent_name(const unit_t *self);
const char *unit_pg_bin(const unit_t *self);
/* The agent's sessions kept between units (borrowed). */
connpool_t *unit_pool(const unit_t *self);
/* Asks a held unit (snapshot, slot) to let go, or a cdc unit to stop. */
void unit_release(unit_t *self);
bool unit_is_released(const unit_t *self);
/*
 * From the main thread: this agent's lease ran out. The unit stops as if
 * released, whatever it was doing (a cdc unit cutting over too), and
 * commits nothing more; the main thread passes none of its messages on,
 * since the coordinator places it again, and must not count it failed.
 */
void unit_fence(unit_t *self);
bool unit_is_fenced(const unit_t *self);
/* Asks a cdc unit to cut over (apply up to the source's WAL position
 * now, then finish); validate: compare every table first. */
void unit_request_cutover(unit_t *self, bool validate);
/* True once a cutover was asked for, by Release or in the Assign. */
bool unit_cutover_requested(const unit_t *self, bool *validate);
/* A cdc unit waiting for the validate units: every table compared equal,
 * it may finish the cutover. */
void unit_confirm_validated(unit_t *self);
bool unit_is_validated(const unit_t *self);

/* From the unit's thread: counters so far, or the exported snapshot. */
void unit_report_progress(unit_t *self, int64_t rows, int64_t bytes,
                          const char *snapshot);
/* The same for unit id of the group running now (rows and bytes). */
void unit_report_progress_id(unit_t *self, uint64_t id, int64_t rows,
                             int64_t bytes);
/* From a unit's thread: a copy has imported the snapshot (whose holder
 * may let go once every copy said so); schema-pre has created the tables
 * (the copies may start). */
void unit_report_started(unit_t *self);
/* The same for unit id of the group running now. */
void unit_report_started_id(unit_t *self, uint64_t id);
/* From schema-pre: these tables exist on the target now (borrowed). */
void unit_report_tables(unit_t *self, Pgconvoy__TableRef **tables, size_t n);
/* From a slot unit: the exported snapshot and the slot's consistent
 * point. */
void unit_report_slot(unit_t *self, const char *snapshot, uint64_t lsn);
/* From a cdc unit: where the stream stands (borrowed). */
void unit_report_cdc(unit_t *self, Pgconvoy__CdcProgress *cdc);
/* From a unit that retries by itself: the last failure it waits out, how
 * many tries in a row failed, and the WAL its slot holds back on the
 * source (0: unknown). */
void unit_report_trouble(unit_t *self, const char *error, uint32_t retries,
                         uint64_t slot_wal_bytes);

/*
 * The run functions, one per kind. Each fills res (allocated fields,
 * freed with the Result) and returns 0 on success or -1 with res->error
 * set.
 */
int unit_prepare_run(unit_t *self, Pgconvoy__Result *res);
int unit_snapshot_run(unit_t *self, Pgconvoy__Result *res);
int unit_schema_pre_run(unit_t *self, Pgconvoy__Result *res);
int unit_schema_post_run(unit_t *self, Pgconvoy__Result *res);
/* Removes the temporary directories of schema units whose agent is gone
 * (killed before it could): run once, at the agent's start. */
void unit_schema_remove_stale(void);
int unit_finalize_run(unit_t *self, Pgconvoy__Result *res);
int unit_analyze_run(unit_t *self, Pgconvoy__Result *res);
int unit_copy_run(unit_t *self, Pgconvoy__Result *res);
int unit_slot_run(unit_t *self, Pgconvoy__Result *res);
int unit_cdc_run(unit_t *self, Pgconvoy__Result *res);
int unit_cleanup_run(unit_t *self, Pgconvoy__Result *res);
int unit_validate_run(unit_t *self, Pgconvoy__Result *res);

/*
 * Group run functions: units of one kind whose work is small run n at a
 * time (UNIT_GROUP_MAX at most, consecutive in their batch, of one task
 * and snapshot), in one transaction or statement, because apart each
 * costs more in round trips, commits and session resets than in work.
 * Each fills res[k] for assigns[k] (ok set already) and returns 0; or
 * returns -1, with an error in some res[k], having left nothing a
 * unit-by-unit run would not redo or skip: the caller then runs the units
 * one by one, and each reports its own error.
 */
#define UNIT_GROUP_MAX 64
typedef int (*unit_group_fn)(unit_t *self,
                             const Pgconvoy__Assign *const *assigns, size_t n,
                             Pgconvoy__Result **res);
int unit_copy_group(unit_t *self, const Pgconvoy__Assign *const *assigns,
                    size_t n, Pgconvoy__Result **res);
int unit_schema_post_group(unit_t *self, const Pgconvoy__Assign *const *assigns,
                           size_t n, Pgconvoy__Result **res);
int unit_analyze_group(unit_t *self, const Pgconvoy__Assign *const *assigns,
                       size_t n, Pgconvoy__Result **res);

/* ANALYZEs the n tables (quoted, "schema"."name") on tgt, in one
 * statement: with one_transaction, one commit for them all, else one a
 * table, each letting go of its table's lock before the next. Returns 0,
 * or -1 with *error set and tgt out of the failed transaction. The
 * analyze units' and the copies' (copy_analyze.h). */
int unit_analyze_tables(PGconn *tgt, const char *const *qualified, size_t n,
                        bool one_transaction, char **error);

/* The reg* types, whose values name objects (an SQL list, for IN): their
 * binary form is the object's OID, their text its name, which the target
 * reads only once it has the object. */
#define UNIT_REG_TYPES                                                         \
    "('regclass', 'regcollation', 'regconfig', 'regdictionary', "              \
    "'regnamespace', 'regoper', 'regoperator', 'regproc', 'regprocedure', "    \
    "'regrole', 'regtype')"

/* Sets every target sequence to its source value (finalize, cutover).
 * Returns 0, or -1 with res->error set. */
int unit_copy_sequences(const Pgconvoy__Assign *a, PGconn *src, PGconn *tgt,
                        Pgconvoy__Result *res);

/* Drops the pgconvoy schema (task bookkeeping, counters) on tgt, once a
 * database is complete or given back. Returns 0, or -1 with res->error
 * set. */
int unit_drop_bookkeeping(const Pgconvoy__Assign *a, PGconn *tgt,
                          Pgconvoy__Result *res);

/*
 * Drops what an online task made for its stream: the slot (once no
 * walsender holds it) and the publication on src, the replication origin
 * and its counters on tgt. Idempotent. Returns 0, or -1 with *error set.
 */
int unit_drop_stream(const Pgconvoy__Assign *a, PGconn *src, PGconn *tgt,
                     char **error);

/* Sets res->error (taking ownership of error) and res->retryable. */
int unit_fail(Pgconvoy__Result *res, char *error, bool retryable);

/* Appends to res's lists, taking ownership of what is added. */
void unit_add_problem(Pgconvoy__Result *res, char *problem);
void unit_add_notice(Pgconvoy__Result *res, char *notice);
void unit_add_table(Pgconvoy__Result *res, Pgconvoy__TableRef *table);
void unit_add_item(Pgconvoy__Result *res, Pgconvoy__SchemaItem *item);

#endif
