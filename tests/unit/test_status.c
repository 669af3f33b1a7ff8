/*
 * tests/unit/test_status.c
 *     The status a user and their scripts read: from a catalog in a known
 *     state, `task show --expand output` must aggregate per database and
 *     per table exactly, in the seed's field names.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "coord_fixture.h"
#include "common/strbuf.h"
#include "coordinator/coord.h"

#define COPY PGCONVOY__UNIT_KIND__UNIT_COPY

static json_object *
s_find(json_object *output, const char *type, const char *key,
       const char *value)
{
    for (size_t i = 0; i < json_object_array_length(output); i++)
    {
        json_object *item = json_object_array_get_idx(output, i);
        json_object *t = NULL;
        json_object *v = NULL;
        if (json_object_object_get_ex(item, "resultType", &t) &&
            strcmp(json_object_get_string(t), type) == 0 &&
            (key == NULL || (json_object_object_get_ex(item, key, &v) &&
                             strcmp(json_object_get_string(v), value) == 0)))
        {
            return item;
        }
    }
    return NULL;
}

static int64_t
s_int(json_object *obj, const char *key)
{
    json_object *v = NULL;
    CHECK(json_object_object_get_ex(obj, key, &v));
    return json_object_get_int64(v);
}

static const char *
s_str(json_object *obj, const char *key)
{
    json_object *v = NULL;
    CHECK(json_object_object_get_ex(obj, key, &v));
    return v ? json_object_get_string(v) : NULL;
}

static void
s_table(coord_t *c, int64_t db, const char *name, const char *state,
        int64_t rows, int64_t bytes, int64_t parts)
{
    CHECK(store_exec(c->store,
                     "INSERT INTO tables_ (database_id, schema_name, "
                     "table_name, columns, state, rows, bytes, bytes_est, "
                     "rows_est, parts, started_at) VALUES (?, 'public', ?, "
                     "'id', ?, ?, ?, 1000000, 10000, ?, "
                     "'2026-11-24T10:00:00.000000+00:00')",
                     "issiii", db, name, state, rows, bytes, parts) == 0);
}

static void
s_unit(coord_t *c, int64_t task, int64_t db, int64_t table, const char *state,
       int64_t bytes)
{
    CHECK(store_exec(c->store,
                     "INSERT INTO units (task_id, database_id, kind, "
                     "table_id, state, priority, bytes) "
                     "VALUES (?, ?, ?, ?, ?, 50, ?)",
                     "iiiisi", task, db, (int64_t) COPY, table, state,
                     bytes) == 0);
}

int
main(void)
{
    char dir[] = "/tmp/pgconvoy-test-status-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    coord_t c = {0};
    c.store = store_new(dir);
    c.registry = registry_new();
    CHECK(c.store != NULL);

    CHECK(store_exec(c.store,
                     "INSERT INTO projects (name, source_platform, "
                     "target_platform, created_at) VALUES ('P', 'PostgreSQL', "
                     "'PostgreSQL', 'now')",
                     NULL) == 0);
    CHECK(store_exec(c.store,
                     "INSERT INTO tasks (project_id, name, task_type, state, "
                     "task_key, src_host, src_port, tgt_host, tgt_port, "
                     "source_version, target_version, split_bytes, "
                     "started_at) VALUES (1, 'T', 'OfflineMigration', "
                     "'Running', 'key-1', 'src', 5433, 'dst', 5434, "
                     "'PostgreSQL 15.18', 'PostgreSQL 15.18', 1, "
                     "'2026-11-24T10:00:00.000000+00:00')",
                     NULL) == 0);
    CHECK(store_exec(c.store,
                     "INSERT INTO databases (task_id, name, target_name, "
                     "state) VALUES (1, 'shop', 'shop2', 'FULL_LOAD'), "
                     "(1, 'hr', 'hr', 'FAILED')",
                     NULL) == 0);
    CHECK(store_exec(c.store,
                     "UPDATE databases SET error = 'table \"public.x\": "
                     "boom' WHERE name = 'hr'",
                     NULL) == 0);
    s_table(&c, 1, "done", "COMPLETED", 500, 4000, 1);
    s_table(&c, 1, "loading", "LOADING", 0, 0, 4);
    s_table(&c, 1, "waiting", "QUEUED", 0, 0, 1);
    s_table(&c, 2, "x", "ERROR", 0, 0, 1);
    s_unit(&c, 1, 1, 1, "done", 4000);
    /* a split table: 2 of 4 ranges done, one under way */
    s_unit(&c, 1, 1, 2, "done", 250000);
    s_unit(&c, 1, 1, 2, "done", 250000);
    s_unit(&c, 1, 1, 2, "running", 100000);
    s_unit(&c, 1, 1, 2, "queued", 0);

    char *text = status_task_json(c.store, 1, true, false);
    json_object *root = json_tokener_parse(text);
    CHECK(root != NULL);
    CHECK(strcmp(s_str(root, "name"), "T") == 0);
    json_object *props = NULL;
    json_object *output = NULL;
    CHECK(json_object_object_get_ex(root, "properties", &props));
    CHECK(strcmp(s_str(props, "state"), "Running") == 0);
    CHECK(json_object_object_get_ex(props, "output", &output));
    CHECK(json_object_array_length(output) == 1 + 2 + 4);

    json_object *m = s_find(output, "MigrationLevelOutput", NULL, NULL);
    CHECK(m != NULL && s_int(m, "databaseCount") == 2);
    CHECK(strcmp(s_str(m, "sourceServer"), "src:5433") == 0);
    CHECK(strcmp(s_str(m, "targetVersion"), "PostgreSQL 15.18") == 0);
    /* running since 2026-11-24T10:00:00: more than a day by now */
    CHECK(json_object_get_double(json_object_object_get(m, "elapsedSeconds")) >
          86400.0);

    json_object *shop =
        s_find(output, "DatabaseLevelOutput", "databaseName", "shop");
    CHECK(shop != NULL);
    CHECK(strcmp(s_str(shop, "migrationState"), "FULL_LOAD") == 0);
    CHECK(strcmp(s_str(shop, "targetDatabaseName"), "shop2") == 0);
    CHECK(s_int(shop, "fullLoadCompletedTables") == 1);
    CHECK(s_int(shop, "fullLoadLoadingTables") == 1);
    CHECK(s_int(shop, "fullLoadQueuedTables") == 1);
    CHECK(s_int(shop, "fullLoadErroredTables") == 0);
    json_object *hr =
        s_find(output, "DatabaseLevelOutput", "databaseName", "hr");
    CHECK(hr != NULL && s_int(hr, "fullLoadErroredTables") == 1);
    CHECK_CONTAINS(s_str(hr, "errorMessage"), "boom");

    json_object *done =
        s_find(output, "TableLevelOutput", "tableName", "public.done");
    CHECK(done != NULL && strcmp(s_str(done, "state"), "COMPLETED") == 0);
    CHECK(s_int(done, "fullLoadTotalRows") == 500);
    CHECK(s_int(done, "fullLoadTotalVolumeBytes") == 4000);
    CHECK(strcmp(s_str(done, "id"), "or|shop|public|done") == 0);
    json_object *loading =
        s_find(output, "TableLevelOutput", "tableName", "public.loading");
    CHECK(loading != NULL);
    CHECK(s_int(loading, "partitionsDone") == 2);
    CHECK(s_int(loading, "partitionsTotal") == 4);
    /* live bytes are the ranges' bytes so far; rows are estimated from
     * them against the table's size: 600000 of 1000000 bytes, 10000 rows */
    CHECK(s_int(loading, "fullLoadTotalVolumeBytes") == 600000);
    CHECK(s_int(loading, "fullLoadTotalRows") == 6000);
    /* the estimate of a table still loading is its size on the source, of
     * a done one what it copied */
    CHECK(s_int(loading, "fullLoadEstimatedBytes") == 1000000);
    CHECK(s_int(done, "fullLoadEstimatedBytes") == 4000);
    CHECK(json_object_get_double(
              json_object_object_get(loading, "fullLoadSeconds")) > 86400.0);

    /* a database's totals are its tables': shop's done (500 rows, 4000
     * bytes) and loading (6000, 600000) ones */
    CHECK(s_int(shop, "fullLoadTotalRows") == 6500);
    CHECK(s_int(shop, "fullLoadTotalVolumeBytes") == 604000);
    CHECK(s_int(hr, "fullLoadTotalRows") == 0);
    /* and the bar's total: done 4000, loading and waiting 1000000 each */
    CHECK(s_int(shop, "fullLoadEstimatedBytes") == 2004000);

    /* a summary: the same task and database outputs, no table's */
    char *summary = status_task_json(c.store, 1, true, true);
    json_object *root3 = json_tokener_parse(summary);
    json_object *props3 = NULL;
    json_object *out3 = NULL;
    CHECK(json_object_object_get_ex(root3, "properties", &props3));
    CHECK(json_object_object_get_ex(props3, "output", &out3));
    CHECK(json_object_array_length(out3) == 1 + 2);
    CHECK(s_find(out3, "TableLevelOutput", NULL, NULL) == NULL);
    json_object *shop3 =
        s_find(out3, "DatabaseLevelOutput", "databaseName", "shop");
    CHECK(shop3 != NULL && s_int(shop3, "fullLoadTotalRows") == 6500);
    CHECK(s_int(shop3, "fullLoadTotalVolumeBytes") == 604000);
    CHECK(s_int(shop3, "fullLoadLoadingTables") == 1);
    json_object_put(root3);
    free(summary);

    json_object *errors = NULL;
    CHECK(json_object_object_get_ex(props, "errors", &errors));
    CHECK(json_object_array_length(errors) == 1);
    CHECK_CONTAINS(json_object_get_string(json_object_array_get_idx(errors, 0)),
                   "database \"hr\"");

    /* without --expand: no output list */
    char *brief = status_task_json(c.store, 1, false, false);
    json_object *root2 = json_tokener_parse(brief);
    json_object *props2 = NULL;
    json_object *out2 = NULL;
    CHECK(json_object_object_get_ex(root2, "properties", &props2));
    CHECK(!json_object_object_get_ex(props2, "output", &out2));

    json_object_put(root);
    json_object_put(root2);
    free(text);
    free(brief);
    registry_destroy(&c.registry);
    store_destroy(&c.store);
    coord_fixture_remove_catalog(dir);
    puts("test_status: ok");
    return 0;
}
