/*
 * tests/unit/coord_fixture.c
 *     A coordinator over a catalog of its own, and the steps its tests
 *     share, written through the coordinator's own functions.
 */
#include "coord_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "common/strbuf.h"
#include "coordinator/advance.h"
#include "coordinator/plan.h"
#include "coordinator/results.h"
#include "coordinator/units.h"

void
coord_fixture_open(coord_fixture_t *self, const char *name)
{
    *self = (coord_fixture_t){0};
    snprintf(self->dir, sizeof self->dir, "/tmp/pgconvoy-test-%s-XXXXXX", name);
    CHECK(mkdtemp(self->dir) != NULL);
    self->coord.store = store_new(self->dir);
    CHECK(self->coord.store != NULL);
    self->coord.registry = registry_new();
    self->coord.secrets = secrets_new();
    self->coord.outbox = outbox_new();
    self->coord.agent_timeout_ms = COORD_AGENT_TIMEOUT_MS;
    /* no CLI waits: nothing is answered */
    self->coord.pending = pending_new(NULL, self->coord.outbox);
    CHECK(store_exec(self->coord.store,
                     "INSERT INTO projects (name, source_platform, "
                     "target_platform, created_at) VALUES ('P', 'PostgreSQL', "
                     "'PostgreSQL', 'now')",
                     NULL) == 0);
}

void
coord_fixture_close(coord_fixture_t *self)
{
    coord_t *c = &self->coord;

    store_destroy(&c->store);
    registry_destroy(&c->registry);
    secrets_destroy(&c->secrets);
    pending_destroy(&c->pending);
    outbox_destroy(&c->outbox);
    free(c->advance);
    coord_fixture_remove_catalog(self->dir);
}

void
coord_fixture_remove_catalog(const char *dir)
{
    static const char *const files[] = {"pgconvoy.db", "pgconvoy.db-wal",
                                        "pgconvoy.db-shm"};

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    {
        char *path = xasprintf("%s/%s", dir, files[i]);
        (void) unlink(path);
        free(path);
    }
    (void) rmdir(dir);
}

int64_t
coord_fixture_task(coord_fixture_t *self, const char *task, bool online,
                   const char *db_name, int64_t split_bytes, int64_t *db_id)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    Pgconvoy__Endpoint source = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__Endpoint target = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__DatabaseOption db = PGCONVOY__DATABASE_OPTION__INIT;
    Pgconvoy__DatabaseOption *dbs[] = {&db};
    char *error = NULL;

    source.host = "src.example";
    source.port = 5433;
    source.user = "convoy";
    source.dbname = "postgres";
    target = source;
    target.host = "dst.example";
    target.port = 5434;
    db.name = (char *) db_name;
    db.target_name = (char *) db_name;
    req.task = (char *) task;
    req.task_type = online ? "OnlineMigration" : "OfflineMigration";
    req.source = &source;
    req.target = &target;
    req.databases = dbs;
    req.n_databases = 1;
    req.split_bytes = split_bytes;
    req.fix_replica_identity = online;

    int64_t id = plan_create_task(&self->coord, &req, 1, &error);
    CHECK(id > 0 && error == NULL);
    *db_id = store_int(self->coord.store, 0,
                       "SELECT id FROM databases WHERE task_id = ?", "i", id);
    CHECK(*db_id > 0);
    return id;
}

int64_t
coord_fixture_place(coord_fixture_t *self, int64_t db_id, int kind,
                    const char *agent)
{
    int64_t id = store_int(self->coord.store, 0,
                           "SELECT id FROM units WHERE database_id = ? AND "
                           "kind = ? AND state = 'queued' ORDER BY id LIMIT 1",
                           "ii", db_id, (int64_t) kind);

    CHECK(id > 0);
    CHECK(units_place(self->coord.store, id, agent, id, id, 1.0) == 0);
    return id;
}

void
coord_fixture_sweep(coord_fixture_t *self)
{
    while (advance_sweep(&self->coord))
    {
        advance_requested(&self->coord);
    }
    advance_requested(&self->coord);
}

void
coord_fixture_set_state(coord_fixture_t *self, const char *table, int64_t id,
                        const char *spelling)
{
    char *sql = xasprintf("UPDATE %s SET state = ? WHERE id = ?", table);

    CHECK(store_exec(self->coord.store, sql, "si", spelling, id) == 0);
    CHECK(store_changes(self->coord.store) == 1);
    free(sql);
}

void
coord_fixture_prepare(coord_fixture_t *self, int64_t db_id,
                      Pgconvoy__TableRef **tables, size_t n, bool has_schema)
{
    Pgconvoy__Result r = PGCONVOY__RESULT__INIT;

    r.unit_id = (uint64_t) coord_fixture_place(self, db_id, K_PREPARE, "a1");
    r.ok = true;
    r.source_version = "PostgreSQL 16.4";
    r.target_version = "PostgreSQL 16.4";
    r.target_has_schema = has_schema;
    r.tables = tables;
    r.n_tables = n;
    results_on_result(&self->coord, "a1", &r);
}
