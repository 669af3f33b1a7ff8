/*
 * tests/unit/test_tables.c
 *     Table rows read back as the coordinator wrote them, through its
 *     own handling of what the agents report: the tables prepare found
 *     (names of 63 bytes), split into ranges, loading, loaded, the
 *     stream's counters, a difference found; every state's spelling; no
 *     table.
 */
#include <string.h>

#include "check.h"
#include "coord_fixture.h"
#include "coordinator/results.h"
#include "coordinator/tables.h"
#include "coordinator/units.h"

/* 63 bytes each: the longest names PostgreSQL keeps */
#define LONGEST_SCHEMA                                                         \
    "s23456789_123456789_123456789_123456789_123456789_123456789_123"
#define LONGEST_TABLE                                                          \
    "t23456789_123456789_123456789_123456789_123456789_123456789_123"

/* split_bytes for the test's task: the large table is cut in 3 ranges */
#define SPLIT_BYTES (3LL * 8192)

/* A table as prepare reports it. */
static Pgconvoy__TableRef
s_ref(char *schema, char *name, int64_t pages, bool binary)
{
    Pgconvoy__TableRef t = PGCONVOY__TABLE_REF__INIT;

    t.schema = schema;
    t.name = name;
    t.bytes = pages * 8192;
    t.rows = pages * 100;
    t.pages = pages;
    t.binary = binary;
    t.columns = "\"id\", \"v\"";
    return t;
}

/* The table's id, by its names. */
static int64_t
s_table_id(coord_fixture_t *fx, int64_t db_id, const char *name)
{
    return store_int(fx->coord.store, 0,
                     "SELECT id FROM tables_ WHERE database_id = ? AND "
                     "table_name = ?",
                     "is", db_id, name);
}

/* The one running unit of kind of the database reports its result. */
static void
s_result(coord_fixture_t *fx, int64_t unit_id, Pgconvoy__Result *r)
{
    r->unit_id = (uint64_t) unit_id;
    r->ok = true;
    results_on_result(&fx->coord, "a1", r);
}

static void
s_test_load(coord_fixture_t *fx)
{
    int64_t db_id = 0;
    int64_t task_id =
        coord_fixture_task(fx, "load", true, "shop", SPLIT_BYTES, &db_id);
    store_t *store = fx->coord.store;
    Pgconvoy__TableRef big = s_ref(LONGEST_SCHEMA, LONGEST_TABLE, 7, true);
    Pgconvoy__TableRef small = s_ref("public", "small", 1, false);
    Pgconvoy__TableRef *refs[] = {&big, &small};
    tables_row_t t;

    CHECK_EQ_INT(strlen(LONGEST_SCHEMA), 63);
    CHECK_EQ_INT(strlen(LONGEST_TABLE), 63);
    coord_fixture_prepare(fx, db_id, refs, 2, false);
    int64_t big_id = s_table_id(fx, db_id, LONGEST_TABLE);
    int64_t small_id = s_table_id(fx, db_id, "small");

    /* as prepare found them; their NULLs (differs, error...) as none */
    CHECK(tables_get(store, big_id, &t) == 0);
    CHECK_EQ_INT(t.id, big_id);
    CHECK_EQ_INT(t.database_id, db_id);
    CHECK_EQ_STR(t.schema_name, LONGEST_SCHEMA);
    CHECK_EQ_STR(t.table_name, LONGEST_TABLE);
    CHECK_EQ_INT(t.state, TABLE_QUEUED);
    CHECK_EQ_INT(t.bytes_est, 7 * 8192);
    CHECK_EQ_INT(t.rows_est, 700);
    CHECK_EQ_INT(t.pages, 7);
    CHECK_EQ_INT(t.parts, 1);
    CHECK(t.binary_ok);
    CHECK(!t.differs);
    CHECK_EQ_INT(t.rows + t.bytes + t.cdc_ins + t.cdc_upd + t.cdc_del, 0);
    CHECK(tables_get(store, small_id, &t) == 0);
    CHECK_EQ_STR(t.schema_name, "public");
    CHECK_EQ_STR(t.table_name, "small");
    CHECK(!t.binary_ok);

    /* the tables exist on the target: the big one is copied in ranges */
    Pgconvoy__Progress p = PGCONVOY__PROGRESS__INIT;
    p.unit_id = (uint64_t) coord_fixture_place(fx, db_id, K_SCHEMA_PRE, "a1");
    p.started = true;
    results_on_progress(&fx->coord, "a1", &p);
    /* the Progress named no table: every one's copies come from the
     * sweep, between messages */
    CHECK(fx->coord.sweep_wanted);
    CHECK_EQ_INT(units_count(store, db_id, K_COPY, "'queued'"), 0);
    coord_fixture_sweep(fx);
    CHECK(tables_get(store, big_id, &t) == 0);
    CHECK_EQ_INT(t.parts, 3);
    CHECK(tables_get(store, small_id, &t) == 0);
    CHECK_EQ_INT(t.parts, 1);
    /* the ranges, as units_get() reads them */
    int64_t first = store_int(
        store, 0, "SELECT min(id) FROM units WHERE table_id = ?", "i", big_id);
    units_row_t u;
    for (int64_t part = 0; part < 3; part++)
    {
        CHECK(units_get(store, first + part, &u) == 0);
        CHECK_EQ_INT(u.kind, K_COPY);
        CHECK_EQ_INT(u.table_id, big_id);
        CHECK_EQ_INT(u.part, part);
        CHECK_EQ_INT(u.first_page, 7 * part / 3);
        CHECK_EQ_INT(u.last_page, part == 2 ? 0 : 7 * (part + 1) / 3);
    }

    /* the small one's copy starts, then is in */
    int64_t copy = store_int(
        store, 0, "SELECT id FROM units WHERE table_id = ?", "i", small_id);
    CHECK(units_place(store, copy, "a1", copy, 99, 1.0) == 0);
    p = (Pgconvoy__Progress) PGCONVOY__PROGRESS__INIT;
    p.unit_id = (uint64_t) copy;
    p.started = true;
    results_on_progress(&fx->coord, "a1", &p);
    CHECK(tables_get(store, small_id, &t) == 0);
    CHECK_EQ_INT(t.state, TABLE_LOADING);
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;
    r.rows = 120;
    r.bytes = 4096;
    s_result(fx, copy, &r);
    CHECK(tables_get(store, small_id, &t) == 0);
    CHECK_EQ_INT(t.state, TABLE_COMPLETED);
    CHECK_EQ_INT(t.rows, 120);
    CHECK_EQ_INT(t.bytes, 4096);
    CHECK(units_get(store, copy, &u) == 0);
    CHECK_EQ_INT(u.state, UNIT_DONE);
    CHECK_EQ_INT(u.rows, 120);
    CHECK_EQ_INT(u.bytes, 4096);
    /* the big one, not started, waits */
    CHECK(tables_get(store, big_id, &t) == 0);
    CHECK_EQ_INT(t.state, TABLE_QUEUED);

    /* the stream's counters, by the table's names */
    Pgconvoy__TableChanges changes = PGCONVOY__TABLE_CHANGES__INIT;
    Pgconvoy__TableChanges *all[] = {&changes};
    Pgconvoy__CdcProgress cdc = PGCONVOY__CDC_PROGRESS__INIT;
    changes.schema = LONGEST_SCHEMA;
    changes.name = LONGEST_TABLE;
    changes.inserts = 5;
    changes.updates = 6;
    changes.deletes = 7;
    cdc.tables = all;
    cdc.n_tables = 1;
    CHECK(units_add(store, task_id, db_id, K_CDC, 0, 0, 0) == 0);
    p = (Pgconvoy__Progress) PGCONVOY__PROGRESS__INIT;
    p.unit_id = (uint64_t) coord_fixture_place(fx, db_id, K_CDC, "a1");
    p.cdc = &cdc;
    results_on_progress(&fx->coord, "a1", &p);
    CHECK(tables_get(store, big_id, &t) == 0);
    CHECK_EQ_INT(t.cdc_ins, 5);
    CHECK_EQ_INT(t.cdc_upd, 6);
    CHECK_EQ_INT(t.cdc_del, 7);

    /* compared after the cutover: it differs */
    char *problems[] = {"3 rows differ"};
    CHECK(units_add(store, task_id, db_id, K_VALIDATE, big_id, 0, 0) == 0);
    r = (Pgconvoy__Result) PGCONVOY__RESULT__INIT;
    r.problems = problems;
    r.n_problems = 1;
    s_result(fx, coord_fixture_place(fx, db_id, K_VALIDATE, "a1"), &r);
    CHECK(tables_get(store, big_id, &t) == 0);
    CHECK(t.differs);
    CHECK(tables_get(store, small_id, &t) == 0);
    CHECK(!t.differs);
}

/* Every spelling reads as its state; one of no state, and no table. */
static void
s_test_spellings(coord_fixture_t *fx)
{
    int64_t id =
        store_int(fx->coord.store, 0, "SELECT max(id) FROM tables_", NULL);
    tables_row_t t;

    CHECK(id > 0);
    CHECK_SPELLINGS(fx, "tables_", id, TABLE_STATE_COUNT, states_table_name,
                    table_state_t, tables_get, t);
    coord_fixture_set_state(fx, "tables_", id, "loading");
    CHECK(tables_get(fx->coord.store, id, &t) == 0);
    CHECK_EQ_INT(t.state, TABLE_STATE_COUNT);
    CHECK_EQ_INT(t.id, id);

    memset(&t, 0x5a, sizeof t);
    CHECK(tables_get(fx->coord.store, 999999, &t) == -1);
    CHECK_EQ_INT(t.id, 0);
    CHECK_EQ_STR(t.schema_name, "");
    CHECK_EQ_STR(t.table_name, "");
    CHECK(!t.binary_ok && !t.differs);
    CHECK_EQ_INT(t.state, TABLE_STATE_COUNT);
}

int
main(void)
{
    coord_fixture_t fx;

    coord_fixture_open(&fx, "tables");
    s_test_load(&fx);
    s_test_spellings(&fx);
    coord_fixture_close(&fx);
    puts("test_tables: ok");
    return 0;
}
