/*
 * coordinator/sweep.c
 *     The positions of the sweeps over a database's tables, kept in its
 *     catalog row (databases.copy_sweep, post_sweep, analyze_sweep).
 *
 * A position is the next table id to visit: NULL until the sweep starts,
 * SWEEP_DONE once every table was visited. It moves only in the
 * transaction that does the work on the chunk it passes, so the catalog
 * never says a table was visited when its work was undone.
 */
#include "coordinator/sweep.h"

#include <assert.h>
#include <string.h>

#include "common/log.h"
#include "coordinator/states.h"

/* the position of a sweep that visited every table */
#define SWEEP_DONE (-1)

/* Each kind's column, and the statements on it. The column names come
 * from this table only, never from a caller. */
typedef struct
{
    const char *name;
    const char *start; /* sets the position to the first table, once */
    const char *where; /* reads the position of one database */
    const char *next;  /* one database whose sweep may go on */
    const char *held;  /* one database whose sweep is under way, held */
    const char *move;  /* sets the position */
} s_kind_sql_t;

#define S_TEXT(x) S_TEXT_(x)
#define S_TEXT_(x) #x

/* the databases whose sweep is under way */
#define S_UNDER_WAY(column)                                                    \
    "SELECT id, task_id, " column " FROM databases WHERE " column " >= 0 "
/* fewer than SWEEP_QUEUE_LOW units of the database queued (unit_counts,
 * read by its key) */
#define S_QUEUE_IS_LOW                                                         \
    "(SELECT coalesce(sum(c.n), 0) FROM unit_counts c "                        \
    "  WHERE c.database_id = databases.id AND c.state = 'queued') "            \
    "< " S_TEXT(SWEEP_QUEUE_LOW)

/* goes_on: when a sweep under way takes its next chunk */
#define S_KIND_SQL(column, goes_on)                                            \
    "UPDATE databases SET " column " = 0 WHERE id = ? AND " column " IS NULL", \
        "SELECT " column " FROM databases WHERE id = ?",                       \
        S_UNDER_WAY(column) "AND (" goes_on ") ORDER BY id LIMIT 1",           \
        S_UNDER_WAY(column) "AND NOT (" goes_on ") LIMIT 1",                   \
        "UPDATE databases SET " column " = ? WHERE id = ?"

static const s_kind_sql_t s_kinds[SWEEP_KIND_COUNT] = {
    [SWEEP_COPIES] = {"copies", S_KIND_SQL("copy_sweep", "1")},
    [SWEEP_POSTDATA] = {"post-data", S_KIND_SQL("post_sweep", S_QUEUE_IS_LOW)},
    [SWEEP_ANALYZE] = {"analyze", S_KIND_SQL("analyze_sweep", "1")},
};

const char *
sweep_kind_name(sweep_kind_t kind)
{
    assert(kind < SWEEP_KIND_COUNT);
    return s_kinds[kind].name;
}

int
sweep_start(store_t *store, int64_t db_id, sweep_kind_t kind)
{
    assert(kind < SWEEP_KIND_COUNT);
    if (store_exec(store, s_kinds[kind].start, "i", db_id) != 0)
    {
        return -1;
    }
    return store_changes(store) > 0 ? 1 : 0;
}

bool
sweep_is_done(store_t *store, int64_t db_id, sweep_kind_t kind)
{
    assert(kind < SWEEP_KIND_COUNT);
    /* NULL (never started) reads as the default, 0: not done */
    return store_int(store, 0, s_kinds[kind].where, "i", db_id) == SWEEP_DONE;
}

bool
sweep_has_passed(store_t *store, int64_t db_id, sweep_kind_t kind,
                 int64_t table_id)
{
    assert(kind < SWEEP_KIND_COUNT);
    /* NULL (never started) reads as 0, ahead of every table */
    int64_t at = store_int(store, 0, s_kinds[kind].where, "i", db_id);
    return at == SWEEP_DONE || at > table_id;
}

bool
sweep_is_held(store_t *store, sweep_kind_t kind)
{
    assert(kind < SWEEP_KIND_COUNT);
    return store_int(store, 0, s_kinds[kind].held, NULL) != 0;
}

bool
sweep_may_go_on(store_t *store, sweep_kind_t kind)
{
    assert(kind < SWEEP_KIND_COUNT);
    return store_int(store, 0, s_kinds[kind].next, NULL) != 0;
}

int
sweep_take(store_t *store, sweep_kind_t kind, sweep_chunk_t *chunk)
{
    assert(kind < SWEEP_KIND_COUNT);
    store_rows_t *rows = store_query(store, s_kinds[kind].next, NULL);
    int64_t from = 0;
    int rc = -1;

    memset(chunk, 0, sizeof *chunk);
    if (rows == NULL)
    {
        return -1;
    }
    if (!store_rows_next(rows))
    {
        store_rows_done(&rows);
        return 0;
    }
    chunk->db_id = store_rows_int(rows, 0);
    chunk->task_id = store_rows_int(rows, 1);
    from = store_rows_int(rows, 2);
    store_rows_done(&rows);

    /* through the key: the cost follows the chunk, not the database */
    rows = store_query(store,
                       "SELECT id, pages, bytes_est, state = ? FROM tables_ "
                       "WHERE database_id = ? AND id >= ? ORDER BY id LIMIT ?",
                       "siii", states_table_name(TABLE_COMPLETED), chunk->db_id,
                       from, (int64_t) SWEEP_CHUNK);
    while (store_rows_next(rows))
    {
        sweep_table_t *t = &chunk->tables[chunk->n++];
        t->id = store_rows_int(rows, 0);
        t->pages = store_rows_int(rows, 1);
        t->bytes_est = store_rows_int(rows, 2);
        t->loaded = store_rows_int(rows, 3) != 0;
    }
    store_rows_done(&rows);
    /* a chunk short of full was the last one */
    int64_t to = chunk->n < SWEEP_CHUNK ? SWEEP_DONE
                                        : chunk->tables[chunk->n - 1].id + 1;
    if (store_exec(store, s_kinds[kind].move, "ii", to, chunk->db_id) == 0)
    {
        rc = 1;
    }
    return rc;
}

void
sweep_end(store_t *store, int64_t db_id, sweep_kind_t kind)
{
    assert(kind < SWEEP_KIND_COUNT);
    (void) store_exec(store, s_kinds[kind].move, "ii", (int64_t) SWEEP_DONE,
                      db_id);
}
