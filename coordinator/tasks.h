/*
 * coordinator/tasks.h
 *     The rows of tasks, typed: one read by its key gives every column a
 *     caller decides on.
 */
#ifndef PGCONVOY_COORDINATOR_TASKS_H
#define PGCONVOY_COORDINATOR_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/states.h"
#include "coordinator/store.h"

/* a UUID in its canonical form, 36 characters */
#define TASKS_KEY_SIZE 37

/*
 * One row of tasks. Its texts of no bound are left out: the task's name
 * (any length the user chose), the endpoints' hosts, users and
 * databases, the versions, the error and the times.
 */
typedef struct
{
    int64_t id;
    int64_t project_id;
    task_state_t state; /* TASK_STATE_COUNT if the spelling is none */
    char task_key[TASKS_KEY_SIZE]; /* names its slots, its target rows */
    int64_t src_port;              /* the source's */
    int64_t tgt_port;              /* the target's */
    int64_t split_bytes;           /* tables larger are copied in ranges */
    bool online;                   /* an OnlineMigration: changes streamed */
    bool fix_replica_identity;     /* online: tables without a key get FULL */
} tasks_row_t;

/*
 * Reads task id into *row by its key. Returns 0, or -1 if there is no
 * such task (or the read failed, logged): *row is then zeroed, its state
 * TASK_STATE_COUNT.
 */
int tasks_get(store_t *store, int64_t id, tasks_row_t *row);

#endif
