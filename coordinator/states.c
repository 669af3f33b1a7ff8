/*
 * coordinator/states.c
 *     Names and allowed moves of every state.
 *
 * allowed[from] is the bit set of the states from may move to. Every
 * state a database leaves to fail or be cancelled is listed: a failure or
 * a cancel can come at any moment before the end.
 */
#include "coordinator/states.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BIT(s) (1u << (s))

static const char *const s_task_names[TASK_STATE_COUNT] = {
    [TASK_PENDING] = "Pending",     [TASK_RUNNING] = "Running",
    [TASK_SUCCEEDED] = "Succeeded", [TASK_FAILED] = "Failed",
    [TASK_CANCELED] = "Canceled",   [TASK_DELETING] = "Deleting"};

static const uint32_t s_task_allowed[TASK_STATE_COUNT] = {
    [TASK_PENDING] = BIT(TASK_RUNNING) | BIT(TASK_CANCELED),
    [TASK_RUNNING] =
        BIT(TASK_SUCCEEDED) | BIT(TASK_FAILED) | BIT(TASK_CANCELED),
    /* deleting an ended task whose slot is still to be dropped */
    [TASK_SUCCEEDED] = BIT(TASK_DELETING),
    [TASK_FAILED] = BIT(TASK_DELETING),
    [TASK_CANCELED] = BIT(TASK_DELETING),
    [TASK_DELETING] = 0};

static const char *const s_db_names[DB_STATE_COUNT] = {
    [DB_PREPARING] = "PREPARING",
    [DB_SCHEMA] = "SCHEMA",
    [DB_FULL_LOAD] = "FULL_LOAD",
    [DB_CATCHING_UP] = "CATCHING_UP",
    [DB_READY_TO_COMPLETE] = "READY_TO_COMPLETE",
    [DB_COMPLETING] = "COMPLETING",
    [DB_COMPLETED] = "COMPLETED",
    [DB_CANCELLED] = "CANCELLED",
    [DB_FAILED] = "FAILED"};

#define DB_ENDS (BIT(DB_FAILED) | BIT(DB_CANCELLED))
static const uint32_t s_db_allowed[DB_STATE_COUNT] = {
    [DB_PREPARING] = BIT(DB_SCHEMA) | DB_ENDS,
    [DB_SCHEMA] = BIT(DB_FULL_LOAD) | DB_ENDS,
    /* offline, the build after the load is COMPLETING; online, the
     * changes made since come first, unless the cutover was asked for
     * during the load */
    [DB_FULL_LOAD] = BIT(DB_CATCHING_UP) | BIT(DB_COMPLETING) | DB_ENDS,
    [DB_CATCHING_UP] = BIT(DB_READY_TO_COMPLETE) | BIT(DB_COMPLETING) | DB_ENDS,
    [DB_READY_TO_COMPLETE] = BIT(DB_CATCHING_UP) | BIT(DB_COMPLETING) | DB_ENDS,
    [DB_COMPLETING] = BIT(DB_COMPLETED) | DB_ENDS,
    [DB_COMPLETED] = 0,
    [DB_CANCELLED] = 0,
    [DB_FAILED] = 0};

static const char *const s_table_names[TABLE_STATE_COUNT] = {
    [TABLE_QUEUED] = "QUEUED",
    [TABLE_LOADING] = "LOADING",
    [TABLE_COMPLETED] = "COMPLETED",
    [TABLE_ERROR] = "ERROR"};

static const uint32_t s_table_allowed[TABLE_STATE_COUNT] = {
    /* a copy found done by an earlier attempt completes without loading */
    [TABLE_QUEUED] =
        BIT(TABLE_LOADING) | BIT(TABLE_COMPLETED) | BIT(TABLE_ERROR),
    /* back to QUEUED: tried again, or its snapshot was lost */
    [TABLE_LOADING] =
        BIT(TABLE_QUEUED) | BIT(TABLE_COMPLETED) | BIT(TABLE_ERROR),
    /* back to QUEUED: its database's online load started over (the
     * snapshot it was read under was lost) */
    [TABLE_COMPLETED] = BIT(TABLE_QUEUED),
    [TABLE_ERROR] = 0};

static const char *const s_unit_names[UNIT_STATE_COUNT] = {
    [UNIT_QUEUED] = "queued",
    [UNIT_RUNNING] = "running",
    [UNIT_DONE] = "done",
    [UNIT_FAILED] = "failed",
    [UNIT_CANCELLED] = "cancelled"};

static const uint32_t s_unit_allowed[UNIT_STATE_COUNT] = {
    [UNIT_QUEUED] = BIT(UNIT_RUNNING) | BIT(UNIT_CANCELLED),
    /* back to queued: tried again, or its agent was lost */
    [UNIT_RUNNING] = BIT(UNIT_QUEUED) | BIT(UNIT_DONE) | BIT(UNIT_FAILED) |
                     BIT(UNIT_CANCELLED),
    /* a copy or ANALYZE queued again: its database's online load started
     * over */
    [UNIT_DONE] = BIT(UNIT_QUEUED),
    [UNIT_FAILED] = 0,
    [UNIT_CANCELLED] = 0};

static int
s_parse(const char *const *names, int count, const char *name, int *state)
{
    for (int i = 0; name != NULL && i < count; i++)
    {
        if (strcmp(names[i], name) == 0)
        {
            *state = i;
            return 0;
        }
    }
    return -1;
}

static bool
s_can_move(const uint32_t *allowed, int count, int from, int to)
{
    return from >= 0 && from < count && to >= 0 && to < count &&
           (allowed[from] & BIT(to)) != 0;
}

static const char *
s_name(const char *const *names, int count, int state)
{
    return state >= 0 && state < count ? names[state] : "?";
}

const char *
states_task_name(task_state_t state)
{
    return s_name(s_task_names, TASK_STATE_COUNT, (int) state);
}

const char *
states_db_name(db_state_t state)
{
    return s_name(s_db_names, DB_STATE_COUNT, (int) state);
}

const char *
states_table_name(table_state_t state)
{
    return s_name(s_table_names, TABLE_STATE_COUNT, (int) state);
}

const char *
states_unit_name(unit_state_t state)
{
    return s_name(s_unit_names, UNIT_STATE_COUNT, (int) state);
}

int
states_task_parse(const char *name, task_state_t *state)
{
    int s = TASK_STATE_COUNT;
    int rc = s_parse(s_task_names, TASK_STATE_COUNT, name, &s);
    *state = (task_state_t) s;
    return rc;
}

int
states_db_parse(const char *name, db_state_t *state)
{
    int s = DB_STATE_COUNT;
    int rc = s_parse(s_db_names, DB_STATE_COUNT, name, &s);
    *state = (db_state_t) s;
    return rc;
}

int
states_table_parse(const char *name, table_state_t *state)
{
    int s = TABLE_STATE_COUNT;
    int rc = s_parse(s_table_names, TABLE_STATE_COUNT, name, &s);
    *state = (table_state_t) s;
    return rc;
}

int
states_unit_parse(const char *name, unit_state_t *state)
{
    int s = UNIT_STATE_COUNT;
    int rc = s_parse(s_unit_names, UNIT_STATE_COUNT, name, &s);
    *state = (unit_state_t) s;
    return rc;
}

bool
states_task_can_move(task_state_t from, task_state_t to)
{
    return s_can_move(s_task_allowed, TASK_STATE_COUNT, (int) from, (int) to);
}

bool
states_db_can_move(db_state_t from, db_state_t to)
{
    return s_can_move(s_db_allowed, DB_STATE_COUNT, (int) from, (int) to);
}

bool
states_table_can_move(table_state_t from, table_state_t to)
{
    return s_can_move(s_table_allowed, TABLE_STATE_COUNT, (int) from, (int) to);
}

bool
states_unit_can_move(unit_state_t from, unit_state_t to)
{
    return s_can_move(s_unit_allowed, UNIT_STATE_COUNT, (int) from, (int) to);
}

bool
states_db_is_final(db_state_t state)
{
    return state >= 0 && state < DB_STATE_COUNT && s_db_allowed[state] == 0;
}

/* The names of the states that allowed lets move to to, as an SQL list. */
static char *
s_sources(const uint32_t *allowed, const char *const *names, int count, int to,
          char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int from = 0; from < count; from++)
    {
        if (s_can_move(allowed, count, from, to))
        {
            int n = snprintf(buf + len, size - len, "%s'%s'",
                             len > 0 ? ", " : "", names[from]);
            if (n < 0 || (size_t) n >= size - len)
            {
                break; /* cut: snprintf ended it at the buffer's end */
            }
            len += (size_t) n;
        }
    }
    return buf;
}

char *
states_unit_sources(unit_state_t to, char *buf, size_t size)
{
    return s_sources(s_unit_allowed, s_unit_names, UNIT_STATE_COUNT, (int) to,
                     buf, size);
}

char *
states_table_sources(table_state_t to, char *buf, size_t size)
{
    return s_sources(s_table_allowed, s_table_names, TABLE_STATE_COUNT,
                     (int) to, buf, size);
}
