/*
 * tests/unit/test_states.c
 *     Every move between states, allowed or not, for tasks, databases,
 *     tables and units; every spelling, both ways.
 *
 * The allowed moves are written out here as the lifecycle a DBA sees,
 * independently of the module's bit sets, and every pair is checked.
 */
#include <stdbool.h>

#include "check.h"
#include "coordinator/states.h"

typedef struct
{
    int from;
    int to;
} move_t;

static bool
s_listed(const move_t *moves, size_t n, int from, int to)
{
    for (size_t i = 0; i < n; i++)
    {
        if (moves[i].from == from && moves[i].to == to)
        {
            return true;
        }
    }
    return false;
}

static void
s_test_task(void)
{
    static const move_t moves[] = {
        {TASK_PENDING, TASK_RUNNING},   {TASK_PENDING, TASK_CANCELED},
        {TASK_RUNNING, TASK_SUCCEEDED}, {TASK_RUNNING, TASK_FAILED},
        {TASK_RUNNING, TASK_CANCELED},  {TASK_SUCCEEDED, TASK_DELETING},
        {TASK_FAILED, TASK_DELETING},   {TASK_CANCELED, TASK_DELETING}};
    size_t n = sizeof moves / sizeof moves[0];

    for (int from = 0; from < TASK_STATE_COUNT; from++)
    {
        task_state_t parsed;
        CHECK(states_task_parse(states_task_name(from), &parsed) == 0);
        CHECK((int) parsed == from);
        for (int to = 0; to < TASK_STATE_COUNT; to++)
        {
            CHECK(states_task_can_move(from, to) ==
                  s_listed(moves, n, from, to));
        }
    }
    CHECK(strcmp(states_task_name(TASK_CANCELED), "Canceled") == 0);
}

static void
s_test_db(void)
{
    static const int ends[] = {DB_PREPARING,         DB_SCHEMA,
                               DB_FULL_LOAD,         DB_CATCHING_UP,
                               DB_READY_TO_COMPLETE, DB_COMPLETING};
    static const move_t forward[] = {{DB_PREPARING, DB_SCHEMA},
                                     {DB_SCHEMA, DB_FULL_LOAD},
                                     {DB_FULL_LOAD, DB_CATCHING_UP},
                                     {DB_FULL_LOAD, DB_COMPLETING},
                                     {DB_CATCHING_UP, DB_READY_TO_COMPLETE},
                                     {DB_CATCHING_UP, DB_COMPLETING},
                                     {DB_READY_TO_COMPLETE, DB_CATCHING_UP},
                                     {DB_READY_TO_COMPLETE, DB_COMPLETING},
                                     {DB_COMPLETING, DB_COMPLETED}};
    size_t nforward = sizeof forward / sizeof forward[0];
    int nfinal = 0;

    for (int from = 0; from < DB_STATE_COUNT; from++)
    {
        db_state_t parsed;
        bool can_end = false;

        CHECK(states_db_parse(states_db_name(from), &parsed) == 0);
        CHECK((int) parsed == from);
        for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        {
            can_end = can_end || ends[i] == from;
        }
        for (int to = 0; to < DB_STATE_COUNT; to++)
        {
            bool expected =
                s_listed(forward, nforward, from, to) ||
                (can_end && (to == DB_FAILED || to == DB_CANCELLED));
            CHECK(states_db_can_move(from, to) == expected);
        }
        nfinal += states_db_is_final(from);
    }
    /* COMPLETED, CANCELLED and FAILED only */
    CHECK(nfinal == 3);
    CHECK(states_db_is_final(DB_COMPLETED) && states_db_is_final(DB_FAILED) &&
          states_db_is_final(DB_CANCELLED));
    CHECK(strcmp(states_db_name(DB_READY_TO_COMPLETE), "READY_TO_COMPLETE") ==
          0);
}

static void
s_test_table(void)
{
    static const move_t moves[] = {
        {TABLE_QUEUED, TABLE_LOADING},    {TABLE_QUEUED, TABLE_COMPLETED},
        {TABLE_QUEUED, TABLE_ERROR},      {TABLE_LOADING, TABLE_QUEUED},
        {TABLE_LOADING, TABLE_COMPLETED}, {TABLE_LOADING, TABLE_ERROR},
        {TABLE_COMPLETED, TABLE_QUEUED}};
    size_t n = sizeof moves / sizeof moves[0];

    for (int from = 0; from < TABLE_STATE_COUNT; from++)
    {
        table_state_t parsed;
        CHECK(states_table_parse(states_table_name(from), &parsed) == 0);
        CHECK((int) parsed == from);
        for (int to = 0; to < TABLE_STATE_COUNT; to++)
        {
            CHECK(states_table_can_move(from, to) ==
                  s_listed(moves, n, from, to));
        }
    }
}

static void
s_test_unit(void)
{
    static const move_t moves[] = {
        {UNIT_QUEUED, UNIT_RUNNING}, {UNIT_QUEUED, UNIT_CANCELLED},
        {UNIT_RUNNING, UNIT_QUEUED}, {UNIT_RUNNING, UNIT_DONE},
        {UNIT_RUNNING, UNIT_FAILED}, {UNIT_RUNNING, UNIT_CANCELLED},
        {UNIT_DONE, UNIT_QUEUED}};
    size_t n = sizeof moves / sizeof moves[0];

    for (int from = 0; from < UNIT_STATE_COUNT; from++)
    {
        unit_state_t parsed;
        CHECK(states_unit_parse(states_unit_name(from), &parsed) == 0);
        CHECK((int) parsed == from);
        for (int to = 0; to < UNIT_STATE_COUNT; to++)
        {
            CHECK(states_unit_can_move(from, to) ==
                  s_listed(moves, n, from, to));
        }
    }
}

static void
s_test_bad_input(void)
{
    db_state_t db;
    task_state_t task;
    unit_state_t unit;
    table_state_t table;

    /* one spelling each: the other spellings of a state are not it */
    CHECK(states_db_parse("Cancelled", &db) == -1);
    CHECK(states_db_parse("cancelled", &db) == -1);
    CHECK(states_task_parse("CANCELLED", &task) == -1);
    CHECK(states_unit_parse("Canceled", &unit) == -1);
    CHECK(states_table_parse("", &table) == -1);
    CHECK(states_db_parse(NULL, &db) == -1);
    /* a failed parse leaves no state a move could start from */
    CHECK(db == DB_STATE_COUNT && task == TASK_STATE_COUNT &&
          unit == UNIT_STATE_COUNT && table == TABLE_STATE_COUNT);
    CHECK(strcmp(states_db_name(DB_STATE_COUNT), "?") == 0);
    CHECK(!states_db_can_move(DB_STATE_COUNT, DB_FAILED));
    CHECK(!states_db_can_move(DB_PREPARING, DB_STATE_COUNT));
    CHECK(!states_db_is_final(DB_STATE_COUNT));
}

/* The guard of a bulk move: the states a unit may come from. */
static void
s_test_unit_sources(void)
{
    char buf[64];
    char tiny[8];

    CHECK(strcmp(states_unit_sources(UNIT_CANCELLED, buf, sizeof buf),
                 "'queued', 'running'") == 0);
    CHECK(strcmp(states_unit_sources(UNIT_RUNNING, buf, sizeof buf),
                 "'queued'") == 0);
    CHECK(strcmp(states_unit_sources(UNIT_DONE, buf, sizeof buf),
                 "'running'") == 0);
    CHECK(strcmp(states_unit_sources(UNIT_QUEUED, buf, sizeof buf),
                 "'running', 'done'") == 0);
    CHECK(strcmp(states_table_sources(TABLE_QUEUED, buf, sizeof buf),
                 "'LOADING', 'COMPLETED'") == 0);
    /* cut to the buffer, never past it */
    CHECK(strlen(states_unit_sources(UNIT_CANCELLED, tiny, sizeof tiny)) ==
          sizeof tiny - 1);
}

int
main(void)
{
    s_test_task();
    s_test_db();
    s_test_table();
    s_test_unit();
    s_test_unit_sources();
    s_test_bad_input();
    return 0;
}
