/*
 * coordinator/databases.c
 *     Reading one row of databases into its struct.
 *
 * The column numbers live here only: callers get fields. A read is one
 * lookup by the key. LSNs are kept as SQLite's signed integers: read
 * back as unsigned, they are what was written.
 */
#include "coordinator/databases.h"

#include <stdio.h>
#include <string.h>

/* databases_get()'s one query, by the key; s_decode() follows its order */
#define DATABASES_ROW_SQL                                                      \
    "SELECT id, task_id, name, target_name, state, skip_schema, "              \
    "snapshot IS NOT NULL, snapshot_unit, slot, start_lsn, cutover, "          \
    "validate, end_lsn, received_lsn, applied_lsn, source_lsn, latency_ms, "   \
    "pending, slot_wal_bytes, reloads FROM databases WHERE id = ?"

static void
s_decode(const store_rows_t *rows, databases_row_t *row)
{
    row->id = store_rows_int(rows, 0);
    row->task_id = store_rows_int(rows, 1);
    snprintf(row->name, sizeof row->name, "%s", store_rows_text(rows, 2));
    snprintf(row->target_name, sizeof row->target_name, "%s",
             store_rows_text(rows, 3));
    (void) states_db_parse(store_rows_text(rows, 4), &row->state);
    row->skip_schema = store_rows_int(rows, 5) != 0;
    row->has_snapshot = store_rows_int(rows, 6) != 0;
    row->snapshot_unit = store_rows_int(rows, 7); /* NULL reads as 0 */
    /* slot names are made by plan.c: at most 63 bytes */
    snprintf(row->slot, sizeof row->slot, "%s", store_rows_text(rows, 8));
    row->start_lsn = (uint64_t) store_rows_int(rows, 9);
    row->cutover = store_rows_int(rows, 10) != 0;
    row->validate = store_rows_int(rows, 11) != 0;
    row->end_lsn = (uint64_t) store_rows_int(rows, 12);
    row->received_lsn = (uint64_t) store_rows_int(rows, 13);
    row->applied_lsn = (uint64_t) store_rows_int(rows, 14);
    row->source_lsn = (uint64_t) store_rows_int(rows, 15);
    row->latency_ms = store_rows_int(rows, 16);
    row->pending = store_rows_int(rows, 17);
    row->slot_wal_bytes = store_rows_int(rows, 18);
    row->reloads = store_rows_int(rows, 19);
}

int
databases_get(store_t *store, int64_t id, databases_row_t *row)
{
    store_rows_t *rows = store_query(store, DATABASES_ROW_SQL, "i", id);
    int rc = -1;

    memset(row, 0, sizeof *row);
    row->state = DB_STATE_COUNT;
    if (store_rows_next(rows))
    {
        s_decode(rows, row);
        rc = 0;
    }
    store_rows_done(&rows);
    return rc;
}
