/*
 * tests/unit/test_store.c
 *     The catalog: created on first open, kept across a reopen (as after a
 *     coordinator restart), bindings of every type, rollback undoing a
 *     change, foreign keys enforced, commits synced or not as asked; the
 *     rows of a query read through a cursor, and the statements kept
 *     prepared behind it; the catalog's spelling of a time, read back.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "coord_fixture.h"
#include "common/strbuf.h"
#include "coordinator/store.h"

/* Rows 1..? without a table: i, its text, NULL, i / 2.0. */
#define COUNTING                                                               \
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "          \
    "WHERE i < ?) SELECT i, 'row ' || i, NULL, i / 2.0 FROM n"

/* Reads COUNTING up to last through one cursor: true if every row is right. */
static bool
s_counts_to(store_t *store, int64_t last)
{
    store_rows_t *rows = store_query(store, COUNTING, "i", last);
    int64_t i = 0;
    bool right = rows != NULL;
    char text[32];

    while (store_rows_next(rows))
    {
        i++;
        snprintf(text, sizeof text, "row %" PRId64, i);
        right = right && store_rows_int(rows, 0) == i &&
                strcmp(store_rows_text(rows, 1), text) == 0 &&
                store_rows_double(rows, 3) == (double) i / 2.0;
    }
    store_rows_done(&rows);
    return right && i == last;
}

/*
 * True if no connection holds a read transaction on the catalog in
 * state_dir: a TRUNCATE checkpoint, from a connection of its own, waits
 * for every reader (up to the busy timeout) and says busy if one stays.
 */
static bool
s_no_reader(const char *state_dir)
{
    store_t *other = store_new(state_dir);
    CHECK(other != NULL);
    store_rows_t *rows =
        store_query(other, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
    bool none = store_rows_next(rows) && store_rows_int(rows, 0) == 0;

    store_rows_done(&rows);
    store_destroy(&other);
    return none;
}

/* Cursors, and the cache of prepared statements behind them. */
static void
s_test_cursors(const char *state_dir)
{
    store_t *store = store_new(state_dir);
    CHECK(store != NULL);

    /* NULL reads as nothing, of every type */
    store_rows_t *rows = store_query(store, COUNTING, "i", (int64_t) 1);
    CHECK(store_rows_next(rows));
    CHECK(store_rows_is_null(rows, 2));
    CHECK(strcmp(store_rows_text(rows, 2), "") == 0);
    CHECK(store_rows_int(rows, 2) == 0);
    CHECK(store_rows_double(rows, 2) == 0.0);
    CHECK(!store_rows_is_null(rows, 0) && !store_rows_is_null(rows, 1));
    store_rows_done(&rows);

    /* the same text again: the same rows, from the statement prepared
     * the first time */
    int64_t prepared = store_prepared_count(store);
    CHECK(s_counts_to(store, 5));
    CHECK(s_counts_to(store, 5));
    CHECK(s_counts_to(store, 2)); /* its bindings are its own each time */
    CHECK(store_prepared_count(store) == prepared);

    /* the text is the key, not where it lives */
    char *copy = xasprintf("%s", COUNTING);
    rows = store_query(store, copy, "i", (int64_t) 3);
    free(copy);
    CHECK(store_rows_next(rows) && store_rows_int(rows, 0) == 1);
    store_rows_done(&rows);
    CHECK(store_prepared_count(store) == prepared);
    for (int i = 0; i < 3; i++)
    {
        char *sql = xasprintf("SELECT %d + ?", 40);
        CHECK(store_int(store, 0, sql, "i", (int64_t) 2) == 42);
        free(sql);
    }
    CHECK(store_prepared_count(store) == prepared + 1);

    /* nested cursors on one text: each reads its own rows */
    prepared = store_prepared_count(store);
    rows = store_query(store, COUNTING, "i", (int64_t) 4);
    int64_t outer = 0;
    while (store_rows_next(rows))
    {
        outer++;
        CHECK(store_rows_int(rows, 0) == outer);
        CHECK(s_counts_to(store, outer + 2));
        CHECK(store_rows_int(rows, 0) == outer); /* still its own row */
    }
    store_rows_done(&rows);
    CHECK(outer == 4);
    /* each inner one took a statement of its own, and gave it up */
    CHECK(store_prepared_count(store) == prepared + 4);
    CHECK(s_counts_to(store, 3));
    CHECK(store_prepared_count(store) == prepared + 4);

    /* more texts than the cache keeps: all run, and a cursor open
     * meanwhile keeps its statement */
    rows = store_query(store, COUNTING, "i", (int64_t) 3);
    CHECK(store_rows_next(rows) && store_rows_int(rows, 0) == 1);
    for (int round = 0; round < 2; round++)
    {
        for (int64_t i = 0; i < 600; i++)
        {
            char *sql = xasprintf("SELECT %" PRId64 " + ?", i);
            CHECK(store_int(store, -1, sql, "i", (int64_t) round) == i + round);
            free(sql);
        }
    }
    CHECK(store_rows_next(rows) && store_rows_int(rows, 0) == 2);
    CHECK(store_rows_next(rows) && store_rows_int(rows, 0) == 3);
    CHECK(!store_rows_next(rows));
    store_rows_done(&rows);
    CHECK(s_counts_to(store, 6));
    /* the most recent texts are still kept */
    prepared = store_prepared_count(store);
    CHECK(store_int(store, -1, "SELECT 599 + ?", "i", (int64_t) 1) == 600);
    CHECK(store_prepared_count(store) == prepared);

    /* a statement that failed runs again once its cause is gone */
    char now[40];
    store_now(now, sizeof now);
    static const char *const insert =
        "INSERT INTO projects (name, source_platform, target_platform, "
        "created_at) VALUES (?, 'PostgreSQL', 'PostgreSQL', ?)";
    CHECK(store_exec(store, insert, "ss", "A", now) == 0);
    CHECK(store_exec(store, insert, "ss", "A", now) == -1);
    CHECK(store_exec(store, insert, "ss", "B", now) == 0);
    CHECK(store_exec(store, insert, "ss", "C", now) == 0);
    /* a text that does not prepare: NULL, and reading NULL is no row */
    rows = store_query(store, "SELECT missing FROM nowhere", NULL);
    CHECK(rows == NULL && !store_rows_next(rows));
    store_rows_done(&rows);

    /* a cursor done before its last row leaves no read transaction
     * behind, nor do the one-value readers */
    CHECK(s_no_reader(state_dir));
    rows = store_query(store, "SELECT name FROM projects ORDER BY name", NULL);
    CHECK(store_rows_next(rows) && strcmp(store_rows_text(rows, 0), "A") == 0);
    store_rows_done(&rows);
    CHECK(s_no_reader(state_dir));
    char name[8];
    CHECK(store_string(store, name, sizeof name,
                       "SELECT name FROM projects ORDER BY name DESC",
                       NULL) == 0);
    CHECK(strcmp(name, "C") == 0);
    CHECK(store_int(store, 0, "SELECT id FROM projects ORDER BY id", NULL) > 0);
    CHECK(s_no_reader(state_dir));
    /* and the statements kept are still good after the checkpoint */
    rows = store_query(store, "SELECT name FROM projects ORDER BY name", NULL);
    int n = 0;
    while (store_rows_next(rows))
    {
        n++;
    }
    store_rows_done(&rows);
    CHECK(n == 3);

    store_destroy(&store);
    CHECK(store == NULL);
    coord_fixture_remove_catalog(state_dir);
}

/* A time spelt as the catalog spells it reads back to the microsecond;
 * the time now, to the second; anything else as 0. */
static void
s_test_times(void)
{
    char text[40];
    char now[40];
    time_t before = time(NULL);

    store_format_time(1764842531.25, text, sizeof text);
    CHECK_EQ_STR(text, "2025-12-04T10:02:11.250000+00:00");
    CHECK(store_parse_time(text) == 1764842531.25);
    store_now(now, sizeof now);
    CHECK(store_parse_time(now) >= (double) before);
    CHECK(store_parse_time(now) < (double) time(NULL) + 1);
    CHECK(store_parse_time("yesterday") == 0);
}

int
main(void)
{
    char dir[] = "/tmp/pgconvoy-test-store-XXXXXX";
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

    /* durability: synced commits by default (synchronous 2, FULL), not
     * synced when asked (1, NORMAL); a sync in between leaves it so */
    CHECK(store_int(store, 0, "PRAGMA synchronous", NULL) == 2);
    CHECK(store_set_durable(store, false) == 0);
    CHECK(store_int(store, 0, "PRAGMA synchronous", NULL) == 1);
    CHECK(store_exec(store, "UPDATE projects SET name = ? WHERE id = ?", "si",
                     "unsynced", project) == 0);
    CHECK(store_sync(store) == 0);
    CHECK(store_int(store, 0, "PRAGMA synchronous", NULL) == 1);
    CHECK(!store_in_transaction(store));
    CHECK(store_exec(store, "UPDATE projects SET name = ? WHERE id = ?", "si",
                     "P", project) == 0);
    CHECK(store_set_durable(store, true) == 0);
    CHECK(store_int(store, 0, "PRAGMA synchronous", NULL) == 2);
    CHECK(store_int(store, 0, "PRAGMA user_version", NULL) > 0);
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
    CHECK(!store_rows_next(rows)); /* past the end it stays there */
    store_rows_done(&rows);
    CHECK(rows == NULL);
    store_rows_done(&rows); /* NULL-safe */
    CHECK(!store_rows_next(NULL));
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
    CHECK(store_new("/proc/pgconvoy-cannot-be-here") == NULL);
    coord_fixture_remove_catalog(state);
    free(state);

    state = xasprintf("%s/cursors", dir);
    s_test_cursors(state);
    free(state);
    s_test_times();
    (void) rmdir(dir);
    puts("test_store: ok");
    return 0;
}
