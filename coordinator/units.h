/*
 * coordinator/units.h
 *     Unit kinds (their names and priorities) and the unit rows of the
 *     catalog that the planner and the dispatcher both use: adding one,
 *     and how many of a kind are in given states.
 */
#ifndef PGFERRY_COORDINATOR_UNITS_H
#define PGFERRY_COORDINATOR_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/states.h"
#include "coordinator/store.h"
#include "pgferry.pb-c.h"

#define K_PREPARE PGFERRY__UNIT_KIND__UNIT_PREPARE
#define K_SNAPSHOT PGFERRY__UNIT_KIND__UNIT_SNAPSHOT
#define K_SCHEMA_PRE PGFERRY__UNIT_KIND__UNIT_SCHEMA_PRE
#define K_COPY PGFERRY__UNIT_KIND__UNIT_COPY
#define K_SCHEMA_POST PGFERRY__UNIT_KIND__UNIT_SCHEMA_POST
#define K_FINALIZE PGFERRY__UNIT_KIND__UNIT_FINALIZE
#define K_ANALYZE PGFERRY__UNIT_KIND__UNIT_ANALYZE
#define K_SLOT PGFERRY__UNIT_KIND__UNIT_SLOT
#define K_CDC PGFERRY__UNIT_KIND__UNIT_CDC
#define K_CLEANUP PGFERRY__UNIT_KIND__UNIT_CLEANUP
#define K_VALIDATE PGFERRY__UNIT_KIND__UNIT_VALIDATE

/* Units holding a snapshot only wait: they take no job slot. */
#define UNITS_HOLDER_KINDS "(2, 8)" /* K_SNAPSHOT, K_SLOT */
_Static_assert(K_SNAPSHOT == 2 && K_SLOT == 8, "UNITS_HOLDER_KINDS lists them");

/* "copy", "schema-post"…; "unknown" for no kind of ours. */
const char *units_kind_name(int kind);

/* Higher first: a database's checks and snapshot before its copies. */
int units_kind_priority(int kind);

/* Queues a unit (table_id, item_id: 0 for none). Returns 0 or -1. */
int units_add(store_t *store, int64_t task_id, int64_t db_id, int kind,
              int64_t table_id, int64_t item_id, int64_t weight);

/*
 * A unit's state moves here only, as states.c's table allows: the guard
 * is in the UPDATE itself (WHERE state IN the states it may come from),
 * so that it costs nothing, and a move the table refuses is a bug,
 * logged. Returns 0 if it moved, 1 if it was there already, -1 if
 * refused or failed.
 *
 * units_move: to done; to failed, keeping error; back to queued (tried
 * again: its agent let go of, error kept if not NULL).
 */
int units_move(store_t *store, int64_t unit_id, unit_state_t to,
               const char *error);
/* Queued to running on agent: its placement's number and batch (the
 * batch's first unit; its own id alone), when (wall clock seconds). */
int units_place(store_t *store, int64_t unit_id, const char *agent,
                int64_t batch, int64_t placement, double now);
/* Cancels a database's units of kind (0: of every kind) that are queued,
 * and running ones too if running. Returns how many, or -1. */
int64_t units_cancel(store_t *store, int64_t db_id, int kind, bool running);

/* Units of a database of one kind in the states listed (an SQL list of
 * quoted names): one row read, whatever the number of units. */
int64_t units_count(store_t *store, int64_t db_id, int kind,
                    const char *states);
/* The same over every database of a task: a row read per database. */
int64_t units_count_task(store_t *store, int64_t task_id, int kind,
                         const char *states);

#endif
