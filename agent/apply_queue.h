/*
 * agent/apply_queue.h
 *     apply's queue: the changes of the open batch, held a moment so that
 *     each table's go out together, runs of them in one statement each
 *     (see apply_is_grouping()).
 *
 * Private to apply (agent/apply*.c): the functions take the apply_t of
 * agent/apply_internal.h.
 */
#ifndef PGCONVOY_APPLY_QUEUE_H
#define PGCONVOY_APPLY_QUEUE_H

#include <stdbool.h>

#include "agent/apply.h"
#include "agent/apply_rel.h"

/* Queues a copy of change c of rel, then sends the queue if it is over
 * its budget, or first if not grouping and the last change queued was of
 * another table. Returns 0, or -1 with the error set. */
int apply_queue_change(apply_t *self, apply_rel_t *rel,
                       pgoutput_msg_type_t type, const pgoutput_change_t *c);
/* Sends every queued change, a table at a time; without send, drops
 * them (after a failure). Returns 0, or -1 with the error set. */
int apply_queue_flush(apply_t *self, bool send);

#endif
