/*
 * agent/pipeline.h
 *     Statements sent to a target connection in libpq's pipeline mode, their
 *     results read and checked as they come back.
 *
 * Why: applying a change stream one statement per round trip caps the
 * apply rate at the network's latency. In a pipeline, a whole source
 * transaction costs about one round trip: the statements go out back to
 * back and the client only waits at the commit (pipeline_sync()), or not
 * even there when the next transaction follows its COMMIT in the same
 * pipeline (pipeline_wait_commit()).
 *
 * Each statement carries what its result must be (any success, exactly
 * one row, rows returned, a real COMMIT) and what to say if it is not:
 * the table and LSN it was for. The first failure is kept; what follows it
 * in the pipeline is aborted by the server and ignored here.
 *
 * Results are read while sending (the server is asked to flush every few
 * statements), so that neither side blocks on a full socket buffer and at
 * most PIPELINE_MAX_INFLIGHT statements wait for their result: memory stays
 * bounded whatever the transaction's size.
 */
#ifndef PGCONVOY_PIPELINE_H
#define PGCONVOY_PIPELINE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct pipeline_t pipeline_t;

typedef enum
{
    PIPELINE_OK,     /* any success */
    PIPELINE_ROWS,   /* UPDATE/DELETE: exactly the rows it was sent for,
                       * or the target diverged from the source */
    PIPELINE_TUPLES, /* a SELECT */
    PIPELINE_COMMIT, /* COMMIT that did commit (not a ROLLBACK); its lsn
                       * then becomes pipeline_committed_lsn() */
} pipeline_expect_t;

/* Borrows conn, which must outlive the pipeline_t. */
pipeline_t *pipeline_new(PGconn *conn);
/* Ends an open pipeline (discarding what is in flight). NULL-safe. */
void pipeline_destroy(pipeline_t **self_p);

/* Enters pipeline mode. Returns 0, or -1 (see pipeline_error()). */
int pipeline_begin(pipeline_t *self);
/* True between pipeline_begin() and the end of pipeline_sync() or
 * pipeline_abort(). */
bool pipeline_is_open(const pipeline_t *self);

/*
 * Sends one statement: prepared statement name if not NULL, else sql
 * with its parameters (text or binary, as formats says). rows: with
 * PIPELINE_ROWS, how many it must change. what, label and lsn name it in
 * an error ("table=LABEL lsn=LSN could not apply WHAT"). Returns 0, or -1
 * if the pipeline has failed (now or earlier).
 */
int pipeline_send(pipeline_t *self, const char *name, const char *sql,
                  int nparams, const char *const *values, const int *lengths,
                  const int *formats, pipeline_expect_t expect, int rows,
                  const char *what, const char *label, uint64_t lsn);
/* Sends a Parse of sql as prepared statement name; types: nparams type
 * oids, or NULL to have the server infer them. Same return. */
int pipeline_prepare(pipeline_t *self, const char *name, const char *sql,
                     int nparams, const Oid *types, const char *what,
                     const char *label, uint64_t lsn);

/* Sends a Sync, reads every result up to it and leaves pipeline mode.
 * Returns 0 if every statement had the result it should, else -1. */
int pipeline_sync(pipeline_t *self);

/*
 * A pipeline may run on past a COMMIT into the next transaction, so that
 * the server never idles while the client waits for a commit's result.
 * These tell when such a COMMIT has come back.
 */
/* The lsn sent with the last PIPELINE_COMMIT statement that committed, as
 * far as results have been read; 0 if none. Monotonic. */
uint64_t pipeline_committed_lsn(const pipeline_t *self);
/* Reads the results that have arrived, without waiting for more. Returns
 * 0, or -1 if the pipeline has failed. */
int pipeline_poll(pipeline_t *self);
/* Reads every result in flight, the pipeline left open. Returns 0, or -1
 * if the pipeline has failed. */
int pipeline_drain(pipeline_t *self);
/* Reads results until a COMMIT sent with lsn (or a later one) has
 * committed; one must be in flight. Returns 0, or -1 if the pipeline
 * failed first. */
int pipeline_wait_commit(pipeline_t *self, uint64_t lsn);
/* After a failure: ends the pipeline, discarding what is in flight. The
 * transaction it ran in is left for the caller to roll back. */
void pipeline_abort(pipeline_t *self);

/* The first failure, one line; "" if none. Cleared by pipeline_begin(). */
const char *pipeline_error(const pipeline_t *self);
/* That failure is worth another try (lost connection, serialization
 * failure, deadlock). */
bool pipeline_error_is_transient(const pipeline_t *self);

#endif
