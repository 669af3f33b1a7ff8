/*
 * coordinator/metrics.c
 *     Builds the /metrics page from one read transaction of the catalog.
 *
 * The rows are loaded first, then written family by family, because the
 * format wants each family's samples together. Names follow Prometheus's
 * conventions: pgconvoy_ prefix, _total for counters, base units (bytes,
 * seconds). Per-table series exist only for tasks still Pending or
 * Running, so that finished tasks of 10,000 tables do not keep 20,000
 * series alive.
 */
#include "coordinator/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/prom.h"
#include "coordinator/states.h"

#define S_MAX_LABELS 5
#define S_MAX_VALUES 14

/* One row: its labels as prom.h wants them (name, value, ..., NULL; the
 * values owned) and its numbers. */
typedef struct
{
    const char *labels[2 * S_MAX_LABELS + 1];
    int64_t v[S_MAX_VALUES];
} s_row_t;

typedef struct
{
    s_row_t *rows; /* owned */
    size_t n;      /* of rows */
} s_rows_t;

/* A family drawn from one value of each row; scale > 0: a double, the
 * value divided by scale (milliseconds to seconds). */
typedef struct
{
    const char *name;
    const char *type;
    const char *help;
    int value;
    double scale;
} s_family_t;

static const char *const s_task_labels[] = {"project", "task", "state", NULL};
static const char *const s_db_labels[] = {"project", "task", "database",
                                          "state", NULL};
static const char *const s_table_labels[] = {"project", "task",  "database",
                                             "schema",  "table", NULL};

#define S_DB_FROM                                                              \
    "  FROM databases d JOIN tasks t ON t.id = d.task_id"                      \
    "  JOIN projects p ON p.id = t.project_id"                                 \
    "  LEFT JOIN (SELECT database_id, sum(rows) AS rows, sum(bytes) AS bytes," \
    "    sum(state = 'COMPLETED') AS completed,"                               \
    "    sum(state = 'LOADING') AS loading, sum(state = 'QUEUED') AS queued,"  \
    "    sum(state = 'ERROR') AS errored, sum(cdc_ins) AS ins,"                \
    "    sum(cdc_upd) AS upd, sum(cdc_del) AS del"                             \
    "    FROM tables_ GROUP BY database_id) s ON s.database_id = d.id"

static const char s_db_sql[] =
    "SELECT p.name, t.name, d.name, d.state,"
    "  coalesce(s.rows, 0), coalesce(s.bytes, 0), coalesce(s.completed, 0),"
    "  coalesce(s.loading, 0), coalesce(s.queued, 0),"
    "  coalesce(s.errored, 0), coalesce(s.ins, 0), coalesce(s.upd, 0),"
    "  coalesce(s.del, 0), d.latency_ms,"
    "  CASE WHEN d.applied_lsn > 0 AND d.source_lsn > d.applied_lsn"
    "    THEN d.source_lsn - d.applied_lsn ELSE 0 END,"
    "  d.slot_wal_bytes, d.trouble_retries" S_DB_FROM " ORDER BY d.id";

static const s_family_t s_db_families[] = {
    {"pgconvoy_full_load_rows_total", "counter",
     "Rows the full load copied (starts over if the load does); rates are left to rate()",
     0, 0},
    {"pgconvoy_full_load_bytes_total", "counter",
     "Bytes the full load copied (starts over if the load does); rates are left to rate()",
     1, 0},
    {"pgconvoy_tables_completed", "gauge", "Tables whose full load is done", 2,
     0},
    {"pgconvoy_tables_loading", "gauge", "Tables being loaded", 3, 0},
    {"pgconvoy_tables_queued", "gauge", "Tables waiting for their full load", 4,
     0},
    {"pgconvoy_tables_errored", "gauge", "Tables whose full load failed", 5, 0},
    {"pgconvoy_cdc_inserts_applied_total", "counter",
     "INSERTs change data capture applied to the target; rates are left to rate()",
     6, 0},
    {"pgconvoy_cdc_updates_applied_total", "counter",
     "UPDATEs change data capture applied to the target; rates are left to rate()",
     7, 0},
    {"pgconvoy_cdc_deletes_applied_total", "counter",
     "DELETEs change data capture applied to the target; rates are left to rate()",
     8, 0},
    {"pgconvoy_cdc_lag_seconds", "gauge",
     "How far the target is behind the source, in time (the cdc unit's latest report)",
     9, 1000.0},
    {"pgconvoy_cdc_lag_bytes", "gauge",
     "WAL between the source's position and the last change applied", 10, 0},
    {"pgconvoy_slot_retained_wal_bytes", "gauge",
     "WAL the replication slot holds back on the source", 11, 0},
    {"pgconvoy_retries", "gauge",
     "Tries failed in a row of a failure being waited out (0 while all goes well)",
     12, 0}};

static const s_family_t s_table_families[] = {
    {"pgconvoy_table_rows_total", "counter",
     "Rows the full load copied into the table (unfinished tasks only)", 0, 0},
    {"pgconvoy_table_bytes_total", "counter",
     "Bytes the full load copied into the table (unfinished tasks only)", 1,
     0}};

static void
s_rows_free(s_rows_t *rows)
{
    for (size_t i = 0; i < rows->n; i++)
    {
        for (int l = 1; rows->rows[i].labels[l - 1] != NULL; l += 2)
        {
            free((char *) rows->rows[i].labels[l]);
        }
    }
    free(rows->rows);
    rows->rows = NULL;
    rows->n = 0;
}

/*
 * Runs sql (no bindings) and loads its rows: the first columns are the labels named in names, the rest
 * n_values integers. Returns 0, or -1 (logged by the store).
 */
static int
s_rows_load(store_t *store, const char *sql, const char *const *names,
            int n_values, s_rows_t *out)
{
    int n_labels = 0;
    size_t cap = 0;
    store_rows_t *rows = store_query(store, sql, NULL);

    while (names[n_labels] != NULL)
    {
        n_labels++;
    }
    if (rows == NULL)
    {
        return -1;
    }
    while (store_rows_next(rows))
    {
        if (out->n == cap)
        {
            cap = cap > 0 ? 2 * cap : 16;
            out->rows = realloc(out->rows, cap * sizeof *out->rows);
            if (out->rows == NULL)
            {
                abort(); /* as xcalloc() does */
            }
        }
        s_row_t *row = &out->rows[out->n++];
        memset(row, 0, sizeof *row);
        for (int l = 0; l < n_labels; l++)
        {
            row->labels[2 * l] = names[l];
            row->labels[2 * l + 1] = xstrdup(store_rows_text(rows, l));
        }
        for (int v = 0; v < n_values; v++)
        {
            row->v[v] = store_rows_int(rows, n_labels + v);
        }
    }
    store_rows_done(&rows);
    return 0;
}

/* Each family of families over rows. */
static void
s_add_families(prom_t *prom, const s_family_t *families, size_t n_families,
               const s_rows_t *rows, int skip_label)
{
    for (size_t f = 0; f < n_families; f++)
    {
        const s_family_t *fam = &families[f];
        prom_add_family(prom, fam->name, fam->type, fam->help);
        for (size_t i = 0; i < rows->n; i++)
        {
            const char *labels[2 * S_MAX_LABELS + 1];
            memcpy(labels, rows->rows[i].labels, sizeof labels);
            if (skip_label >= 0)
            {
                labels[2 * skip_label] = NULL; /* the state's: last */
            }
            int64_t v = rows->rows[i].v[fam->value];
            if (fam->scale > 0)
            {
                prom_add_double(prom, fam->name, labels,
                                (double) v / fam->scale);
            }
            else
            {
                prom_add_int(prom, fam->name, labels, v);
            }
        }
    }
}

/*
 * A state as a labelled gauge: one series per state each row may be
 * in, 1 for the one it is in. The state is the row's label state_label
 * (its last).
 */
static void
s_add_states(prom_t *prom, const char *name, const char *help,
             const s_rows_t *rows, int state_label, int count,
             const char *(*state_name)(int) )
{
    prom_add_family(prom, name, "gauge", help);
    for (size_t i = 0; i < rows->n; i++)
    {
        const char *labels[2 * S_MAX_LABELS + 1];
        const char *current = rows->rows[i].labels[2 * state_label + 1];
        memcpy(labels, rows->rows[i].labels, sizeof labels);
        for (int s = 0; s < count; s++)
        {
            const char *this = state_name(s);
            labels[2 * state_label + 1] = this;
            prom_add_int(prom, name, labels, strcmp(this, current) == 0);
        }
    }
}

static const char *
s_task_state(int s)
{
    return states_task_name((task_state_t) s);
}

static const char *
s_db_state(int s)
{
    return states_db_name((db_state_t) s);
}

/* Per agent: the snapshot's, and its running units from the catalog. */
static void
s_add_agents(prom_t *prom, store_t *store, const agent_snapshot_agent_t *agents,
             size_t n, int64_t now)
{
    prom_add_family(
        prom, "pgconvoy_agent_up", "gauge",
        "1 while the agent sends heartbeats, 0 once it missed them");
    for (size_t i = 0; i < n; i++)
    {
        const char *labels[] = {"agent", agents[i].name, NULL};
        prom_add_int(prom, "pgconvoy_agent_up", labels, agents[i].alive);
    }
    prom_add_family(prom, "pgconvoy_agent_heartbeat_age_seconds", "gauge",
                    "Time since the agent's last heartbeat");
    for (size_t i = 0; i < n; i++)
    {
        const char *labels[] = {"agent", agents[i].name, NULL};
        prom_add_double(prom, "pgconvoy_agent_heartbeat_age_seconds", labels,
                        (double) (now - agents[i].last_seen) / 1000.0);
    }
    prom_add_family(prom, "pgconvoy_agent_jobs", "gauge",
                    "Units the agent runs at once (--jobs)");
    for (size_t i = 0; i < n; i++)
    {
        const char *labels[] = {"agent", agents[i].name, NULL};
        prom_add_int(prom, "pgconvoy_agent_jobs", labels, agents[i].jobs);
    }
    prom_add_family(prom, "pgconvoy_agent_units_running", "gauge",
                    "Units placed on the agent and running");
    for (size_t i = 0; i < n; i++)
    {
        const char *labels[] = {"agent", agents[i].name, NULL};
        /* the units_running index: O(the agent's running units) */
        int64_t running = store_int(
            store, 0,
            "SELECT count(*) FROM units WHERE state = 'running' AND agent = ?",
            "s", agents[i].name);
        prom_add_int(prom, "pgconvoy_agent_units_running", labels, running);
    }
}

char *
metrics_render(store_t *store, const agent_snapshot_agent_t *agents, size_t n,
               int64_t now)
{
    char *text = NULL;
    prom_t *prom = prom_new();
    s_rows_t tasks = {NULL, 0};
    s_rows_t dbs = {NULL, 0};
    s_rows_t tables = {NULL, 0};

    /* each query reads one committed state (store_begin() would take the
     * write lock, which a reader cannot); a scrape may see a change half
     * way between two of them, as task show may */
    if (s_rows_load(store,
                    "SELECT p.name, t.name, t.state FROM tasks t"
                    "  JOIN projects p ON p.id = t.project_id ORDER BY t.id",
                    s_task_labels, 0, &tasks) != 0 ||
        s_rows_load(store, s_db_sql, s_db_labels, 13, &dbs) != 0 ||
        s_rows_load(store,
                    "SELECT p.name, t.name, d.name, s.schema_name,"
                    "  s.table_name, s.rows, s.bytes FROM tables_ s"
                    "  JOIN databases d ON d.id = s.database_id"
                    "  JOIN tasks t ON t.id = d.task_id"
                    "  JOIN projects p ON p.id = t.project_id"
                    " WHERE t.state IN ('Pending', 'Running') ORDER BY s.id",
                    s_table_labels, 2, &tables) != 0)
    {
        log_error("could not read the catalog for /metrics");
        goto cleanup;
    }
    s_add_states(prom, "pgconvoy_task_state",
                 "The task's state: 1 for the state it is in", &tasks, 2,
                 TASK_STATE_COUNT, s_task_state);
    s_add_states(prom, "pgconvoy_database_state",
                 "The database's state: 1 for the state it is in", &dbs, 3,
                 DB_STATE_COUNT, s_db_state);
    s_add_families(prom, s_db_families,
                   sizeof s_db_families / sizeof s_db_families[0], &dbs, 3);
    s_add_families(prom, s_table_families,
                   sizeof s_table_families / sizeof s_table_families[0],
                   &tables, -1);
    prom_add_family(
        prom, "pgconvoy_units_queued", "gauge",
        "Units waiting to be placed on an agent (the queue's depth)");
    prom_add_int(prom, "pgconvoy_units_queued", NULL,
                 store_int(store, 0,
                           "SELECT coalesce(sum(n), 0) FROM unit_counts"
                           " WHERE state = 'queued'",
                           NULL));
    s_add_agents(prom, store, agents, n, now);
    text = prom_finish(&prom);

cleanup:
    prom_destroy(&prom);
    s_rows_free(&tasks);
    s_rows_free(&dbs);
    s_rows_free(&tables);
    return text;
}
