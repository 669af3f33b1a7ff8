/*
 * coordinator/advance.h
 *     Moving a database forward as its units finish.
 */
#ifndef PGCONVOY_COORDINATOR_ADVANCE_H
#define PGCONVOY_COORDINATOR_ADVANCE_H

#include "coordinator/coord.h"

/* Moves one database forward as far as its units allow, and its task. */
void advance_database(coord_t *self, int64_t task_id, int64_t db_id);
/*
 * The same, once, at the end of the batch of messages being handled
 * (advance_requested()): a burst of 200 results of one database moves it
 * forward once, not 200 times.
 */
void advance_request(coord_t *self, int64_t task_id, int64_t db_id);
/* Moves forward each database asked for since the last call. */
void advance_requested(coord_t *self);
/* These tables exist on the target (n 0: all of the database's, in
 * chunks by the copies' sweep): queue their copies, once each; the
 * first tables move the database to FULL_LOAD. */
void advance_start_copies(coord_t *self, int64_t task_id, int64_t db_id,
                          Pgconvoy__TableRef *const *tables, size_t n);
/*
 * One chunk of each sweep under way (sweep.h): copies queued, the
 * builds and ANALYZE of tables loaded before the post-data items were
 * known, or the ANALYZE the tables missed. Called once per pass of the loop, while it returns true, so
 * that work that follows the number of tables is spread between the
 * agents' messages. Sets coord_t.sweep_wanted to what it returns.
 */
bool advance_sweep(coord_t *self);
/*
 * A table's copies are all in: its builds and ANALYZE need not wait for
 * the other tables. Queued now if the post-data sweep has passed the
 * table, or if it is big (its builds are long chains, started early);
 * else the sweep queues them once the database's queue runs low.
 */
void advance_table_loaded(coord_t *self, int64_t task_id, int64_t db_id,
                          int64_t table_id);
/* Queues the index and constraint builds not queued yet: of one loaded
 * table, or (table_id 0) of the tables not copied. Returns how many it
 * queued. */
int64_t advance_queue_items(coord_t *self, int64_t task_id, int64_t db_id,
                            int64_t table_id);
/* Queues the ANALYZE of a loaded table whose builds are done, once.
 * Returns how many (0 or 1). */
int64_t advance_queue_analyze(coord_t *self, int64_t task_id, int64_t db_id,
                              int64_t table_id);

/*
 * Cutover with --validate, once the cdc unit has applied everything up
 * to the cutover: queues a validate unit per table (once), and once all
 * are done either fails the database, naming every table that differs,
 * or lets the cdc unit finish. Called again, it only decides.
 */
void advance_validation(coord_t *self, int64_t task_id, int64_t db_id);

#endif
