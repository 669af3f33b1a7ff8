/*
 * coordinator/dispatch.h
 *     Placing queued units on the agents that have free job slots.
 */
#ifndef PGCONVOY_COORDINATOR_DISPATCH_H
#define PGCONVOY_COORDINATOR_DISPATCH_H

#include "coordinator/coord.h"

/*
 * Places what the queue holds on every agent with a free slot, one
 * placement per agent in turn so that work spreads over all of them;
 * snapshot holders first, on any live agent (they take no slot). Called
 * on every event that may free a slot or queue a unit.
 */
void dispatch_units(coord_t *self);

/* The Assign of unit unit_id, built from the catalog as its next
 * placement will send it (free with pgconvoy__assign__free_unpacked());
 * NULL if the unit is gone. */
Pgconvoy__Assign *dispatch_build_assign(coord_t *self, int64_t unit_id);

/*
 * Asks for dispatch_units() at the end of the batch of messages being
 * handled: once per batch, not once per message, as every result, heartbeat
 * and new unit may free a slot or queue work.
 */
void dispatch_request(coord_t *self);

#endif
