/*
 * coordinator/states.h
 *     The states of tasks, databases, tables and units: one enum each,
 *     one spelling per state (the catalog's and the status output's), and
 *     one table of the moves allowed between them.
 *
 * Follows PostgreSQL's pg_subscription_rel states: states are data, and
 * a move that is not in the table is a bug, refused where it is made.
 * Task states are DMS's MigrationLevelOutput spellings; database states
 * its migrationState; tables and units are ours.
 */
#ifndef PGCONVOY_COORDINATOR_STATES_H
#define PGCONVOY_COORDINATOR_STATES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum
{
    TASK_PENDING, /* created, waiting for the checks' verdict */
    TASK_RUNNING,
    TASK_SUCCEEDED,
    TASK_FAILED,
    TASK_CANCELED,
    TASK_DELETING, /* deleted, its slots still to drop */
    TASK_STATE_COUNT
} task_state_t;

typedef enum
{
    DB_PREPARING,
    DB_SCHEMA,
    DB_FULL_LOAD,
    DB_CATCHING_UP,
    DB_READY_TO_COMPLETE,
    DB_COMPLETING,
    DB_COMPLETED,
    DB_CANCELLED,
    DB_FAILED,
    DB_STATE_COUNT
} db_state_t;

typedef enum
{
    TABLE_QUEUED,
    TABLE_LOADING,
    TABLE_COMPLETED,
    TABLE_ERROR,
    TABLE_STATE_COUNT
} table_state_t;

typedef enum
{
    UNIT_QUEUED,
    UNIT_RUNNING,
    UNIT_DONE,
    UNIT_FAILED,
    UNIT_CANCELLED,
    UNIT_STATE_COUNT
} unit_state_t;

/* The one spelling of each state. */
const char *states_task_name(task_state_t state);
const char *states_db_name(db_state_t state);
const char *states_table_name(table_state_t state);
const char *states_unit_name(unit_state_t state);

/* Parses a spelling: 0, or -1 if it names no state (*state is then the
 * kind's _STATE_COUNT, which no move leaves or enters). */
int states_task_parse(const char *name, task_state_t *state);
int states_db_parse(const char *name, db_state_t *state);
int states_table_parse(const char *name, table_state_t *state);
int states_unit_parse(const char *name, unit_state_t *state);

/* True if from may move to to (staying put is no move: false). */
bool states_task_can_move(task_state_t from, task_state_t to);
bool states_db_can_move(db_state_t from, db_state_t to);
bool states_table_can_move(table_state_t from, table_state_t to);
bool states_unit_can_move(unit_state_t from, unit_state_t to);

/* The states from which a unit (a table) may move to to, as an SQL list
 * of quoted names ("'queued', 'running'") for the guard of a bulk move;
 * "" if none. Returns buf. */
char *states_unit_sources(unit_state_t to, char *buf, size_t size);
char *states_table_sources(table_state_t to, char *buf, size_t size);

/* True if nothing moves out of the state. */
bool states_db_is_final(db_state_t state);

#endif
