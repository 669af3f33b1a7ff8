/*
 * coordinator/units.h
 *     Unit kinds (their names and priorities) and the unit rows of the
 *     catalog that the planner and the dispatcher both use: adding one,
 *     reading one, and how many of a kind are in given states.
 */
#ifndef PGCONVOY_COORDINATOR_UNITS_H
#define PGCONVOY_COORDINATOR_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/states.h"
#include "coordinator/store.h"
#include "pgconvoy.pb-c.h"

#define K_PREPARE PGCONVOY__UNIT_KIND__UNIT_PREPARE
#define K_SNAPSHOT PGCONVOY__UNIT_KIND__UNIT_SNAPSHOT
#define K_SCHEMA_PRE PGCONVOY__UNIT_KIND__UNIT_SCHEMA_PRE
#define K_COPY PGCONVOY__UNIT_KIND__UNIT_COPY
#define K_SCHEMA_POST PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST
#define K_FINALIZE PGCONVOY__UNIT_KIND__UNIT_FINALIZE
#define K_ANALYZE PGCONVOY__UNIT_KIND__UNIT_ANALYZE
#define K_SLOT PGCONVOY__UNIT_KIND__UNIT_SLOT
#define K_CDC PGCONVOY__UNIT_KIND__UNIT_CDC
#define K_CLEANUP PGCONVOY__UNIT_KIND__UNIT_CLEANUP
#define K_VALIDATE PGCONVOY__UNIT_KIND__UNIT_VALIDATE

/* Units holding a snapshot only wait: they take no job slot. */
#define UNITS_HOLDER_KINDS "(2, 8)" /* K_SNAPSHOT, K_SLOT */
_Static_assert(K_SNAPSHOT == 2 && K_SLOT == 8, "UNITS_HOLDER_KINDS lists them");

/*
 * One row of units, typed. Its texts of no bound are left out: the
 * error, and the agent (an agent's --name is any length), which
 * units_get_running() compares instead.
 */
typedef struct
{
    int64_t id;
    int64_t task_id;
    int64_t database_id;
    int64_t table_id;   /* copy, analyze, validate; 0 for none (NULL) */
    int64_t item_id;    /* schema-post's schema item; 0 for none (NULL) */
    int kind;           /* K_* */
    unit_state_t state; /* UNIT_STATE_COUNT if the spelling is none */
    int64_t priority;   /* units_kind_priority() when queued */
    int64_t weight;     /* its table's bytes (a range its share): big first */
    int attempts;       /* times placed (units_place() counts them) */
    double assigned_at; /* wall clock seconds of its placement; 0: never */
    bool started;       /* a copy started; a holder released; cdc waits */
    int64_t batch;      /* its batch's first unit; 0 if never placed */
    int64_t placement;  /* its agent's placement number; 0: never */
    int64_t part;       /* a copy's range, from 0 */
    int64_t first_page; /* the range's pages; both 0: the whole table */
    int64_t last_page;  /* 0: to the end */
    int64_t rows;       /* a copy's, as its result said */
    int64_t bytes;      /* a copy's, as its progress or result said */
} units_row_t;

/*
 * Reads unit id into *row by its key. Returns 0, or -1 if there is no
 * such unit (or the read failed, logged): *row is then zeroed, its
 * state UNIT_STATE_COUNT.
 */
int units_get(store_t *store, int64_t id, units_row_t *row);
/*
 * The same, for a unit that is running on agent: -1 too if it is not
 * (placed elsewhere since, done, cancelled...), so that an agent's
 * report is taken from the unit's current placement only.
 */
int units_get_running(store_t *store, int64_t id, const char *agent,
                      units_row_t *row);

/* "copy", "schema-post"…; "unknown" for no kind of ours. */
const char *units_kind_name(int kind);

/* Higher first: a database's checks and snapshot before its copies. */
int units_kind_priority(int kind);

/* Queues a unit (table_id, item_id: 0 for none). Returns 0 or -1. */
int units_add(store_t *store, int64_t task_id, int64_t db_id, int kind,
              int64_t table_id, int64_t item_id, int64_t weight);

/* Records a unit that another did on its way (a copy that analyzed its
 * table: Result.analyzed): born done on agent, never queued, so that it
 * is neither queued again nor missing from the counts. Returns 0 or -1. */
int units_add_done(store_t *store, int64_t task_id, int64_t db_id, int kind,
                   int64_t table_id, const char *agent);

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
/*
 * The pause before the next try of a unit after failures tries in a row
 * failed for a transient reason: 1 s, 2 s, 4 s ... up to a minute,
 * however many tries it takes (none before the first try).
 */
int64_t units_backoff_ms(int failures);

/* Unit unit_id is not placed before pause_ms from now. Returns 0 or -1. */
int units_defer(store_t *store, int64_t unit_id, int64_t pause_ms);

int64_t units_count(store_t *store, int64_t db_id, int kind,
                    const char *states);
/* The same over every database of a task: a row read per database. */
int64_t units_count_task(store_t *store, int64_t task_id, int kind,
                         const char *states);

#endif
