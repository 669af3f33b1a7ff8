/*
 * coordinator/items.c
 *     schema-pre's items, staged as packed Results of ITEMS_CHUNK items
 *     each and written into schema_items a row at a time.
 *
 * A staged row is deleted in the transaction (the caller's) that writes
 * its items, so every item is written once whatever stops the
 * coordinator, and rows are written in the order they were staged (their
 * id). Each row decodes alone: a pass never decodes more than its chunk.
 */
#include "coordinator/items.h"

#include <inttypes.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/strbuf.h"

int
items_stage(store_t *store, int64_t db_id, const Pgconvoy__Result *r)
{
    for (size_t first = 0; first < r->n_items; first += ITEMS_CHUNK)
    {
        /* the items alone: the rest of the result is settled already */
        Pgconvoy__Result chunk = PGCONVOY__RESULT__INIT;
        chunk.items = r->items + first;
        chunk.n_items =
            r->n_items - first < ITEMS_CHUNK ? r->n_items - first : ITEMS_CHUNK;
        size_t size = pgconvoy__result__get_packed_size(&chunk);
        uint8_t *blob = xcalloc(size > 0 ? size : 1, 1);
        (void) pgconvoy__result__pack(&chunk, blob);
        int rc = store_exec(store,
                            "INSERT INTO staged_items (database_id, items) "
                            "VALUES (?, ?)",
                            "ib", db_id, (const void *) blob, size);
        free(blob);
        if (rc != 0)
        {
            return -1;
        }
    }
    return 0;
}

bool
items_are_staged(store_t *store, int64_t db_id)
{
    return store_int(store, 0,
                     "SELECT EXISTS (SELECT 1 FROM staged_items "
                     "WHERE database_id = ?)",
                     "i", db_id) != 0;
}

int64_t
items_staged_database(store_t *store)
{
    return store_int(store, 0,
                     "SELECT database_id FROM staged_items ORDER BY id LIMIT 1",
                     NULL);
}

/* Inserts r's items for db_id. Returns 0 or -1 (logged). */
static int
s_write_items(store_t *store, int64_t db_id, const Pgconvoy__Result *r)
{
    for (size_t i = 0; i < r->n_items; i++)
    {
        const Pgconvoy__SchemaItem *item = r->items[i];
        /* loose: of no table copied (a partitioned table, one left
         * out), built once the load is done, found by items_loose */
        if (store_exec(store,
                       "INSERT INTO schema_items (database_id, kind, tag, "
                       "sql, phase, table_schema, table_name, loose) "
                       "SELECT ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''), "
                       "       NOT EXISTS (SELECT 1 FROM tables_ t "
                       "                    WHERE t.database_id = ? "
                       "                      AND t.schema_name = ? "
                       "                      AND t.table_name = ?)",
                       "isssississ", db_id, item->kind, item->tag, item->sql,
                       (int64_t) item->phase, item->table_schema,
                       item->table_name, db_id, item->table_schema,
                       item->table_name) != 0)
        {
            return -1;
        }
    }
    return 0;
}

int
items_write_chunk(store_t *store, int64_t db_id, bool *last)
{
    store_rows_t *rows = store_query(store,
                                     "SELECT id, items FROM staged_items "
                                     "WHERE database_id = ? ORDER BY id "
                                     "LIMIT 1",
                                     "i", db_id);
    Pgconvoy__Result *r = NULL;
    int64_t id = 0;
    size_t size = 0;
    int rc = -1;

    *last = false;
    if (!store_rows_next(rows))
    {
        store_rows_done(&rows);
        return rows == NULL ? -1 : 0;
    }
    id = store_rows_int(rows, 0);
    const void *data = store_rows_blob(rows, 1, &size);
    r = pgconvoy__result__unpack(NULL, size, data);
    store_rows_done(&rows);
    if (r == NULL)
    {
        log_error("database_id=%" PRId64 " staged post-data items do not "
                  "decode",
                  db_id);
        goto cleanup;
    }
    if (s_write_items(store, db_id, r) != 0 ||
        store_exec(store, "DELETE FROM staged_items WHERE id = ?", "i", id) !=
            0)
    {
        goto cleanup;
    }
    *last = !items_are_staged(store, db_id);
    rc = 1;

cleanup:
    pgconvoy__result__free_unpacked(r, NULL); /* NULL-safe */
    return rc;
}

void
items_drop(store_t *store, int64_t db_id)
{
    (void) store_exec(store, "DELETE FROM staged_items WHERE database_id = ?",
                      "i", db_id);
}

int64_t
items_count_builds(store_t *store, int64_t db_id)
{
    return store_int(store, 0,
                     "SELECT count(*) FROM schema_items "
                     "WHERE database_id = ? AND phase = 1",
                     "i", db_id);
}
