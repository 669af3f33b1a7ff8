/*
 * coordinator/tasks.c
 *     Reading one row of tasks into its struct.
 *
 * The column numbers live here only: callers get fields. A read is one
 * lookup by the key.
 */
#include "coordinator/tasks.h"

#include <stdio.h>
#include <string.h>

/* tasks_get()'s one query, by the key; s_decode() follows its order */
#define TASKS_ROW_SQL                                                          \
    "SELECT id, project_id, state, task_key, src_port, tgt_port, "             \
    "split_bytes, online, fix_replica_identity FROM tasks WHERE id = ?"

static void
s_decode(const store_rows_t *rows, tasks_row_t *row)
{
    row->id = store_rows_int(rows, 0);
    row->project_id = store_rows_int(rows, 1);
    (void) states_task_parse(store_rows_text(rows, 2), &row->state);
    snprintf(row->task_key, sizeof row->task_key, "%s",
             store_rows_text(rows, 3));
    row->src_port = store_rows_int(rows, 4);
    row->tgt_port = store_rows_int(rows, 5);
    row->split_bytes = store_rows_int(rows, 6);
    row->online = store_rows_int(rows, 7) != 0;
    row->fix_replica_identity = store_rows_int(rows, 8) != 0;
}

int
tasks_get(store_t *store, int64_t id, tasks_row_t *row)
{
    store_rows_t *rows = store_query(store, TASKS_ROW_SQL, "i", id);
    int rc = -1;

    memset(row, 0, sizeof *row);
    row->state = TASK_STATE_COUNT;
    if (store_rows_next(rows))
    {
        s_decode(rows, row);
        rc = 0;
    }
    store_rows_done(&rows);
    return rc;
}
