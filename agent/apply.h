/*
 * agent/apply.h
 *     Applies decoded pgoutput messages (agent/pgoutput.h) to a target
 *     database, each source transaction in one target transaction (alone,
 *     or batched with others: apply_set_batch()), tagged with a
 *     replication origin so that each change is applied exactly once.
 *
 * Exactly once: Commit runs pg_replication_origin_xact_setup() with the
 * source commit's end LSN inside the target transaction, so the origin's
 * progress and the rows commit together. After any crash, restart the
 * stream from apply_origin_lsn(); transactions that committed at or before
 * it are skipped here anyway (a replayed one is counted, not re-applied).
 *
 * Pure: no logging. A failure returns -1 and leaves one line in
 * apply_error() ("table=s.t lsn=X/X could not apply UPDATE: ..."), for the
 * caller to log or report. After a failed apply_message() the target
 * transaction has been rolled back: restart the stream from
 * apply_origin_lsn().
 *
 * The target session is taken over (session_replication_role = replica,
 * generic plans, no sequential scans, the origin set up, prepared
 * statements named pgconvoy_*, pg_temp functions for the row-count check
 * before each COMMIT): one apply_t per connection, and nothing else
 * running on it meanwhile. apply_destroy() undoes it.
 *
 * Changes are held a moment and sent a table at a time, runs of them in
 * one statement each (see apply_is_grouping()).
 *
 * Memory: at most about a megabyte of changes is held; a transaction of
 * any size streams.
 */
#ifndef PGCONVOY_APPLY_H
#define PGCONVOY_APPLY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/pgoutput.h"

typedef struct apply_t apply_t;

/* Rows applied (committed on the target), per relation or in total. */
typedef struct
{
    uint64_t inserts;
    uint64_t updates;
    uint64_t deletes;
    uint64_t truncates; /* TRUNCATE statements naming the relation */
} apply_counters_t;

/*
 * Borrows target (which must outlive the apply_t). Sets the session up
 * and creates the replication origin origin_name if missing. Returns NULL
 * with *error set (free() it) on failure, and *transient true if another
 * try may do (a connection lost, the origin still held by a session on
 * its way out).
 */
apply_t *apply_new(PGconn *target, const char *origin_name, char **error,
                   bool *transient);
/*
 * Also counts each table's changes in pgconvoy.cdc_counts (origin,
 * schema_name, table_name, inserts, updates, deletes) on the target, in
 * the transaction that applies them: counters that survive a restart and
 * never count a replayed change. Creates the table if missing. Returns 0,
 * or -1 with *error set.
 */
int apply_keep_counts(apply_t *self, char **error);

/*
 * Batches up to max_xacts source transactions in one target transaction
 * (0 or 1: one each, the default): COMMIT then only ends a source
 * transaction, and the target commits when the batch is full or at
 * apply_flush(). Exactly once still holds: the origin's progress and the
 * counters commit with the batch's rows, and a failure rolls the whole
 * batch back, for the stream to restart before it. Fewer commits, and one
 * counters update per batch instead of one per transaction.
 *
 * A full batch's COMMIT is sent without waiting for its result, and the
 * next batch follows it at once (a backlog is at hand): the target never
 * idles while the agent waits. Until that result is read, the batch is
 * not in the counters nor in apply_committed_lsn().
 */
void apply_set_batch(apply_t *self, unsigned int max_xacts);
/* True if committed source transactions, or a COMMIT's result, wait for
 * apply_flush(). */
bool apply_has_deferred(const apply_t *self);
/* Commits the batch, if any, and reads every COMMIT's result: afterwards
 * apply_committed_lsn() covers every transaction applied (mid-transaction,
 * only what has come back). Returns 0, or -1 as apply_message(). */
int apply_flush(apply_t *self);

/*
 * True if, within a target transaction, the changes of different tables
 * may be sent in another order than they came (each table's in its own),
 * and consecutive ones of a table in one statement: so unless a trigger or
 * rule of the target database fires for replicated rows, which could see
 * the difference. Decided by apply_new().
 */
bool apply_is_grouping(const apply_t *self);
/* Grouped statements prepared on the target at a time, over all tables
 * (default 192, about 100 kB of its memory each): past it, those of the
 * table that used one least recently are dropped. */
void apply_set_group_statements(apply_t *self, unsigned int max);

/* Rolls back an open transaction, releases the origin and the prepared
 * statements; the connection stays usable. NULL-safe. */
void apply_destroy(apply_t **self_p);

/*
 * Where to restart streaming: the end LSN of the last source transaction
 * committed on the target (0 if none). Asks the server. Returns 0 or -1.
 */
int apply_origin_lsn(apply_t *self, uint64_t *lsn);

/* Applies one message (borrowed). Returns 0 or -1 (see apply_error()). */
int apply_message(apply_t *self, const pgoutput_msg_t *msg);

/* Why the last call failed; valid until the next call. "" if none. */
const char *apply_error(const apply_t *self);
/* True if the last failure is worth another try (lost connection,
 * serialization failure, deadlock). */
bool apply_error_is_transient(const apply_t *self);

/* Counters of relid; -1 if no Relation message described it. */
int apply_counters(const apply_t *self, uint32_t relid,
                   apply_counters_t *counters);
/* Counters summed over all relations. */
void apply_totals(const apply_t *self, apply_counters_t *counters);
/* Source transactions committed on the target, and skipped because the
 * origin already had them. */
uint64_t apply_xacts_committed(const apply_t *self);
uint64_t apply_xacts_skipped(const apply_t *self);
/* End LSN of the last transaction committed (or skipped) here, 0 if none:
 * the source slot may be confirmed up to it. */
uint64_t apply_committed_lsn(const apply_t *self);

/* Drops replication origin origin_name on target if it exists (cleanup
 * after cutover). No apply_t may be using it. Returns 0, or -1 with
 * *error set. */
int apply_drop_origin(PGconn *target, const char *origin_name, char **error);

#endif
