/*
 * coordinator/units.c
 *     Unit kinds, and unit rows shared by the planner and the dispatcher.
 */
#include "coordinator/units.h"

#include <stdlib.h>

#include "common/strbuf.h"

static const char *const s_kind_names[] = {
    "none",     "prepare", "snapshot", "schema-pre", "copy",    "schema-post",
    "finalize", "analyze", "slot",     "cdc",        "cleanup", "validate"};

const char *
units_kind_name(int kind)
{
    return kind >= 0 && kind <= K_VALIDATE ? s_kind_names[kind] : "unknown";
}

int
units_kind_priority(int kind)
{
    switch (kind)
    {
        case K_PREPARE:
            return 100;
        case K_CLEANUP:
            return 95;
        case K_SNAPSHOT:
        case K_SLOT:
            return 90;
        case K_CDC:
            return 85;
        case K_SCHEMA_PRE:
            return 80;
        case K_VALIDATE: /* the cutover waits for them */
            return 75;
        case K_FINALIZE:
            return 70;
        case K_SCHEMA_POST:
            return 60;
        case K_ANALYZE:
            return 55;
        default:
            return 50;
    }
}

int
units_add(store_t *store, int64_t task_id, int64_t db_id, int kind,
          int64_t table_id, int64_t item_id, int64_t weight)
{
    return store_exec(store,
                      "INSERT INTO units (task_id, database_id, kind, "
                      "table_id, item_id, priority, weight) "
                      "VALUES (?, ?, ?, nullif(?, 0), nullif(?, 0), ?, ?)",
                      "iiiiiii", task_id, db_id, (int64_t) kind, table_id,
                      item_id, (int64_t) units_kind_priority(kind), weight);
}

/* The units of kind in states (a list of quoted names) of database
 * db_id, or of every database of task task_id when db_id is 0. */
static int64_t
s_count(store_t *store, int64_t task_id, int64_t db_id, int kind,
        const char *states)
{
    /* kept by triggers (store.c): no units are counted here */
    char *sql = xasprintf(
        "SELECT coalesce(sum(n), 0) FROM unit_counts WHERE %s AND kind = ? "
        "AND state IN (%s)",
        db_id != 0 ? "database_id = ?"
                   : "database_id IN (SELECT id FROM databases "
                     "WHERE task_id = ?)",
        states);
    int64_t n = store_int(store, 0, sql, "ii", db_id != 0 ? db_id : task_id,
                          (int64_t) kind);
    free(sql);
    return n;
}

int64_t
units_count(store_t *store, int64_t db_id, int kind, const char *states)
{
    return s_count(store, 0, db_id, kind, states);
}

int64_t
units_count_task(store_t *store, int64_t task_id, int kind, const char *states)
{
    return s_count(store, task_id, 0, kind, states);
}
