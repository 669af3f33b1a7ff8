/*
 * coordinator/items.h
 *     schema-pre's post-data items, taken in from its result: kept as the
 *     result gave them, in rows of ITEMS_CHUNK packed items, then written
 *     into schema_items a row at a time, between other messages.
 *
 * 80,000 items of 10,000 tables took 0.9 s of CPU to insert one row
 * each, in the pass of the loop that handled the result; kept packed,
 * they take a few rows written (the same transaction that settles the
 * unit, so they are taken exactly once), and items_write_chunk() writes
 * out one of those rows per pass, deleting it in the same transaction:
 * a coordinator killed meanwhile goes on from the rows left. Until the
 * last is written, a database's items are not known
 * (items_are_staged()): nothing that needs all of them may run.
 */
#ifndef PGCONVOY_COORDINATOR_ITEMS_H
#define PGCONVOY_COORDINATOR_ITEMS_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/store.h"
#include "pgconvoy.pb-c.h"

/* Items per staged row, written out in one pass: about as long to write
 * as a batch of results takes to handle (a few milliseconds). */
#define ITEMS_CHUNK 512

/* Keeps r's items (borrowed) for db_id, packed ITEMS_CHUNK to a row, to
 * be written by items_write_chunk(). Returns 0, or -1 (logged). */
int items_stage(store_t *store, int64_t db_id, const Pgconvoy__Result *r);

/* Whether some of db_id's items are staged and not written yet. */
bool items_are_staged(store_t *store, int64_t db_id);

/* The database whose items were staged first, of those with some left;
 * 0 if none. */
int64_t items_staged_database(store_t *store);

/*
 * Writes db_id's next staged row of items into schema_items and deletes
 * it, in the caller's transaction, and sets *last to whether it was its
 * last. Returns 1 if a row was written, 0 if none of db_id's is staged,
 * -1 on error (logged).
 */
int items_write_chunk(store_t *store, int64_t db_id, bool *last);

/* How many index and constraint builds (phase 1) db_id's written items
 * hold; read through its index, once per database. */
int64_t items_count_builds(store_t *store, int64_t db_id);

/* Forgets db_id's staged items (the database is over). */
void items_drop(store_t *store, int64_t db_id);

#endif
