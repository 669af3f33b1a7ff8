/*
 * agent/apply.c
 *     Applies pgoutput messages to the target: target transactions of one
 *     or more source transactions, each committed together with the
 *     replication origin's progress.
 *
 * Invariants:
 * - The origin's progress is set (pg_replication_origin_xact_setup) in the
 *   same target transaction as the rows, never in a separate one: that is
 *   what makes a replay after a crash skip exactly what was committed.
 * - Counters move from pending to applied only once COMMIT succeeded, so
 *   they count what the target holds, not what was attempted
 *   (agent/apply_batch.c).
 * - In a backlog, a full batch's COMMIT is not waited for: the next batch
 *   follows it in the same pipeline, and the batch is settled (counted,
 *   its LSN committed) when the COMMIT's result comes back. At most one
 *   such COMMIT is unanswered; a failure of either batch rolls back what
 *   did not commit, and the stream restarts from the origin as ever.
 * - A table's changes go to the target in the order they came; those of
 *   different tables may not (see agent/apply_queue.c). What is held is
 *   bounded (S_QUEUE_BYTES), and dropped, never sent, after a failure.
 * - Values only ever travel as parameters; identifiers are quoted once,
 *   when the Relation is cached (agent/apply_sql.c, agent/apply_rel.c).
 *
 * This file keeps the public API, the transactions (BEGIN, when to
 * COMMIT, the rollback after a failure) and the dispatch of messages. The
 * rest is split along its seams, into modules private to apply that share
 * struct apply_t (agent/apply_internal.h): the relation cache and its
 * prepared statements (apply_rel.c), the text of the statements
 * (apply_sql.c, pure), the per-table queue and its grouping
 * (apply_queue.c), and the batches' bookkeeping with the server-side
 * row-count check (apply_batch.c).
 */
#include "agent/apply.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/apply_batch.h"
#include "agent/apply_internal.h"
#include "agent/apply_queue.h"
#include "agent/pipeline.h"
#include "common/lsn.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* Grouped statements prepared at a time, over all tables: a 64-row one
 * of a narrow table holds about 100 kB of the target backend's memory.
 * Past this many, the least recently used table's are dropped. */
#define S_MAX_GROUP_STMTS 192

/* ------------------------------------------------------------------ */
/* Errors */

void
apply_set_error(apply_t *self, bool transient, char *text)
{
    free(self->error);
    self->error = text;
    self->error_transient = transient;
}

/* Rolls back the open transaction after a failure: the caller restarts
 * from the origin, so nothing of it may stay, nor be counted. */
static void
s_abort(apply_t *self)
{
    bool open_on_target = self->in_xact;

    pipeline_abort(self->pipe);
    /* its result is read by now: did that COMMIT make it? If not, its
     * transaction is left aborted on the target, as the open one is */
    if (self->committing)
    {
        unsigned int which = self->open ^ 1;
        bool committed =
            pipeline_committed_lsn(self->pipe) >= self->batch[which].end_lsn;

        apply_batch_settle(self, which, committed);
        self->committing = false;
        open_on_target = open_on_target || !committed;
    }
    if (open_on_target)
    {
        PQclear(PQexec(self->target, "ROLLBACK"));
        /* a Parse may have been among what the failure aborted */
        apply_rel_forget_statements(self);
    }
    self->in_xact = false;
    self->skipping = false;
    self->deferred = false;
    (void) apply_queue_flush(self, false);
    apply_batch_settle(self, self->open, false);
}

int
apply_pipe_failed(apply_t *self)
{
    apply_set_error(self, pipeline_error_is_transient(self->pipe),
                    xstrdup(pipeline_error(self->pipe)));
    return -1;
}

/* ------------------------------------------------------------------ */
/* Relations and TRUNCATE */

/* apply_rel_sync(), after sending the queue if it holds changes of r whose
 * columns r changes. NULL (the error set) if sending failed. */
static apply_rel_t *
s_rel_get(apply_t *self, const pgoutput_relation_t *r)
{
    const apply_rel_t *old = apply_rel_find(self, r->relid);

    if (old != NULL && old->queue != NULL && !apply_rel_is_same(old, r) &&
        apply_queue_flush(self, true) != 0)
    {
        return NULL;
    }
    return apply_rel_sync(self, r);
}

static int
s_apply_truncate(apply_t *self, const pgoutput_truncate_t *t)
{
    int rc = -1;
    strbuf_t *sb = strbuf_new();

    /* what came before it goes before it */
    if (apply_queue_flush(self, true) != 0)
    {
        goto cleanup;
    }
    strbuf_append(sb, "TRUNCATE");
    for (uint32_t i = 0; i < t->nrelids; i++)
    {
        apply_rel_t *rel = apply_rel_find(self, t->relids[i]);

        if (rel == NULL)
        {
            apply_set_error(
                self, false,
                xasprintf(
                    "relid=%u lsn=" LSN_FMT
                    " cannot apply TRUNCATE: no Relation message described the table",
                    t->relids[i], LSN_ARGS(self->xact_lsn)));
            goto cleanup;
        }
        strbuf_appendf(sb, "%s ONLY %s", i > 0 ? "," : "", rel->desc.qualname);
    }
    if ((t->options & PGOUTPUT_TRUNCATE_RESTART_IDENTITY) != 0)
    {
        strbuf_append(sb, " RESTART IDENTITY");
    }
    if ((t->options & PGOUTPUT_TRUNCATE_CASCADE) != 0)
    {
        strbuf_append(sb, " CASCADE");
    }
    {
        apply_rel_t *first =
            t->nrelids > 0 ? apply_rel_find(self, t->relids[0]) : NULL;

        if (pipeline_send(self->pipe, NULL, strbuf_data(sb), 0, NULL, NULL,
                          NULL, PIPELINE_OK, 0, "TRUNCATE",
                          first != NULL ? first->label : "",
                          self->xact_lsn) != 0)
        {
            (void) apply_pipe_failed(self);
            goto cleanup;
        }
    }
    for (uint32_t i = 0; i < t->nrelids; i++)
    {
        apply_rel_t *rel = apply_rel_find(self, t->relids[i]);

        apply_batch_pending(self, rel)->truncates++;
        if (apply_batch_enter(self, rel, true) != 0)
        {
            goto cleanup;
        }
    }
    rc = 0;

cleanup:
    strbuf_destroy(&sb);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Transactions */

/* pgoutput's commit time as timestamptz text, to the microsecond. */
static void
s_format_time(int64_t pgtime, char *buf, size_t size)
{
    int64_t secs = pgtime / 1000000;
    int64_t usecs = pgtime % 1000000;
    struct tm tm;

    if (usecs < 0)
    {
        usecs += 1000000;
        secs -= 1;
    }
    time_t t = (time_t) (secs + PGOUTPUT_EPOCH_UNIX_SECONDS);

    memset(&tm, 0, sizeof(tm));
    (void) gmtime_r(&t, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    (void) snprintf(buf + n, size - n, ".%06d+00", (int) usecs);
}

/* A source transaction is open: between its BEGIN and its COMMIT. */
static bool
s_in_source_xact(const apply_t *self)
{
    return self->in_xact && !self->deferred;
}

static int
s_apply_begin(apply_t *self, const pgoutput_begin_t *b)
{
    if (s_in_source_xact(self) || self->skipping)
    {
        apply_set_error(
            self, false,
            xasprintf("lsn=" LSN_FMT
                      " cannot apply BEGIN: the transaction at " LSN_FMT
                      " was not committed",
                      LSN_ARGS(b->final_lsn), LSN_ARGS(self->xact_lsn)));
        return -1;
    }
    self->xact_lsn = b->final_lsn;
    self->stmt_lsn = b->final_lsn;
    /* its commit record precedes the end of the last one applied: a replay
     * of a transaction the target already has */
    if (b->final_lsn < self->origin_lsn)
    {
        self->skipping = true;
        return 0;
    }
    /* the whole transaction is one pipeline, read back at its COMMIT; a
     * batch goes on in the target transaction already open, and the next
     * batch in the pipeline its predecessor's COMMIT left open */
    if (!self->in_xact &&
        ((!pipeline_is_open(self->pipe) && pipeline_begin(self->pipe) != 0) ||
         pipeline_send(self->pipe, NULL, "BEGIN", 0, NULL, NULL, NULL,
                       PIPELINE_OK, 0, "BEGIN", "", b->final_lsn) != 0))
    {
        return apply_pipe_failed(self);
    }
    self->in_xact = true;
    self->deferred = false;
    return 0;
}

/* Whether changes may be reordered across tables and grouped: not if a
 * trigger or rule of the target database fires for replicated rows. */
static bool
s_may_group(PGconn *target)
{
    char *text = NULL;
    PGresult *res = pgconn_query(
        target,
        "SELECT NOT EXISTS (SELECT FROM pg_trigger WHERE tgenabled IN "
        "('A', 'R') AND NOT tgisinternal) AND NOT EXISTS (SELECT FROM "
        "pg_rewrite WHERE ev_enabled IN ('A', 'R') AND rulename <> '_RETURN')",
        0, NULL, &text);
    bool ok = res != NULL && PQntuples(res) == 1 &&
              strcmp(PQgetvalue(res, 0, 0), "t") == 0;

    PQclear(res);
    free(text);
    return ok;
}

/*
 * Commits the open batch: the origin's progress up to its end and its
 * counters, with its rows. wait: read every result (the pipeline ends);
 * otherwise the COMMIT's result is read later and the pipeline stays open
 * for the next batch, once the one committing before it has come back.
 */
static int
s_commit_now(apply_t *self, bool wait)
{
    apply_batch_t *batch = &self->batch[self->open];
    char lsn[LSN_BUFSIZE];
    char when[64];
    const char *params[2] = {lsn, when};

    (void) lsn_format(batch->end_lsn, lsn);
    s_format_time(batch->commit_time, when, sizeof(when));
    if (apply_queue_flush(self, true) != 0)
    {
        return -1;
    }
    /* no COMMIT if an UPDATE or DELETE found no row */
    if ((self->server_check ? apply_batch_send_check(self)
                            : pipeline_drain(self->pipe)) != 0)
    {
        return apply_pipe_failed(self);
    }
    /* in the same transaction as the rows: both commit, or neither */
    if (apply_batch_send_progress(self, params) != 0 ||
        pipeline_send(self->pipe, NULL, "COMMIT", 0, NULL, NULL, NULL,
                      PIPELINE_COMMIT, 0, "COMMIT", "", batch->end_lsn) != 0)
    {
        return apply_pipe_failed(self);
    }
    self->deferred = false;
    /* until it is known to be sent after a good batch, or done, the
     * transaction is ours to roll back on failure (s_abort()) */
    if (wait)
    {
        if (pipeline_sync(self->pipe) != 0)
        {
            return apply_pipe_failed(self);
        }
        self->in_xact = false;
        apply_batch_reap(self);
        apply_batch_settle(self, self->open, true);
        return 0;
    }
    if (self->committing &&
        pipeline_wait_commit(self->pipe, self->batch[self->open ^ 1].end_lsn) !=
            0)
    {
        return apply_pipe_failed(self);
    }
    apply_batch_reap(self);
    self->in_xact = false;
    self->committing = true;
    self->open ^= 1;
    return 0;
}

static int
s_apply_commit(apply_t *self, const pgoutput_commit_t *c)
{
    apply_batch_t *batch = &self->batch[self->open];

    if (self->skipping)
    {
        self->skipping = false;
        self->xacts_skipped++;
        if (c->end_lsn > self->committed_lsn)
        {
            self->committed_lsn = c->end_lsn;
        }
        return 0;
    }
    if (!s_in_source_xact(self))
    {
        apply_set_error(
            self, false,
            xasprintf("lsn=" LSN_FMT
                      " cannot apply COMMIT: no transaction is open",
                      LSN_ARGS(c->commit_lsn)));
        return -1;
    }
    batch->xacts++;
    batch->end_lsn = c->end_lsn;
    batch->commit_time = c->commit_time;
    if (self->batch_max <= 1)
    {
        return s_commit_now(self, true);
    }
    /* the caller commits the batch (apply_flush()) when the stream has
     * nothing more at hand, or here when it is full: then a backlog is
     * at hand, and the next batch goes out while this one commits */
    self->deferred = true;
    if (batch->xacts >= self->batch_max)
    {
        return s_commit_now(self, false);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Public */

/* Undoes what apply_new() set on the session, best effort: the caller
 * may use the connection again. */
static void
s_session_reset(apply_t *self)
{
    PQclear(
        PQexec(self->target, "SELECT pg_replication_origin_session_reset()"));
    PQclear(PQexec(self->target, "RESET session_replication_role; "
                                 "RESET plan_cache_mode; "
                                 "RESET enable_seqscan"));
    if (self->server_check)
    {
        apply_batch_drop_check(self->target);
    }
}

/* One statement setting the session up: 0, or -1 with *text set and
 * *transient saying whether another try may do (an origin still held by
 * a session on its way out: 55006). */
static int
s_setup_query(PGconn *target, const char *sql, const char *const *params,
              char **text, bool *transient)
{
    PGresult *res =
        PQexecParams(target, sql, 1, NULL, params, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        *text = pgconn_error_text(target, res);
        *transient = pgconn_is_transient(target, res);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

apply_t *
apply_new(PGconn *target, const char *origin_name, char **error,
          bool *transient)
{
    assert(target != NULL);
    assert(origin_name != NULL);
    apply_t *self = xcalloc(1, sizeof(*self));
    const char *params[1] = {origin_name};
    char *text = NULL;

    *transient = false;
    self->target = target;
    self->pipe = pipeline_new(target);
    self->origin_name = xstrdup(origin_name);
    self->grouping = s_may_group(target);
    self->max_group_stmts = S_MAX_GROUP_STMTS;
    /* a trigger firing for replicated rows could change rows of a table,
     * which the count would take for ours */
    self->server_check = self->grouping && apply_batch_setup_check(target) == 0;
    if (apply_rel_load_facts(self, &text) != 0)
    {
        goto failed;
    }
    /* replicated rows must not fire triggers or re-check foreign keys;
     * the same few statement shapes run millions of times: plan them once
     * (planning each execution was an eighth of the apply session's CPU);
     * and find a row by its key's index even in a small table, as the
     * subscription worker does: a batch updates the same few rows of a
     * small table again and again, and a sequential scan then wades
     * through every dead version the open transaction left (a fifth of
     * the CPU under pgbench) */
    if (pgconn_command(target,
                       "SET session_replication_role = replica; "
                       "SET plan_cache_mode = force_generic_plan; "
                       "SET enable_seqscan = off",
                       &text) != 0)
    {
        goto failed;
    }
    if (s_setup_query(target,
                      "SELECT pg_replication_origin_create($1) "
                      "WHERE pg_replication_origin_oid($1) IS NULL",
                      params, &text, transient) != 0 ||
        s_setup_query(target, "SELECT pg_replication_origin_session_setup($1)",
                      params, &text, transient) != 0)
    {
        goto failed;
    }
    if (apply_origin_lsn(self, &self->origin_lsn) != 0)
    {
        text = xstrdup(self->error);
        goto failed;
    }
    return self;

failed:
    s_session_reset(self);
    *error = xasprintf("origin=%s cannot set up the apply session: %s",
                       origin_name, text);
    free(text);
    free(self->error);
    apply_rel_free_all(self, false);
    pipeline_destroy(&self->pipe);
    free(self->origin_name);
    free(self);
    return NULL;
}

void
apply_set_batch(apply_t *self, unsigned int max_xacts)
{
    self->batch_max = max_xacts;
}

void
apply_set_group_statements(apply_t *self, unsigned int max)
{
    self->max_group_stmts = max > 0 ? max : 1;
}

bool
apply_is_grouping(const apply_t *self)
{
    return self->grouping;
}

bool
apply_has_deferred(const apply_t *self)
{
    return self->deferred || (self->committing && !self->in_xact);
}

int
apply_flush(apply_t *self)
{
    int rc = 0;

    /* a failure before this one is no longer the one to tell */
    free(self->error);
    self->error = NULL;
    self->error_transient = false;
    if (self->deferred)
    {
        rc = s_commit_now(self, true);
    }
    else if (self->committing && !self->in_xact)
    {
        /* nothing after that COMMIT: end the pipeline with it */
        rc = pipeline_sync(self->pipe) != 0 ? apply_pipe_failed(self) : 0;
        apply_batch_reap(self);
    }
    else if (self->committing)
    {
        /* mid-transaction: take in what has come back, if anything */
        rc = pipeline_poll(self->pipe) != 0 ? apply_pipe_failed(self) : 0;
        apply_batch_reap(self);
    }
    if (rc != 0)
    {
        s_abort(self);
    }
    return rc;
}

int
apply_keep_counts(apply_t *self, char **error)
{
    char *text = NULL;

    if (pgconn_command(self->target,
                       "CREATE SCHEMA IF NOT EXISTS pgconvoy; "
                       "CREATE TABLE IF NOT EXISTS pgconvoy.cdc_counts ("
                       "  origin text, schema_name text, table_name text, "
                       "  inserts bigint NOT NULL, updates bigint NOT NULL, "
                       "  deletes bigint NOT NULL, "
                       "  PRIMARY KEY (origin, schema_name, table_name))",
                       &text) != 0)
    {
        *error = xasprintf("origin=%s could not create "
                           "pgconvoy.cdc_counts: %s",
                           self->origin_name, text);
        free(text);
        return -1;
    }
    self->keep_counts = true;
    return 0;
}

void
apply_destroy(apply_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    apply_t *self = *self_p;
    bool usable = PQstatus(self->target) == CONNECTION_OK;

    if (usable)
    {
        s_abort(self);
    }
    (void) apply_queue_flush(self, false);
    apply_rel_free_all(self, usable);
    if (usable)
    {
        s_session_reset(self);
        apply_batch_deallocate_fixed(self);
    }
    pipeline_destroy(&self->pipe);
    free(self->origin_name);
    free(self->error);
    free(self);
    *self_p = NULL;
}

int
apply_origin_lsn(apply_t *self, uint64_t *lsn)
{
    const char *params[1] = {self->origin_name};
    char *text = NULL;
    PGresult *res = pgconn_query(
        self->target, "SELECT pg_replication_origin_progress($1, true)", 1,
        params, &text);
    int rc = -1;

    if (res == NULL)
    {
        apply_set_error(
            self, pgconn_is_transient(self->target, NULL),
            xasprintf(
                "origin=%s could not read the replication origin's progress: %s",
                self->origin_name, text));
        free(text);
        return -1;
    }
    if (PQntuples(res) != 1)
    {
        apply_set_error(
            self, false,
            xasprintf(
                "origin=%s could not read the replication origin's progress: %d rows",
                self->origin_name, PQntuples(res)));
        goto cleanup;
    }
    if (PQgetisnull(res, 0, 0))
    {
        *lsn = 0;
    }
    else if (lsn_parse(PQgetvalue(res, 0, 0), lsn) != 0)
    {
        apply_set_error(
            self, false,
            xasprintf(
                "origin=%s could not parse the replication origin's progress \"%s\"",
                self->origin_name, PQgetvalue(res, 0, 0)));
        goto cleanup;
    }
    rc = 0;

cleanup:
    PQclear(res);
    return rc;
}

int
apply_message(apply_t *self, const pgoutput_msg_t *msg)
{
    int rc = 0;

    free(self->error);
    self->error = NULL;
    self->error_transient = false;
    switch (msg->type)
    {
        case PGOUTPUT_BEGIN:
            rc = s_apply_begin(self, &msg->begin);
            break;
        case PGOUTPUT_COMMIT:
            rc = s_apply_commit(self, &msg->commit);
            break;
        case PGOUTPUT_RELATION:
            rc = s_rel_get(self, msg->relation) != NULL ? 0 : -1;
            break;
        case PGOUTPUT_INSERT:
        case PGOUTPUT_UPDATE:
        case PGOUTPUT_DELETE:
        {
            apply_rel_t *rel = s_rel_get(self, msg->change.relation);

            if (rel == NULL)
            {
                rc = -1;
                break;
            }
            if (self->skipping)
            {
                break;
            }
            if (!s_in_source_xact(self))
            {
                apply_set_error(
                    self, false,
                    xasprintf(
                        "table=%s cannot apply a change outside a transaction",
                        rel->label));
                rc = -1;
                break;
            }
            if (apply_batch_enter(self, rel, false) != 0 ||
                apply_queue_change(self, rel, msg->type, &msg->change) != 0)
            {
                rc = -1;
            }
            break;
        }
        case PGOUTPUT_TRUNCATE:
            if (self->skipping)
            {
                break;
            }
            if (!s_in_source_xact(self))
            {
                apply_set_error(
                    self, false,
                    xasprintf("cannot apply TRUNCATE outside a transaction"));
                rc = -1;
                break;
            }
            rc = s_apply_truncate(self, &msg->truncate);
            break;
        case PGOUTPUT_ORIGIN:
        case PGOUTPUT_TYPE:
        case PGOUTPUT_MESSAGE:
            /* nothing to apply: types are resolved by name on the target,
             * and logical messages are not replicated */
            break;
        default:
            apply_set_error(
                self, false,
                xasprintf("lsn=" LSN_FMT " cannot apply message type '%c'",
                          LSN_ARGS(self->xact_lsn), (char) msg->type));
            rc = -1;
            break;
    }
    if (rc != 0)
    {
        s_abort(self);
    }
    return rc;
}

const char *
apply_error(const apply_t *self)
{
    return self->error != NULL ? self->error : "";
}

bool
apply_error_is_transient(const apply_t *self)
{
    return self->error_transient;
}

int
apply_counters(const apply_t *self, uint32_t relid, apply_counters_t *counters)
{
    const apply_rel_t *rel = apply_rel_find(self, relid);

    if (rel == NULL)
    {
        return -1;
    }
    *counters = rel->applied;
    return 0;
}

void
apply_totals(const apply_t *self, apply_counters_t *counters)
{
    apply_rel_totals(self, counters);
}

uint64_t
apply_xacts_committed(const apply_t *self)
{
    return self->xacts_committed;
}

uint64_t
apply_xacts_skipped(const apply_t *self)
{
    return self->xacts_skipped;
}

uint64_t
apply_committed_lsn(const apply_t *self)
{
    return self->committed_lsn;
}

int
apply_drop_origin(PGconn *target, const char *origin_name, char **error)
{
    const char *params[1] = {origin_name};
    char *text = NULL;
    PGresult *res = pgconn_query(
        target,
        "SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL",
        1, params, &text);

    if (res == NULL)
    {
        *error =
            xasprintf("origin=%s could not drop the replication origin: %s",
                      origin_name, text);
        free(text);
        return -1;
    }
    PQclear(res);
    return 0;
}
