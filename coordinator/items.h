/*
 * coordinator/items.h
 *     schema-pre's post-data items, taken in from its result: kept as the
 *     result gave them, in one row, then written into schema_items a
 *     chunk at a time, between other messages.
 *
 * 80,000 items of 10,000 tables cost seconds to insert on a loaded
 * machine; the result's handling stores them as one blob instead (the
 * same transaction that settles the unit, so they are taken exactly
 * once), and items_write_chunk() writes ITEMS_CHUNK of them per pass of
 * the loop. Where it stands is in that row, moved with the rows it
 * writes: a coordinator killed meanwhile goes on from the catalog.
 * Until the last chunk is in, a database's items are not known
 * (items_are_staged()): nothing that needs all of them may run.
 */
#ifndef PGCONVOY_COORDINATOR_ITEMS_H
#define PGCONVOY_COORDINATOR_ITEMS_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/store.h"
#include "pgconvoy.pb-c.h"

/* Items per chunk: about as long to write as a batch of results takes
 * to handle (a few milliseconds). */
#define ITEMS_CHUNK 512

/* A decoded blob kept between chunks, so that each chunk does not
 * decode them all again. Memory only: the catalog is the truth. */
typedef struct items_t items_t;

items_t *items_new(void);
void items_destroy(items_t **self_p);

/* Keeps r's items (borrowed) for db_id, to be written by
 * items_write_chunk(). Returns 0, or -1 (logged). */
int items_stage(store_t *store, int64_t db_id, const Pgconvoy__Result *r);

/* Whether some of db_id's items are staged and not written yet. */
bool items_are_staged(store_t *store, int64_t db_id);

/* A database with items staged, the first by id; 0 if none. */
int64_t items_staged_database(store_t *store);

/*
 * Writes the next ITEMS_CHUNK of db_id's staged items into schema_items,
 * in the caller's transaction, and sets *last to whether they were its
 * last (its staged row is then gone). cache may be NULL (the blob is
 * decoded each time). Returns 1 if a chunk was written, 0 if nothing of
 * db_id's is staged, -1 on error (logged).
 */
int items_write_chunk(items_t *cache, store_t *store, int64_t db_id,
                      bool *last);

/* Forgets db_id's staged items (the database is over). */
void items_drop(items_t *cache, store_t *store, int64_t db_id);

#endif
