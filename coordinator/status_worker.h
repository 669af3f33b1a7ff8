/*
 * coordinator/status_worker.h
 *     Answers the CLI's task show on a thread of its own, reading the
 *     catalog through a connection of its own.
 *
 * The status of a task of 10,000 tables takes a tenth of a second to
 * build: on the coordinator's loop, that is a tenth of a second in which
 * no unit is placed and no result is taken, at every look of every
 * client. With WAL, the worker reads the last committed state while the
 * loop goes on writing. The loop still looks the task up (so that a
 * wrong name is answered at once) and sends the worker's answers on.
 */
#ifndef PGCONVOY_COORDINATOR_STATUS_WORKER_H
#define PGCONVOY_COORDINATOR_STATUS_WORKER_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct status_worker_t status_worker_t;

/* Starts the worker on the catalog in state_dir (made already). NULL,
 * logged, if it could not start. */
status_worker_t *status_worker_new(const char *state_dir);
void status_worker_destroy(status_worker_t **self_p);

/* Asks for the status of task_id (status_task_json()'s expand and
 * summary), to be answered to route (copied). Returns 0 or -1. */
int status_worker_ask(status_worker_t *self, zmsg_t *route, int64_t task_id,
                      bool expand, bool summary);

/* The socket to poll: readable when an answer waits. */
zsock_t *status_worker_sock(status_worker_t *self);

/* Takes one answer: the message to send on the CLI socket as it is
 * (route, then the Reply), or NULL. */
zmsg_t *status_worker_answer(status_worker_t *self);

#endif
