/*
 * tests/unit/test_store.c
 *     The catalog: created on first open, kept across a reopen (as after a
 *     coordinator restart), bindings of every type, rollback undoing a
 *     change, foreign keys enforced.
 */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "common/strbuf.h"
#include "coordinator/store.h"

int
main(void)
{
    char dir[] = "/tmp/pgferry-test-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *state = xasprintf("%s/state", dir);
    char now[40];

    store_t *store = store_new(state);
    CHECK(store != NULL);
    store_now(now, sizeof now);
    CHECK(strlen(now) == 32 &&
          now[10] == 'T'); /* 2026-11-24T10:02:11.123456+00:00 */
    CHECK(store_exec(store,
                     "INSERT INTO projects (name, source_platform, "
                     "target_platform, created_at) VALUES (?, ?, ?, ?)",
                     "ssss", "P", "PostgreSQL", "PostgreSQL", now) == 0);
    int64_t project = store_last_id(store);
    CHECK(project > 0);
    /* a duplicate name is refused, and the catalog says why in the log */
    CHECK(store_exec(store,
                     "INSERT INTO projects (name, source_platform, "
                     "target_platform, created_at) VALUES (?, ?, ?, ?)",
                     "ssss", "P", "x", "y", now) == -1);

    /* a rolled back change is gone */
    CHECK(store_begin(store) == 0);
    CHECK(store_exec(store, "UPDATE projects SET name = ? WHERE id = ?", "si",
                     "renamed", project) == 0);
    store_rollback(store);
    CHECK(store_int(store, 0, "SELECT count(*) FROM projects WHERE name = ?",
                    "s", "P") == 1);

    /* foreign keys hold: no task without its project */
    CHECK(store_exec(store,
                     "INSERT INTO tasks (project_id, name, task_type, state, "
                     "task_key, split_bytes) VALUES (?, ?, ?, ?, ?, ?)",
                     "issssi", (int64_t) 999, "T", "OfflineMigration",
                     "Pending", "k", (int64_t) 1) == -1);
    CHECK(store_exec(store,
                     "INSERT INTO tasks (project_id, name, task_type, state, "
                     "task_key, split_bytes, src_port) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     "issssid", project, "T", "OfflineMigration", "Pending",
                     "k", (int64_t) 1 << 40, 5432.0) == 0);
    CHECK(store_int(store, 0, "SELECT split_bytes FROM tasks WHERE name = ?",
                    "s", "T") == (int64_t) 1 << 40);
    CHECK(store_int(store, -7, "SELECT id FROM tasks WHERE name = ?", "s",
                    "none") == -7);
    store_destroy(&store);
    CHECK(store == NULL);

    /* reopened, as by a restarted coordinator: everything is there */
    store = store_new(state);
    CHECK(store != NULL);
    store_rows_t *rows =
        store_query(store,
                    "SELECT p.name, t.name, t.state FROM tasks t "
                    "JOIN projects p ON p.id = t.project_id",
                    NULL);
    CHECK(rows != NULL && store_rows_next(rows));
    CHECK(strcmp(store_rows_text(rows, 0), "P") == 0);
    CHECK(strcmp(store_rows_text(rows, 1), "T") == 0);
    CHECK(strcmp(store_rows_text(rows, 2), "Pending") == 0);
    CHECK(!store_rows_next(rows));
    store_rows_done(&rows);
    /* nested transactions: an inner rollback undoes its own level only,
     * and nothing is committed before the outermost commit */
    CHECK(!store_in_transaction(store));
    CHECK(store_begin(store) == 0);
    CHECK(store_exec(store, "UPDATE tasks SET state = 'Outer'", NULL) == 0);
    CHECK(store_begin(store) == 0);
    CHECK(store_exec(store, "UPDATE tasks SET state = 'Inner'", NULL) == 0);
    store_rollback(store);
    CHECK(store_in_transaction(store));
    CHECK(store_int(store, 0,
                    "SELECT count(*) FROM tasks WHERE state = "
                    "'Outer'",
                    NULL) == 1);
    CHECK(store_begin(store) == 0);
    CHECK(store_exec(store, "UPDATE tasks SET split_bytes = 7", NULL) == 0);
    CHECK(store_commit(store) == 0);
    CHECK(store_in_transaction(store));
    store_rollback(store); /* the outermost: all of it goes */
    CHECK(!store_in_transaction(store));
    CHECK(store_int(store, 0,
                    "SELECT count(*) FROM tasks WHERE state = "
                    "'Pending' AND split_bytes <> 7",
                    NULL) == 1);
    CHECK(store_begin(store) == 0);
    CHECK(store_begin(store) == 0);
    CHECK(store_exec(store, "UPDATE tasks SET split_bytes = 8", NULL) == 0);
    CHECK(store_commit(store) == 0);
    CHECK(store_commit(store) == 0);
    CHECK(!store_in_transaction(store));
    CHECK(store_int(store, 0, "SELECT split_bytes FROM tasks", NULL) == 8);

    /* one text value: a row's, cut to the buffer; none: -1 and "" */
    char text[4];
    CHECK(store_string(store, text, sizeof text,
                       "SELECT state FROM tasks WHERE name = ?", "s",
                       "T") == 0);
    CHECK(strcmp(text, "Pen") == 0);
    CHECK(store_string(store, text, sizeof text,
                       "SELECT state FROM tasks WHERE name = ?", "s",
                       "none") == -1);
    CHECK(text[0] == '\0');

    /* the unit counts follow the units: inserted, moved, deleted */
    int64_t task = store_int(store, 0, "SELECT id FROM tasks", NULL);
    CHECK(store_exec(store,
                     "INSERT INTO databases (task_id, name, target_name, "
                     "state) VALUES (?, 'd', 'd', 'PREPARING')",
                     "i", task) == 0);
    int64_t db_id = store_last_id(store);
    for (int i = 0; i < 5; i++)
    {
        CHECK(store_exec(store,
                         "INSERT INTO units (task_id, database_id, kind, "
                         "priority) VALUES (?, ?, 4, 50)",
                         "ii", task, db_id) == 0);
    }
    CHECK(store_exec(store,
                     "UPDATE units SET state = 'running' WHERE id IN "
                     "(SELECT id FROM units ORDER BY id LIMIT 2)",
                     NULL) == 0);
    CHECK(store_changes(store) == 2);
    CHECK(store_exec(store,
                     "UPDATE units SET state = 'done' WHERE id = (SELECT "
                     "min(id) FROM units)",
                     NULL) == 0);
    CHECK(store_exec(store,
                     "DELETE FROM units WHERE id = (SELECT max(id) "
                     "FROM units)",
                     NULL) == 0);
    CHECK(store_int(store, -1,
                    "SELECT n FROM unit_counts WHERE database_id = ? AND "
                    "kind = 4 AND state = 'queued'",
                    "i", db_id) == 2);
    CHECK(store_int(store, -1,
                    "SELECT n FROM unit_counts WHERE database_id = ? AND "
                    "kind = 4 AND state = 'running'",
                    "i", db_id) == 1);
    CHECK(store_int(store, -1,
                    "SELECT n FROM unit_counts WHERE database_id = ? AND "
                    "kind = 4 AND state = 'done'",
                    "i", db_id) == 1);
    CHECK(store_int(store, -1,
                    "SELECT sum(n) FROM unit_counts WHERE database_id = ?", "i",
                    db_id) ==
          store_int(store, -2, "SELECT count(*) FROM units", NULL));

    /* deleting the project takes its tasks along */
    CHECK(store_exec(store, "DELETE FROM projects WHERE id = ?", "i",
                     project) == 0);
    CHECK(store_int(store, -1, "SELECT count(*) FROM tasks", NULL) == 0);
    CHECK(store_int(store, -1, "SELECT count(*) FROM unit_counts", NULL) == 0);
    store_destroy(&store);

    /* a state directory that cannot be made is refused */
    CHECK(store_new("/proc/pgferry-cannot-be-here") == NULL);

    char *db = xasprintf("%s/pgferry.db", state);
    char *wal = xasprintf("%s/pgferry.db-wal", state);
    char *shm = xasprintf("%s/pgferry.db-shm", state);
    (void) unlink(db);
    (void) unlink(wal);
    (void) unlink(shm);
    (void) rmdir(state);
    (void) rmdir(dir);
    free(db);
    free(wal);
    free(shm);
    free(state);
    puts("test_store: ok");
    return 0;
}
