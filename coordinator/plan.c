/*
 * coordinator/plan.c
 *     The state machine: what units a task needs, when, and on which
 *     agent; what a unit's result changes.
 *
 * Per database: PREPARING (prepare) -> SCHEMA (snapshot + schema-pre)
 * -> FULL_LOAD (one copy unit per table, under the snapshot) ->
 * COMPLETING (post-data items in parallel, then finalize) -> COMPLETED.
 * Every change is one catalog transaction. A unit is only ever "done"
 * after its agent said so, and an agent says so only after the target
 * committed, so the catalog never runs ahead of the target.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/coord.h"
#include "coordinator/states.h"

#define K_PREPARE PGFERRY__UNIT_KIND__UNIT_PREPARE
#define K_SNAPSHOT PGFERRY__UNIT_KIND__UNIT_SNAPSHOT
#define K_SCHEMA_PRE PGFERRY__UNIT_KIND__UNIT_SCHEMA_PRE
#define K_COPY PGFERRY__UNIT_KIND__UNIT_COPY
#define K_SCHEMA_POST PGFERRY__UNIT_KIND__UNIT_SCHEMA_POST
#define K_FINALIZE PGFERRY__UNIT_KIND__UNIT_FINALIZE
#define K_ANALYZE PGFERRY__UNIT_KIND__UNIT_ANALYZE
#define K_SLOT PGFERRY__UNIT_KIND__UNIT_SLOT
#define K_CDC PGFERRY__UNIT_KIND__UNIT_CDC
#define K_CLEANUP PGFERRY__UNIT_KIND__UNIT_CLEANUP

/* The cdc unit's latency under which a database is READY_TO_COMPLETE,
 * and over which it is CATCHING_UP again. */
#define PLAN_READY_LATENCY_MS 1000
#define PLAN_BEHIND_LATENCY_MS 10000

/*
 * Tables larger than this are copied as several block ranges at once.
 * DESIGN.md suggested 256MB; measured on the benchmark (pgbench scale 30
 * plus a 191MB table, 2 agents), splitting the 384MB table cost 1.2 s of
 * 9: ranges lose COPY FREEZE, and the index builds that follow then pay
 * for visibility checks and hint bits on every row. Ranges pay off for
 * tables that dwarf the rest, hence 1GB.
 */
#define PLAN_DEFAULT_SPLIT_BYTES (1024LL * 1024 * 1024)
/* the most ranges one table is cut into */
#define PLAN_MAX_PARTS 256
/* PostgreSQL's default block size, to turn pages into bytes */
#define PLAN_BLOCK_SIZE 8192

/*
 * Placement batches: units of tables smaller than PLAN_BATCH_TABLE_BYTES
 * cost more to place (a round trip to the coordinator, two catalog
 * writes) than to run, so up to PLAN_BATCH_UNITS of them, covering up to
 * PLAN_BATCH_BYTES of tables, go to an agent together.
 */
#define PLAN_BATCH_TABLE_BYTES (16LL * 1024 * 1024)
#define PLAN_BATCH_BYTES (64LL * 1024 * 1024)
#define PLAN_BATCH_UNITS 64
/* the weight of an index build whose table is not known */
#define PLAN_UNKNOWN_BYTES (1LL << 40)

/* the most snapshots one database may need before we give up on it */
#define PLAN_MAX_SNAPSHOTS 5

static const char *const s_kind_names[] = {
    "none",     "prepare", "snapshot", "schema-pre", "copy",   "schema-post",
    "finalize", "analyze", "slot",     "cdc",        "cleanup"};

static const char *
s_kind_name(int kind)
{
    return kind >= 0 && kind <= K_CLEANUP ? s_kind_names[kind] : "unknown";
}

static int
s_priority(int kind)
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

static double
s_wall_now(void)
{
    return (double) zclock_time() / 1000.0;
}

static int
s_add_unit(coord_t *self, int64_t task_id, int64_t db_id, int kind,
           int64_t table_id, int64_t item_id, int64_t weight)
{
    return store_exec(self->store,
                      "INSERT INTO units (task_id, database_id, kind, "
                      "table_id, item_id, priority, weight) "
                      "VALUES (?, ?, ?, nullif(?, 0), nullif(?, 0), ?, ?)",
                      "iiiiiii", task_id, db_id, (int64_t) kind, table_id,
                      item_id, (int64_t) s_priority(kind), weight);
}

void
coord_event(coord_t *self, int64_t task_id, const char *level, const char *fmt,
            ...)
{
    char now[40];
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    store_now(now, sizeof now);
    (void) store_exec(self->store,
                      "INSERT INTO events (at, task_id, level, message) "
                      "VALUES (?, ?, ?, ?)",
                      "siss", now, task_id, level, text);
    log_write(strcmp(level, "error") == 0  ? LOG_LEVEL_ERROR
              : strcmp(level, "warn") == 0 ? LOG_LEVEL_WARN
                                           : LOG_LEVEL_INFO,
              "task=%" PRId64 " %s", task_id, text);
}

int
plan_create_task(coord_t *self, const Pgferry__Request *req, int64_t project_id,
                 char **error)
{
    char now[40];
    zuuid_t *uuid = zuuid_new();
    int64_t task_id = 0;

    store_now(now, sizeof now);
    if (store_begin(self->store) != 0)
    {
        *error = xstrdup("could not write to the catalog");
        zuuid_destroy(&uuid);
        return -1;
    }
    if (store_exec(
            self->store,
            "INSERT INTO tasks (project_id, name, task_type, state, "
            "task_key, src_host, src_port, src_user, src_db, "
            "tgt_host, tgt_port, tgt_user, tgt_db, started_at, "
            "split_bytes, online, fix_replica_identity) "
            "VALUES (?, ?, ?, 'Pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?)",
            "issssisssisssiii", project_id, req->task, req->task_type,
            zuuid_str_canonical(uuid), req->source->host,
            (int64_t) req->source->port, req->source->user, req->source->dbname,
            req->target->host, (int64_t) req->target->port, req->target->user,
            req->target->dbname, now,
            req->split_bytes > 0 ? req->split_bytes : PLAN_DEFAULT_SPLIT_BYTES,
            (int64_t) (strcmp(req->task_type, "OnlineMigration") == 0),
            (int64_t) req->fix_replica_identity) != 0)
    {
        goto failed;
    }
    task_id = store_last_id(self->store);
    for (size_t i = 0; i < req->n_databases; i++)
    {
        const Pgferry__DatabaseOption *db = req->databases[i];
        strbuf_t *selected = strbuf_new();
        for (size_t j = 0; j < db->n_selected_tables; j++)
        {
            strbuf_appendf(selected, "%s%s", j ? "\n" : "",
                           db->selected_tables[j]);
        }
        int rc = store_exec(self->store,
                            "INSERT INTO databases (task_id, name, "
                            "target_name, selected, state, started_at) "
                            "VALUES (?, ?, ?, ?, 'PREPARING', ?)",
                            "issss", task_id, db->name, db->target_name,
                            strbuf_data(selected), now);
        strbuf_destroy(&selected);
        if (rc != 0 || s_add_unit(self, task_id, store_last_id(self->store),
                                  K_PREPARE, 0, 0, 0) != 0)
        {
            goto failed;
        }
    }
    if (store_commit(self->store) != 0)
    {
        goto failed;
    }
    zuuid_destroy(&uuid);

    secrets_put(self->secrets, task_id, req->source->password,
                req->target->password);
    return (int) task_id;

failed:
    store_rollback(self->store);
    zuuid_destroy(&uuid);
    *error = xstrdup("could not write the task to the catalog");
    return -1;
}

/* ----- building an Assign ----- */

static Pgferry__Endpoint *
s_endpoint(const char *host, int64_t port, const char *user, const char *dbname,
           const char *password)
{
    Pgferry__Endpoint *ep = xcalloc(1, sizeof *ep);

    pgferry__endpoint__init(ep);
    ep->host = xstrdup(host);
    ep->port = (uint32_t) port;
    ep->user = xstrdup(user);
    ep->dbname = xstrdup(dbname);
    if (password != NULL)
    {
        ep->password = xstrdup(password);
    }
    return ep;
}

static Pgferry__TableRef *
s_table_ref(sqlite3_stmt *stmt, int first)
{
    Pgferry__TableRef *t = xcalloc(1, sizeof *t);

    pgferry__table_ref__init(t);
    t->schema = xstrdup(store_text(stmt, first));
    t->name = xstrdup(store_text(stmt, first + 1));
    t->binary = sqlite3_column_int(stmt, first + 2) != 0;
    t->columns = xstrdup(store_text(stmt, first + 3));
    t->bytes = sqlite3_column_int64(stmt, first + 4);
    t->rows = sqlite3_column_int64(stmt, first + 5);
    return t;
}

#define TABLE_COLUMNS                                                          \
    "schema_name, table_name, binary_ok, columns, "                            \
    "bytes_est, rows_est"

static void
s_add_tables(coord_t *self, Pgferry__Assign *a, int64_t db_id)
{
    sqlite3_stmt *stmt = store_query(self->store,
                                     "SELECT " TABLE_COLUMNS
                                     " FROM tables_ WHERE database_id = ? "
                                     "ORDER BY id",
                                     "i", db_id);

    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        a->tables = realloc(a->tables, (a->n_tables + 1) * sizeof *a->tables);
        a->tables[a->n_tables++] = s_table_ref(stmt, 0);
    }
    sqlite3_finalize(stmt);
}

static void
s_add_items(coord_t *self, Pgferry__Assign *a, const char *where, int64_t key)
{
    char *sql = xasprintf("SELECT id, kind, tag, sql, phase FROM "
                          "schema_items WHERE %s ORDER BY id",
                          where);
    sqlite3_stmt *stmt = store_query(self->store, sql, "i", key);

    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        Pgferry__SchemaItem *item = xcalloc(1, sizeof *item);
        pgferry__schema_item__init(item);
        item->id = (uint64_t) sqlite3_column_int64(stmt, 0);
        item->kind = xstrdup(store_text(stmt, 1));
        item->tag = xstrdup(store_text(stmt, 2));
        item->sql = xstrdup(store_text(stmt, 3));
        item->phase = (uint32_t) sqlite3_column_int(stmt, 4);
        a->items = realloc(a->items, (a->n_items + 1) * sizeof *a->items);
        a->items[a->n_items++] = item;
    }
    sqlite3_finalize(stmt);
    free(sql);
}

static void
s_add_selected(Pgferry__Assign *a, const char *selected)
{
    char *copy = xstrdup(selected);
    char *save = NULL;

    for (char *name = strtok_r(copy, "\n", &save); name != NULL;
         name = strtok_r(NULL, "\n", &save))
    {
        a->selected_tables = realloc(
            a->selected_tables, (a->n_selected_tables + 1) * sizeof(char *));
        a->selected_tables[a->n_selected_tables++] = xstrdup(name);
    }
    free(copy);
}

/* Builds the Assign of a unit from the catalog; NULL if it is gone. */
static Pgferry__Assign *
s_build_assign(coord_t *self, int64_t unit_id)
{
    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT u.kind, u.table_id, u.item_id, t.task_key, t.src_host, "
        "       t.src_port, t.src_user, d.name, t.tgt_host, t.tgt_port, "
        "       t.tgt_user, d.target_name, d.selected, d.snapshot, "
        "       d.skip_schema, t.id, d.id, t.online, t.fix_replica_identity, "
        "       d.slot, d.start_lsn, d.cutover, d.validate, d.end_lsn, "
        "       d.state, (SELECT count(*) FROM units f WHERE f.database_id = "
        "                 d.id AND f.kind = 6 AND f.state = 'done') "
        "  FROM units u JOIN tasks t ON t.id = u.task_id "
        "  JOIN databases d ON d.id = u.database_id WHERE u.id = ?",
        "i", unit_id);
    Pgferry__Assign *a = NULL;

    if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW)
    {
        sqlite3_finalize(stmt);
        return NULL;
    }
    int64_t task_id = sqlite3_column_int64(stmt, 15);
    int kind = sqlite3_column_int(stmt, 0);
    int64_t db_id = sqlite3_column_int64(stmt, 16);

    a = xcalloc(1, sizeof *a);
    pgferry__assign__init(a);
    a->unit_id = (uint64_t) unit_id;
    a->kind = (Pgferry__UnitKind) kind;
    a->task_key = xstrdup(store_text(stmt, 3));
    a->source = s_endpoint(store_text(stmt, 4), sqlite3_column_int64(stmt, 5),
                           store_text(stmt, 6), store_text(stmt, 7),
                           secrets_source(self->secrets, task_id));
    a->target = s_endpoint(store_text(stmt, 8), sqlite3_column_int64(stmt, 9),
                           store_text(stmt, 10), store_text(stmt, 11),
                           secrets_target(self->secrets, task_id));
    if (sqlite3_column_type(stmt, 13) != SQLITE_NULL)
    {
        a->snapshot = xstrdup(store_text(stmt, 13));
    }
    a->skip_schema = sqlite3_column_int(stmt, 14) != 0;
    a->online = sqlite3_column_int(stmt, 17) != 0;
    a->fix_replica_identity = sqlite3_column_int(stmt, 18) != 0;
    if (sqlite3_column_type(stmt, 19) != SQLITE_NULL)
    {
        a->slot = xstrdup(store_text(stmt, 19));
    }
    a->start_lsn = (uint64_t) sqlite3_column_int64(stmt, 20);
    a->cutover = sqlite3_column_int(stmt, 21) != 0;
    a->validate = sqlite3_column_int(stmt, 22) != 0;
    a->end_lsn = (uint64_t) sqlite3_column_int64(stmt, 23);
    /* a database that failed half-loaded gives its tables back empty, for
     * a new task; one that failed after its full load (a difference found
     * by --validate, say) keeps them, for the operator to look into */
    _Static_assert(K_FINALIZE == 6, "the query names finalize by number");
    a->truncate_target = strcmp(store_text(stmt, 24), "FAILED") == 0 &&
                         sqlite3_column_int64(stmt, 25) == 0;
    if (kind == K_PREPARE || kind == K_SCHEMA_PRE)
    {
        s_add_selected(a, store_text(stmt, 12));
    }
    if (kind == K_SCHEMA_PRE || kind == K_FINALIZE || kind == K_SLOT ||
        kind == K_CDC || kind == K_CLEANUP)
    {
        s_add_tables(self, a, db_id);
    }
    if (kind == K_COPY || kind == K_ANALYZE)
    {
        sqlite3_stmt *t = store_query(
            self->store,
            "SELECT " TABLE_COLUMNS ", t.parts, u.part, u.first_page, "
            "       u.last_page "
            "  FROM units u JOIN tables_ t ON t.id = u.table_id "
            " WHERE u.id = ?",
            "i", unit_id);
        if (t != NULL && sqlite3_step(t) == SQLITE_ROW)
        {
            a->table = s_table_ref(t, 0);
            a->table->parts = (uint32_t) sqlite3_column_int(t, 6);
            a->table->part = (uint32_t) sqlite3_column_int(t, 7);
            a->table->first_page = sqlite3_column_int64(t, 8);
            a->table->last_page = sqlite3_column_int64(t, 9);
        }
        sqlite3_finalize(t);
    }
    if (kind == K_SCHEMA_POST)
    {
        s_add_items(self, a, "id = ?", sqlite3_column_int64(stmt, 2));
    }
    if (kind == K_FINALIZE)
    {
        s_add_items(self, a, "phase = 2 AND database_id = ?", db_id);
        /* online: pgferry.cdc_counts lives there until the cutover */
        a->last = !a->online;
    }
    sqlite3_finalize(stmt);
    return a;
}

static int64_t s_count_units(coord_t *self, int64_t db_id, int kind,
                             const char *states);

/* Units holding a snapshot only wait: they take no job slot. */
#define HOLDER_KINDS "(2, 8)" /* K_SNAPSHOT, K_SLOT */
_Static_assert(K_SNAPSHOT == 2 && K_SLOT == 8, "HOLDER_KINDS lists them");

/*
 * Records the placement of a unit on agent: batch is the first unit of
 * its batch (itself, placed alone). A copy's table shows as LOADING once
 * the copy has started (plan_on_progress), not here: in a batch it may
 * wait for the units before it.
 */
static int
s_mark_placed(coord_t *self, registry_agent_t *agent, int64_t unit_id,
              int64_t batch)
{
    return store_exec(self->store,
                      "UPDATE units SET state = 'running', agent = ?, "
                      "attempts = attempts + 1, assigned_at = ?, error = NULL, "
                      "started = 0, batch = ? WHERE id = ?",
                      "sdii", agent->name, s_wall_now(), batch, unit_id);
}

/*
 * Places units ids[0..n) on agent: one Assign, or (n > 1) an AssignBatch
 * that the agent runs one unit after the other. Marked running in the
 * catalog, sent once that commits (the outbox). Returns 0 or -1.
 */
static int
s_send_units(coord_t *self, registry_agent_t *agent, const int64_t *ids,
             size_t n)
{
    Pgferry__AssignBatch batch = PGFERRY__ASSIGN_BATCH__INIT;
    Pgferry__Envelope env = PGFERRY__ENVELOPE__INIT;
    int rc = -1;

    batch.units = xcalloc(n, sizeof *batch.units);
    if (store_begin(self->store) != 0)
    {
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
    {
        Pgferry__Assign *a = s_build_assign(self, ids[i]);
        if (a == NULL || s_mark_placed(self, agent, ids[i], ids[0]) != 0)
        {
            if (a != NULL)
            {
                pgferry__assign__free_unpacked(a, NULL);
            }
            store_rollback(self->store);
            goto cleanup;
        }
        batch.units[batch.n_units++] = a;
    }
    if (store_commit(self->store) != 0)
    {
        store_rollback(self->store);
        goto cleanup;
    }
    if (n == 1)
    {
        env.body_case = PGFERRY__ENVELOPE__BODY_ASSIGN;
        env.assign = batch.units[0];
    }
    else
    {
        env.body_case = PGFERRY__ENVELOPE__BODY_ASSIGN_BATCH;
        env.assign_batch = &batch;
    }
    rc = outbox_add(self->outbox, self->agents, agent->route, &env);
    log_info("unit=%" PRId64 " kind=%s agent=%s assigned%s", ids[0],
             s_kind_name(batch.units[0]->kind), agent->name,
             n > 1 ? ", the first of a batch" : "");
    if (n > 1)
    {
        log_debug("units=%zu batch=%" PRId64 " agent=%s placed together", n,
                  ids[0], agent->name);
    }

cleanup:
    /* built with malloc field by field, as unpack would have */
    for (size_t i = 0; i < batch.n_units; i++)
    {
        pgferry__assign__free_unpacked(batch.units[i], NULL);
    }
    free(batch.units);
    return rc;
}

/* Job slots in use on an agent: a batch takes one, as it runs its units
 * one after the other. */
static int
s_running_on(coord_t *self, const char *agent)
{
    return (int) store_int(
        self->store, 0,
        "SELECT count(DISTINCT coalesce(batch, id)) FROM units WHERE state = "
        "'running' AND agent = ? AND kind NOT IN " HOLDER_KINDS,
        "s", agent);
}

/* The job slots of every live agent. */
static int64_t
s_total_slots(coord_t *self)
{
    int64_t slots = 0;

    for (size_t i = 0; i < registry_size(self->registry); i++)
    {
        registry_agent_t *agent = registry_at(self->registry, i);
        slots += agent->alive ? agent->jobs : 0;
    }
    return slots > 0 ? slots : 1;
}

/*
 * Places the head of the queue on agent, with more units like it when
 * it is small: copies, index builds and ANALYZEs of tables under
 * PLAN_BATCH_TABLE_BYTES, of the same kind and database, up to
 * PLAN_BATCH_UNITS units and PLAN_BATCH_BYTES of tables. A batch takes
 * at most a share of what is queued (half of it over every slot), so
 * that the last units still spread over the agents.
 */
static int
s_place(coord_t *self, registry_agent_t *agent, int64_t head)
{
    int64_t ids[PLAN_BATCH_UNITS];
    size_t n = 1;
    /* a range of a split table is not batched: its table was split so
     * that its ranges run in parallel */
    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT kind, database_id, weight, first_page = 0 AND last_page = 0 "
        "FROM units WHERE id = ?",
        "i", head);
    int kind = 0;
    int64_t db_id = 0;
    int64_t bytes = 0;
    bool whole = false;

    ids[0] = head;
    if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        kind = sqlite3_column_int(stmt, 0);
        db_id = sqlite3_column_int64(stmt, 1);
        bytes = sqlite3_column_int64(stmt, 2);
        whole = sqlite3_column_int(stmt, 3) != 0;
    }
    sqlite3_finalize(stmt);
    if ((kind == K_SCHEMA_POST || kind == K_ANALYZE ||
         (kind == K_COPY && whole)) &&
        bytes < PLAN_BATCH_TABLE_BYTES)
    {
        int64_t queued = s_count_units(self, db_id, kind, "'queued'");
        int64_t share = queued / (2 * s_total_slots(self));
        int64_t want = share < PLAN_BATCH_UNITS ? share : PLAN_BATCH_UNITS;

        stmt = store_query(self->store,
                           "SELECT id, weight FROM units WHERE database_id = ? "
                           "AND kind = ? AND state = 'queued' AND id <> ? "
                           "AND weight < ? AND first_page = 0 AND "
                           "last_page = 0 ORDER BY id LIMIT ?",
                           "iiiii", db_id, (int64_t) kind, head,
                           (int64_t) PLAN_BATCH_TABLE_BYTES, want - 1);
        while (stmt != NULL && (int64_t) n < want && bytes < PLAN_BATCH_BYTES &&
               sqlite3_step(stmt) == SQLITE_ROW)
        {
            ids[n++] = sqlite3_column_int64(stmt, 0);
            bytes += sqlite3_column_int64(stmt, 1);
        }
        sqlite3_finalize(stmt);
    }
    return s_send_units(self, agent, ids, n);
}

void
plan_dispatch(coord_t *self)
{
    size_t n = registry_size(self->registry);
    size_t next_holder = 0;
    bool placed = true;

    /* snapshot holders take no job slot: they only wait */
    for (;;)
    {
        int64_t id =
            store_int(self->store, 0,
                      "SELECT id FROM units WHERE state = 'queued' "
                      "AND kind IN " HOLDER_KINDS " ORDER BY id LIMIT 1",
                      NULL);
        registry_agent_t *agent = NULL;
        for (size_t i = 0; id != 0 && agent == NULL && i < n; i++)
        {
            registry_agent_t *candidate =
                registry_at(self->registry, (next_holder + i) % n);
            agent = candidate->alive ? candidate : NULL;
        }
        if (agent == NULL || s_send_units(self, agent, &id, 1) != 0)
        {
            break;
        }
        next_holder++;
    }
    /* one placement per agent per round, so that work spreads over all
     * agents from the start */
    while (placed)
    {
        placed = false;
        for (size_t i = 0; i < n; i++)
        {
            registry_agent_t *agent = registry_at(self->registry, i);
            if (!agent->alive ||
                agent->jobs - s_running_on(self, agent->name) <= 0)
            {
                continue;
            }
            int64_t id = store_int(
                self->store, 0,
                "SELECT u.id FROM units u "
                "  JOIN databases d ON d.id = u.database_id "
                " WHERE u.state = 'queued' AND u.kind NOT IN " HOLDER_KINDS
                "   AND (u.kind <> ? OR d.snapshot IS NOT NULL) "
                " ORDER BY u.priority DESC, u.weight DESC, u.id LIMIT 1",
                "i", (int64_t) K_COPY);
            if (id == 0)
            {
                return;
            }
            placed = s_place(self, agent, id) == 0 || placed;
        }
    }
}

/* ----- advancing a database ----- */

/* A database's state; DB_STATE_COUNT if it is gone or unreadable. */
static db_state_t
s_database_state(coord_t *self, int64_t db_id)
{
    db_state_t state = DB_STATE_COUNT;
    sqlite3_stmt *stmt = store_query(
        self->store, "SELECT state FROM databases WHERE id = ?", "i", db_id);

    if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW &&
        states_db_parse(store_text(stmt, 0), &state) != 0)
    {
        state = DB_STATE_COUNT;
    }
    sqlite3_finalize(stmt);
    return state;
}

/*
 * The one place a database's state moves: checked against the allowed
 * moves (states.c), then the row and its event written together, in the
 * caller's transaction. A final state sets ended_at; error, if not NULL,
 * is kept as the database's first error. A move the table does not allow
 * is a bug: logged, and nothing is written. Returns 0 if it moved, 1 if
 * the database was in that state already, -1 if refused.
 */
static int
s_move_database(coord_t *self, int64_t db_id, db_state_t to, const char *error)
{
    db_state_t from = DB_STATE_COUNT;
    int64_t task_id = 0;
    char *name = NULL;
    char now[40];
    sqlite3_stmt *stmt = store_query(
        self->store, "SELECT state, task_id, name FROM databases WHERE id = ?",
        "i", db_id);

    if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        (void) states_db_parse(store_text(stmt, 0), &from);
        task_id = sqlite3_column_int64(stmt, 1);
        name = xstrdup(store_text(stmt, 2));
    }
    sqlite3_finalize(stmt);
    if (from == to)
    {
        free(name);
        return 1;
    }
    if (!states_db_can_move(from, to))
    {
        log_error("database_id=%" PRId64 " cannot move from %s to %s", db_id,
                  states_db_name(from), states_db_name(to));
        free(name);
        return -1;
    }
    store_now(now, sizeof now);
    (void) store_exec(self->store,
                      "UPDATE databases SET state = ?, error = coalesce(error, "
                      "?), ended_at = CASE WHEN ? THEN coalesce(ended_at, ?) "
                      "ELSE ended_at END WHERE id = ?",
                      "ssisi", states_db_name(to), error,
                      (int64_t) states_db_is_final(to), now, db_id);
    coord_event(self, task_id, to == DB_FAILED ? "error" : "info",
                "database=%s %s -> %s%s%s", name, states_db_name(from),
                states_db_name(to), error != NULL ? ": " : "",
                error != NULL ? error : "");
    free(name);
    return 0;
}

static int64_t s_queue_items(coord_t *self, int64_t task_id, int64_t db_id,
                             int64_t table_id);
static void s_queue_analyze(coord_t *self, int64_t task_id, int64_t db_id,
                            int64_t table_id);

static int64_t
s_count_units(coord_t *self, int64_t db_id, int kind, const char *states)
{
    /* kept by triggers (store.c): no units are counted here */
    char *sql = xasprintf("SELECT coalesce(sum(n), 0) FROM unit_counts WHERE "
                          "database_id = ? AND kind = ? AND state IN (%s)",
                          states);
    int64_t n = store_int(self->store, 0, sql, "ii", db_id, (int64_t) kind);
    free(sql);
    return n;
}

/* The ids of a task's databases (free() the array). */
static int64_t *
s_database_ids(coord_t *self, int64_t task_id, size_t *count)
{
    sqlite3_stmt *stmt = store_query(
        self->store, "SELECT id FROM databases WHERE task_id = ? ORDER BY id",
        "i", task_id);
    int64_t *ids = NULL;

    *count = 0;
    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        int64_t *grown = realloc(ids, (*count + 1) * sizeof *ids);
        if (grown == NULL)
        {
            abort();
        }
        ids = grown;
        ids[(*count)++] = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return ids;
}

/* Sends Release for the running units of a database of one kind (0: the
 * snapshot holders); cutover/validate: the cdc unit is to cut over. */
static void
s_send_release(coord_t *self, int64_t db_id, int kind, bool cutover,
               bool validate)
{
    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT id, agent FROM units WHERE database_id = ? AND state = "
        "'running' AND (kind = ? OR (? = 0 AND kind IN " HOLDER_KINDS "))",
        "iii", db_id, (int64_t) kind, (int64_t) kind);

    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        registry_agent_t *agent =
            registry_find(self->registry, store_text(stmt, 1));
        Pgferry__Envelope env = PGFERRY__ENVELOPE__INIT;
        Pgferry__Release release = PGFERRY__RELEASE__INIT;

        release.unit_id = (uint64_t) sqlite3_column_int64(stmt, 0);
        release.cutover = cutover;
        release.validate = validate;
        env.body_case = PGFERRY__ENVELOPE__BODY_RELEASE;
        env.release = &release;
        if (agent != NULL && agent->alive)
        {
            (void) outbox_add(self->outbox, self->agents, agent->route, &env);
        }
    }
    sqlite3_finalize(stmt);
}

/*
 * Stops the batches running for a database after the unit each is on:
 * the database is cancelled or failed, and the units not started yet
 * are not to run.
 */
static void
s_release_batches(coord_t *self, int64_t db_id)
{
    sqlite3_stmt *stmt =
        store_query(self->store,
                    "SELECT DISTINCT batch, agent FROM units WHERE "
                    "database_id = ? AND state = 'running' AND batch <> id",
                    "i", db_id);

    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        registry_agent_t *agent =
            registry_find(self->registry, store_text(stmt, 1));
        Pgferry__Envelope env = PGFERRY__ENVELOPE__INIT;
        Pgferry__Release release = PGFERRY__RELEASE__INIT;

        release.unit_id = (uint64_t) sqlite3_column_int64(stmt, 0);
        env.body_case = PGFERRY__ENVELOPE__BODY_RELEASE;
        env.release = &release;
        if (agent != NULL && agent->alive)
        {
            (void) outbox_add(self->outbox, self->agents, agent->route, &env);
        }
    }
    sqlite3_finalize(stmt);
}

static void
s_release_snapshots(coord_t *self, int64_t db_id)
{
    s_send_release(self, db_id, 0, false, false);
    /*
     * Marked released (a holder's "started"): a holder released before its
     * snapshot report arrived would otherwise set, with that report, a
     * snapshot that dies as it lets go, and copies would be sent to it.
     */
    (void) store_exec(self->store,
                      "UPDATE units SET started = 1 WHERE database_id = ? "
                      "AND state = 'running' AND kind IN " HOLDER_KINDS,
                      "i", db_id);
    /* copies queued from now on need a new snapshot */
    (void) store_exec(self->store,
                      "UPDATE databases SET snapshot = NULL WHERE id = ?", "i",
                      db_id);
}

/*
 * An online database that will not complete: its cdc unit stops, and a
 * cleanup unit drops the slot, publication and origin, so that no WAL is
 * retained by a forgotten slot. Once per database.
 */
static void
s_stop_stream(coord_t *self, int64_t task_id, int64_t db_id)
{
    s_send_release(self, db_id, K_CDC, false, false);
    (void) store_exec(self->store,
                      "UPDATE units SET state = 'cancelled' WHERE "
                      "database_id = ? AND kind = ? AND state IN ('queued', "
                      "'running')",
                      "ii", db_id, (int64_t) K_CDC);
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM databases WHERE id = ? AND slot IS "
                  "NOT NULL AND state <> 'COMPLETED'",
                  "i", db_id) > 0 &&
        s_count_units(self, db_id, K_CLEANUP, "'queued', 'running', 'done'") ==
            0)
    {
        (void) s_add_unit(self, task_id, db_id, K_CLEANUP, 0, 0, 0);
    }
}

static void
s_fail_database(coord_t *self, int64_t task_id, int64_t db_id,
                const char *error)
{
    if (!states_db_is_final(s_database_state(self, db_id)))
    {
        (void) s_move_database(self, db_id, DB_FAILED, error);
    }
    (void) store_exec(self->store,
                      "UPDATE units SET state = 'cancelled' WHERE "
                      "database_id = ? AND state = 'queued'",
                      "i", db_id);
    s_release_snapshots(self, db_id);
    s_release_batches(self, db_id);
    s_stop_stream(self, task_id, db_id);
}

static void
s_update_task_state(coord_t *self, int64_t task_id)
{
    int64_t active = store_int(
        self->store, 0,
        "SELECT count(*) FROM databases WHERE task_id = ? AND state NOT IN "
        "('COMPLETED', 'FAILED', 'CANCELLED')",
        "i", task_id);
    int64_t failed = store_int(
        self->store, 0,
        "SELECT count(*) FROM databases WHERE task_id = ? AND state = "
        "'FAILED'",
        "i", task_id);
    char now[40];

    store_now(now, sizeof now);
    if (active == 0)
    {
        (void) store_exec(self->store,
                          "UPDATE tasks SET state = ?, ended_at = "
                          "coalesce(ended_at, ?) WHERE id = ? AND state IN "
                          "('Pending', 'Running')",
                          "ssi", failed > 0 ? "Failed" : "Succeeded", now,
                          task_id);
    }
}

static bool
s_is_online(coord_t *self, int64_t task_id)
{
    return store_int(self->store, 0, "SELECT online FROM tasks WHERE id = ?",
                     "i", task_id) != 0;
}

/*
 * No holder of the snapshot while copies wait for it: take another.
 * Offline, any snapshot will do. Online, the copies must read as of the
 * slot's consistent point: once a copy has read under the old snapshot,
 * a new slot cannot match it, so the database fails (and its cleanup
 * drops the slot and empties the tables, for a new task).
 */
static void
s_retake_snapshot(coord_t *self, int64_t task_id, int64_t db_id, bool online,
                  int64_t queued)
{
    int kind = online ? K_SLOT : K_SNAPSHOT;

    if (online && store_int(self->store, 0,
                            "SELECT count(*) FROM units WHERE database_id = ? "
                            "AND kind = ? AND (started = 1 OR state = "
                            "'done')",
                            "ii", db_id, (int64_t) K_COPY) > 0)
    {
        s_fail_database(self, task_id, db_id,
                        "the connection holding the slot's snapshot was lost "
                        "before every table was copied: the tables not "
                        "copied yet cannot be read as of the slot's start, "
                        "so the full load cannot finish consistently; the "
                        "slot and publication are dropped and the tables "
                        "emptied: create the task again");
        return;
    }
    if (s_count_units(self, db_id, kind, "'done', 'failed'") >=
        PLAN_MAX_SNAPSHOTS)
    {
        s_fail_database(self, task_id, db_id,
                        "could not hold a snapshot of the source: "
                        "the agents holding it were lost too often");
        return;
    }
    coord_event(self, task_id, "warn",
                "database_id=%" PRId64 " taking a new %s for the %" PRId64
                " copies not started yet",
                db_id, online ? "slot and snapshot" : "snapshot", queued);
    (void) s_add_unit(self, task_id, db_id, kind, 0, 0, 0);
}

/* FULL_LOAD: keeps a snapshot held while copies need it; once every copy
 * is done, queues what is left to build. Returns true then. */
static bool
s_advance_full_load(coord_t *self, int64_t task_id, int64_t db_id, bool online)
{
    int64_t queued = s_count_units(self, db_id, K_COPY, "'queued'");
    /* assigned is not started: the holder waits for every copy to
     * have imported the snapshot */
    int64_t unstarted = queued + store_int(self->store, 0,
                                           "SELECT count(*) FROM units "
                                           "WHERE database_id = ? AND "
                                           "kind = ? AND state = "
                                           "'running' AND started = 0",
                                           "ii", db_id, (int64_t) K_COPY);
    int64_t unfinished =
        s_count_units(self, db_id, K_COPY, "'queued', 'running'");
    /* released ones (started = 1) are on their way out */
    int64_t holders =
        store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE "
                  "database_id = ? AND state IN ('queued', "
                  "'running') AND started = 0 AND kind IN " HOLDER_KINDS,
                  "i", db_id);

    if (queued > 0 && holders == 0)
    {
        s_retake_snapshot(self, task_id, db_id, online, queued);
        return false;
    }
    /* online, a copy tried again must read as of the slot's start too:
     * the slot's snapshot is held until every copy is done */
    if ((online ? unfinished : unstarted) == 0 && holders > 0)
    {
        s_release_snapshots(self, db_id);
    }
    /* the copies may be done before schema-pre has read the post-data
     * items: those are needed first */
    if (unfinished > 0 ||
        s_count_units(self, db_id, K_SCHEMA_PRE, "'done'") == 0)
    {
        return false;
    }
    if (s_count_units(self, db_id, K_FINALIZE, "'queued', 'running', 'done'") ==
        0)
    {
        int64_t items = s_queue_items(self, task_id, db_id, 0);
        if (items > 0)
        {
            coord_event(self, task_id, "info",
                        "database_id=%" PRId64 " full load done, building "
                        "the %" PRId64 " indexes and constraints left",
                        db_id, items);
        }
    }
    return true;
}

/* Indexes and constraints built, tables analyzed: finalize. */
static void
s_advance_build(coord_t *self, int64_t task_id, int64_t db_id)
{
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE database_id = ? AND "
                  "state = 'running' AND kind IN " HOLDER_KINDS,
                  "i", db_id) > 0)
    {
        s_release_snapshots(self, db_id); /* in case a Release was lost */
    }
    if (s_count_units(self, db_id, K_SCHEMA_POST, "'queued', 'running'") > 0)
    {
        return;
    }
    /* every index is built: whatever table is not analyzed yet is now */
    s_queue_analyze(self, task_id, db_id, 0);
    if (s_count_units(self, db_id, K_ANALYZE, "'queued', 'running'") == 0 &&
        s_count_units(self, db_id, K_FINALIZE, "'queued', 'running', 'done'") ==
            0)
    {
        (void) s_add_unit(self, task_id, db_id, K_FINALIZE, 0, 0, 0);
    }
}

/*
 * Moves one database forward as far as its units allow. Offline, the
 * build after the full load is COMPLETING; online, the database stays in
 * FULL_LOAD until its indexes are built, as COMPLETING is the cutover.
 */
static void
s_advance_database(coord_t *self, int64_t task_id, int64_t db_id)
{
    char state[32] = "";
    bool online = s_is_online(self, task_id);
    bool building = false;
    sqlite3_stmt *stmt = store_query(
        self->store, "SELECT state FROM databases WHERE id = ?", "i", db_id);

    if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        snprintf(state, sizeof state, "%s", store_text(stmt, 0));
    }
    sqlite3_finalize(stmt);

    if (strcmp(state, "FULL_LOAD") == 0)
    {
        building = s_advance_full_load(self, task_id, db_id, online);
        if (building && !online)
        {
            (void) s_move_database(self, db_id, DB_COMPLETING, NULL);
        }
    }
    else if (strcmp(state, "COMPLETING") == 0)
    {
        building = !online;
    }
    if (building)
    {
        s_advance_build(self, task_id, db_id);
    }
    s_update_task_state(self, task_id);
}

/* ----- results ----- */

static void s_finish_delete(coord_t *self, int64_t task_id);

/*
 * The cdc unit's report: where the stream stands and each table's
 * counters, as the target committed them (so replacing, never adding).
 * Moves the database between CATCHING_UP and READY_TO_COMPLETE.
 */
static void
s_store_cdc(coord_t *self, int64_t db_id, const Pgferry__CdcProgress *cdc)
{
    (void) store_exec(self->store,
                      "UPDATE databases SET received_lsn = ?, applied_lsn = ?, "
                      "source_lsn = ?, latency_ms = ?, pending = ?, "
                      "end_lsn = CASE WHEN ? > 0 THEN ? ELSE end_lsn END "
                      "WHERE id = ?",
                      "iiiiiiii", (int64_t) cdc->received_lsn,
                      (int64_t) cdc->applied_lsn, (int64_t) cdc->source_lsn,
                      cdc->latency_ms, cdc->pending, (int64_t) cdc->end_lsn,
                      (int64_t) cdc->end_lsn, db_id);
    for (size_t i = 0; i < cdc->n_tables; i++)
    {
        const Pgferry__TableChanges *t = cdc->tables[i];
        (void) store_exec(self->store,
                          "UPDATE tables_ SET cdc_ins = ?, cdc_upd = ?, "
                          "cdc_del = ? WHERE database_id = ? AND "
                          "schema_name = ? AND table_name = ?",
                          "iiiiss", t->inserts, t->updates, t->deletes, db_id,
                          t->schema, t->name);
    }
    db_state_t state = s_database_state(self, db_id);
    if (state == DB_CATCHING_UP && cdc->latency_ms < PLAN_READY_LATENCY_MS)
    {
        (void) s_move_database(self, db_id, DB_READY_TO_COMPLETE, NULL);
    }
    else if (state == DB_READY_TO_COMPLETE &&
             cdc->latency_ms > PLAN_BEHIND_LATENCY_MS)
    {
        (void) s_move_database(self, db_id, DB_CATCHING_UP, NULL);
    }
}

static void
s_insert_tables(coord_t *self, int64_t db_id, const Pgferry__Result *r)
{
    for (size_t i = 0; i < r->n_tables; i++)
    {
        const Pgferry__TableRef *t = r->tables[i];
        (void) store_exec(self->store,
                          "INSERT INTO tables_ (database_id, schema_name, "
                          "table_name, bytes_est, rows_est, binary_ok, "
                          "columns, pages) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          "issiiisi", db_id, t->schema, t->name, t->bytes,
                          t->rows, (int64_t) t->binary, t->columns, t->pages);
    }
}

static void
s_on_prepare(coord_t *self, int64_t task_id, int64_t db_id,
             const Pgferry__Result *r)
{
    if (r->ok)
    {
        (void) store_exec(self->store,
                          "UPDATE tasks SET source_version = ?, "
                          "target_version = ? WHERE id = ?",
                          "ssi", r->source_version, r->target_version, task_id);
        (void) store_exec(self->store,
                          "UPDATE databases SET skip_schema = ? WHERE id = ?",
                          "ii", (int64_t) r->target_has_schema, db_id);
        s_insert_tables(self, db_id, r);
    }
    else if (!r->retryable)
    {
        for (size_t i = 0; i < r->n_problems; i++)
        {
            pending_add_problem(self->pending, task_id, r->problems[i]);
        }
        if (r->n_problems == 0)
        {
            pending_add_problem(self->pending, task_id, r->error);
        }
    }
}

/*
 * The waiting CLI of a task creation gets its answer: refused, with every
 * problem the checks found (nothing was written on the target, and the
 * task goes), or created.
 */
static void
s_answer_create(coord_t *self, int64_t task_id)
{
    char *name = NULL;
    const char *problems = pending_problems(self->pending, task_id);
    sqlite3_stmt *stmt = store_query(
        self->store, "SELECT name FROM tasks WHERE id = ?", "i", task_id);

    if (!pending_has(self->pending, task_id))
    {
        sqlite3_finalize(stmt);
        return;
    }
    name = xstrdup(stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW
                       ? store_text(stmt, 0)
                       : "?");
    sqlite3_finalize(stmt);
    if (problems[0] != '\0')
    {
        char *message = xasprintf("task \"%s\" was not created, the checks "
                                  "found:\n%s",
                                  name, problems);
        (void) store_exec(self->store, "DELETE FROM tasks WHERE id = ?", "i",
                          task_id);
        secrets_forget(self->secrets, task_id);
        pending_answer(self->pending, task_id, 2, message);
        log_info("task=%s refused by its checks", name);
        free(message);
    }
    else
    {
        char *message = xasprintf("task \"%s\" created", name);
        pending_answer(self->pending, task_id, 0, message);
        coord_event(self, task_id, "info", "task \"%s\" started", name);
        free(message);
    }
    free(name);
}

/* All prepare units of a task answered: start it, or not. */
static void
s_prepare_verdict(coord_t *self, int64_t task_id)
{
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE task_id = ? AND kind = ? "
                  "AND state IN ('queued', 'running')",
                  "ii", task_id, (int64_t) K_PREPARE) > 0)
    {
        return;
    }
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE task_id = ? AND kind = ? "
                  "AND state = 'failed'",
                  "ii", task_id, (int64_t) K_PREPARE) == 0 &&
        store_begin(self->store) == 0)
    {
        size_t ndbs = 0;
        int64_t *dbs = s_database_ids(self, task_id, &ndbs);
        bool online = s_is_online(self, task_id);
        for (size_t i = 0; i < ndbs; i++)
        {
            if (online)
            {
                /* slot names are lower case, digits and _, at most 63 */
                (void) store_exec(
                    self->store,
                    "UPDATE databases SET slot = 'pgferry_' || "
                    "replace(t.task_key, '-', '') || '_' || databases.id "
                    "FROM tasks t WHERE t.id = databases.task_id AND "
                    "databases.id = ?",
                    "i", dbs[i]);
            }
            (void) s_add_unit(self, task_id, dbs[i],
                              online ? K_SLOT : K_SNAPSHOT, 0, 0, 0);
            (void) s_add_unit(self, task_id, dbs[i], K_SCHEMA_PRE, 0, 0, 0);
            (void) s_move_database(self, dbs[i], DB_SCHEMA, NULL);
        }
        free(dbs);
        (void) store_exec(self->store,
                          "UPDATE tasks SET state = 'Running' WHERE id = ?",
                          "i", task_id);
        (void) store_commit(self->store);
    }
    s_answer_create(self, task_id);
}

/* Queues one copy unit per block range of the table. */
static void
s_add_copy_units(coord_t *self, int64_t task_id, int64_t db_id,
                 int64_t table_id, int64_t pages, int64_t bytes_est,
                 int64_t split_bytes)
{
    int64_t size = pages * PLAN_BLOCK_SIZE;
    int64_t parts = 1;

    if (split_bytes > 0 && size > split_bytes)
    {
        parts = (size + split_bytes - 1) / split_bytes;
        parts = parts < PLAN_MAX_PARTS ? parts : PLAN_MAX_PARTS;
    }
    (void) store_exec(self->store, "UPDATE tables_ SET parts = ? WHERE id = ?",
                      "ii", parts, table_id);
    for (int64_t i = 0; i < parts; i++)
    {
        /* the last range is open-ended: the table may have grown */
        int64_t last = i == parts - 1 ? 0 : pages * (i + 1) / parts;
        (void) store_exec(self->store,
                          "INSERT INTO units (task_id, database_id, kind, "
                          "table_id, priority, weight, part, first_page, "
                          "last_page) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          "iiiiiiiii", task_id, db_id, (int64_t) K_COPY,
                          table_id, (int64_t) s_priority(K_COPY),
                          bytes_est / parts, i, pages * i / parts, last);
    }
}

/*
 * The tables exist on the target: queue one copy unit per table range and
 * move to FULL_LOAD. Called when schema-pre says the pre-data schema is
 * in, before it has read the post-data items, and again with its result;
 * only the first call does anything.
 */
static void
s_start_copies(coord_t *self, int64_t task_id, int64_t db_id)
{
    int64_t split_bytes = store_int(self->store, 0,
                                    "SELECT split_bytes FROM tasks "
                                    "WHERE id = ?",
                                    "i", task_id);
    sqlite3_stmt *stmt = NULL;

    if (s_database_state(self, db_id) != DB_SCHEMA)
    {
        return;
    }
    stmt = store_query(self->store,
                       "SELECT id, pages, bytes_est FROM tables_ "
                       "WHERE database_id = ? ORDER BY id",
                       "i", db_id);
    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        s_add_copy_units(self, task_id, db_id, sqlite3_column_int64(stmt, 0),
                         sqlite3_column_int64(stmt, 1),
                         sqlite3_column_int64(stmt, 2), split_bytes);
    }
    sqlite3_finalize(stmt);
    (void) s_move_database(self, db_id, DB_FULL_LOAD, NULL);
}

/* The post-data items are known: those of tables loaded meanwhile can be
 * built now, and the tables without any analyzed. */
static void
s_on_schema_pre(coord_t *self, int64_t task_id, int64_t db_id,
                const Pgferry__Result *r)
{
    sqlite3_stmt *stmt = NULL;

    for (size_t i = 0; i < r->n_items; i++)
    {
        const Pgferry__SchemaItem *item = r->items[i];
        (void) store_exec(self->store,
                          "INSERT INTO schema_items (database_id, kind, tag, "
                          "sql, phase, table_schema, table_name) VALUES "
                          "(?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''))",
                          "isssiss", db_id, item->kind, item->tag, item->sql,
                          (int64_t) item->phase, item->table_schema,
                          item->table_name);
    }
    s_start_copies(self, task_id, db_id);
    stmt = store_query(self->store,
                       "SELECT id FROM tables_ WHERE database_id = ? AND "
                       "state = 'COMPLETED'",
                       "i", db_id);
    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        (void) s_queue_items(self, task_id, db_id,
                             sqlite3_column_int64(stmt, 0));
    }
    sqlite3_finalize(stmt);
    s_queue_analyze(self, task_id, db_id, 0);
}

/*
 * Queues the phase-1 items (indexes, constraints) not queued yet: of one
 * table once it is loaded (table_id), or all that are left (0).
 */
static int64_t
s_queue_items(coord_t *self, int64_t task_id, int64_t db_id, int64_t table_id)
{
    (void) store_exec(
        self->store,
        "INSERT INTO units (task_id, database_id, kind, item_id, priority, "
        "                   weight) "
        "SELECT ?, ?, ?, si.id, ?, "
        "       coalesce((SELECT t.bytes_est FROM tables_ t "
        "                  WHERE t.database_id = si.database_id "
        "                    AND t.schema_name = si.table_schema "
        "                    AND t.table_name = si.table_name), ?) "
        "  FROM schema_items si "
        " WHERE si.database_id = ? AND si.phase = 1 "
        "   AND (? = 0 OR (si.table_schema, si.table_name) = "
        "        (SELECT schema_name, table_name FROM tables_ WHERE id = ?)) "
        "   AND NOT EXISTS (SELECT 1 FROM units u WHERE u.item_id = si.id) "
        " ORDER BY si.id",
        "iiiiiiii", task_id, db_id, (int64_t) K_SCHEMA_POST,
        (int64_t) s_priority(K_SCHEMA_POST),
        /* an item of no known table may be big: never batched, and
         * early, as the largest go first */
        (int64_t) PLAN_UNKNOWN_BYTES, db_id, table_id, table_id);
    return store_changes(self->store);
}

/*
 * Queues the ANALYZE of the database's loaded tables (or of one, if
 * table_id is not 0) whose indexes and constraints are all built: after
 * them, so that expression indexes get statistics too; not after the
 * whole load, so that it overlaps with the other tables' copies.
 */
static void
s_queue_analyze(coord_t *self, int64_t task_id, int64_t db_id, int64_t table_id)
{
    (void) store_exec(
        self->store,
        "INSERT INTO units (task_id, database_id, kind, table_id, priority, "
        "                   weight) "
        "SELECT ?, t.database_id, ?, t.id, ?, t.bytes_est FROM tables_ t "
        " WHERE t.database_id = ? AND (? = 0 OR t.id = ?) "
        "   AND t.state = 'COMPLETED' "
        /* the items are known once schema-pre is done */
        "   AND EXISTS (SELECT 1 FROM units s WHERE s.database_id = "
        "               t.database_id AND s.kind = ? AND s.state = 'done') "
        "   AND NOT EXISTS (SELECT 1 FROM units u WHERE u.table_id = t.id "
        "                     AND u.kind = ?) "
        "   AND NOT EXISTS (SELECT 1 FROM schema_items si "
        "                    WHERE si.database_id = t.database_id "
        "                      AND si.phase = 1 "
        "                      AND (si.table_schema, si.table_name) = "
        "                          (t.schema_name, t.table_name) "
        "                      AND NOT EXISTS (SELECT 1 FROM units u "
        "                                       WHERE u.item_id = si.id "
        "                                         AND u.state = 'done'))",
        "iiiiiiii", task_id, (int64_t) K_ANALYZE,
        (int64_t) s_priority(K_ANALYZE), db_id, table_id, table_id,
        (int64_t) K_SCHEMA_PRE, (int64_t) K_ANALYZE);
}

/* One range of a table is in; the last one completes the table. */
static void
s_on_copy_done(coord_t *self, int64_t task_id, int64_t db_id, int64_t table_id,
               const Pgferry__Result *r, const char *now)
{
    (void) store_exec(self->store,
                      "UPDATE units SET rows = ?, bytes = ? WHERE id = ?",
                      "iii", r->rows, r->bytes, (int64_t) r->unit_id);
    if (store_int(self->store, 1,
                  "SELECT count(*) FROM units WHERE table_id = ? AND "
                  "kind = ? AND state <> 'done'",
                  "ii", table_id, (int64_t) K_COPY) > 0)
    {
        return;
    }
    (void) store_exec(self->store,
                      "UPDATE tables_ SET state = 'COMPLETED', ended_at = ?, "
                      "rows = (SELECT sum(rows) FROM units WHERE "
                      "        table_id = tables_.id AND kind = ?), "
                      "bytes = (SELECT sum(bytes) FROM units WHERE "
                      "         table_id = tables_.id AND kind = ?) "
                      "WHERE id = ?",
                      "siii", now, (int64_t) K_COPY, (int64_t) K_COPY,
                      table_id);
    /* its indexes need not wait for the other tables */
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM databases WHERE id = ? AND state = "
                  "'FULL_LOAD'",
                  "i", db_id) > 0)
    {
        (void) s_queue_items(self, task_id, db_id, table_id);
    }
    s_queue_analyze(self, task_id, db_id, table_id);
}

/* A unit failed: try it again, or fail its database. */
static void
s_on_failure(coord_t *self, int64_t unit_id, int kind, int64_t task_id,
             int64_t db_id, int64_t table_id, int attempts,
             const Pgferry__Result *r)
{
    if (kind == K_SNAPSHOT || kind == K_SLOT)
    {
        /* the snapshot is gone; FULL_LOAD takes another if copies wait */
        (void) store_exec(self->store,
                          "UPDATE units SET state = 'failed', error = ? "
                          "WHERE id = ?",
                          "si", r->error, unit_id);
        (void) store_exec(self->store,
                          "UPDATE databases SET snapshot = NULL WHERE id = ?",
                          "i", db_id);
        return;
    }
    if (kind == K_CLEANUP && !(r->retryable && attempts < COORD_MAX_ATTEMPTS))
    {
        /* nothing left to fail: say what is left behind, and how to go */
        (void) store_exec(self->store,
                          "UPDATE units SET state = 'failed', error = ? "
                          "WHERE id = ?",
                          "si", r->error, unit_id);
        coord_event(self, task_id, "error",
                    "database_id=%" PRId64 " the replication slot, "
                    "publication or origin could not be dropped; drop them "
                    "by hand (pg_drop_replication_slot, DROP PUBLICATION, "
                    "pg_replication_origin_drop): %s",
                    db_id, r->error);
        return;
    }
    if (kind == K_COPY && r->snapshot_lost)
    {
        /* not the copy's fault: it runs again, under a new snapshot,
         * without using up an attempt; PLAN_MAX_SNAPSHOTS bounds this */
        coord_event(self, task_id, "warn",
                    "unit=%" PRId64 " could not import the snapshot, "
                    "taking a new one: %s",
                    unit_id, r->error);
        (void) store_exec(self->store,
                          "UPDATE units SET state = 'queued', agent = NULL, "
                          "attempts = attempts - 1 WHERE id = ?",
                          "i", unit_id);
        (void) store_exec(self->store,
                          "UPDATE tables_ SET state = 'QUEUED' WHERE id = ?",
                          "i", table_id);
        s_release_snapshots(self, db_id);
        return;
    }
    if (r->retryable && attempts < COORD_MAX_ATTEMPTS)
    {
        coord_event(self, task_id, "warn",
                    "unit=%" PRId64 " kind=%s attempt %d failed, trying "
                    "again: %s",
                    unit_id, s_kind_name(kind), attempts, r->error);
        (void) store_exec(self->store,
                          "UPDATE units SET state = 'queued', agent = NULL, "
                          "error = ? WHERE id = ?",
                          "si", r->error, unit_id);
        if (table_id != 0)
        {
            (void) store_exec(self->store,
                              "UPDATE tables_ SET state = 'QUEUED' "
                              "WHERE id = ?",
                              "i", table_id);
        }
        return;
    }
    (void) store_exec(self->store,
                      "UPDATE units SET state = 'failed', error = ? "
                      "WHERE id = ?",
                      "si", r->error, unit_id);
    if (table_id != 0)
    {
        (void) store_exec(self->store,
                          "UPDATE tables_ SET state = 'ERROR', error = ? "
                          "WHERE id = ?",
                          "si", r->error, table_id);
    }
    if (kind != K_PREPARE)
    {
        s_fail_database(self, task_id, db_id, r->error);
    }
}

void
plan_on_progress(coord_t *self, const char *agent, const Pgferry__Progress *p)
{
    char now[40];

    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT kind, database_id, task_id, started FROM units WHERE id = ? "
        "AND agent = ? AND state = 'running'",
        "is", (int64_t) p->unit_id, agent);

    store_now(now, sizeof now);
    if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW)
    {
        sqlite3_finalize(stmt);
        return; /* a unit we no longer expect from this agent */
    }
    int kind = sqlite3_column_int(stmt, 0);
    int64_t db_id = sqlite3_column_int64(stmt, 1);
    int64_t task_id = sqlite3_column_int64(stmt, 2);
    bool released = sqlite3_column_int(stmt, 3) != 0;
    sqlite3_finalize(stmt);
    if (kind == K_CDC && p->cdc != NULL)
    {
        if (store_begin(self->store) == 0)
        {
            s_store_cdc(self, db_id, p->cdc);
            (void) store_commit(self->store);
        }
    }
    else if ((kind == K_SNAPSHOT || kind == K_SLOT) && !released &&
             p->snapshot[0] != '\0')
    {
        /* online: the stream starts where the snapshot was taken */
        (void) store_exec(self->store,
                          "UPDATE databases SET snapshot = ?, start_lsn = "
                          "CASE WHEN ? > 0 THEN ? ELSE start_lsn END "
                          "WHERE id = ?",
                          "siii", p->snapshot, (int64_t) p->lsn,
                          (int64_t) p->lsn, db_id);
        log_info("database_id=%" PRId64 " snapshot=%s agent=%s holds the "
                 "snapshot",
                 db_id, p->snapshot, agent);
        plan_dispatch(self);
    }
    else if (kind == K_SCHEMA_PRE && p->started)
    {
        /* the tables exist: the copies need not wait for the post-data
         * items, which schema-pre reads next */
        if (store_begin(self->store) == 0)
        {
            s_start_copies(self, task_id, db_id);
            (void) store_commit(self->store);
        }
        plan_dispatch(self);
    }
    else if (kind == K_COPY && p->started)
    {
        if (store_begin(self->store) == 0)
        {
            (void) store_exec(self->store,
                              "UPDATE units SET started = 1 WHERE id = ?", "i",
                              (int64_t) p->unit_id);
            /* remember every agent that worked on the table, for the
             * status */
            (void) store_exec(
                self->store,
                "UPDATE tables_ SET state = 'LOADING', "
                "started_at = coalesce(started_at, ?), "
                "agents = CASE WHEN instr(',' || agents || ',', ',' || ? || "
                "',') > 0 THEN agents WHEN agents = '' THEN ? "
                "  ELSE agents || ',' || ? END "
                "WHERE id = (SELECT table_id FROM units WHERE id = ?) "
                "  AND state <> 'COMPLETED'",
                "ssssi", now, agent, agent, agent, (int64_t) p->unit_id);
            s_advance_database(self, task_id, db_id);
            (void) store_commit(self->store);
        }
    }
    else if (kind == K_COPY)
    {
        (void) store_exec(self->store,
                          "UPDATE units SET bytes = ? WHERE id = ?", "ii",
                          p->bytes, (int64_t) p->unit_id);
    }
}

void
plan_on_result(coord_t *self, const char *agent, const Pgferry__Result *r)
{
    char now[40];
    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT kind, task_id, database_id, coalesce(table_id, 0), attempts "
        "FROM units WHERE id = ? AND agent = ? AND state = 'running'",
        "is", (int64_t) r->unit_id, agent);

    if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW)
    {
        /* placed elsewhere since, or cancelled: the target's own
         * bookkeeping makes the other run skip or redo it */
        log_info("unit=%" PRIu64 " agent=%s result ignored: the unit is no "
                 "longer this agent's",
                 r->unit_id, agent);
        sqlite3_finalize(stmt);
        return;
    }
    int kind = sqlite3_column_int(stmt, 0);
    int64_t task_id = sqlite3_column_int64(stmt, 1);
    int64_t db_id = sqlite3_column_int64(stmt, 2);
    int64_t table_id = sqlite3_column_int64(stmt, 3);
    int attempts = sqlite3_column_int(stmt, 4);
    sqlite3_finalize(stmt);

    store_now(now, sizeof now);
    if (store_begin(self->store) != 0)
    {
        return;
    }
    if (r->ok)
    {
        (void) store_exec(self->store,
                          "UPDATE units SET state = 'done' WHERE id = ?", "i",
                          (int64_t) r->unit_id);
        if (kind == K_SCHEMA_PRE)
        {
            s_on_schema_pre(self, task_id, db_id, r);
        }
        else if (kind == K_COPY)
        {
            s_on_copy_done(self, task_id, db_id, table_id, r, now);
        }
        else if (kind == K_SCHEMA_POST)
        {
            /* the table's last index may be in: its ANALYZE can go */
            int64_t item_table =
                store_int(self->store, 0,
                          "SELECT t.id FROM units u "
                          "  JOIN schema_items si ON si.id = u.item_id "
                          "  JOIN tables_ t ON t.database_id = si.database_id "
                          "   AND (t.schema_name, t.table_name) = "
                          "       (si.table_schema, si.table_name) "
                          " WHERE u.id = ?",
                          "i", (int64_t) r->unit_id);
            if (item_table != 0)
            {
                s_queue_analyze(self, task_id, db_id, item_table);
            }
        }
        else if (kind == K_FINALIZE && s_is_online(self, task_id))
        {
            /* the copy is whole: now the changes made since */
            if (s_database_state(self, db_id) == DB_FULL_LOAD)
            {
                bool cutover = store_int(self->store, 0,
                                         "SELECT cutover FROM databases "
                                         "WHERE id = ?",
                                         "i", db_id) != 0;
                (void) s_move_database(self, db_id,
                                       cutover ? DB_COMPLETING : DB_CATCHING_UP,
                                       NULL);
            }
            (void) s_add_unit(self, task_id, db_id, K_CDC, 0, 0, 0);
            coord_event(self, task_id, "info",
                        "database_id=%" PRId64 " full load and schema done, "
                        "applying the changes made since",
                        db_id);
        }
        else if (kind == K_FINALIZE || kind == K_CDC)
        {
            if (kind == K_CDC && r->cdc != NULL)
            {
                s_store_cdc(self, db_id, r->cdc);
            }
            (void) s_move_database(self, db_id, DB_COMPLETED, NULL);
        }
    }
    else
    {
        log_warn("unit=%" PRIu64 " kind=%s agent=%s failed: %s", r->unit_id,
                 s_kind_name(kind), agent, r->error);
        s_on_failure(self, (int64_t) r->unit_id, kind, task_id, db_id, table_id,
                     attempts, r);
    }
    if (kind == K_PREPARE)
    {
        s_on_prepare(self, task_id, db_id, r);
        /* failed for good, not queued again for another try */
        if (!r->ok && store_int(self->store, 0,
                                "SELECT count(*) FROM units WHERE id = ? AND "
                                "state = 'failed'",
                                "i", (int64_t) r->unit_id) > 0)
        {
            (void) s_move_database(self, db_id, DB_FAILED, r->error);
        }
    }
    else
    {
        s_advance_database(self, task_id, db_id);
    }
    (void) store_commit(self->store);
    if (kind == K_PREPARE)
    {
        s_prepare_verdict(self, task_id);
    }
    if (kind == K_CLEANUP)
    {
        s_finish_delete(self, task_id);
    }
    plan_dispatch(self);
}

typedef struct
{
    uint64_t id;
    int kind;
    int64_t task_id;
    int64_t db_id;
    int64_t table_id;
    int attempts;
} plan_lost_t;

/* Settles one unit whose agent no longer runs it, as a failure. */
static void
s_forget_unit(coord_t *self, const char *agent, const plan_lost_t *u)
{
    Pgferry__Result lost = PGFERRY__RESULT__INIT;
    char *why = xasprintf("agent \"%s\" was lost while running this %s unit",
                          agent, s_kind_name(u->kind));

    lost.unit_id = u->id;
    lost.error = why;
    lost.retryable = u->attempts < COORD_MAX_PLACEMENTS;
    coord_event(self, u->task_id, "warn", "unit=%" PRIu64 " %s", u->id, why);
    if (store_begin(self->store) == 0)
    {
        /* COORD_MAX_PLACEMENTS, not COORD_MAX_ATTEMPTS, bounds this: a
         * placement lost to a dead agent is no failure of the unit */
        s_on_failure(self, (int64_t) u->id, u->kind, u->task_id, u->db_id,
                     u->table_id, lost.retryable ? 0 : u->attempts, &lost);
        if (u->kind == K_PREPARE)
        {
            s_on_prepare(self, u->task_id, u->db_id, &lost);
        }
        else
        {
            s_advance_database(self, u->task_id, u->db_id);
        }
        (void) store_commit(self->store);
        if (u->kind == K_PREPARE)
        {
            s_prepare_verdict(self, u->task_id);
        }
        if (u->kind == K_CLEANUP)
        {
            s_finish_delete(self, u->task_id);
        }
    }
    free(why);
}

void
plan_forget_agent_units(coord_t *self, const char *agent,
                        const uint64_t *still_running, size_t n,
                        double older_than)
{
    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT id, kind, task_id, database_id, coalesce(table_id, 0), "
        "attempts FROM units WHERE state = 'running' AND agent = ? AND "
        "assigned_at < ?",
        "sd", agent, older_than);
    plan_lost_t *lost = NULL;
    size_t nlost = 0;

    /* collect first: settling a unit changes the rows being read */
    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        plan_lost_t u = {(uint64_t) sqlite3_column_int64(stmt, 0),
                         sqlite3_column_int(stmt, 1),
                         sqlite3_column_int64(stmt, 2),
                         sqlite3_column_int64(stmt, 3),
                         sqlite3_column_int64(stmt, 4),
                         sqlite3_column_int(stmt, 5)};
        bool running = false;
        for (size_t i = 0; i < n; i++)
        {
            running = running || still_running[i] == u.id;
        }
        if (!running)
        {
            lost = realloc(lost, (nlost + 1) * sizeof *lost);
            if (lost == NULL)
            {
                abort();
            }
            lost[nlost++] = u;
        }
    }
    sqlite3_finalize(stmt);
    for (size_t i = 0; i < nlost; i++)
    {
        s_forget_unit(self, agent, &lost[i]);
    }
    free(lost);
    if (nlost > 0)
    {
        plan_dispatch(self);
    }
}

void
plan_cancel_task(coord_t *self, int64_t task_id)
{
    char now[40];

    if (store_int(self->store, 0,
                  "SELECT count(*) FROM tasks WHERE id = ? AND state IN "
                  "('Pending', 'Running')",
                  "i", task_id) == 0)
    {
        return; /* over already: nothing to stop */
    }
    store_now(now, sizeof now);
    if (store_begin(self->store) != 0)
    {
        return;
    }
    /* collect first: releasing updates the rows being read */
    size_t ndbs = 0;
    int64_t *dbs = s_database_ids(self, task_id, &ndbs);
    for (size_t i = 0; i < ndbs; i++)
    {
        s_release_snapshots(self, dbs[i]);
        s_release_batches(self, dbs[i]);
        s_send_release(self, dbs[i], K_CDC, false, false);
    }
    (void) store_exec(self->store,
                      "UPDATE units SET state = 'cancelled' WHERE task_id = ? "
                      "AND state IN ('queued', 'running')",
                      "i", task_id);
    for (size_t i = 0; i < ndbs; i++)
    {
        if (!states_db_is_final(s_database_state(self, dbs[i])))
        {
            (void) s_move_database(self, dbs[i], DB_CANCELLED, NULL);
        }
        s_stop_stream(self, task_id, dbs[i]);
    }
    free(dbs);
    (void) store_exec(self->store,
                      "UPDATE tasks SET state = 'Canceled', ended_at = "
                      "coalesce(ended_at, ?) WHERE id = ? AND state IN "
                      "('Pending', 'Running')",
                      "si", now, task_id);
    (void) store_commit(self->store);
    coord_event(self, task_id, "info", "task cancelled");
}

bool
plan_delete_task(coord_t *self, int64_t task_id)
{
    plan_cancel_task(self, task_id);
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE task_id = ? AND kind = ? "
                  "AND state IN ('queued', 'running')",
                  "ii", task_id, (int64_t) K_CLEANUP) > 0)
    {
        /* the slot must go first; the last cleanup deletes the task */
        (void) store_exec(self->store,
                          "UPDATE tasks SET state = 'Deleting' WHERE id = ?",
                          "i", task_id);
        plan_dispatch(self);
        return false;
    }
    secrets_forget(self->secrets, task_id);
    (void) store_exec(self->store, "DELETE FROM tasks WHERE id = ?", "i",
                      task_id);
    return true;
}

/* A task being deleted goes once its last cleanup unit has run. */
static void
s_finish_delete(coord_t *self, int64_t task_id)
{
    if (store_int(self->store, 0,
                  "SELECT count(*) FROM tasks WHERE id = ? AND state = "
                  "'Deleting'",
                  "i", task_id) > 0 &&
        store_int(self->store, 0,
                  "SELECT count(*) FROM units WHERE task_id = ? AND kind = ? "
                  "AND state IN ('queued', 'running')",
                  "ii", task_id, (int64_t) K_CLEANUP) == 0)
    {
        secrets_forget(self->secrets, task_id);
        (void) store_exec(self->store, "DELETE FROM tasks WHERE id = ?", "i",
                          task_id);
        log_info("task=%" PRId64 " deleted, its slot dropped", task_id);
    }
}

int
plan_cutover(coord_t *self, int64_t task_id, const char *database,
             bool validate, char **message)
{
    char state[32] = "";
    int64_t db_id = 0;
    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT d.id, d.state FROM databases d JOIN tasks t ON t.id = "
        "d.task_id WHERE d.task_id = ? AND d.name = ? AND t.online = 1",
        "is", task_id, database);

    if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        db_id = sqlite3_column_int64(stmt, 0);
        snprintf(state, sizeof state, "%s", store_text(stmt, 1));
    }
    sqlite3_finalize(stmt);
    if (db_id == 0)
    {
        *message = xasprintf("--object-name: \"%s\" is not a database of "
                             "this task, or the task is not an "
                             "OnlineMigration",
                             database);
        return 2;
    }
    if (strcmp(state, "COMPLETING") == 0 || strcmp(state, "COMPLETED") == 0)
    {
        *message = xasprintf("database \"%s\" is %s already", database, state);
        return 0;
    }
    if (strcmp(state, "FAILED") == 0 || strcmp(state, "CANCELLED") == 0)
    {
        *message = xasprintf("database \"%s\" is %s: nothing to cut over",
                             database, state);
        return 1;
    }
    if (store_begin(self->store) != 0)
    {
        *message = xstrdup("could not write to the catalog");
        return 1;
    }
    /* a cdc unit placed later (or again) gets the request in its Assign */
    (void) store_exec(self->store,
                      "UPDATE databases SET cutover = 1, validate = ? "
                      "WHERE id = ?",
                      "ii", (int64_t) validate, db_id);
    if (strcmp(state, "CATCHING_UP") == 0 ||
        strcmp(state, "READY_TO_COMPLETE") == 0)
    {
        (void) s_move_database(self, db_id, DB_COMPLETING, NULL);
        s_send_release(self, db_id, K_CDC, true, validate);
        *message = xasprintf("cutover of database \"%s\" started", database);
    }
    else
    {
        *message = xasprintf("cutover of database \"%s\" will start as soon "
                             "as its full load is done (it is %s)",
                             database, state);
    }
    (void) store_commit(self->store);
    coord_event(self, task_id, "info", "database=%s cutover requested%s",
                database, validate ? ", with validation" : "");
    return 0;
}

void
plan_resume(coord_t *self)
{
    /* a task still waiting for its prepare verdict has no CLI waiting any
     * more: nothing was written for it, so it goes */
    int64_t dropped = store_int(self->store, 0,
                                "SELECT count(*) FROM tasks WHERE state = "
                                "'Pending'",
                                NULL);
    (void) store_exec(self->store, "DELETE FROM tasks WHERE state = 'Pending'",
                      NULL);
    if (dropped > 0)
    {
        log_warn("dropped %" PRId64 " task(s) that were still being "
                 "prepared when the coordinator stopped",
                 dropped);
    }
}
