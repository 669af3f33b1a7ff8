/*
 * coordinator/plan.h
 *     Tasks and databases: their creation, their states and their end.
 */
#ifndef PGCONVOY_COORDINATOR_PLAN_H
#define PGCONVOY_COORDINATOR_PLAN_H

#include "coordinator/coord.h"
#include "coordinator/states.h"

/* What a TASK_CREATE lacks that plan_create_task() reads (servers,
 * databases), or NULL: a message to free. The CLI never sends such a
 * request; anything else that reaches the socket may. */
char *plan_task_request_problem(const Pgconvoy__Request *req);

/* A task from a TASK_CREATE (plan_task_request_problem() found nothing
 * missing): its databases' prepare units queued, its
 * passwords kept in memory. The task's id, or -1 with *error set. */
int plan_create_task(coord_t *self, const Pgconvoy__Request *req,
                     int64_t project_id, char **error);
void plan_cancel_task(coord_t *self, int64_t task_id);
/* Cancels, then deletes the task, at once or (online: its slot is to be
 * dropped first) once its cleanup units ran. True if deleted now. */
bool plan_delete_task(coord_t *self, int64_t task_id);
/* A task being deleted goes once its last cleanup unit has run. */
void plan_finish_delete(coord_t *self, int64_t task_id);
/* Asks the cdc unit of one database to cut over. Returns the CLI exit
 * code, with *message to tell (free() it). */
int plan_cutover(coord_t *self, int64_t task_id, const char *database,
                 bool validate, char **message);
/* At start: drops the tasks whose checks were still running. */
void plan_resume(coord_t *self);

/* Every prepare unit of a task has answered: start it, or refuse it. */
void plan_prepare_verdict(coord_t *self, int64_t task_id);

/* A database's state; DB_STATE_COUNT if it is gone. */
db_state_t plan_database_state(coord_t *self, int64_t db_id);
/*
 * The one place a database's state moves: checked against the allowed
 * moves (states.c), then the row and its event written together. A final
 * state sets ended_at; error, if not NULL, is kept as the first error. A
 * move the table does not allow is a bug: logged, nothing written.
 * Returns 0 if it moved, 1 if it was in that state already, -1 if refused.
 */
int plan_move_database(coord_t *self, int64_t db_id, db_state_t to,
                       const char *error);
/* Fails a database (unless it ended already): its queued units are
 * cancelled, its snapshot, batches and stream let go. */
void plan_fail_database(coord_t *self, int64_t task_id, int64_t db_id,
                        const char *error);
/* Starts an online database's full load over, its snapshot lost after
 * copies read under it: see plan.c. */
void plan_restart_load(coord_t *self, int64_t task_id, int64_t db_id);
/* Tells the cdc unit of a database, waiting for its validate units,
 * that every table compared equal: it may finish the cutover. */
void plan_confirm_validated(coord_t *self, int64_t db_id);
/* Lets the snapshot holders of a database go. */
void plan_release_snapshots(coord_t *self, int64_t db_id);
/* Ends the task once none of its databases is left running. */
void plan_update_task_state(coord_t *self, int64_t task_id);
bool plan_is_online(coord_t *self, int64_t task_id);

#endif
