/*
 * coordinator/sweep.h
 *     Walks of a database's tables in bounded chunks, one chunk per pass
 *     of the coordinator's loop, their position kept in the catalog.
 *
 * Work that follows the number of tables (queueing 10,000 tables'
 * copies, or the index builds of the tables loaded before the post-data
 * items were known) must not run inside the handling of one message:
 * every other agent's result and every Lease answer would wait for it.
 * A sweep takes SWEEP_CHUNK tables at a time, in id order, and moves its
 * position in the same transaction as the work done on them, so that a
 * coordinator killed between chunks goes on from the catalog where the
 * last committed chunk ended. The work itself must be idempotent per
 * table (a table may be visited again by another path meanwhile).
 */
#ifndef PGCONVOY_COORDINATOR_SWEEP_H
#define PGCONVOY_COORDINATOR_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/store.h"

/* Tables per chunk: a chunk of copies or post-data queueing costs a few
 * milliseconds, no more than a batch of results. */
#define SWEEP_CHUNK 64
/*
 * The post-data sweep takes a chunk only while its database has fewer
 * units than this queued. Builds queue behind copies (units.c), so those
 * queued while 10,000 copies wait would only wait with them; meanwhile
 * their inserts (eight or so per table, through every index of units)
 * took a third of the coordinator's time in the copies' results, which
 * then waited (coord_sim: p99 placement 11-190 ms; 0.4-2.2 ms since).
 * Queued as the queue runs low instead, they are spread over the builds
 * a chunk at a time. No slot waits for them: the chunk is taken in the
 * next pass, milliseconds away, while the units left queued last the
 * busiest fleet (100 agents of 2 jobs, at 2,000 units a second) a
 * tenth of a second.
 */
#define SWEEP_QUEUE_LOW 256

typedef enum
{
    SWEEP_COPIES,   /* the tables exist: queue their copies */
    SWEEP_POSTDATA, /* the items are known: queue the builds and ANALYZE
                     * of the tables loaded already */
    SWEEP_ANALYZE,  /* every build is done: the ANALYZE of the tables
                     * that missed theirs, before finalize */
    SWEEP_KIND_COUNT
} sweep_kind_t;

/* One table of a chunk, as the work on it needs it. */
typedef struct
{
    int64_t id;
    int64_t pages;     /* for cutting its copy into ranges */
    int64_t bytes_est; /* ... and weighing them */
    bool loaded;       /* COMPLETED: its copies are all in */
} sweep_table_t;

typedef struct
{
    int64_t task_id;
    int64_t db_id;
    size_t n; /* tables[0..n); 0 when the last chunk was exactly full */
    sweep_table_t tables[SWEEP_CHUNK];
} sweep_chunk_t;

/* "copies", "post-data"; for the log */
const char *sweep_kind_name(sweep_kind_t kind);

/*
 * Starts db's sweep of kind from its first table, unless it was started
 * before (running or done: a sweep runs once). Returns 1 if it started
 * now, 0 if not, -1 if the catalog could not be written (logged).
 */
int sweep_start(store_t *store, int64_t db_id, sweep_kind_t kind);

/* Whether db's sweep of kind has visited every table; false if it was
 * never started. */
bool sweep_is_done(store_t *store, int64_t db_id, sweep_kind_t kind);

/* Whether db's sweep of kind has visited table_id (or every table);
 * false if it was never started. */
bool sweep_has_passed(store_t *store, int64_t db_id, sweep_kind_t kind,
                      int64_t table_id);

/*
 * The next chunk of some database's sweep of kind: up to SWEEP_CHUNK of
 * its tables from the sweep's position, which moves past them (or to
 * done, with the last) in the caller's transaction. Returns 1 if a chunk
 * was taken, 0 if no sweep of kind may go on (none under way, or held
 * back), -1 on error (logged).
 */
int sweep_take(store_t *store, sweep_kind_t kind, sweep_chunk_t *chunk);

/* Whether some database's sweep of kind is under way but holds back:
 * the post-data sweep of a database with SWEEP_QUEUE_LOW units queued. */
bool sweep_is_held(store_t *store, sweep_kind_t kind);
/* Whether some database's sweep of kind may take a chunk now. */
bool sweep_may_go_on(store_t *store, sweep_kind_t kind);

/* Ends db's sweep of kind, where it stands: the database is over
 * (failed, cancelled), nothing more is queued for it. */
void sweep_end(store_t *store, int64_t db_id, sweep_kind_t kind);

#endif
