/*
 * coordinator/dispatch.c
 *     Placing units on agents: the head of the queue on an agent with a
 *     free job slot, with more units like it when they are small, and the
 *     Assign (or AssignBatch) each agent is sent, built from the catalog.
 *
 * A placement is recorded in the catalog and sent once that commits
 * (the outbox). Its cost follows what it places: every query here reads
 * through an index what it needs, never the whole queue.
 */
#include "coordinator/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"
#include "coordinator/units.h"

/*
 * Placement batches: units of tables smaller than DISPATCH_BATCH_TABLE_BYTES
 * cost more to place (a round trip to the coordinator, two catalog
 * writes) than to run, so up to DISPATCH_BATCH_UNITS of them, covering up
 * to DISPATCH_BATCH_BYTES of tables, go to an agent together. Above a
 * megabyte a table's copy or ANALYZE outweighs its placement; and a
 * batch runs on one job, one unit after the other: one of 64 MB once
 * took a schema-rich database's eight largest tables, copied one after
 * the other for four seconds while the other jobs had nothing left.
 */
#define DISPATCH_BATCH_TABLE_BYTES (1LL * 1024 * 1024)
#define DISPATCH_BATCH_BYTES (8LL * 1024 * 1024)
#define DISPATCH_BATCH_UNITS 64
/*
 * Index builds cost far more per byte of table than a copy or an
 * ANALYZE (a GIN or trigram index on a 7 MB table takes seconds): only
 * those of tables under this go in batches, covering at most this much
 * together, so that the builds of a middle-sized table spread over the
 * agents instead of queuing on one while the others have nothing left.
 */
#define DISPATCH_BATCH_BUILD_BYTES (1LL * 1024 * 1024)
/*
 * With every slot taken, an agent whose units are all short (copies,
 * builds, ANALYZEs and validations of tables under this, by weight) is
 * sent one short unit more, which it keeps until one of them ends
 * (agent/backlog.h): its slot then goes from one unit to the next
 * without waiting for our answer to its Result. Only there: a unit kept
 * behind a long one would wait while another agent's slot frees.
 */
#define DISPATCH_SHORT_BYTES (16LL * 1024 * 1024)
#define DISPATCH_SHORT_KINDS "(4, 5, 7, 11)"
_Static_assert(K_COPY == 4 && K_SCHEMA_POST == 5 && K_ANALYZE == 7 &&
                   K_VALIDATE == 11,
               "DISPATCH_SHORT_KINDS names them by number");

static double
s_wall_now(void)
{
    return (double) zclock_time() / 1000.0;
}

/* ----- building an Assign ----- */

/* An endpoint from the catalog's columns: host, port, user, options
 * from column first on, the database given apart. */
static Pgconvoy__Endpoint *
s_endpoint(const store_rows_t *rows, int first, const char *dbname,
           const char *password)
{
    Pgconvoy__Endpoint *ep = xcalloc(1, sizeof *ep);
    char *error = NULL;

    pgconvoy__endpoint__init(ep);
    ep->host = xstrdup(store_rows_text(rows, first));
    ep->port = (uint32_t) store_rows_int(rows, first + 1);
    ep->user = xstrdup(store_rows_text(rows, first + 2));
    ep->dbname = xstrdup(dbname);
    if (password != NULL)
    {
        ep->password = xstrdup(password);
    }
    /* written by pgconn_options_conninfo(): it parses, or the catalog was
     * changed by hand, and the agent then connects as libpq's defaults
     * say, which the log tells */
    if (pgconn_options_parse(ep, store_rows_text(rows, first + 3), &error) !=
        0)
    {
        log_error("host=%s the catalog's connection options are not "
                  "understood: %s",
                  ep->host, error);
        free(error);
    }
    return ep;
}

static Pgconvoy__TableRef *
s_table_ref(const store_rows_t *rows, int first)
{
    Pgconvoy__TableRef *t = xcalloc(1, sizeof *t);

    pgconvoy__table_ref__init(t);
    t->schema = xstrdup(store_rows_text(rows, first));
    t->name = xstrdup(store_rows_text(rows, first + 1));
    t->binary = store_rows_int(rows, first + 2) != 0;
    t->columns = xstrdup(store_rows_text(rows, first + 3));
    t->bytes = store_rows_int(rows, first + 4);
    t->rows = store_rows_int(rows, first + 5);
    return t;
}

#define TABLE_COLUMNS                                                          \
    "schema_name, table_name, binary_ok, columns, "                            \
    "bytes_est, rows_est"

static void
s_add_tables(coord_t *self, Pgconvoy__Assign *a, int64_t db_id)
{
    store_rows_t *rows = store_query(self->store,
                                     "SELECT " TABLE_COLUMNS
                                     " FROM tables_ WHERE database_id = ? "
                                     "ORDER BY id",
                                     "i", db_id);

    while (store_rows_next(rows))
    {
        a->tables = realloc(a->tables, (a->n_tables + 1) * sizeof *a->tables);
        a->tables[a->n_tables++] = s_table_ref(rows, 0);
    }
    store_rows_done(&rows);
}

static void
s_add_items(coord_t *self, Pgconvoy__Assign *a, const char *where, int64_t key)
{
    char *sql = xasprintf("SELECT id, kind, tag, sql, phase FROM "
                          "schema_items WHERE %s ORDER BY id",
                          where);
    store_rows_t *rows = store_query(self->store, sql, "i", key);

    while (store_rows_next(rows))
    {
        Pgconvoy__SchemaItem *item = xcalloc(1, sizeof *item);
        pgconvoy__schema_item__init(item);
        item->id = (uint64_t) store_rows_int(rows, 0);
        item->kind = xstrdup(store_rows_text(rows, 1));
        item->tag = xstrdup(store_rows_text(rows, 2));
        item->sql = xstrdup(store_rows_text(rows, 3));
        item->phase = (uint32_t) store_rows_int(rows, 4);
        a->items = realloc(a->items, (a->n_items + 1) * sizeof *a->items);
        a->items[a->n_items++] = item;
    }
    store_rows_done(&rows);
    free(sql);
}

static void
s_add_selected(Pgconvoy__Assign *a, const char *selected)
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

Pgconvoy__Assign *
dispatch_build_assign(coord_t *self, int64_t unit_id)
{
    store_rows_t *rows = store_query(
        self->store,
        "SELECT u.kind, u.table_id, u.item_id, t.task_key, t.src_host, "
        "       t.src_port, t.src_user, t.src_options, t.tgt_host, "
        "       t.tgt_port, t.tgt_user, t.tgt_options, d.selected, d.snapshot, "
        "       d.skip_schema, t.id, d.id, t.online, t.fix_replica_identity, "
        "       d.slot, d.start_lsn, d.cutover, d.validate, d.end_lsn, "
        "       d.state, (SELECT count(*) FROM units f WHERE f.database_id = "
        "                 d.id AND f.kind = 6 AND f.state = 'done'), "
        "       t.no_owner, t.no_privileges, t.create_roles, "
        "       t.role_passwords, d.name, d.target_name, u.epoch, "
        "       d.reloads, t.no_analyze "
        "  FROM units u JOIN tasks t ON t.id = u.task_id "
        "  JOIN databases d ON d.id = u.database_id WHERE u.id = ?",
        "i", unit_id);
    Pgconvoy__Assign *a = NULL;

    if (!store_rows_next(rows))
    {
        store_rows_done(&rows);
        return NULL;
    }
    int64_t task_id = store_rows_int(rows, 15);
    int kind = (int) store_rows_int(rows, 0);
    int64_t db_id = store_rows_int(rows, 16);

    a = xcalloc(1, sizeof *a);
    pgconvoy__assign__init(a);
    a->unit_id = (uint64_t) unit_id;
    a->kind = (Pgconvoy__UnitKind) kind;
    a->task_key = xstrdup(store_rows_text(rows, 3));
    a->source = s_endpoint(rows, 4, store_rows_text(rows, 30),
                           secrets_source(self->secrets, task_id));
    a->target = s_endpoint(rows, 8, store_rows_text(rows, 31),
                           secrets_target(self->secrets, task_id));
    if (!store_rows_is_null(rows, 13))
    {
        a->snapshot = xstrdup(store_rows_text(rows, 13));
    }
    a->skip_schema = store_rows_int(rows, 14) != 0;
    a->online = store_rows_int(rows, 17) != 0;
    a->fix_replica_identity = store_rows_int(rows, 18) != 0;
    if (!store_rows_is_null(rows, 19))
    {
        a->slot = xstrdup(store_rows_text(rows, 19));
    }
    a->start_lsn = (uint64_t) store_rows_int(rows, 20);
    a->cutover = store_rows_int(rows, 21) != 0;
    a->validate = store_rows_int(rows, 22) != 0;
    a->end_lsn = (uint64_t) store_rows_int(rows, 23);
    a->no_owner = store_rows_int(rows, 26) != 0;
    a->no_privileges = store_rows_int(rows, 27) != 0;
    a->large_objects = store_rows_text(rows, 12)[0] == '\0';
    a->create_roles = store_rows_int(rows, 28) != 0;
    a->role_passwords = store_rows_int(rows, 29) != 0;
    /* units_place() counts this placement in */
    a->epoch = (uint32_t) store_rows_int(rows, 32) + 1;
    /* a database that failed half-loaded gives its tables back empty, for
     * a new task; one that failed after its full load (a difference found
     * by --validate, say) keeps them, for the operator to look into */
    _Static_assert(K_FINALIZE == 6, "the query names finalize by number");
    a->truncate_target = strcmp(store_rows_text(rows, 24), "FAILED") == 0 &&
                         store_rows_int(rows, 25) == 0;
    /* a slot of a load started over empties the tables first */
    a->truncate_target = a->truncate_target ||
                         (kind == K_SLOT && store_rows_int(rows, 33) > 0);
    if (kind == K_PREPARE || kind == K_SCHEMA_PRE)
    {
        s_add_selected(a, store_rows_text(rows, 12));
    }
    if (kind == K_SCHEMA_PRE || kind == K_FINALIZE || kind == K_SLOT ||
        kind == K_CDC || kind == K_CLEANUP)
    {
        s_add_tables(self, a, db_id);
    }
    if (kind == K_COPY || kind == K_ANALYZE || kind == K_VALIDATE)
    {
        store_rows_t *part = store_query(
            self->store,
            "SELECT " TABLE_COLUMNS ", t.parts, u.part, u.first_page, "
            "       u.last_page, t.analyze_early "
            "  FROM units u JOIN tables_ t ON t.id = u.table_id "
            " WHERE u.id = ?",
            "i", unit_id);
        if (store_rows_next(part))
        {
            a->table = s_table_ref(part, 0);
            a->table->parts = (uint32_t) store_rows_int(part, 6);
            a->table->part = (uint32_t) store_rows_int(part, 7);
            a->table->first_page = store_rows_int(part, 8);
            a->table->last_page = store_rows_int(part, 9);
            /* a small whole table's statistics, with its copy if it
             * can (agent/copy_analyze.h: not a bigger one's) */
            a->analyze = kind == K_COPY && a->table->parts <= 1 &&
                         a->table->bytes < DISPATCH_BATCH_TABLE_BYTES &&
                         store_rows_int(part, 10) != 0 &&
                         store_rows_int(rows, 34) == 0;
        }
        store_rows_done(&part);
    }
    if (kind == K_SCHEMA_POST)
    {
        s_add_items(self, a, "id = ?", store_rows_int(rows, 2));
    }
    if (kind == K_FINALIZE)
    {
        s_add_items(self, a, "phase = 2 AND database_id = ?", db_id);
        /* online: pgconvoy.cdc_counts lives there until the cutover */
        a->last = !a->online;
    }
    store_rows_done(&rows);
    return a;
}

/*
 * Records the placement of a unit on agent: batch is the first unit of
 * its batch (itself, placed alone). A copy's table shows as LOADING once
 * the copy has started (plan_on_progress), not here: in a batch it may
 * wait for the units before it.
 */
/*
 * The next placement's number on agent: counted per agent in the catalog,
 * so that it only grows, across the coordinator's restarts too. The
 * agent's Hello says the highest it has received (server.c). 0 if none.
 */
static int64_t
s_next_placement(coord_t *self, const registry_agent_t *agent)
{
    return store_int(self->store, 0,
                     "UPDATE agents SET placements = placements + 1 "
                     "WHERE name = ? RETURNING placements",
                     "s", agent->name);
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
    Pgconvoy__AssignBatch batch = PGCONVOY__ASSIGN_BATCH__INIT;
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    int rc = -1;

    batch.units = xcalloc(n, sizeof *batch.units);
    if (store_begin(self->store) != 0)
    {
        goto cleanup;
    }
    int64_t placement = s_next_placement(self, agent);
    for (size_t i = 0; i < n; i++)
    {
        Pgconvoy__Assign *a =
            placement > 0 ? dispatch_build_assign(self, ids[i]) : NULL;
        if (a != NULL)
        {
            a->placement = (uint64_t) placement;
        }
        if (a == NULL || units_place(self->store, ids[i], agent->name, ids[0],
                                     placement, s_wall_now()) != 0)
        {
            if (a != NULL)
            {
                pgconvoy__assign__free_unpacked(a, NULL);
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
        env.body_case = PGCONVOY__ENVELOPE__BODY_ASSIGN;
        env.assign = batch.units[0];
    }
    else
    {
        env.body_case = PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;
        env.assign_batch = &batch;
    }
    rc = outbox_add(self->outbox, self->agents, agent->route, &env);
    self->fault_armed =
        self->fault_armed ||
        (self->fault_exit_before_send != NULL &&
         strcmp(self->fault_exit_before_send,
                units_kind_name(batch.units[0]->kind)) == 0);
    /* a placement beyond its free slots waits there for one (the spare
     * of dispatch_units()); a snapshot's holder takes none */
    bool waits = batch.units[0]->kind != K_SNAPSHOT &&
                 batch.units[0]->kind != K_SLOT && agent->busy >= agent->jobs;
    log_info("unit=%" PRId64 " kind=%s agent=%s assigned%s%s", ids[0],
             units_kind_name(batch.units[0]->kind), agent->name,
             n > 1 ? ", the first of a batch" : "",
             waits ? ", to start there when a slot frees" : "");
    if (n > 1)
    {
        log_debug("units=%zu batch=%" PRId64 " agent=%s placed together", n,
                  ids[0], agent->name);
    }

cleanup:
    /* built with malloc field by field, as unpack would have */
    for (size_t i = 0; i < batch.n_units; i++)
    {
        pgconvoy__assign__free_unpacked(batch.units[i], NULL);
    }
    free(batch.units);
    return rc;
}

/*
 * The job slots agent has free now, none if its lease ran out (it would
 * not take them): a batch takes one slot, as it runs its units one
 * after the other; a cdc unit waiting for its validate units (started)
 * takes none. Counted in the catalog only when something may have
 * changed them (agent->busy is -1): one DISTINCT over the running units
 * of all agents, at every pass, was 23% of the coordinator's time while
 * 100 agents ran batches of copies (coord_sim --unit-ms 100: its CPU
 * fell by 14%). coord_sim checks that no placement finds its agent
 * without a free slot.
 */
_Static_assert(K_CDC == 9, "s_free_slots names the cdc kind by number");
static int
s_free_slots(coord_t *self, registry_agent_t *agent, int64_t now)
{
    if (!registry_is_leased(agent, now))
    {
        return 0;
    }
    if (agent->busy < 0)
    {
        store_rows_t *rows =
            store_query(self->store,
                        "SELECT count(DISTINCT coalesce(batch, id)), "
                        "       coalesce(sum(kind NOT IN " DISPATCH_SHORT_KINDS
                        "                    OR weight >= ?), 0) "
                        "  FROM units "
                        " WHERE agent = ? AND state = 'running' "
                        "   AND kind NOT IN " UNITS_HOLDER_KINDS
                        "   AND NOT (kind = 9 AND started = 1)",
                        "is", DISPATCH_SHORT_BYTES, agent->name);
        /* no row (an error): every slot taken, none to spare */
        agent->busy = agent->jobs;
        agent->short_only = false;
        if (store_rows_next(rows))
        {
            agent->busy = (int) store_rows_int(rows, 0);
            agent->short_only = store_rows_int(rows, 1) == 0;
        }
        store_rows_done(&rows);
    }
    return agent->jobs - agent->busy;
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
 * DISPATCH_BATCH_TABLE_BYTES (DISPATCH_BATCH_BUILD_BYTES for builds), of
 * the same kind and database, up to DISPATCH_BATCH_UNITS units and
 * DISPATCH_BATCH_BYTES (DISPATCH_BATCH_BUILD_BYTES) of tables. A batch takes
 * at most a share of what is queued (half of it over every slot), so
 * that the last units still spread over the agents.
 *
 * As a spare (every slot of agent taken), only a short head is placed:
 * a long one, finalize say, kept there would wait for a slot of that
 * agent while another agent's may free first. Returns 1 then, with
 * nothing placed: the head waits here for the first free slot.
 */
static int
s_place(coord_t *self, registry_agent_t *agent, int64_t head, bool spare,
        bool *is_short)
{
    int64_t ids[DISPATCH_BATCH_UNITS];
    size_t n = 1;
    units_row_t unit;
    store_rows_t *rows = NULL;

    ids[0] = head;
    /* gone: kind 0, placed alone, and s_send_units() finds it gone */
    (void) units_get(self->store, head, &unit);
    int kind = unit.kind;
    int64_t db_id = unit.database_id;
    int64_t bytes = unit.weight;
    /* a range of a split table is not batched: its table was split so
     * that its ranges run in parallel */
    bool whole = unit.first_page == 0 && unit.last_page == 0;
    int64_t table_limit = kind == K_SCHEMA_POST ? DISPATCH_BATCH_BUILD_BYTES
                                                : DISPATCH_BATCH_TABLE_BYTES;
    /* a batch's units are each smaller than table_limit: its head says */
    *is_short = (kind == K_COPY || kind == K_SCHEMA_POST || kind == K_ANALYZE ||
                 kind == K_VALIDATE) &&
                bytes < DISPATCH_SHORT_BYTES;
    if (spare && !*is_short)
    {
        return 1;
    }
    int64_t budget = kind == K_SCHEMA_POST ? DISPATCH_BATCH_BUILD_BYTES
                                           : DISPATCH_BATCH_BYTES;
    if ((kind == K_SCHEMA_POST || kind == K_ANALYZE || kind == K_VALIDATE ||
         (kind == K_COPY && whole)) &&
        bytes < table_limit)
    {
        int64_t queued = units_count(self->store, db_id, kind, "'queued'");
        int64_t share = queued / (2 * s_total_slots(self));
        int64_t want =
            share < DISPATCH_BATCH_UNITS ? share : DISPATCH_BATCH_UNITS;

        rows = store_query(self->store,
                           "SELECT id, weight FROM units WHERE database_id = ? "
                           "AND kind = ? AND state = 'queued' AND id <> ? "
                           "AND weight < ? AND first_page = 0 AND "
                           "last_page = 0 AND not_before <= ? "
                           "ORDER BY id LIMIT ?",
                           "iiiiii", db_id, (int64_t) kind, head, table_limit,
                           zclock_time(), want - 1);
        while ((int64_t) n < want && bytes < budget && store_rows_next(rows))
        {
            ids[n++] = store_rows_int(rows, 0);
            bytes += store_rows_int(rows, 1);
        }
        store_rows_done(&rows);
    }
    return s_send_units(self, agent, ids, n);
}

/* The next unit to place on a job slot, 0 if none. */
static int64_t
s_queue_head(coord_t *self, int64_t now)
{
    return store_int(self->store, 0,
                     "SELECT u.id FROM units u "
                     "  JOIN databases d ON d.id = u.database_id "
                     " WHERE u.state = 'queued' "
                     "   AND u.kind NOT IN " UNITS_HOLDER_KINDS
                     "   AND (u.kind <> ? OR d.snapshot IS NOT NULL) "
                     "   AND u.not_before <= ? "
                     " ORDER BY u.priority DESC, u.weight DESC, u.id LIMIT 1",
                     "ii", (int64_t) K_COPY, now);
}

void
dispatch_units(coord_t *self)
{
    self->dispatch_wanted = false;
    size_t n = registry_size(self->registry);
    size_t next_holder = 0;
    bool placed = true;
    /* units tried again after a transient failure wait for their time */
    int64_t now = zclock_time();

    /* snapshot holders take no job slot: they only wait */
    for (;;)
    {
        int64_t id =
            store_int(self->store, 0,
                      "SELECT id FROM units WHERE state = 'queued' "
                      "AND kind IN " UNITS_HOLDER_KINDS " AND not_before <= ? "
                      "ORDER BY id LIMIT 1",
                      "i", now);
        registry_agent_t *agent = NULL;
        for (size_t i = 0; id != 0 && agent == NULL && i < n; i++)
        {
            registry_agent_t *candidate =
                registry_at(self->registry, (next_holder + i) % n);
            agent = registry_is_leased(candidate, zclock_mono()) ? candidate
                                                                 : NULL;
        }
        if (agent == NULL || s_send_units(self, agent, &id, 1) != 0)
        {
            break;
        }
        next_holder++;
    }
    /* one placement per agent per round, so that work spreads over all
     * agents from the start; then one more on each agent running only
     * short units, which waits there for a slot (DISPATCH_SHORT_BYTES) */
    for (int spare = 0; spare <= 1; spare++)
    {
        placed = true;
        while (placed)
        {
            placed = false;
            for (size_t i = 0; i < n; i++)
            {
                registry_agent_t *agent = registry_at(self->registry, i);
                int64_t mono = zclock_mono();
                int free_slots = s_free_slots(self, agent, mono);
                /* an agent without a lease has no free slot and takes
                 * no spare either */
                if (spare ? free_slots != 0 || !agent->short_only ||
                                !registry_is_leased(agent, mono)
                          : free_slots <= 0)
                {
                    continue;
                }
                int64_t id = s_queue_head(self, now);
                bool is_short = false;
                if (id == 0)
                {
                    return;
                }
                int rc = s_place(self, agent, id, spare, &is_short);
                if (rc == 1)
                {
                    return; /* a long head: no spare goes ahead of it */
                }
                if (rc == 0)
                {
                    agent->busy++;
                    agent->short_only = agent->short_only && is_short;
                    placed = true;
                }
            }
        }
    }
}

void
dispatch_request(coord_t *self)
{
    self->dispatch_wanted = true;
}
