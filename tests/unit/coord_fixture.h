/*
 * tests/unit/coord_fixture.h
 *     A coordinator without its sockets, over a catalog in a directory of
 *     its own, for the tests of the modules that read and write the
 *     catalog; and the steps its tests share: a task created as the CLI
 *     asks for one, a unit placed, a prepare unit's result.
 */
#ifndef PGCONVOY_TEST_COORD_FIXTURE_H
#define PGCONVOY_TEST_COORD_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/coord.h"

typedef struct
{
    char dir[64];  /* the catalog's, removed by coord_fixture_close() */
    coord_t coord; /* its store, registry, secrets, pending and outbox */
} coord_fixture_t;

/* A fresh catalog, with project 1 in it. name tells the test's directory
 * from others'. */
void coord_fixture_open(coord_fixture_t *self, const char *name);
/* Frees the coordinator's parts and removes the catalog. */
void coord_fixture_close(coord_fixture_t *self);
/* Removes a catalog's files (the database, its log and shared memory)
 * and the directory dir holding them. */
void coord_fixture_remove_catalog(const char *dir);

/* A task of one database db_name (kept as target_name too) created by
 * plan_create_task(); split_bytes 0 for the default. Returns the task's
 * id, and the database's in *db_id. */
int64_t coord_fixture_task(coord_fixture_t *self, const char *task, bool online,
                           const char *db_name, int64_t split_bytes,
                           int64_t *db_id);

/* Places the first queued unit of kind of database db_id on agent, as
 * the dispatcher does. Returns its id. */
int64_t coord_fixture_place(coord_fixture_t *self, int64_t db_id, int kind,
                            const char *agent);

/* Runs every sweep under way to its end, a chunk at a time, as the
 * loop does between batches (advance_sweep()). */
void coord_fixture_sweep(coord_fixture_t *self);

/* Writes a state's spelling (any text) into row id of table (units,
 * tables_, databases or tasks) as it is, past every guard. */
void coord_fixture_set_state(coord_fixture_t *self, const char *table,
                             int64_t id, const char *spelling);

/*
 * CHECKs that each state's spelling (name(state) for every state_t below
 * count), written into row id of table, reads back through get (into
 * row, a variable of its row type) as that state.
 */
#define CHECK_SPELLINGS(fx, table, id, count, name, state_t, get, row)         \
    do                                                                         \
    {                                                                          \
        for (int s_ = 0; s_ < (count); s_++)                                   \
        {                                                                      \
            coord_fixture_set_state((fx), (table), (id), name((state_t) s_));  \
            CHECK(get((fx)->coord.store, (id), &(row)) == 0);                  \
            CHECK_EQ_INT((row).state, s_);                                     \
        }                                                                      \
    } while (0)

/* The database's prepare unit, placed, reports its checks passed, with
 * the source's tables[0..n) (the target has the schema if has_schema). */
void coord_fixture_prepare(coord_fixture_t *self, int64_t db_id,
                           Pgconvoy__TableRef **tables, size_t n,
                           bool has_schema);

#endif
