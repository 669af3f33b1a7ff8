/*
 * tests/unit/test_sweep.c
 *     The sweeps over a database's tables: chunks of SWEEP_CHUNK tables in
 *     id order, started once, their position in the catalog moving with
 *     the chunk's transaction (a chunk rolled back is taken again, a
 *     coordinator restarted goes on where the last chunk committed), ended
 *     with their database; and, through advance_sweep(), what they queue:
 *     every table's copies once, schema-pre's items written a chunk at a
 *     time (once each, across a restart), the builds of the tables loaded
 *     before they were all known and no ANALYZE before those, no end of
 *     the load before the copies are queued, and no finalize before the
 *     ANALYZE a table missed; the post-data sweep held back while its
 *     database has SWEEP_QUEUE_LOW units queued, and with it the builds
 *     of the small tables it has yet to pass, and the builds of tables
 *     not copied left to the load's end, which is told once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "common/strbuf.h"
#include "coord_fixture.h"
#include "coordinator/advance.h"
#include "coordinator/items.h"
#include "coordinator/plan.h"
#include "coordinator/results.h"
#include "coordinator/sweep.h"
#include "coordinator/units.h"

/* enough tables for two full chunks and a short one */
#define S_TABLES ((size_t) 2 * SWEEP_CHUNK + 22)
/* indexes per table in schema-pre's result */
#define S_ITEMS ((size_t) 8)
#define S_ITEMS_SQL "SELECT count(*) FROM schema_items WHERE database_id = ?"

/* A task of one database whose prepare found n tables t000..., each one
 * page, online or not. Returns the database's id. */
static int64_t
s_task_of(coord_fixture_t *fx, const char *name, size_t n, bool online)
{
    Pgconvoy__TableRef *refs = xcalloc(n, sizeof *refs);
    Pgconvoy__TableRef **ptrs = xcalloc(n, sizeof *ptrs);
    char **names = xcalloc(n, sizeof *names);
    int64_t db_id = 0;

    (void) coord_fixture_task(fx, name, online, "shop", 0, &db_id);
    for (size_t i = 0; i < n; i++)
    {
        names[i] = xasprintf("t%03zu", i);
        pgconvoy__table_ref__init(&refs[i]);
        refs[i].schema = "public";
        refs[i].name = names[i];
        refs[i].bytes = 8192;
        refs[i].rows = 100;
        refs[i].pages = 1;
        refs[i].columns = "\"id\"";
        ptrs[i] = &refs[i];
    }
    coord_fixture_prepare(fx, db_id, ptrs, n, false);
    for (size_t i = 0; i < n; i++)
    {
        free(names[i]);
    }
    free(names);
    free(ptrs);
    free(refs);
    return db_id;
}

/* The same, offline. */
static int64_t
s_task(coord_fixture_t *fx, const char *name, size_t n)
{
    return s_task_of(fx, name, n, false);
}

static int64_t
s_count(coord_fixture_t *fx, const char *sql, int64_t db_id)
{
    return store_int(fx->coord.store, -1, sql, "i", db_id);
}

/* The position: taken in order, chunk by chunk, once, and only as its
 * transaction commits. */
static void
s_test_chunks(coord_fixture_t *fx)
{
    store_t *store = fx->coord.store;
    int64_t db_id = s_task(fx, "chunks", S_TABLES);
    int64_t first =
        s_count(fx, "SELECT min(id) FROM tables_ WHERE database_id = ?", db_id);
    sweep_chunk_t chunk;
    int64_t seen = 0;
    int64_t last = 0;

    CHECK(!sweep_is_done(store, db_id, SWEEP_COPIES));
    CHECK_EQ_INT(sweep_take(store, SWEEP_COPIES, &chunk), 0);
    CHECK_EQ_INT(sweep_start(store, db_id, SWEEP_COPIES), 1);
    CHECK_EQ_INT(sweep_start(store, db_id, SWEEP_COPIES), 0);
    /* the other kind is its own */
    CHECK_EQ_INT(sweep_take(store, SWEEP_POSTDATA, &chunk), 0);

    /* a chunk rolled back is taken again */
    CHECK(store_begin(store) == 0);
    CHECK_EQ_INT(sweep_take(store, SWEEP_COPIES, &chunk), 1);
    CHECK_EQ_INT(chunk.n, SWEEP_CHUNK);
    CHECK_EQ_INT(chunk.tables[0].id, first);
    store_rollback(store);

    while (sweep_take(store, SWEEP_COPIES, &chunk) == 1)
    {
        CHECK_EQ_INT(chunk.db_id, db_id);
        CHECK(chunk.n <= SWEEP_CHUNK);
        for (size_t i = 0; i < chunk.n; i++)
        {
            CHECK(chunk.tables[i].id > last);
            CHECK_EQ_INT(chunk.tables[i].pages, 1);
            CHECK(!chunk.tables[i].loaded);
            last = chunk.tables[i].id;
            seen++;
        }
        CHECK_EQ_INT(sweep_is_done(store, db_id, SWEEP_COPIES),
                     chunk.n < SWEEP_CHUNK);
    }
    CHECK_EQ_INT(seen, S_TABLES);
    CHECK(sweep_is_done(store, db_id, SWEEP_COPIES));
    /* done is done: not started again */
    CHECK_EQ_INT(sweep_start(store, db_id, SWEEP_COPIES), 0);

    /* ended where it stands */
    CHECK_EQ_INT(sweep_start(store, db_id, SWEEP_POSTDATA), 1);
    sweep_end(store, db_id, SWEEP_POSTDATA);
    CHECK(sweep_is_done(store, db_id, SWEEP_POSTDATA));
    CHECK_EQ_INT(sweep_take(store, SWEEP_POSTDATA, &chunk), 0);
}

/* A number of tables that fills its last chunk: one more, empty, says
 * the sweep is done. */
static void
s_test_full_chunks(coord_fixture_t *fx)
{
    store_t *store = fx->coord.store;
    int64_t db_id = s_task(fx, "full", (size_t) 2 * SWEEP_CHUNK);
    sweep_chunk_t chunk;

    CHECK_EQ_INT(sweep_start(store, db_id, SWEEP_COPIES), 1);
    CHECK_EQ_INT(sweep_take(store, SWEEP_COPIES, &chunk), 1);
    CHECK_EQ_INT(sweep_take(store, SWEEP_COPIES, &chunk), 1);
    CHECK_EQ_INT(chunk.n, SWEEP_CHUNK);
    CHECK(!sweep_is_done(store, db_id, SWEEP_COPIES));
    CHECK_EQ_INT(sweep_take(store, SWEEP_COPIES, &chunk), 1);
    CHECK_EQ_INT(chunk.n, 0);
    CHECK(sweep_is_done(store, db_id, SWEEP_COPIES));
}

/* The copy unit of table_id, placed on a1 before (running) or not yet
 * (queued: placed and started now), is done. */
static void
s_load_table(coord_fixture_t *fx, int64_t table_id)
{
    store_t *store = fx->coord.store;
    int64_t copy = store_int(store, 0,
                             "SELECT id FROM units WHERE table_id = ? AND "
                             "kind = ? AND state = 'queued'",
                             "ii", table_id, (int64_t) K_COPY);
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;

    if (copy == 0)
    {
        copy = store_int(store, 0,
                         "SELECT id FROM units WHERE table_id = ? AND "
                         "kind = ? AND state = 'running'",
                         "ii", table_id, (int64_t) K_COPY);
    }
    else
    {
        Pgconvoy__Progress p = PGCONVOY__PROGRESS__INIT;
        CHECK(units_place(store, copy, "a1", copy, copy, 1.0) == 0);
        p.unit_id = (uint64_t) copy;
        p.started = true;
        results_on_progress(&fx->coord, "a1", &p);
    }
    CHECK(copy > 0);
    r.unit_id = (uint64_t) copy;
    r.ok = true;
    r.rows = 100;
    results_on_result(&fx->coord, "a1", &r);
}

/* The database's schema-pre unit, placed on a1, has started: the load
 * starts. Returns its id. */
static int64_t
s_schema_pre_started(coord_fixture_t *fx, int64_t db_id)
{
    int64_t schema_pre = coord_fixture_place(fx, db_id, K_SCHEMA_PRE, "a1");
    Pgconvoy__Progress p = PGCONVOY__PROGRESS__INIT;

    p.unit_id = (uint64_t) schema_pre;
    p.started = true;
    results_on_progress(&fx->coord, "a1", &p);
    return schema_pre;
}

/* An index of table public.name (borrowed), tagged with its name. */
static void
s_index_item(Pgconvoy__SchemaItem *item, char *name)
{
    pgconvoy__schema_item__init(item);
    item->kind = "INDEX";
    item->tag = name;
    item->sql = "CREATE INDEX ON t (id)";
    item->phase = 1;
    item->table_schema = "public";
    item->table_name = name;
}

/* schema-pre's result, placed and done, with items[0..n) */
static void
s_schema_pre_done(coord_fixture_t *fx, int64_t unit_id,
                  Pgconvoy__SchemaItem **items, size_t n)
{
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;

    r.unit_id = (uint64_t) unit_id;
    r.ok = true;
    r.items = items;
    r.n_items = n;
    results_on_result(&fx->coord, "a1", &r);
}

/*
 * A database of more copies queued than SWEEP_QUEUE_LOW: the post-data
 * sweep holds back, and so does a small table loaded meanwhile, until
 * the queue runs low; then the sweep queues the builds of the tables it
 * passes, and those it has passed get theirs as they complete. The
 * index of a table not copied (a partitioned one) waits for the end of
 * the load, whatever the sweep did.
 */
static void
s_test_held(coord_fixture_t *fx)
{
    store_t *store = NULL;
    const size_t n = (size_t) SWEEP_QUEUE_LOW + SWEEP_CHUNK;
    int64_t db_id = s_task(fx, "held", n);
    int64_t schema_pre = s_schema_pre_started(fx, db_id);

    coord_fixture_sweep(fx);
    store = fx->coord.store;
    CHECK_EQ_INT(units_count(store, db_id, K_COPY, "'queued'"), n);

    /* an index per table, and one of a table not copied */
    Pgconvoy__SchemaItem *items = xcalloc(n + 1, sizeof *items);
    Pgconvoy__SchemaItem **ptrs = xcalloc(n + 1, sizeof *ptrs);
    char **names = xcalloc(n + 1, sizeof *names);
    for (size_t i = 0; i <= n; i++)
    {
        names[i] = i < n ? xasprintf("t%03zu", i) : xstrdup("parent");
        s_index_item(&items[i], names[i]);
        ptrs[i] = &items[i];
    }
    s_schema_pre_done(fx, schema_pre, ptrs, n + 1);
    coord_fixture_sweep(fx);
    CHECK(!items_are_staged(store, db_id));
    CHECK(sweep_is_held(store, SWEEP_POSTDATA));
    CHECK(!sweep_may_go_on(store, SWEEP_POSTDATA));
    CHECK(fx->coord.sweep_held);
    CHECK(!fx->coord.sweep_wanted);
    CHECK(!sweep_is_done(store, db_id, SWEEP_POSTDATA));

    /* a small table loaded now: nothing queued for it yet */
    int64_t first =
        s_count(fx, "SELECT min(id) FROM tables_ WHERE database_id = ?", db_id);
    s_load_table(fx, first);
    advance_requested(&fx->coord);
    CHECK(!fx->coord.sweep_wanted);
    CHECK_EQ_INT(
        units_count(store, db_id, K_SCHEMA_POST, "'queued', 'running', 'done'"),
        0);
    CHECK_EQ_INT(
        units_count(store, db_id, K_ANALYZE, "'queued', 'running', 'done'"), 0);

    /* the queue runs low: the next pass takes a chunk, which queues the
     * loaded table's index, and holds back again */
    while (s_count(fx,
                   "SELECT sum(n) FROM unit_counts WHERE database_id = ? "
                   "AND state = 'queued'",
                   db_id) >= SWEEP_QUEUE_LOW)
    {
        (void) coord_fixture_place(fx, db_id, K_COPY, "a1");
    }
    CHECK(sweep_may_go_on(store, SWEEP_POSTDATA));
    advance_requested(&fx->coord);
    CHECK(fx->coord.sweep_wanted);
    CHECK(advance_sweep(&fx->coord));
    CHECK(!advance_sweep(&fx->coord));
    CHECK_EQ_INT(units_count(store, db_id, K_SCHEMA_POST, "'queued'"), 1);
    CHECK(sweep_has_passed(store, db_id, SWEEP_POSTDATA, first + 1));
    CHECK(!sweep_has_passed(store, db_id, SWEEP_POSTDATA, first + SWEEP_CHUNK));
    CHECK(fx->coord.sweep_held);

    /* passed: its index is queued as it completes; not passed yet: the
     * sweep queues it */
    s_load_table(fx, first + 1);
    CHECK_EQ_INT(units_count(store, db_id, K_SCHEMA_POST, "'queued'"), 2);
    s_load_table(fx, first + SWEEP_CHUNK);
    CHECK_EQ_INT(units_count(store, db_id, K_SCHEMA_POST, "'queued'"), 2);

    /* every copy done: the load ends once the sweep has passed every
     * table, and only then is the table not copied built */
    for (int64_t t = first + 2; t < first + (int64_t) n; t++)
    {
        if (t != first + SWEEP_CHUNK)
        {
            s_load_table(fx, t);
        }
    }
    CHECK_EQ_INT(units_count(store, db_id, K_COPY, "'queued', 'running'"), 0);
    advance_requested(&fx->coord);
    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_COMPLETING);
    /* the builds held back go as the queue of builds runs low */
    for (int guard = 0; !sweep_is_done(store, db_id, SWEEP_POSTDATA); guard++)
    {
        CHECK(guard < (int) n);
        coord_fixture_sweep(fx);
        while (units_count(store, db_id, K_SCHEMA_POST, "'queued'") > 0)
        {
            (void) coord_fixture_place(fx, db_id, K_SCHEMA_POST, "a1");
        }
        advance_requested(&fx->coord);
    }
    CHECK_EQ_INT(s_count(fx,
                         "SELECT count(*) FROM units u JOIN schema_items si "
                         "  ON si.id = u.item_id WHERE si.table_name = "
                         "'parent' AND si.loose <> 0 AND u.database_id = ?",
                         db_id),
                 1);
    CHECK_EQ_INT(s_count(fx,
                         "SELECT count(DISTINCT item_id) FROM units "
                         "WHERE database_id = ? AND kind = 5",
                         db_id),
                 n + 1);
    for (size_t i = 0; i <= n; i++)
    {
        free(names[i]);
    }
    free(names);
    free(ptrs);
    free(items);
}

/*
 * Online, a database stays in FULL_LOAD while its indexes are built, and
 * each of their results moves it forward again: the end of its load is
 * told once, not once a result.
 */
static void
s_test_told_once(coord_fixture_t *fx)
{
    const size_t n = 3;
    int64_t db_id = s_task_of(fx, "once", n, true);
    int64_t task_id =
        s_count(fx, "SELECT task_id FROM databases WHERE id = ?", db_id);
    Pgconvoy__SchemaItem items[3];
    Pgconvoy__SchemaItem *ptrs[3];
    char names[3][8];

    (void) coord_fixture_place(fx, db_id, K_SLOT, "a1"); /* the holder */
    int64_t schema_pre = s_schema_pre_started(fx, db_id);
    coord_fixture_sweep(fx);
    for (size_t i = 0; i < n; i++)
    {
        snprintf(names[i], sizeof names[i], "t%03zu", i);
        s_index_item(&items[i], names[i]);
        ptrs[i] = &items[i];
    }
    s_schema_pre_done(fx, schema_pre, ptrs, n);
    coord_fixture_sweep(fx);
    int64_t first =
        s_count(fx, "SELECT min(id) FROM tables_ WHERE database_id = ?", db_id);
    for (int64_t t = first; t < first + (int64_t) n; t++)
    {
        s_load_table(fx, t);
    }
    for (int i = 0; i < 3; i++)
    {
        advance_database(&fx->coord, task_id, db_id);
    }
    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_FULL_LOAD);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_SCHEMA_POST, "'queued'"),
                 n);
    CHECK_EQ_INT(store_int(fx->coord.store, -1,
                           "SELECT count(*) FROM events WHERE task_id = ? "
                           "AND message LIKE '%full load done%'",
                           "i", task_id),
                 1);
}

/*
 * Through the coordinator: schema-pre's Progress names no table, so the
 * copies come from the sweep, and a coordinator restarted mid-sweep goes
 * on from the catalog, each table's copies queued once; schema-pre's
 * result leaves the builds of the tables loaded meanwhile to the
 * post-data sweep.
 */
static void
s_test_advance(coord_fixture_t *fx)
{
    int64_t db_id = s_task(fx, "advance", S_TABLES);
    int64_t schema_pre = s_schema_pre_started(fx, db_id);

    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_FULL_LOAD);
    CHECK(fx->coord.sweep_wanted);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_COPY, "'queued'"), 0);

    /* one chunk, then the coordinator stops; another one goes on */
    CHECK(advance_sweep(&fx->coord));
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_COPY, "'queued'"),
                 SWEEP_CHUNK);
    store_destroy(&fx->coord.store);
    fx->coord.store = store_new(fx->dir);
    CHECK(fx->coord.store != NULL);
    coord_fixture_sweep(fx);
    CHECK(!fx->coord.sweep_wanted);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_COPY, "'queued'"),
                 S_TABLES);
    CHECK_EQ_INT(s_count(fx,
                         "SELECT count(DISTINCT table_id) FROM units WHERE "
                         "database_id = ? AND kind = 4",
                         db_id),
                 S_TABLES);

    /* three tables are in before the items are known */
    int64_t first =
        s_count(fx, "SELECT min(id) FROM tables_ WHERE database_id = ?", db_id);
    for (int64_t t = first; t < first + 3; t++)
    {
        s_load_table(fx, t);
    }

    /* schema-pre's result: S_ITEMS indexes for each table, more than a
     * chunk of items */
    Pgconvoy__SchemaItem *items = xcalloc(S_TABLES * S_ITEMS, sizeof *items);
    Pgconvoy__SchemaItem **ptrs = xcalloc(S_TABLES * S_ITEMS, sizeof *ptrs);
    char **names = xcalloc(S_TABLES * S_ITEMS, sizeof *names);
    for (size_t i = 0; i < S_TABLES * S_ITEMS; i++)
    {
        names[i] = xasprintf("t%03zu", i / S_ITEMS);
        pgconvoy__schema_item__init(&items[i]);
        items[i].kind = "INDEX";
        items[i].tag = xasprintf("t%03zu_%zu", i / S_ITEMS, i % S_ITEMS);
        items[i].sql = "CREATE INDEX ON t (id)";
        items[i].phase = 1;
        items[i].table_schema = "public";
        items[i].table_name = names[i];
        ptrs[i] = &items[i];
    }
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;
    r.unit_id = (uint64_t) schema_pre;
    r.ok = true;
    r.items = ptrs;
    r.n_items = S_TABLES * S_ITEMS;
    results_on_result(&fx->coord, "a1", &r);
    /* kept in one row, written between messages */
    CHECK(S_TABLES * S_ITEMS > (size_t) 2 * ITEMS_CHUNK);
    CHECK(items_are_staged(fx->coord.store, db_id));
    CHECK_EQ_INT(s_count(fx, S_ITEMS_SQL, db_id), 0);
    CHECK(fx->coord.sweep_wanted);
    /* a table loaded now gets neither its builds nor its ANALYZE yet:
     * its items are not all known */
    s_load_table(fx, first + 3);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_SCHEMA_POST,
                             "'queued', 'running', 'done'"),
                 0);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_ANALYZE,
                             "'queued', 'running', 'done'"),
                 0);

    /* one chunk, then the coordinator stops; another goes on */
    CHECK(advance_sweep(&fx->coord));
    CHECK_EQ_INT(s_count(fx, S_ITEMS_SQL, db_id), ITEMS_CHUNK);
    store_destroy(&fx->coord.store);
    fx->coord.store = store_new(fx->dir);
    CHECK(fx->coord.store != NULL);
    coord_fixture_sweep(fx);
    CHECK(!items_are_staged(fx->coord.store, db_id));
    CHECK_EQ_INT(s_count(fx, S_ITEMS_SQL, db_id), S_TABLES * S_ITEMS);
    CHECK_EQ_INT(s_count(fx,
                         "SELECT count(DISTINCT tag) FROM schema_items WHERE "
                         "database_id = ?",
                         db_id),
                 S_TABLES * S_ITEMS);
    /* the builds of the four loaded tables came from the sweep, and no
     * ANALYZE before them */
    CHECK(sweep_is_done(fx->coord.store, db_id, SWEEP_POSTDATA));
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_SCHEMA_POST, "'queued'"),
                 4 * S_ITEMS);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_ANALYZE,
                             "'queued', 'running', 'done'"),
                 0);
    /* a table loaded since gets its builds as it completes */
    s_load_table(fx, first + 4);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_SCHEMA_POST, "'queued'"),
                 5 * S_ITEMS);
    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_FULL_LOAD);
    for (size_t i = 0; i < S_TABLES * S_ITEMS; i++)
    {
        free(names[i]);
        free(items[i].tag);
    }
    free(names);
    free(ptrs);
    free(items);
}

/* schema-pre's result with no Progress before it: the load is not over
 * while the copies' sweep has tables left, though no copy is queued. */
static void
s_test_load_waits(coord_fixture_t *fx)
{
    int64_t db_id = s_task(fx, "waits", S_TABLES);
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;
    int64_t task_id =
        s_count(fx, "SELECT task_id FROM databases WHERE id = ?", db_id);

    r.unit_id = (uint64_t) coord_fixture_place(fx, db_id, K_SCHEMA_PRE, "a1");
    r.ok = true;
    results_on_result(&fx->coord, "a1", &r);
    advance_requested(&fx->coord);
    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_FULL_LOAD);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_FINALIZE,
                             "'queued', 'running', 'done'"),
                 0);
    advance_database(&fx->coord, task_id, db_id);
    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_FULL_LOAD);
    coord_fixture_sweep(fx);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_COPY, "'queued'"),
                 S_TABLES);
}

/* A database cancelled mid-sweep: the sweep ends, queueing nothing. */
static void
s_test_cancelled(coord_fixture_t *fx)
{
    int64_t db_id = s_task(fx, "cancelled", S_TABLES);
    int64_t task_id =
        s_count(fx, "SELECT task_id FROM databases WHERE id = ?", db_id);

    (void) s_schema_pre_started(fx, db_id);
    CHECK(advance_sweep(&fx->coord));
    plan_cancel_task(&fx->coord, task_id);
    int64_t before = units_count(fx->coord.store, db_id, K_COPY,
                                 "'queued', 'running', 'cancelled'");
    coord_fixture_sweep(fx);
    CHECK(sweep_is_done(fx->coord.store, db_id, SWEEP_COPIES));
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_COPY,
                             "'queued', 'running', 'cancelled'"),
                 before);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_COPY, "'queued'"), 0);
}

/* A database cancelled with its items staged: they are dropped, and
 * nothing more is queued for it. */
static void
s_test_items_dropped(coord_fixture_t *fx)
{
    int64_t db_id = s_task(fx, "dropped", 3);
    int64_t task_id =
        s_count(fx, "SELECT task_id FROM databases WHERE id = ?", db_id);
    Pgconvoy__SchemaItem item = PGCONVOY__SCHEMA_ITEM__INIT;
    Pgconvoy__SchemaItem *items[] = {&item};
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;

    item.kind = "INDEX";
    item.tag = "t000_i";
    item.sql = "CREATE INDEX ON t000 (id)";
    item.phase = 1;
    item.table_schema = "public";
    item.table_name = "t000";
    r.unit_id = (uint64_t) coord_fixture_place(fx, db_id, K_SCHEMA_PRE, "a1");
    r.ok = true;
    r.items = items;
    r.n_items = 1;
    results_on_result(&fx->coord, "a1", &r);
    CHECK(items_are_staged(fx->coord.store, db_id));
    plan_cancel_task(&fx->coord, task_id);
    coord_fixture_sweep(fx);
    CHECK(!items_are_staged(fx->coord.store, db_id));
    CHECK_EQ_INT(s_count(fx, S_ITEMS_SQL, db_id), 0);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_COPY, "'queued'"), 0);
    CHECK(!fx->coord.sweep_wanted);
}

/* The running unit of kind of the database, if any, is done. */
static void
s_finish(coord_fixture_t *fx, int64_t db_id, int kind)
{
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;

    r.unit_id = (uint64_t) coord_fixture_place(fx, db_id, kind, "a1");
    r.ok = true;
    results_on_result(&fx->coord, "a1", &r);
    advance_requested(&fx->coord);
}

/*
 * Every build done: the ANALYZE a table missed comes from the analyze
 * sweep. Offline, finalize is queued once the sweep is done, beside that
 * ANALYZE, and the database is completed once both are done; online,
 * finalize (which starts the changes' apply) waits for the ANALYZE.
 */
static void
s_test_finalize_waits(coord_fixture_t *fx, bool online)
{
    int64_t db_id = s_task_of(fx, online ? "final_on" : "final", 3, online);
    int64_t task_id =
        s_count(fx, "SELECT task_id FROM databases WHERE id = ?", db_id);
    int64_t first =
        s_count(fx, "SELECT min(id) FROM tables_ WHERE database_id = ?", db_id);

    s_finish(fx, db_id, K_SCHEMA_PRE); /* no items */
    coord_fixture_sweep(fx);
    for (int64_t t = first; t < first + 3; t++)
    {
        s_load_table(fx, t);
    }
    /* each table, with no index to wait for, got its ANALYZE as it
     * completed; one is lost, as if that was missed */
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_ANALYZE, "'queued'"), 3);
    CHECK(store_exec(fx->coord.store,
                     "DELETE FROM units WHERE table_id = ? AND kind = ?", "ii",
                     first, (int64_t) K_ANALYZE) == 0);
    s_finish(fx, db_id, K_ANALYZE);
    s_finish(fx, db_id, K_ANALYZE);
    advance_database(&fx->coord, task_id, db_id);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_FINALIZE, "'queued'"),
                 0);
    CHECK(fx->coord.sweep_wanted);
    coord_fixture_sweep(fx);
    CHECK(sweep_is_done(fx->coord.store, db_id, SWEEP_ANALYZE));
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_ANALYZE, "'queued'"), 1);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_FINALIZE, "'queued'"),
                 online ? 0 : 1);
    if (online)
    {
        s_finish(fx, db_id, K_ANALYZE);
        CHECK_EQ_INT(
            units_count(fx->coord.store, db_id, K_FINALIZE, "'queued'"), 1);
        return;
    }
    /* finalize first: the database waits for its last ANALYZE */
    s_finish(fx, db_id, K_FINALIZE);
    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_COMPLETING);
    CHECK_EQ_INT(units_count(fx->coord.store, db_id, K_FINALIZE, "'queued'"),
                 0);
    s_finish(fx, db_id, K_ANALYZE);
    CHECK_EQ_INT(plan_database_state(&fx->coord, db_id), DB_COMPLETED);
}

int
main(void)
{
    coord_fixture_t fx;

    coord_fixture_open(&fx, "sweep");
    s_test_chunks(&fx);
    s_test_full_chunks(&fx);
    s_test_advance(&fx);
    s_test_load_waits(&fx);
    s_test_cancelled(&fx);
    s_test_items_dropped(&fx);
    s_test_finalize_waits(&fx, false);
    s_test_finalize_waits(&fx, true);
    s_test_held(&fx);
    s_test_told_once(&fx);
    coord_fixture_close(&fx);
    printf("test_sweep: ok\n");
    return 0;
}
