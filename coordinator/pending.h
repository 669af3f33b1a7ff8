/*
 * coordinator/pending.h
 *     Task creations whose CLI waits for the checks' verdict.
 *
 * A TASK_CREATE is answered only once every prepare unit of the task has
 * judged it: the CLI's route is kept here (ROUTER allows a deferred
 * reply) with every problem found so far, and the answer goes out
 * through the outbox, after the catalog has committed the verdict.
 */
#ifndef PGCONVOY_COORDINATOR_PENDING_H
#define PGCONVOY_COORDINATOR_PENDING_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "coordinator/outbox.h"

typedef struct pending_t pending_t;

/* Answers go to cli (borrowed) through out (borrowed). */
pending_t *pending_new(zsock_t *cli, outbox_t *out);
void pending_destroy(pending_t **self_p);

/* A task whose creation waits; takes the CLI's route. */
void pending_add(pending_t *self, int64_t task_id, zmsg_t **route_p);
bool pending_has(const pending_t *self, int64_t task_id);

/* Adds one problem line to a waiting task's refusal (no-op if none). */
void pending_add_problem(pending_t *self, int64_t task_id, const char *problem);
/* Every problem found, one per line ("" if none; borrowed). */
const char *pending_problems(const pending_t *self, int64_t task_id);

/* Adds one line the user should know of, refusal or not (no-op if none). */
void pending_add_notice(pending_t *self, int64_t task_id, const char *notice);
/* Every notice, one per line ("" if none; borrowed). */
const char *pending_notices(const pending_t *self, int64_t task_id);

/* Answers the waiting CLI (through the outbox) and forgets the task. */
void pending_answer(pending_t *self, int64_t task_id, int code,
                    const char *message);

#endif
