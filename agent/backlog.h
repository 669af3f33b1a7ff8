/*
 * agent/backlog.h
 *     Assigns that came while every job slot of the agent was taken, in
 *     the order they came; each starts as soon as a slot frees.
 *
 * The coordinator sends an agent whose slots are all taken by short
 * units one unit more (coordinator/dispatch.c): when one of them ends,
 * the next is here already, and the slot does not stand idle for the
 * round trip of a Result and the next Assign. The agent itself, not the
 * coordinator's count, keeps its units at --jobs: whatever the
 * coordinator believed, no more than that many run at once.
 *
 * A unit waiting here is the agent's as much as a running one: its
 * Hello lists it, and a lease that runs out drops it unstarted.
 */
#ifndef PGCONVOY_AGENT_BACKLOG_H
#define PGCONVOY_AGENT_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgconvoy.pb-c.h"

typedef struct backlog_t backlog_t;

backlog_t *backlog_new(void);
void backlog_destroy(backlog_t **self_p);

/*
 * True if a unit of kind takes one of the agent's job slots, as the
 * coordinator counts them: a snapshot's or a slot's holder only waits,
 * and a cdc unit runs for as long as the migration, so they start at
 * once and are never kept waiting here.
 */
bool backlog_kind_takes_slot(Pgconvoy__UnitKind kind);

/* The same, of an Assign or AssignBatch envelope (a batch's units are
 * of one kind). */
bool backlog_takes_slot(const Pgconvoy__Envelope *env);

/* Keeps the Assign or AssignBatch *env_p, last in line; takes it. */
void backlog_push(backlog_t *self, Pgconvoy__Envelope **env_p);

/* The envelope first in line, now the caller's, or NULL if none. */
Pgconvoy__Envelope *backlog_pop(backlog_t *self);

size_t backlog_size(const backlog_t *self);

/* The envelope kept here that holds unit_id, taken out of line and now
 * the caller's, or NULL. */
Pgconvoy__Envelope *backlog_take(backlog_t *self, uint64_t unit_id);

/* True if a unit of an envelope kept here has this id. */
bool backlog_holds(const backlog_t *self, uint64_t unit_id);

/* Writes the ids of every unit kept here, up to max, in line order;
 * returns how many. */
size_t backlog_ids(const backlog_t *self, uint64_t *ids, size_t max);

#endif
