/*
 * coordinator/status.c
 *     `task show` output, in the seed's shape and field names
 *     (MigrationLevelOutput, DatabaseLevelOutput, TableLevelOutput), so
 *     that DMS users' scripts and JMESPath queries keep working; plus what
 *     DMS lacks (partitions, throughput, agents, error messages).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/lsn.h"
#include "common/strbuf.h"
#include "coordinator/coord.h"
#include "coordinator/states.h"
#include "coordinator/units.h"

/* Column text as a JSON string, "" for NULL. */
static json_object *
s_text(const store_rows_t *rows, int column)
{
    return json_object_new_string(store_rows_text(rows, column));
}

/* Column text as a JSON string, or JSON null for NULL. */
static json_object *
s_text_or_null(const store_rows_t *rows, int column)
{
    if (store_rows_is_null(rows, column))
    {
        return NULL;
    }
    return s_text(rows, column);
}

/* Milliseconds as seconds, printed to the millisecond. */
static json_object *
s_seconds(int64_t ms)
{
    char text[32];

    snprintf(text, sizeof text, "%.3f", (double) ms / 1000.0);
    return json_object_new_double_s((double) ms / 1000.0, text);
}

static void
s_add_migration(store_t *store, json_object *out, int64_t task_id)
{
    store_rows_t *rows = store_query(
        store,
        "SELECT t.task_key, t.state, t.src_host || ':' || t.src_port, "
        "       t.source_version, t.tgt_host || ':' || t.tgt_port, "
        "       t.target_version, t.started_at, t.ended_at, "
        "       (SELECT count(*) FROM databases WHERE task_id = t.id) "
        "  FROM tasks t WHERE t.id = ?",
        "i", task_id);

    if (store_rows_next(rows))
    {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "id", s_text(rows, 0));
        json_object_object_add(m, "resultType",
                               json_object_new_string("MigrationLevelOutput"));
        json_object_object_add(m, "state", s_text(rows, 1));
        json_object_object_add(m, "databaseCount",
                               json_object_new_int64(store_rows_int(rows, 8)));
        json_object_object_add(m, "sourceServer", s_text(rows, 2));
        json_object_object_add(m, "sourceVersion", s_text_or_null(rows, 3));
        json_object_object_add(m, "targetServer", s_text(rows, 4));
        json_object_object_add(m, "targetVersion", s_text_or_null(rows, 5));
        json_object_object_add(m, "startedOn", s_text_or_null(rows, 6));
        json_object_object_add(m, "endedOn", s_text_or_null(rows, 7));
        /* since the start, or from start to end: what a watch shows */
        double started = store_parse_time(store_rows_text(rows, 6));
        double ended = store_rows_is_null(rows, 7)
                           ? (double) zclock_time() / 1000.0
                           : store_parse_time(store_rows_text(rows, 7));
        json_object_object_add(
            m, "elapsedSeconds",
            s_seconds(started > 0 && ended > started
                          ? (int64_t) ((ended - started) * 1000)
                          : 0));
        json_object_array_add(out, m);
    }
    store_rows_done(&rows);
}

static json_object *
s_lsn_or_null(const store_rows_t *rows, int col)
{
    char text[LSN_BUFSIZE];

    if (store_rows_int(rows, col) == 0)
    {
        return NULL;
    }
    (void) lsn_format((uint64_t) store_rows_int(rows, col), text);
    return json_object_new_string(text);
}

/* Beyond DMS: where the stream stands, so that lag can be read in bytes
 * (columns: slot, applied, source, end). */
static void
s_add_cdc_position(json_object *d, const store_rows_t *rows, int first)
{
    int64_t applied = store_rows_int(rows, first + 1);
    int64_t source = store_rows_int(rows, first + 2);

    json_object_object_add(d, "slotName", s_text_or_null(rows, first));
    json_object_object_add(d, "appliedLsn", s_lsn_or_null(rows, first + 1));
    json_object_object_add(d, "sourceLsn", s_lsn_or_null(rows, first + 2));
    json_object_object_add(d, "cutoverLsn", s_lsn_or_null(rows, first + 3));
    json_object_object_add(d, "lagBytes",
                           json_object_new_int64(applied > 0 && source > applied
                                                     ? source - applied
                                                     : 0));
}

/*
 * What an online database may still leave on the servers after it was
 * cancelled or failed: its slot, publication and origin, until the
 * cleanup unit (columns: slot, the last cleanup unit's state) has run;
 * the origin alone once the cleanup dropped the rest (source_dropped). A
 * DBA must know what to drop by hand if it never does.
 */
static void
s_add_cleanup(json_object *d, const store_rows_t *rows, int slot_col,
              int state_col, bool source_dropped)
{
    const char *state = store_rows_is_null(rows, state_col)
                            ? NULL
                            : store_rows_text(rows, state_col);
    const char *slot = store_rows_text(rows, slot_col);
    json_object *left = json_object_new_array();
    bool pending = state != NULL &&
                   strcmp(state, states_unit_name(UNIT_DONE)) != 0 &&
                   strcmp(state, states_unit_name(UNIT_CANCELLED)) != 0;

    if (pending && slot[0] != '\0')
    {
        char *what[] = {xasprintf("replication slot %s on the source", slot),
                        xasprintf("publication %s on the source", slot),
                        xasprintf("replication origin %s on the target", slot)};

        for (size_t i = 0; i < sizeof what / sizeof what[0]; i++)
        {
            if (!source_dropped || i == 2) /* 2: the target's */
            {
                json_object_array_add(left, json_object_new_string(what[i]));
            }
            free(what[i]);
        }
    }
    /* null: no cleanup was needed; else queued, running, done, failed */
    json_object_object_add(d, "cleanupState",
                           state != NULL ? json_object_new_string(state)
                                         : NULL);
    json_object_object_add(d, "cleanupPending", left);
}

/* What the tables of each database add up to, for its output. */
typedef struct
{
    size_t n;
    struct
    {
        char *name;    /* owned */
        int64_t rows;  /* copied, estimated while loading */
        int64_t bytes; /* copied so far */
        int64_t est;   /* what the full load will have copied, as known now */
        int64_t rate;  /* bytes per second of the tables loading now */
    } * db;
} s_totals_t;

static void
s_totals_add(s_totals_t *totals, const char *name, int64_t rows, int64_t bytes,
             int64_t est, int64_t rate)
{
    /* tables come ordered by database: only the last can be theirs */
    if (totals->n == 0 || strcmp(totals->db[totals->n - 1].name, name) != 0)
    {
        totals->db = realloc(totals->db, (totals->n + 1) * sizeof *totals->db);
        if (totals->db == NULL)
        {
            abort();
        }
        totals->db[totals->n].name = xstrdup(name);
        totals->db[totals->n].rows = 0;
        totals->db[totals->n].bytes = 0;
        totals->db[totals->n].est = 0;
        totals->db[totals->n].rate = 0;
        totals->n++;
    }
    totals->db[totals->n - 1].rows += rows;
    totals->db[totals->n - 1].bytes += bytes;
    totals->db[totals->n - 1].est += est;
    totals->db[totals->n - 1].rate += rate;
}

static void
s_totals_clear(s_totals_t *totals)
{
    for (size_t i = 0; i < totals->n; i++)
    {
        free(totals->db[i].name);
    }
    free(totals->db);
    totals->db = NULL;
    totals->n = 0;
}

static void
s_add_totals(json_object *d, const s_totals_t *totals, const char *name)
{
    int64_t rows = 0;
    int64_t bytes = 0;
    int64_t est = 0;
    int64_t rate = 0;

    for (size_t i = 0; i < totals->n; i++)
    {
        if (strcmp(totals->db[i].name, name) == 0)
        {
            rows = totals->db[i].rows;
            bytes = totals->db[i].bytes;
            est = totals->db[i].est;
            rate = totals->db[i].rate;
        }
    }
    json_object_object_add(d, "fullLoadTotalRows", json_object_new_int64(rows));
    json_object_object_add(d, "fullLoadTotalVolumeBytes",
                           json_object_new_int64(bytes));
    /* the bytes the full load will have copied once done, as known now:
     * what done tables copied plus the others' sizes on the source (a
     * progress bar's total, which comes closer with every table done) */
    json_object_object_add(d, "fullLoadEstimatedBytes",
                           json_object_new_int64(est));
    json_object_object_add(d, "bytesPerSecond", json_object_new_int64(rate));
}

static void
s_add_databases(store_t *store, json_object *out, int64_t task_id,
                const s_totals_t *totals)
{
    store_rows_t *rows = store_query(
        store,
        "SELECT d.name, d.target_name, d.state, d.started_at, d.ended_at, "
        "       d.error, "
        "       (SELECT count(*) FROM tables_ WHERE database_id = d.id AND "
        "          state = 'COMPLETED'), "
        "       (SELECT count(*) FROM tables_ WHERE database_id = d.id AND "
        "          state = 'LOADING'), "
        "       (SELECT count(*) FROM tables_ WHERE database_id = d.id AND "
        "          state = 'QUEUED'), "
        "       (SELECT count(*) FROM tables_ WHERE database_id = d.id AND "
        "          state = 'ERROR'), "
        "       d.pending, d.latency_ms, d.slot, d.applied_lsn, "
        "       d.source_lsn, d.end_lsn, "
        "       (SELECT coalesce(sum(cdc_ins), 0) FROM tables_ "
        "         WHERE database_id = d.id), "
        "       (SELECT coalesce(sum(cdc_upd), 0) FROM tables_ "
        "         WHERE database_id = d.id), "
        "       (SELECT coalesce(sum(cdc_del), 0) FROM tables_ "
        "         WHERE database_id = d.id), "
        "       d.trouble, d.trouble_since, d.trouble_retries, "
        "       d.slot_wal_bytes, d.reloads, "
        "       (SELECT state FROM units WHERE database_id = d.id AND "
        "          kind = ? ORDER BY id DESC LIMIT 1), "
        "       d.source_stream_dropped "
        "  FROM databases d WHERE d.task_id = ? ORDER BY d.id",
        "ii", (int64_t) K_CLEANUP, task_id);

    while (store_rows_next(rows))
    {
        json_object *d = json_object_new_object();
        const char *state = store_rows_text(rows, 2);
        char *id = xasprintf("db|%s", store_rows_text(rows, 0));
        bool loaded = strcmp(state, "COMPLETING") == 0 ||
                      strcmp(state, "COMPLETED") == 0 ||
                      strcmp(state, "CATCHING_UP") == 0 ||
                      strcmp(state, "READY_TO_COMPLETE") == 0;

        json_object_object_add(d, "id", json_object_new_string(id));
        json_object_object_add(d, "resultType",
                               json_object_new_string("DatabaseLevelOutput"));
        json_object_object_add(d, "databaseName", s_text(rows, 0));
        json_object_object_add(d, "targetDatabaseName", s_text(rows, 1));
        json_object_object_add(d, "migrationState",
                               json_object_new_string(state));
        json_object_object_add(d, "fullLoadCompletedTables",
                               json_object_new_int64(store_rows_int(rows, 6)));
        json_object_object_add(d, "fullLoadLoadingTables",
                               json_object_new_int64(store_rows_int(rows, 7)));
        json_object_object_add(d, "fullLoadQueuedTables",
                               json_object_new_int64(store_rows_int(rows, 8)));
        json_object_object_add(d, "fullLoadErroredTables",
                               json_object_new_int64(store_rows_int(rows, 9)));
        s_add_totals(d, totals, store_rows_text(rows, 0));
        int64_t ins = store_rows_int(rows, 16);
        int64_t upd = store_rows_int(rows, 17);
        int64_t del = store_rows_int(rows, 18);
        /* changes received and not committed on the target yet */
        json_object_object_add(d, "incomingChanges",
                               json_object_new_int64(store_rows_int(rows, 10)));
        json_object_object_add(d, "appliedChanges",
                               json_object_new_int64(ins + upd + del));
        json_object_object_add(d, "cdcInsertCounter",
                               json_object_new_int64(ins));
        json_object_object_add(d, "cdcUpdateCounter",
                               json_object_new_int64(upd));
        json_object_object_add(d, "cdcDeleteCounter",
                               json_object_new_int64(del));
        /* seconds behind the source, as DMS; to the millisecond */
        json_object_object_add(d, "latency",
                               s_seconds(store_rows_int(rows, 11)));
        s_add_cdc_position(d, rows, 12);
        json_object_object_add(d, "initializationCompleted",
                               json_object_new_boolean(loaded));
        json_object_object_add(d, "startedOn", s_text_or_null(rows, 3));
        json_object_object_add(d, "endedOn", s_text_or_null(rows, 4));
        json_object_object_add(d, "errorMessage", s_text_or_null(rows, 5));
        /* a failure being waited out (null while all goes well): the
         * last one, since when, and how many tries failed in a row */
        json_object_object_add(d, "waitingOut", s_text_or_null(rows, 19));
        json_object_object_add(d, "waitingSince", s_text_or_null(rows, 20));
        json_object_object_add(d, "retries",
                               json_object_new_int64(store_rows_int(rows, 21)));
        /* WAL the replication slot holds back on the source */
        json_object_object_add(d, "slotRetainedWalBytes",
                               json_object_new_int64(store_rows_int(rows, 22)));
        /* online: full loads started over, their snapshot lost */
        json_object_object_add(d, "fullLoadRestarts",
                               json_object_new_int64(store_rows_int(rows, 23)));
        s_add_cleanup(d, rows, 12, 24, store_rows_int(rows, 25) != 0);
        json_object_array_add(out, d);
        free(id);
    }
    store_rows_done(&rows);
}

/* Adds each table's output to out (unless NULL) and its counts to
 * totals. */
static void
s_add_tables(store_t *store, json_object *out, int64_t task_id,
             s_totals_t *totals)
{
    store_rows_t *rows = store_query(
        store,
        "SELECT d.name, t.schema_name, t.table_name, t.state, t.rows, "
        "       t.bytes, t.started_at, t.ended_at, t.error, t.agents, "
        "       t.bytes_est, t.rows_est, t.parts, "
        "       (SELECT count(*) FROM units u WHERE u.table_id = t.id "
        "          AND u.kind = ? AND u.state = 'done'), "
        "       (SELECT coalesce(sum(u.bytes), 0) FROM units u "
        "         WHERE u.table_id = t.id AND u.kind = ?), "
        "       t.cdc_ins, t.cdc_upd, t.cdc_del "
        "  FROM tables_ t JOIN databases d ON d.id = t.database_id "
        " WHERE d.task_id = ? ORDER BY d.id, t.schema_name, t.table_name",
        "iii", (int64_t) PGCONVOY__UNIT_KIND__UNIT_COPY,
        (int64_t) PGCONVOY__UNIT_KIND__UNIT_COPY, task_id);
    double now = (double) zclock_time() / 1000.0;

    while (store_rows_next(rows))
    {
        const char *state = store_rows_text(rows, 3);
        bool completed = strcmp(state, "COMPLETED") == 0;
        bool loading = strcmp(state, "LOADING") == 0;
        int64_t row_count = store_rows_int(rows, 4);
        /* while loading, the ranges' bytes so far */
        int64_t bytes =
            completed ? store_rows_int(rows, 5) : store_rows_int(rows, 14);
        int64_t bytes_est = store_rows_int(rows, 10);
        int64_t rows_est = store_rows_int(rows, 11);
        double started = store_parse_time(store_rows_text(rows, 6));
        double ended =
            completed ? store_parse_time(store_rows_text(rows, 7)) : now;
        double elapsed = started > 0 && ended > started ? ended - started : 0;
        int64_t rate = elapsed > 0 ? (int64_t) ((double) bytes / elapsed) : 0;
        char finish[48] = "1970-01-01T00:00:00+00:00";

        if (loading && bytes_est > 0)
        {
            double share = (double) bytes / (double) bytes_est;
            row_count = (int64_t) ((double) rows_est * (share < 1 ? share : 1));
        }
        /* a done table's size is what it copied; the others' at least
         * what they copied so far */
        int64_t est = completed || bytes_est < bytes ? bytes : bytes_est;
        s_totals_add(totals, store_rows_text(rows, 0), row_count, bytes, est,
                     loading ? rate : 0);
        if (out == NULL)
        {
            continue;
        }
        if (loading && bytes > 0 && bytes_est > bytes && elapsed > 0)
        {
            /* bytes streamed so far against the table's size on disk:
             * rough, but honest about being an estimate */
            store_format_time(now + elapsed * (double) (bytes_est - bytes) /
                                        (double) bytes,
                              finish, sizeof finish);
        }
        char *id =
            xasprintf("or|%s|%s|%s", store_rows_text(rows, 0),
                      store_rows_text(rows, 1), store_rows_text(rows, 2));
        char *name = xasprintf("%s.%s", store_rows_text(rows, 1),
                               store_rows_text(rows, 2));
        json_object *t = json_object_new_object();
        json_object_object_add(t, "id", json_object_new_string(id));
        json_object_object_add(t, "resultType",
                               json_object_new_string("TableLevelOutput"));
        json_object_object_add(t, "databaseName", s_text(rows, 0));
        json_object_object_add(t, "tableName", json_object_new_string(name));
        json_object_object_add(t, "state", json_object_new_string(state));
        json_object_object_add(t, "fullLoadTotalRows",
                               json_object_new_int64(row_count));
        json_object_object_add(t, "fullLoadTotalVolumeBytes",
                               json_object_new_int64(bytes));
        json_object_object_add(t, "fullLoadEstimatedBytes",
                               json_object_new_int64(est));
        /* how long the load took, or has taken so far */
        json_object_object_add(t, "fullLoadSeconds",
                               s_seconds((int64_t) (elapsed * 1000)));
        json_object_object_add(t, "fullLoadStartedOn", s_text_or_null(rows, 6));
        json_object_object_add(t, "fullLoadEndedOn", s_text_or_null(rows, 7));
        json_object_object_add(t, "fullLoadEstFinishTime",
                               json_object_new_string(finish));
        int64_t ins = store_rows_int(rows, 15);
        int64_t upd = store_rows_int(rows, 16);
        int64_t del = store_rows_int(rows, 17);
        json_object_object_add(t, "cdcInsertCounter",
                               json_object_new_int64(ins));
        json_object_object_add(t, "cdcUpdateCounter",
                               json_object_new_int64(upd));
        json_object_object_add(t, "cdcDeleteCounter",
                               json_object_new_int64(del));
        json_object_object_add(t, "totalChangesApplied",
                               json_object_new_int64(ins + upd + del));
        json_object_object_add(
            t, "dataErrorsCount",
            json_object_new_int64(strcmp(state, "ERROR") == 0 ? 1 : 0));
        json_object_object_add(t, "partitionsDone",
                               json_object_new_int64(store_rows_int(rows, 13)));
        json_object_object_add(t, "partitionsTotal",
                               json_object_new_int64(store_rows_int(rows, 12)));
        json_object_object_add(t, "bytesPerSecond",
                               json_object_new_int64(rate));
        json_object *agents = json_object_new_array();
        char *list = xstrdup(store_rows_text(rows, 9));
        char *save = NULL;
        for (char *a = strtok_r(list, ",", &save); a != NULL;
             a = strtok_r(NULL, ",", &save))
        {
            json_object_array_add(agents, json_object_new_string(a));
        }
        free(list);
        json_object_object_add(t, "agents", agents);
        json_object_object_add(t, "errorMessage", s_text_or_null(rows, 8));
        json_object_array_add(out, t);
        free(id);
        free(name);
    }
    store_rows_done(&rows);
}

/*
 * What the task was created with: the options `task create` and
 * `migrate` take (the defaults too), by the names of the JSON around
 * them. The row holds split_bytes at column first, then one column per
 * flags[] entry, in its order (status_task_json()'s SELECT).
 */
static json_object *
s_options(const store_rows_t *rows, int first)
{
    static const char *const flags[] = {"fixReplicaIdentity", "noOwner",
                                        "noPrivileges",       "roles",
                                        "rolePasswords",      "noAnalyze"};
    json_object *o = json_object_new_object();

    json_object_object_add(o, "splitTablesLargerThanBytes",
                           json_object_new_int64(store_rows_int(rows, first)));
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    {
        json_object_object_add(
            o, flags[i],
            json_object_new_boolean(store_rows_int(rows, first + 1 + (int) i) !=
                                    0));
    }
    return o;
}

char *
status_task_json(store_t *store, int64_t task_id, bool expand, bool summary)
{
    json_object *root = json_object_new_object();
    json_object *props = json_object_new_object();
    store_rows_t *rows =
        store_query(store,
                    "SELECT t.name, p.name, t.task_type, t.state, t.task_key, "
                    "       t.split_bytes, t.fix_replica_identity, t.no_owner, "
                    "       t.no_privileges, t.create_roles, t.role_passwords, "
                    "       t.no_analyze "
                    "  FROM tasks t JOIN projects p ON p.id = t.project_id "
                    " WHERE t.id = ?",
                    "i", task_id);

    if (store_rows_next(rows))
    {
        const char *state = store_rows_text(rows, 3);
        json_object_object_add(root, "id", s_text(rows, 4));
        json_object_object_add(root, "name", s_text(rows, 0));
        json_object_object_add(root, "projectName", s_text(rows, 1));
        json_object_object_add(root, "type", json_object_new_string("tasks"));
        json_object_object_add(props, "taskType", s_text(rows, 2));
        json_object_object_add(props, "state", json_object_new_string(state));
        json_object_object_add(props, "options", s_options(rows, 5));
    }
    store_rows_done(&rows);

    json_object *errors = json_object_new_array();
    rows = store_query(store,
                       "SELECT name, error FROM databases WHERE task_id = ? "
                       "AND error IS NOT NULL ORDER BY id",
                       "i", task_id);
    while (store_rows_next(rows))
    {
        char *line = xasprintf("database \"%s\": %s", store_rows_text(rows, 0),
                               store_rows_text(rows, 1));
        json_object_array_add(errors, json_object_new_string(line));
        free(line);
    }
    store_rows_done(&rows);
    json_object_object_add(props, "errors", errors);

    if (expand)
    {
        json_object *out = json_object_new_array();
        json_object *tables = summary ? NULL : json_object_new_array();
        s_totals_t totals = {0, NULL};

        /* the tables first: the databases show their totals */
        s_add_tables(store, tables, task_id, &totals);
        s_add_migration(store, out, task_id);
        s_add_databases(store, out, task_id, &totals);
        for (size_t i = 0; tables && i < json_object_array_length(tables); i++)
        {
            json_object_array_add(
                out, json_object_get(json_object_array_get_idx(tables, i)));
        }
        json_object_put(tables);
        s_totals_clear(&totals);
        json_object_object_add(props, "output", out);
    }
    json_object_object_add(root, "properties", props);
    char *text = xstrdup(json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return text;
}

char *
status_projects_json(coord_t *self)
{
    json_object *root = json_object_new_object();
    json_object *projects = json_object_new_array();
    json_object *agents = json_object_new_array();
    store_rows_t *rows = store_query(
        self->store,
        "SELECT p.name, p.source_platform, p.target_platform, p.created_at, "
        "       (SELECT group_concat(name, ',') FROM tasks "
        "         WHERE project_id = p.id) "
        "  FROM projects p ORDER BY p.name",
        NULL);

    while (store_rows_next(rows))
    {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", s_text(rows, 0));
        json_object_object_add(p, "sourcePlatform", s_text(rows, 1));
        json_object_object_add(p, "targetPlatform", s_text(rows, 2));
        json_object_object_add(p, "creationTime", s_text(rows, 3));
        json_object_object_add(p, "tasks", s_text_or_null(rows, 4));
        json_object_array_add(projects, p);
    }
    store_rows_done(&rows);
    for (size_t i = 0; i < registry_size(self->registry); i++)
    {
        registry_agent_t *a = registry_at(self->registry, i);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(a->name));
        json_object_object_add(o, "labels", json_object_new_string(a->labels));
        json_object_object_add(o, "jobs", json_object_new_int(a->jobs));
        json_object_object_add(o, "alive", json_object_new_boolean(a->alive));
        json_object_array_add(agents, o);
    }
    json_object_object_add(root, "projects", projects);
    json_object_object_add(root, "agents", agents);
    char *text = xstrdup(json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return text;
}
