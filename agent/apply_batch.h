/*
 * agent/apply_batch.h
 *     apply's batches (source transactions applied in one target
 *     transaction): what each touched and counted, the bookkeeping
 *     statements that go with it (the origin's progress, the counters,
 *     the server-side row-count check before its COMMIT) and settling it
 *     once its COMMIT's outcome is known.
 *
 * Private to apply (agent/apply*.c): the functions take the apply_t of
 * agent/apply_internal.h. Those that send return 0, or -1 once the
 * pipeline has failed, with the error set where they say so.
 */
#ifndef PGCONVOY_APPLY_BATCH_H
#define PGCONVOY_APPLY_BATCH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/apply.h"
#include "agent/apply_rel.h"

/* Source transactions applied in one target transaction. */
typedef struct
{
    apply_rel_t *touched; /* relations it changed */
    unsigned int xacts;   /* source transactions in it */
    uint64_t end_lsn;     /* the last one's end LSN */
    int64_t commit_time;  /* and its commit time */
} apply_batch_t;

/* Sets up the server-side row-count check on target's session (two
 * pg_temp functions). Returns 0, or -1 if this session cannot have it
 * (no TEMP privilege, track_counts off): the caller then waits for every
 * result before each COMMIT instead. */
int apply_batch_setup_check(PGconn *target);
/* Drops what apply_batch_setup_check() created, best effort. */
void apply_batch_drop_check(PGconn *target);
/* DEALLOCATEs the bookkeeping statements prepared on the target, best
 * effort. */
void apply_batch_deallocate_fixed(apply_t *self);

/*
 * Before a change of rel: the first one in the open batch puts rel on the
 * batch's list, and has the server note what the transaction changed in
 * rel so far (the baseline of the check before COMMIT,
 * apply_batch_send_check()); again is for after a TRUNCATE, which resets
 * what the server counts. Returns 0, or -1 with the error set.
 */
int apply_batch_enter(apply_t *self, apply_rel_t *rel, bool again);
/* rel's counters in the open batch. */
apply_counters_t *apply_batch_pending(apply_t *self, apply_rel_t *rel);
/* Counts rows changes of type of rel just sent: in the open batch, and
 * for the server's check the rows Updates and Deletes must change. */
void apply_batch_count_sent(apply_t *self, apply_rel_t *rel,
                            pgoutput_msg_type_t type, uint64_t rows);

/* Before the open batch's COMMIT: each UPDATE and DELETE changed a row,
 * or the server fails the transaction. Returns 0, or -1 (the pipeline's
 * error, for the caller to take). */
int apply_batch_send_check(apply_t *self);
/* Also before it, in the same transaction as the rows: the origin's
 * progress up to lsn_and_time (its end LSN and commit time, as text), and
 * the open batch's counters if they are kept. Returns as
 * apply_batch_send_check(). */
int apply_batch_send_progress(apply_t *self, const char *const *lsn_and_time);

/*
 * Ends batch[which]: its counters move to applied if it committed, and
 * are dropped if not (the stream restarts before it). Either way the
 * batch is empty afterwards.
 */
void apply_batch_settle(apply_t *self, unsigned int which, bool committed);
/* Settles the committing batch if its COMMIT's result has been read. */
void apply_batch_reap(apply_t *self);

#endif
