/*
 * coordinator/inbox.h
 *     Agents' messages read off the socket ahead of their handling, in
 *     the order they came.
 *
 * Under load the agents' socket holds thousands of results. A heartbeat
 * behind them used to wait for all of them before its lease was
 * answered, seconds at 10,000 tables, and a lease that runs out stops
 * every unit of its agent. Reading is cheap and handling is not: the
 * loop reads what is there into the inbox, answers the leases of the
 * heartbeats among it at once, and handles the rest in order, as before.
 */
#ifndef PGCONVOY_COORDINATOR_INBOX_H
#define PGCONVOY_COORDINATOR_INBOX_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/envelope.h"

/* The most messages read ahead: the rest wait in ZeroMQ's queues, which
 * push back on the agents */
#define INBOX_MAX 10000

typedef struct inbox_t inbox_t;

/* One message read, and what reading it found. */
typedef struct
{
    zmsg_t *route;             /* routing frames, owned */
    Pgconvoy__Envelope *env;   /* owned; NULL unless status is OK */
    envelope_status_t status;  /* as envelope_recv() said */
    uint32_t version;          /* the peer's protocol version */
    bool leased;               /* a Hello whose Lease was sent on reading */
} inbox_msg_t;

inbox_t *inbox_new(void);
/* Frees the messages left, and the inbox. */
void inbox_destroy(inbox_t **self_p);

/* Appends msg (taken: its fields are owned by the inbox from now). */
void inbox_push(inbox_t *self, inbox_msg_t *msg);
/* Takes the oldest message into *msg; false if there is none. */
bool inbox_pop(inbox_t *self, inbox_msg_t *msg);
/* Frees what msg holds. */
void inbox_msg_clear(inbox_msg_t *msg);

size_t inbox_size(const inbox_t *self);

#endif
