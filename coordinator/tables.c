/*
 * coordinator/tables.c
 *     Reading one row of tables_ into its struct.
 *
 * The column numbers live here only: callers get fields. A read is one
 * lookup by the key, whatever the number of tables.
 */
#include "coordinator/tables.h"

#include <stdio.h>
#include <string.h>

/* tables_get()'s one query, by the key; s_decode() follows its order */
#define TABLES_ROW_SQL                                                         \
    "SELECT id, database_id, schema_name, table_name, state, bytes_est, "      \
    "rows_est, pages, parts, binary_ok, rows, bytes, cdc_ins, cdc_upd, "       \
    "cdc_del, differs IS NOT NULL FROM tables_ WHERE id = ?"

static void
s_decode(const store_rows_t *rows, tables_row_t *row)
{
    row->id = store_rows_int(rows, 0);
    row->database_id = store_rows_int(rows, 1);
    /* names come from pg_catalog: they fit, nothing is cut */
    snprintf(row->schema_name, sizeof row->schema_name, "%s",
             store_rows_text(rows, 2));
    snprintf(row->table_name, sizeof row->table_name, "%s",
             store_rows_text(rows, 3));
    (void) states_table_parse(store_rows_text(rows, 4), &row->state);
    row->bytes_est = store_rows_int(rows, 5);
    row->rows_est = store_rows_int(rows, 6);
    row->pages = store_rows_int(rows, 7);
    row->parts = store_rows_int(rows, 8);
    row->binary_ok = store_rows_int(rows, 9) != 0;
    row->rows = store_rows_int(rows, 10);
    row->bytes = store_rows_int(rows, 11);
    row->cdc_ins = store_rows_int(rows, 12);
    row->cdc_upd = store_rows_int(rows, 13);
    row->cdc_del = store_rows_int(rows, 14);
    row->differs = store_rows_int(rows, 15) != 0;
}

int
tables_get(store_t *store, int64_t id, tables_row_t *row)
{
    store_rows_t *rows = store_query(store, TABLES_ROW_SQL, "i", id);
    int rc = -1;

    memset(row, 0, sizeof *row);
    row->state = TABLE_STATE_COUNT;
    if (store_rows_next(rows))
    {
        s_decode(rows, row);
        rc = 0;
    }
    store_rows_done(&rows);
    return rc;
}
