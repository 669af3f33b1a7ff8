/*
 * coordinator/outbox.h
 *     Messages to send once the catalog has what they tell: persist,
 *     then send.
 *
 * The coordinator handles a batch of messages in one catalog
 * transaction. What it would tell an agent (an assignment) or the CLI
 * (a task created) in that batch waits here until the transaction has
 * committed, so that nobody hears of a change a crash could still undo.
 */
#ifndef PGCONVOY_COORDINATOR_OUTBOX_H
#define PGCONVOY_COORDINATOR_OUTBOX_H

#include <czmq.h>
#include <stddef.h>

#include "pgconvoy.pb-c.h"

typedef struct outbox_t outbox_t;

outbox_t *outbox_new(void);
void outbox_destroy(outbox_t **self_p);

/* Queues env for sock, routed by a copy of route (borrows all three:
 * env is packed now). Returns 0, or -1 (logged) if it cannot be packed. */
int outbox_add(outbox_t *self, zsock_t *sock, zmsg_t *route,
               Pgconvoy__Envelope *env);

/* Sends every queued message, in the order queued. */
void outbox_flush(outbox_t *self);

/* Sends the messages queued for sock, in the order queued; the others
 * stay queued, in theirs. */
void outbox_flush_to(outbox_t *self, const zsock_t *sock);

/* Drops every queued message: what they told was rolled back. */
void outbox_discard(outbox_t *self);

size_t outbox_size(const outbox_t *self);

#endif
