/*
 * coordinator/plan.c
 *     The life of tasks and databases: creating a task, the checks'
 *     verdict, the one guarded function that moves a database's state,
 *     failing, cancelling, deleting, and the cutover.
 *
 * Per database: PREPARING (prepare) -> SCHEMA (snapshot + schema-pre)
 * -> FULL_LOAD (copies under the snapshot) -> online, CATCHING_UP and
 * READY_TO_COMPLETE until the cutover -> COMPLETING -> COMPLETED
 * (advance.c moves it forward; results.c hears the agents). Every change
 * is made in the catalog transaction of the message that caused it. A
 * unit is only ever "done" after its agent said so, and an agent says so
 * only after the target committed, so the catalog never runs ahead of
 * the target.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"
#include "coordinator/advance.h"
#include "coordinator/databases.h"
#include "coordinator/dispatch.h"
#include "coordinator/plan.h"
#include "coordinator/tasks.h"
#include "coordinator/units.h"

/*
 * Tables larger than this are copied as several block ranges at once.
 * DESIGN.md suggested 256MB; measured on the benchmark (pgbench scale 30
 * plus a 191MB table, 2 agents), splitting the 384MB table cost 1.2 s of
 * 9: ranges lose COPY FREEZE, and the index builds that follow then pay
 * for visibility checks and hint bits on every row. Ranges pay off for
 * tables that dwarf the rest, hence 1GB.
 */
#define PLAN_DEFAULT_SPLIT_BYTES (1024LL * 1024 * 1024)

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

char *
plan_task_request_problem(const Pgconvoy__Request *req)
{
    const Pgconvoy__Endpoint *ends[2] = {req->source, req->target};
    const char *names[2] = {"source", "target"};

    for (int i = 0; i < 2; i++)
    {
        if (ends[i] == NULL || ends[i]->host[0] == '\0' ||
            ends[i]->dbname[0] == '\0' || ends[i]->port == 0 ||
            ends[i]->port > 65535)
        {
            return xasprintf("task create: no %s server given, expected its "
                             "host, port and database",
                             names[i]);
        }
    }
    if (req->n_databases == 0)
    {
        return xstrdup("task create: no database given, expected at least "
                       "one");
    }
    for (size_t i = 0; i < req->n_databases; i++)
    {
        if (req->databases[i]->name[0] == '\0' ||
            req->databases[i]->target_name[0] == '\0')
        {
            return xasprintf("task create: database %zu has no name, "
                             "expected its source and target names",
                             i + 1);
        }
    }
    return NULL;
}

int
plan_create_task(coord_t *self, const Pgconvoy__Request *req,
                 int64_t project_id, char **error)
{
    char now[40];
    zuuid_t *uuid = zuuid_new();
    int64_t task_id = 0;
    char *src_options = pgconn_options_conninfo(req->source);
    char *tgt_options = pgconn_options_conninfo(req->target);

    store_now(now, sizeof now);
    if (store_begin(self->store) != 0)
    {
        *error = xstrdup("could not write to the catalog");
        task_id = -1;
        goto done;
    }
    if (store_exec(
            self->store,
            "INSERT INTO tasks (project_id, name, task_type, state, "
            "task_key, src_host, src_port, src_user, src_db, src_options, "
            "tgt_host, tgt_port, tgt_user, tgt_db, tgt_options, started_at, "
            "split_bytes, online, fix_replica_identity, no_owner, "
            "no_privileges, create_roles, role_passwords, no_analyze) "
            "VALUES (?, ?, ?, 'Pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?)",
            "issssissssissssiiiiiiii", project_id, req->task, req->task_type,
            zuuid_str_canonical(uuid), req->source->host,
            (int64_t) req->source->port, req->source->user, req->source->dbname,
            src_options, req->target->host, (int64_t) req->target->port,
            req->target->user, req->target->dbname, tgt_options, now,
            req->split_bytes > 0 ? req->split_bytes : PLAN_DEFAULT_SPLIT_BYTES,
            (int64_t) (strcmp(req->task_type, "OnlineMigration") == 0),
            (int64_t) req->fix_replica_identity, (int64_t) req->no_owner,
            (int64_t) req->no_privileges, (int64_t) req->create_roles,
            (int64_t) req->role_passwords, (int64_t) req->no_analyze) != 0)
    {
        goto failed;
    }
    task_id = store_last_id(self->store);
    for (size_t i = 0; i < req->n_databases; i++)
    {
        const Pgconvoy__DatabaseOption *db = req->databases[i];
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
        if (rc != 0 ||
            units_add(self->store, task_id, store_last_id(self->store),
                      K_PREPARE, 0, 0, 0) != 0)
        {
            goto failed;
        }
    }
    if (store_commit(self->store) != 0)
    {
        goto failed;
    }
    secrets_put(self->secrets, task_id, req->source->password,
                req->target->password);
    goto done;

failed:
    store_rollback(self->store);
    *error = xstrdup("could not write the task to the catalog");
    task_id = -1;

done:
    zuuid_destroy(&uuid);
    free(src_options);
    free(tgt_options);
    return (int) task_id;
}

/* A database's state; DB_STATE_COUNT if it is gone or unreadable. */
db_state_t
plan_database_state(coord_t *self, int64_t id)
{
    databases_row_t db;

    (void) databases_get(self->store, id, &db);
    return db.state;
}

/*
 * The one place a database's state moves: checked against the allowed
 * moves (states.c), then the row and its event written together, in the
 * caller's transaction. A final state sets ended_at; error, if not NULL,
 * is kept as the database's first error. A move the table does not allow
 * is a bug: logged, and nothing is written. Returns 0 if it moved, 1 if
 * the database was in that state already, -1 if refused.
 */
int
plan_move_database(coord_t *self, int64_t db_id, db_state_t to,
                   const char *error)
{
    databases_row_t db;
    char now[40];

    /* gone: DB_STATE_COUNT, which no move leaves */
    (void) databases_get(self->store, db_id, &db);
    db_state_t from = db.state;
    if (from == to)
    {
        return 1;
    }
    if (!states_db_can_move(from, to))
    {
        log_error("database_id=%" PRId64 " cannot move from %s to %s", db_id,
                  states_db_name(from), states_db_name(to));
        return -1;
    }
    store_now(now, sizeof now);
    (void) store_exec(self->store,
                      "UPDATE databases SET state = ?, error = coalesce(error, "
                      "?), ended_at = CASE WHEN ? THEN coalesce(ended_at, ?) "
                      "ELSE ended_at END WHERE id = ?",
                      "ssisi", states_db_name(to), error,
                      (int64_t) states_db_is_final(to), now, db_id);
    self->sync_wanted = true;
    coord_event(self, db.task_id, to == DB_FAILED ? "error" : "info",
                "database=%s %s -> %s%s%s", db.name, states_db_name(from),
                states_db_name(to), error != NULL ? ": " : "",
                error != NULL ? error : "");
    return 0;
}

/* The task's state, TASK_STATE_COUNT if it is gone. */
static task_state_t
s_task_state(coord_t *self, int64_t id)
{
    tasks_row_t task;

    (void) tasks_get(self->store, id, &task);
    return task.state;
}

/* A task's state moves here only, as a database's does. */
static int
s_move_task(coord_t *self, int64_t task_id, task_state_t to)
{
    task_state_t from = s_task_state(self, task_id);
    char now[40];

    if (from == to)
    {
        return 1;
    }
    if (!states_task_can_move(from, to))
    {
        log_error("task=%" PRId64 " cannot move from %s to %s", task_id,
                  states_task_name(from), states_task_name(to));
        return -1;
    }
    store_now(now, sizeof now);
    (void) store_exec(self->store,
                      "UPDATE tasks SET state = ?, ended_at = CASE WHEN ? "
                      "THEN coalesce(ended_at, ?) ELSE ended_at END "
                      "WHERE id = ?",
                      "sisi", states_task_name(to),
                      (int64_t) (to == TASK_SUCCEEDED || to == TASK_FAILED ||
                                 to == TASK_CANCELED),
                      now, task_id);
    self->sync_wanted = true;
    coord_event(self, task_id, to == TASK_FAILED ? "error" : "info",
                "task %s -> %s", states_task_name(from), states_task_name(to));
    return 0;
}


/* The ids of a task's databases (free() the array). */
static int64_t *
s_database_ids(coord_t *self, int64_t task_id, size_t *count)
{
    store_rows_t *rows = store_query(
        self->store, "SELECT id FROM databases WHERE task_id = ? ORDER BY id",
        "i", task_id);
    int64_t *ids = NULL;

    *count = 0;
    while (store_rows_next(rows))
    {
        int64_t *grown = realloc(ids, (*count + 1) * sizeof *ids);
        if (grown == NULL)
        {
            abort();
        }
        ids = grown;
        ids[(*count)++] = store_rows_int(rows, 0);
    }
    store_rows_done(&rows);
    return ids;
}

/* Sends a Release with the flags of what to each running unit rows lists
 * as (id, agent); borrows rows. */
static void
s_release_each(coord_t *self, store_rows_t *rows, const Pgconvoy__Release *what)
{
    while (store_rows_next(rows))
    {
        registry_agent_t *agent =
            registry_find(self->registry, store_rows_text(rows, 1));
        Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
        Pgconvoy__Release release = *what;

        release.unit_id = (uint64_t) store_rows_int(rows, 0);
        env.body_case = PGCONVOY__ENVELOPE__BODY_RELEASE;
        env.release = &release;
        if (agent != NULL && agent->alive)
        {
            (void) outbox_add(self->outbox, self->agents, agent->route, &env);
        }
    }
}

/* Sends Release for the running units of a database of one kind (0: the
 * snapshot holders); cutover/validate: the cdc unit is to cut over;
 * validated: its tables compared equal. */
static void
s_send_release(coord_t *self, int64_t db_id, int kind, bool cutover,
               bool validate, bool validated)
{
    Pgconvoy__Release what = PGCONVOY__RELEASE__INIT;

    what.cutover = cutover;
    what.validate = validate;
    what.validated = validated;
    store_rows_t *rows = store_query(
        self->store,
        "SELECT id, agent FROM units WHERE database_id = ? AND "
        "state = 'running' AND (kind = ? OR (? = 0 AND kind IN " UNITS_HOLDER_KINDS
        "))",
        "iii", db_id, (int64_t) kind, (int64_t) kind);
    s_release_each(self, rows, &what);
    store_rows_done(&rows);
}

void
plan_confirm_validated(coord_t *self, int64_t db_id)
{
    s_send_release(self, db_id, K_CDC, true, true, true);
}

/*
 * Lets go of the units placed for a database that take job slots, each
 * batch named by its first unit: the database is cancelled or failed, or
 * its load starts over. A batch stops after the unit it is on; a unit
 * still waiting on its agent for a slot (agent/backlog.h) never starts;
 * a copy that started commits nothing; a build or ANALYZE under way
 * finishes.
 */
_Static_assert(K_COPY == 4 && K_SCHEMA_POST == 5 && K_ANALYZE == 7 &&
                   K_VALIDATE == 11,
               "s_release_batches names the kinds by number");
static void
s_release_batches(coord_t *self, int64_t db_id)
{
    Pgconvoy__Release what = PGCONVOY__RELEASE__INIT;
    store_rows_t *rows = store_query(self->store,
                                     "SELECT DISTINCT coalesce(batch, id), "
                                     "       agent FROM units "
                                     "WHERE database_id = ? AND state = "
                                     "'running' AND kind IN (4, 5, 7, 11)",
                                     "i", db_id);

    s_release_each(self, rows, &what);
    store_rows_done(&rows);
}

void
plan_release_snapshots(coord_t *self, int64_t db_id)
{
    s_send_release(self, db_id, 0, false, false, false);
    /*
     * Marked released (a holder's "started"): a holder released before its
     * snapshot report arrived would otherwise set, with that report, a
     * snapshot that dies as it lets go, and copies would be sent to it.
     */
    (void) store_exec(self->store,
                      "UPDATE units SET started = 1 WHERE database_id = ? "
                      "AND state = 'running' AND kind IN " UNITS_HOLDER_KINDS,
                      "i", db_id);
    /* copies queued from now on need a new snapshot */
    (void) store_exec(self->store,
                      "UPDATE databases SET snapshot = NULL, "
                      "snapshot_unit = NULL WHERE id = ?",
                      "i", db_id);
}

/*
 * An online database that will not complete: its cdc unit stops, and a
 * cleanup unit drops the slot, publication and origin, so that no WAL is
 * retained by a forgotten slot. Once per database.
 */
static void
s_stop_stream(coord_t *self, int64_t task_id, int64_t db_id)
{
    databases_row_t db;

    s_send_release(self, db_id, K_CDC, false, false, false);
    (void) units_cancel(self->store, db_id, K_CDC, true);
    if (databases_get(self->store, db_id, &db) == 0 && db.slot[0] != '\0' &&
        db.state != DB_COMPLETED &&
        units_count(self->store, db_id, K_CLEANUP,
                    "'queued', 'running', 'done'") == 0)
    {
        (void) units_add(self->store, task_id, db_id, K_CLEANUP, 0, 0, 0);
    }
}

void
plan_fail_database(coord_t *self, int64_t task_id, int64_t db_id,
                   const char *error)
{
    if (!states_db_is_final(plan_database_state(self, db_id)))
    {
        (void) plan_move_database(self, db_id, DB_FAILED, error);
    }
    (void) units_cancel(self->store, db_id, 0, false);
    plan_release_snapshots(self, db_id);
    s_release_batches(self, db_id);
    s_stop_stream(self, task_id, db_id);
}

/*
 * An online database whose snapshot was lost (its source restarted, or
 * the agent holding it died) once copies had read under it: no new slot
 * can start where they read, so its full load starts over, by itself;
 * nothing fails. The copies running are stopped; every copy and ANALYZE
 * is queued again and its table shown QUEUED; a new slot takes a new
 * snapshot. That slot unit, told by databases.reloads, fences the old
 * copies out and empties the tables on the target before any copy reads
 * under it. The index builds done stay done: emptying a table keeps its
 * indexes.
 */
void
plan_restart_load(coord_t *self, int64_t task_id, int64_t db_id)
{
    char units_from[64];
    char tables_from[64];
    char *requeue = xasprintf(
        "UPDATE units SET state = ?, agent = NULL, started = 0, rows = 0, "
        "bytes = 0, not_before = 0 WHERE database_id = ? AND kind IN (?, ?) "
        "AND (state IN (%s) OR state = ?)",
        states_unit_sources(UNIT_QUEUED, units_from, sizeof units_from));
    char *reset = xasprintf(
        "UPDATE tables_ SET state = ?, rows = 0, bytes = 0, agents = '', "
        "started_at = NULL, ended_at = NULL WHERE database_id = ? AND "
        "state IN (%s)",
        states_table_sources(TABLE_QUEUED, tables_from, sizeof tables_from));
    int64_t copied = store_int(self->store, 0,
                               "SELECT count(*) FROM tables_ WHERE "
                               "database_id = ? AND state = ?",
                               "is", db_id, states_table_name(TABLE_COMPLETED));

    s_send_release(self, db_id, K_COPY, false, false, false);
    s_send_release(self, db_id, K_ANALYZE, false, false, false);
    s_release_batches(self, db_id);
    plan_release_snapshots(self, db_id);
    (void) store_exec(self->store, requeue, "siiis",
                      states_unit_name(UNIT_QUEUED), db_id, (int64_t) K_COPY,
                      (int64_t) K_ANALYZE, states_unit_name(UNIT_QUEUED));
    (void) store_exec(self->store, reset, "si", states_table_name(TABLE_QUEUED),
                      db_id);
    (void) store_exec(self->store,
                      "UPDATE databases SET reloads = reloads + 1, "
                      "loaded_at = NULL WHERE id = ?",
                      "i", db_id);
    (void) units_add(self->store, task_id, db_id, K_SLOT, 0, 0, 0);
    coord_event(self, task_id, "warn",
                "database_id=%" PRId64 " the snapshot the full load read "
                "under was lost (the source restarted, or the agent "
                "holding it was lost) after %" PRId64 " table(s) were "
                "copied: the full load starts over under a new slot, "
                "the tables emptied first",
                db_id, copied);
    free(requeue);
    free(reset);
}

void
plan_update_task_state(coord_t *self, int64_t task_id)
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
    task_state_t state = s_task_state(self, task_id);

    if (active == 0 && (state == TASK_PENDING || state == TASK_RUNNING))
    {
        (void) s_move_task(self, task_id,
                           failed > 0 ? TASK_FAILED : TASK_SUCCEEDED);
    }
}

bool
plan_is_online(coord_t *self, int64_t task_id)
{
    tasks_row_t task;

    return tasks_get(self->store, task_id, &task) == 0 && task.online;
}

/* Appends the task's notices to text, one per line, each saying it is
 * one. */
static void
s_append_notices(strbuf_t *text, const char *notices)
{
    for (const char *line = notices; *line != '\0';)
    {
        const char *end = strchr(line, '\n');
        strbuf_appendf(text, "\nnotice: %.*s", (int) (end - line), line);
        line = end + 1;
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
    store_rows_t *rows = NULL;

    if (!pending_has(self->pending, task_id))
    {
        return;
    }
    rows = store_query(self->store, "SELECT name FROM tasks WHERE id = ?", "i",
                       task_id);
    name = xstrdup(store_rows_next(rows) ? store_rows_text(rows, 0) : "?");
    store_rows_done(&rows);
    if (problems[0] != '\0')
    {
        /* a problem a line, the last without its newline, then the
         * notices too: the next try meets them */
        strbuf_t *text = strbuf_new();
        size_t len = strlen(problems);

        strbuf_appendf(text,
                       "task \"%s\" was not created, the checks found:\n%.*s",
                       name, (int) (len - (problems[len - 1] == '\n')),
                       problems);
        s_append_notices(text, pending_notices(self->pending, task_id));
        char *message = strbuf_finish(&text);
        (void) store_exec(self->store, "DELETE FROM tasks WHERE id = ?", "i",
                          task_id);
        secrets_forget(self->secrets, task_id);
        pending_answer(self->pending, task_id, 2, message);
        log_info("task=%s refused by its checks", name);
        free(message);
    }
    else
    {
        strbuf_t *text = strbuf_new();
        const char *notices = pending_notices(self->pending, task_id);

        strbuf_appendf(text, "task \"%s\" created", name);
        s_append_notices(text, notices);
        char *message = strbuf_finish(&text);
        pending_answer(self->pending, task_id, 0, message);
        coord_event(self, task_id, "info", "task \"%s\" started", name);
        free(message);
    }
    free(name);
}

/* All prepare units of a task answered: start it, or not. */
void
plan_prepare_verdict(coord_t *self, int64_t task_id)
{
    if (units_count_task(self->store, task_id, K_PREPARE,
                         "'queued', 'running'") > 0)
    {
        return;
    }
    if (units_count_task(self->store, task_id, K_PREPARE, "'failed'") == 0 &&
        store_begin(self->store) == 0)
    {
        size_t ndbs = 0;
        int64_t *dbs = s_database_ids(self, task_id, &ndbs);
        bool online = plan_is_online(self, task_id);
        for (size_t i = 0; i < ndbs; i++)
        {
            if (online)
            {
                /* slot names are lower case, digits and _, at most 63 */
                (void) store_exec(
                    self->store,
                    "UPDATE databases SET slot = 'pgconvoy_' || "
                    "replace(t.task_key, '-', '') || '_' || databases.id "
                    "FROM tasks t WHERE t.id = databases.task_id AND "
                    "databases.id = ?",
                    "i", dbs[i]);
            }
            (void) units_add(self->store, task_id, dbs[i],
                             online ? K_SLOT : K_SNAPSHOT, 0, 0, 0);
            (void) units_add(self->store, task_id, dbs[i], K_SCHEMA_PRE, 0, 0,
                             0);
            (void) plan_move_database(self, dbs[i], DB_SCHEMA, NULL);
        }
        free(dbs);
        (void) s_move_task(self, task_id, TASK_RUNNING);
        (void) store_commit(self->store);
    }
    s_answer_create(self, task_id);
}

void
plan_cancel_task(coord_t *self, int64_t task_id)
{
    task_state_t state = s_task_state(self, task_id);

    if (state != TASK_PENDING && state != TASK_RUNNING)
    {
        return; /* over already: nothing to stop */
    }
    if (store_begin(self->store) != 0)
    {
        return;
    }
    /* collect first: releasing updates the rows being read */
    size_t ndbs = 0;
    int64_t *dbs = s_database_ids(self, task_id, &ndbs);
    for (size_t i = 0; i < ndbs; i++)
    {
        plan_release_snapshots(self, dbs[i]);
        s_release_batches(self, dbs[i]);
        s_send_release(self, dbs[i], K_CDC, false, false, false);
    }
    for (size_t i = 0; i < ndbs; i++)
    {
        (void) units_cancel(self->store, dbs[i], 0, true);
    }
    for (size_t i = 0; i < ndbs; i++)
    {
        if (!states_db_is_final(plan_database_state(self, dbs[i])))
        {
            (void) plan_move_database(self, dbs[i], DB_CANCELLED, NULL);
        }
        s_stop_stream(self, task_id, dbs[i]);
    }
    free(dbs);
    (void) s_move_task(self, task_id, TASK_CANCELED);
    (void) store_commit(self->store);
}

bool
plan_delete_task(coord_t *self, int64_t task_id)
{
    plan_cancel_task(self, task_id);
    if (units_count_task(self->store, task_id, K_CLEANUP,
                         "'queued', 'running'") > 0)
    {
        /* the slot must go first; the last cleanup deletes the task */
        (void) s_move_task(self, task_id, TASK_DELETING);
        dispatch_request(self);
        return false;
    }
    secrets_forget(self->secrets, task_id);
    (void) store_exec(self->store, "DELETE FROM tasks WHERE id = ?", "i",
                      task_id);
    return true;
}

/* A task being deleted goes once its last cleanup unit has run. */
void
plan_finish_delete(coord_t *self, int64_t task_id)
{
    if (s_task_state(self, task_id) == TASK_DELETING &&
        units_count_task(self->store, task_id, K_CLEANUP,
                         "'queued', 'running'") == 0)
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
    store_rows_t *rows = store_query(
        self->store,
        "SELECT d.id, d.state FROM databases d JOIN tasks t ON t.id = "
        "d.task_id WHERE d.task_id = ? AND d.name = ? AND t.online = 1",
        "is", task_id, database);

    if (store_rows_next(rows))
    {
        db_id = store_rows_int(rows, 0);
        snprintf(state, sizeof state, "%s", store_rows_text(rows, 1));
    }
    store_rows_done(&rows);
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
        (void) plan_move_database(self, db_id, DB_COMPLETING, NULL);
        s_send_release(self, db_id, K_CDC, true, validate, false);
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
