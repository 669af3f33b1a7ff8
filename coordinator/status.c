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
#include <time.h>

#include "common/lsn.h"
#include "common/strbuf.h"
#include "coordinator/coord.h"

static json_object *
s_text_or_null(sqlite3_stmt *stmt, int column)
{
    if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
    {
        return NULL;
    }
    return json_object_new_string(store_text(stmt, column));
}

/* Seconds since the epoch of our own ISO timestamps; 0 if unparsable. */
static double
s_parse_time(const char *iso)
{
    struct tm tm;
    long micros = 0;

    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL)
    {
        return 0;
    }
    if (*rest == '.')
    {
        micros = strtol(rest + 1, NULL, 10);
    }
    return (double) timegm(&tm) + (double) micros / 1e6;
}

static void
s_format_time(double when, char *buf, size_t size)
{
    time_t secs = (time_t) when;
    struct tm tm;
    char base[32];

    gmtime_r(&secs, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%06ld+00:00", base,
             (long) ((when - (double) secs) * 1e6));
}

static void
s_add_migration(coord_t *self, json_object *out, int64_t task_id)
{
    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT t.task_key, t.state, t.src_host || ':' || t.src_port, "
        "       t.source_version, t.tgt_host || ':' || t.tgt_port, "
        "       t.target_version, t.started_at, t.ended_at, "
        "       (SELECT count(*) FROM databases WHERE task_id = t.id) "
        "  FROM tasks t WHERE t.id = ?",
        "i", task_id);

    if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "id",
                               json_object_new_string(store_text(stmt, 0)));
        json_object_object_add(m, "resultType",
                               json_object_new_string("MigrationLevelOutput"));
        json_object_object_add(m, "state",
                               json_object_new_string(store_text(stmt, 1)));
        json_object_object_add(
            m, "databaseCount",
            json_object_new_int64(sqlite3_column_int64(stmt, 8)));
        json_object_object_add(m, "sourceServer",
                               json_object_new_string(store_text(stmt, 2)));
        json_object_object_add(m, "sourceVersion", s_text_or_null(stmt, 3));
        json_object_object_add(m, "targetServer",
                               json_object_new_string(store_text(stmt, 4)));
        json_object_object_add(m, "targetVersion", s_text_or_null(stmt, 5));
        json_object_object_add(m, "startedOn", s_text_or_null(stmt, 6));
        json_object_object_add(m, "endedOn", s_text_or_null(stmt, 7));
        json_object_array_add(out, m);
    }
    sqlite3_finalize(stmt);
}

/* Milliseconds as seconds, printed to the millisecond. */
static json_object *
s_seconds(int64_t ms)
{
    char text[32];

    snprintf(text, sizeof text, "%.3f", (double) ms / 1000.0);
    return json_object_new_double_s((double) ms / 1000.0, text);
}

static json_object *
s_lsn_or_null(sqlite3_stmt *stmt, int col)
{
    char text[LSN_BUFSIZE];

    if (sqlite3_column_int64(stmt, col) == 0)
    {
        return NULL;
    }
    (void) lsn_format((uint64_t) sqlite3_column_int64(stmt, col), text);
    return json_object_new_string(text);
}

/* Beyond DMS: where the stream stands, so that lag can be read in bytes
 * (columns: slot, applied, source, end). */
static void
s_add_cdc_position(json_object *d, sqlite3_stmt *stmt, int first)
{
    int64_t applied = sqlite3_column_int64(stmt, first + 1);
    int64_t source = sqlite3_column_int64(stmt, first + 2);

    json_object_object_add(d, "slotName", s_text_or_null(stmt, first));
    json_object_object_add(d, "appliedLsn", s_lsn_or_null(stmt, first + 1));
    json_object_object_add(d, "sourceLsn", s_lsn_or_null(stmt, first + 2));
    json_object_object_add(d, "cutoverLsn", s_lsn_or_null(stmt, first + 3));
    json_object_object_add(d, "lagBytes",
                           json_object_new_int64(applied > 0 && source > applied
                                                     ? source - applied
                                                     : 0));
}

static void
s_add_databases(coord_t *self, json_object *out, int64_t task_id)
{
    sqlite3_stmt *stmt = store_query(
        self->store,
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
        "         WHERE database_id = d.id) "
        "  FROM databases d WHERE d.task_id = ? ORDER BY d.id",
        "i", task_id);

    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        json_object *d = json_object_new_object();
        const char *state = store_text(stmt, 2);
        char *id = xasprintf("db|%s", store_text(stmt, 0));
        bool loaded = strcmp(state, "COMPLETING") == 0 ||
                      strcmp(state, "COMPLETED") == 0 ||
                      strcmp(state, "CATCHING_UP") == 0 ||
                      strcmp(state, "READY_TO_COMPLETE") == 0;

        json_object_object_add(d, "id", json_object_new_string(id));
        json_object_object_add(d, "resultType",
                               json_object_new_string("DatabaseLevelOutput"));
        json_object_object_add(d, "databaseName",
                               json_object_new_string(store_text(stmt, 0)));
        json_object_object_add(d, "targetDatabaseName",
                               json_object_new_string(store_text(stmt, 1)));
        json_object_object_add(d, "migrationState",
                               json_object_new_string(state));
        json_object_object_add(
            d, "fullLoadCompletedTables",
            json_object_new_int64(sqlite3_column_int64(stmt, 6)));
        json_object_object_add(
            d, "fullLoadLoadingTables",
            json_object_new_int64(sqlite3_column_int64(stmt, 7)));
        json_object_object_add(
            d, "fullLoadQueuedTables",
            json_object_new_int64(sqlite3_column_int64(stmt, 8)));
        json_object_object_add(
            d, "fullLoadErroredTables",
            json_object_new_int64(sqlite3_column_int64(stmt, 9)));
        int64_t ins = sqlite3_column_int64(stmt, 16);
        int64_t upd = sqlite3_column_int64(stmt, 17);
        int64_t del = sqlite3_column_int64(stmt, 18);
        /* changes received and not committed on the target yet */
        json_object_object_add(
            d, "incomingChanges",
            json_object_new_int64(sqlite3_column_int64(stmt, 10)));
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
                               s_seconds(sqlite3_column_int64(stmt, 11)));
        s_add_cdc_position(d, stmt, 12);
        json_object_object_add(d, "initializationCompleted",
                               json_object_new_boolean(loaded));
        json_object_object_add(d, "startedOn", s_text_or_null(stmt, 3));
        json_object_object_add(d, "endedOn", s_text_or_null(stmt, 4));
        json_object_object_add(d, "errorMessage", s_text_or_null(stmt, 5));
        json_object_array_add(out, d);
        free(id);
    }
    sqlite3_finalize(stmt);
}

static void
s_add_tables(coord_t *self, json_object *out, int64_t task_id)
{
    sqlite3_stmt *stmt = store_query(
        self->store,
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
        "iii", (int64_t) PGFERRY__UNIT_KIND__UNIT_COPY,
        (int64_t) PGFERRY__UNIT_KIND__UNIT_COPY, task_id);
    double now = (double) zclock_time() / 1000.0;

    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        json_object *t = json_object_new_object();
        const char *state = store_text(stmt, 3);
        bool completed = strcmp(state, "COMPLETED") == 0;
        bool loading = strcmp(state, "LOADING") == 0;
        int64_t rows = sqlite3_column_int64(stmt, 4);
        /* while loading, the ranges' bytes so far */
        int64_t bytes = completed ? sqlite3_column_int64(stmt, 5)
                                  : sqlite3_column_int64(stmt, 14);
        int64_t bytes_est = sqlite3_column_int64(stmt, 10);
        int64_t rows_est = sqlite3_column_int64(stmt, 11);
        double started = s_parse_time(store_text(stmt, 6));
        double ended = completed ? s_parse_time(store_text(stmt, 7)) : now;
        double elapsed = started > 0 && ended > started ? ended - started : 0;
        char *id = xasprintf("or|%s|%s|%s", store_text(stmt, 0),
                             store_text(stmt, 1), store_text(stmt, 2));
        char *name =
            xasprintf("%s.%s", store_text(stmt, 1), store_text(stmt, 2));
        char finish[48] = "1970-01-01T00:00:00+00:00";

        if (loading && bytes > 0 && bytes_est > bytes && elapsed > 0)
        {
            /* bytes streamed so far against the table's size on disk:
             * rough, but honest about being an estimate */
            s_format_time(now + elapsed * (double) (bytes_est - bytes) /
                                    (double) bytes,
                          finish, sizeof finish);
        }
        if (loading && bytes_est > 0)
        {
            double share = (double) bytes / (double) bytes_est;
            rows = (int64_t) ((double) rows_est * (share < 1 ? share : 1));
        }
        json_object_object_add(t, "id", json_object_new_string(id));
        json_object_object_add(t, "resultType",
                               json_object_new_string("TableLevelOutput"));
        json_object_object_add(t, "databaseName",
                               json_object_new_string(store_text(stmt, 0)));
        json_object_object_add(t, "tableName", json_object_new_string(name));
        json_object_object_add(t, "state", json_object_new_string(state));
        json_object_object_add(t, "fullLoadTotalRows",
                               json_object_new_int64(rows));
        json_object_object_add(t, "fullLoadTotalVolumeBytes",
                               json_object_new_int64(bytes));
        json_object_object_add(t, "fullLoadStartedOn", s_text_or_null(stmt, 6));
        json_object_object_add(t, "fullLoadEndedOn", s_text_or_null(stmt, 7));
        json_object_object_add(t, "fullLoadEstFinishTime",
                               json_object_new_string(finish));
        int64_t ins = sqlite3_column_int64(stmt, 15);
        int64_t upd = sqlite3_column_int64(stmt, 16);
        int64_t del = sqlite3_column_int64(stmt, 17);
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
        json_object_object_add(
            t, "partitionsDone",
            json_object_new_int64(sqlite3_column_int64(stmt, 13)));
        json_object_object_add(
            t, "partitionsTotal",
            json_object_new_int64(sqlite3_column_int64(stmt, 12)));
        json_object_object_add(
            t, "bytesPerSecond",
            json_object_new_int64(
                elapsed > 0 ? (int64_t) ((double) bytes / elapsed) : 0));
        json_object *agents = json_object_new_array();
        char *list = xstrdup(store_text(stmt, 9));
        char *save = NULL;
        for (char *a = strtok_r(list, ",", &save); a != NULL;
             a = strtok_r(NULL, ",", &save))
        {
            json_object_array_add(agents, json_object_new_string(a));
        }
        free(list);
        json_object_object_add(t, "agents", agents);
        json_object_object_add(t, "errorMessage", s_text_or_null(stmt, 8));
        json_object_array_add(out, t);
        free(id);
        free(name);
    }
    sqlite3_finalize(stmt);
}

char *
status_task_json(coord_t *self, int64_t task_id, bool expand)
{
    json_object *root = json_object_new_object();
    json_object *props = json_object_new_object();
    sqlite3_stmt *stmt =
        store_query(self->store,
                    "SELECT t.name, p.name, t.task_type, t.state, t.task_key "
                    "  FROM tasks t JOIN projects p ON p.id = t.project_id "
                    " WHERE t.id = ?",
                    "i", task_id);

    if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        const char *state = store_text(stmt, 3);
        json_object_object_add(root, "id",
                               json_object_new_string(store_text(stmt, 4)));
        json_object_object_add(root, "name",
                               json_object_new_string(store_text(stmt, 0)));
        json_object_object_add(root, "projectName",
                               json_object_new_string(store_text(stmt, 1)));
        json_object_object_add(root, "type", json_object_new_string("tasks"));
        json_object_object_add(props, "taskType",
                               json_object_new_string(store_text(stmt, 2)));
        json_object_object_add(props, "state", json_object_new_string(state));
    }
    sqlite3_finalize(stmt);

    json_object *errors = json_object_new_array();
    stmt = store_query(self->store,
                       "SELECT name, error FROM databases WHERE task_id = ? "
                       "AND error IS NOT NULL ORDER BY id",
                       "i", task_id);
    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        char *line = xasprintf("database \"%s\": %s", store_text(stmt, 0),
                               store_text(stmt, 1));
        json_object_array_add(errors, json_object_new_string(line));
        free(line);
    }
    sqlite3_finalize(stmt);
    json_object_object_add(props, "errors", errors);

    if (expand)
    {
        json_object *out = json_object_new_array();
        s_add_migration(self, out, task_id);
        s_add_databases(self, out, task_id);
        s_add_tables(self, out, task_id);
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
    sqlite3_stmt *stmt = store_query(
        self->store,
        "SELECT p.name, p.source_platform, p.target_platform, p.created_at, "
        "       (SELECT group_concat(name, ',') FROM tasks "
        "         WHERE project_id = p.id) "
        "  FROM projects p ORDER BY p.name",
        NULL);

    while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name",
                               json_object_new_string(store_text(stmt, 0)));
        json_object_object_add(p, "sourcePlatform",
                               json_object_new_string(store_text(stmt, 1)));
        json_object_object_add(p, "targetPlatform",
                               json_object_new_string(store_text(stmt, 2)));
        json_object_object_add(p, "creationTime",
                               json_object_new_string(store_text(stmt, 3)));
        json_object_object_add(p, "tasks", s_text_or_null(stmt, 4));
        json_object_array_add(projects, p);
    }
    sqlite3_finalize(stmt);
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
