/*
 * coordinator/items.c
 *     schema-pre's items, staged as one packed Result and written into
 *     schema_items a chunk at a time.
 *
 * The staged row's next and the rows written move in one transaction
 * (the caller's), so every item is written once whatever stops the
 * coordinator. The decoded blob in items_t is only a cache of that row:
 * it is used while its database and size match the row's, else decoded
 * again.
 */
#include "coordinator/items.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/strbuf.h"

struct items_t
{
    int64_t db_id;           /* whose items result holds; 0: none */
    size_t size;             /* the blob's size, to tell it is the same */
    Pgconvoy__Result *result; /* decoded, owned */
};

items_t *
items_new(void)
{
    return xcalloc(1, sizeof(items_t));
}

static void
s_forget(items_t *self)
{
    if (self != NULL)
    {
        pgconvoy__result__free_unpacked(self->result, NULL); /* NULL-safe */
        self->result = NULL;
        self->db_id = 0;
        self->size = 0;
    }
}

void
items_destroy(items_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    s_forget(*self_p);
    free(*self_p);
    *self_p = NULL;
}

int
items_stage(store_t *store, int64_t db_id, const Pgconvoy__Result *r)
{
    Pgconvoy__Result only = PGCONVOY__RESULT__INIT;
    uint8_t *blob = NULL;
    int rc = -1;

    /* the items alone: the rest of the result is settled already */
    only.items = r->items;
    only.n_items = r->n_items;
    size_t size = pgconvoy__result__get_packed_size(&only);
    blob = xcalloc(size > 0 ? size : 1, 1);
    (void) pgconvoy__result__pack(&only, blob);
    /* a result taken again (its agent thought lost) replaces nothing:
     * the first one's items stand */
    rc = store_exec(store,
                    "INSERT INTO staged_items (database_id, items) "
                    "VALUES (?, ?) ON CONFLICT (database_id) DO NOTHING",
                    "ib", db_id, (const void *) blob, size);
    free(blob);
    return rc;
}

bool
items_are_staged(store_t *store, int64_t db_id)
{
    return store_int(store, 0,
                     "SELECT count(*) FROM staged_items WHERE database_id = ?",
                     "i", db_id) > 0;
}

/* The cache holding db_id's blob of size, decoded from rows' column 0
 * if it does not already; NULL (logged) if the blob does not decode. */
static Pgconvoy__Result *
s_decoded(items_t *cache, int64_t db_id, const store_rows_t *rows)
{
    size_t size = 0;
    const void *data = store_rows_blob(rows, 0, &size);

    if (cache != NULL && cache->result != NULL && cache->db_id == db_id &&
        cache->size == size)
    {
        return cache->result;
    }
    Pgconvoy__Result *r = pgconvoy__result__unpack(NULL, size, data);
    if (r == NULL)
    {
        log_error("database_id=%" PRId64 " the staged post-data items do "
                  "not decode: they are dropped",
                  db_id);
        return NULL;
    }
    if (cache != NULL)
    {
        s_forget(cache);
        cache->db_id = db_id;
        cache->size = size;
        cache->result = r;
    }
    return r;
}

int64_t
items_staged_database(store_t *store)
{
    return store_int(store, 0,
                     "SELECT database_id FROM staged_items "
                     "ORDER BY database_id LIMIT 1",
                     NULL);
}

int
items_write_chunk(items_t *cache, store_t *store, int64_t db_id, bool *last)
{
    store_rows_t *rows = store_query(store,
                                     "SELECT items, next FROM staged_items "
                                     "WHERE database_id = ?",
                                     "i", db_id);
    Pgconvoy__Result *r = NULL;
    int rc = -1;

    *last = false;
    if (!store_rows_next(rows))
    {
        store_rows_done(&rows);
        return rows == NULL ? -1 : 0;
    }
    size_t next = (size_t) store_rows_int(rows, 1);
    r = s_decoded(cache, db_id, rows);
    store_rows_done(&rows);
    size_t end = r == NULL ? 0 : r->n_items;
    end = next + ITEMS_CHUNK < end ? next + ITEMS_CHUNK : end;
    for (size_t i = next; i < end; i++)
    {
        const Pgconvoy__SchemaItem *item = r->items[i];
        if (store_exec(store,
                       "INSERT INTO schema_items (database_id, kind, tag, "
                       "sql, phase, table_schema, table_name) VALUES "
                       "(?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''))",
                       "isssiss", db_id, item->kind, item->tag, item->sql,
                       (int64_t) item->phase, item->table_schema,
                       item->table_name) != 0)
        {
            goto cleanup;
        }
    }
    *last = r == NULL || end == r->n_items;
    if (*last)
    {
        rc = store_exec(store, "DELETE FROM staged_items WHERE database_id = ?",
                        "i", db_id);
    }
    else
    {
        rc = store_exec(store,
                        "UPDATE staged_items SET next = ? WHERE "
                        "database_id = ?",
                        "ii", (int64_t) end, db_id);
    }
    rc = rc == 0 ? 1 : -1;

cleanup:
    if (cache == NULL || *last)
    {
        /* not kept: freed here; kept: freed once written out */
        if (cache == NULL)
        {
            pgconvoy__result__free_unpacked(r, NULL);
        }
        else
        {
            s_forget(cache);
        }
    }
    return rc;
}

void
items_drop(items_t *cache, store_t *store, int64_t db_id)
{
    (void) store_exec(store, "DELETE FROM staged_items WHERE database_id = ?",
                      "i", db_id);
    if (cache != NULL && cache->db_id == db_id)
    {
        s_forget(cache);
    }
}
