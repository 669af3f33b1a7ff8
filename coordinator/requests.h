/*
 * coordinator/requests.h
 *     The CLI's requests: projects and tasks created, listed, shown,
 *     cut over, cancelled and deleted, each answered with a Reply.
 *
 * A Reply waits in the outbox until the batch that handled its request
 * has committed, so that nobody is told of what a crash could undo; a
 * task creation is answered only once its prepare units have judged it
 * (pending.c), and a task's status by the status worker when it can.
 */
#ifndef PGCONVOY_COORDINATOR_REQUESTS_H
#define PGCONVOY_COORDINATOR_REQUESTS_H

#include "coordinator/coord.h"

/* Reads one message from the CLI socket and handles it: a Request is
 * answered, another protocol version or anything else refused. */
void requests_handle(coord_t *self);

#endif
