/*
 * agent/unit_cdc.c
 *     The cdc unit of an online task: streams the database's slot, applies
 *     every change to the target, reports where it stands, and on cutover
 *     applies up to a marker, copies sequences, optionally waits while
 *     every table is compared (validate units), and drops the slot,
 *     publication and origin.
 *
 * Exactly once: apply.c commits each source transaction with the
 * replication origin's progress (and the per-table counters) in one
 * target transaction; a restarted stream begins at the origin's progress,
 * and the slot is confirmed only up to what the target committed.
 *
 * Cutover marker: a non-transactional logical message (prefix "pgconvoy",
 * content the slot's name) emitted on the source when the cutover is
 * asked for. Logical decoding hands it over after every transaction that
 * committed before it, so once it arrives every write committed before
 * the cutover command is on the target, whatever keepalives say.
 * pgoutput carries such messages only from PostgreSQL 14 on. Before, the
 * marker is a transactional message, never seen in the stream, whose
 * end LSN is the end point: once the server's sent position (a
 * keepalive, asked for) or a commit's end reaches it with no transaction
 * open, every transaction that committed before it has been received,
 * because decoding hands them out in commit order. The message's own
 * commit is WAL after that LSN, so an idle server gets there too.
 *
 * Lost connections on either side are retried here, with the stream
 * restarted from the origin: a long CDC phase outlives network blips.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/apply.h"
#include "agent/large_objects.h"
#include "agent/matviews.h"
#include "agent/pgoutput.h"
#include "agent/slot_reader.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/lsn.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

#define CDC_READ_TIMEOUT_MS 100
#define CDC_REPORT_MS 1000
/* between tries after a transient failure: 1 s, 2 s, ... up to this */
#define CDC_MAX_BACKOFF_S 5
#define CDC_MARKER_PREFIX "pgconvoy"
/*
 * Source transactions applied in one target transaction while a backlog
 * is at hand (none are held back waiting for more): a commit and one
 * counters update per batch instead of per transaction.
 */
#define CDC_BATCH_XACTS 100
/* waiting for the validate units: how often it looks, and reports */
#define CDC_VALIDATING_POLL_MS 50
#define CDC_VALIDATING_REPORT_MS 5000


typedef struct
{
    unit_t *unit;
    const Pgconvoy__Assign *a;
    PGconn *src;           /* WAL position, marker, sequences, validation */
    PGconn *tgt;           /* the apply session */
    PGconn *counts;        /* reads the committed counters back */
    slot_reader_t *reader; /* the stream */
    pgoutput_t *decoder;
    apply_t *apply;
    bool in_xact;          /* between a Begin and its Commit */
    int64_t xact_changes;  /* row changes of the open transaction */
    int64_t xact_time;     /* its commit time, protocol clock (us) */
    int64_t lag_ms;        /* commit to applied, for the last commit */
    bool caught_up;        /* the last read found nothing to do */
    bool progressed;       /* committed something since connecting */
    uint64_t received_lsn; /* the furthest WAL position seen */
    uint64_t source_lsn;   /* the source's WAL position, last report */
    bool cutting_over;     /* the marker is emitted */
    bool validate;         /* compare every table before finishing */
    uint64_t end_lsn;      /* where the marker was written */
    uint64_t commit_lsn;   /* end of the last commit applied, this stream */
    int64_t next_report;   /* monotonic ms */
} cdc_t;

typedef enum
{
    CDC_MARKER,  /* the cutover marker arrived: finish */
    CDC_STOPPED, /* released: the task was cancelled */
    CDC_FAILED,  /* *error set; transient or not */
} cdc_end_t;

static void
s_disconnect(cdc_t *c)
{
    slot_reader_destroy(&c->reader);
    apply_destroy(&c->apply);
    pgoutput_destroy(&c->decoder);
    PQfinish(c->src);
    PQfinish(c->tgt);
    PQfinish(c->counts);
    c->src = c->tgt = c->counts = NULL;
    c->in_xact = false;
    c->xact_changes = 0;
}

/* Both sides, the apply session, the stream from the origin's progress.
 * Returns 0, or -1 with *error and *transient set: a server that cannot
 * be reached is waited for, a slot that does not exist is not. */
static int
s_connect(cdc_t *c, char **error, bool *transient)
{
    const Pgconvoy__Assign *a = c->a;
    uint64_t origin = 0;

    *transient = true;
    c->src = pgconn_connect(a->source, NULL, "source", "cdc", error);
    if (c->src == NULL)
    {
        return -1;
    }
    c->tgt = pgconn_connect(a->target, NULL, "target", "cdc-apply", error);
    if (c->tgt == NULL)
    {
        return -1;
    }
    /* no waiting for each commit's flush: the slot is confirmed only up to
     * the origin's flushed progress (s_confirm_flushed()), so a target
     * crash costs a replay, never a change */
    if (pgconn_command(c->tgt, "SET synchronous_commit = off", error) != 0)
    {
        *transient = pgconn_is_transient(c->tgt, NULL);
        return -1;
    }
    c->counts = pgconn_connect(a->target, NULL, "target", "cdc", error);
    if (c->counts == NULL)
    {
        return -1;
    }
    c->apply = apply_new(c->tgt, a->slot, error, transient);
    if (c->apply == NULL)
    {
        /* a connection lost, or the origin held by the session of a
         * placement on its way out (an agent thought lost): tried again */
        *transient = *transient || pgconn_is_transient(c->tgt, NULL);
        return -1;
    }
    if (apply_keep_counts(c->apply, error) != 0)
    {
        *transient = pgconn_is_transient(c->tgt, NULL);
        return -1;
    }
    apply_set_batch(c->apply, CDC_BATCH_XACTS);
    if (!apply_is_grouping(c->apply))
    {
        log_info("unit=%" PRIu64 " slot=%s a trigger or rule of the target "
                 "database fires for replicated rows: changes are applied "
                 "in their order, one statement each",
                 unit_id(c->unit), a->slot);
    }
    if (apply_origin_lsn(c->apply, &origin) != 0)
    {
        *error = xstrdup(apply_error(c->apply));
        *transient = apply_error_is_transient(c->apply);
        return -1;
    }
    c->decoder = pgoutput_new();
    c->reader = slot_reader_new(a->source, a->slot, a->slot, error);
    if (c->reader == NULL)
    {
        return -1;
    }
    if (slot_reader_start(c->reader,
                          origin > a->start_lsn ? origin : a->start_lsn,
                          error) != 0)
    {
        *transient = slot_reader_error_is_transient(c->reader);
        return -1;
    }
    return 0;
}

/* A query answering one LSN into *lsn (NULL: 0). Returns 0, or -1 with
 * *error set. */
static int
s_query_lsn(PGconn *conn, const char *sql, int nparams, const char **params,
            uint64_t *lsn, char **error)
{
    PGresult *r = pgconn_query(conn, sql, nparams, params, error);

    if (r == NULL)
    {
        return -1;
    }
    *lsn = 0;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
    {
        (void) lsn_parse(PQgetvalue(r, 0, 0), lsn);
    }
    PQclear(r);
    return 0;
}

/* The marker, after which nothing written before the cutover command
 * can still be on its way. Returns 0, or -1 with *error set. */
static int
s_emit_marker(cdc_t *c, char **error)
{
    const char *params[2] = {CDC_MARKER_PREFIX, c->a->slot};
    /* transactional where the stream cannot carry it: then its commit is
     * WAL past end_lsn, which a keepalive reaches (see the top) */
    const char *sql = slot_reader_has_messages(c->reader)
                          ? "SELECT pg_logical_emit_message(false, $1, $2)"
                          : "SELECT pg_logical_emit_message(true, $1, $2)";

    if (s_query_lsn(c->src, sql, 2, params, &c->end_lsn, error) != 0)
    {
        return -1;
    }
    c->cutting_over = true;
    c->next_report = 0; /* say so now */
    return 0;
}

/* Before PostgreSQL 14, with no transaction open: whether the stream has
 * passed the end point, every transaction before it received. */
static bool
s_passed_end_lsn(const cdc_t *c)
{
    return c->cutting_over && !slot_reader_has_messages(c->reader) &&
           !c->in_xact &&
           (slot_reader_received_lsn(c->reader) >= c->end_lsn ||
            c->commit_lsn >= c->end_lsn);
}

static bool
s_is_marker(const cdc_t *c, const pgoutput_msg_t *msg)
{
    const pgoutput_logical_message_t *m = &msg->message;

    return msg->type == PGOUTPUT_MESSAGE &&
           !(m->flags & PGOUTPUT_MESSAGE_TRANSACTIONAL) &&
           strcmp(m->prefix, CDC_MARKER_PREFIX) == 0 &&
           m->len == strlen(c->a->slot) &&
           memcmp(m->content, c->a->slot, m->len) == 0;
}

/* Fills cdc's counters from what the target committed (allocated field
 * by field, as unpack would). Returns 0, or -1 with *error set. */
static int
s_fill_tables(cdc_t *c, Pgconvoy__CdcProgress *cdc, char **error)
{
    const char *params[1] = {c->a->slot};
    PGresult *r = pgconn_query(c->counts,
                               "SELECT schema_name, table_name, inserts, "
                               "updates, deletes FROM pgconvoy.cdc_counts "
                               "WHERE origin = $1",
                               1, params, error);

    if (r == NULL)
    {
        return -1;
    }
    cdc->n_tables = (size_t) PQntuples(r);
    cdc->tables = xcalloc(cdc->n_tables + 1, sizeof *cdc->tables);
    for (size_t i = 0; i < cdc->n_tables; i++)
    {
        Pgconvoy__TableChanges *t = xcalloc(1, sizeof *t);

        pgconvoy__table_changes__init(t);
        t->schema = xstrdup(PQgetvalue(r, (int) i, 0));
        t->name = xstrdup(PQgetvalue(r, (int) i, 1));
        t->inserts = strtoll(PQgetvalue(r, (int) i, 2), NULL, 10);
        t->updates = strtoll(PQgetvalue(r, (int) i, 3), NULL, 10);
        t->deletes = strtoll(PQgetvalue(r, (int) i, 4), NULL, 10);
        cdc->tables[i] = t;
    }
    PQclear(r);
    return 0;
}

static Pgconvoy__CdcProgress *
s_snapshot_progress(cdc_t *c, char **error)
{
    Pgconvoy__CdcProgress *cdc = xcalloc(1, sizeof *cdc);
    int64_t now = pgoutput_now_us();

    pgconvoy__cdc_progress__init(cdc);
    cdc->received_lsn = c->received_lsn;
    cdc->applied_lsn = apply_committed_lsn(c->apply);
    cdc->source_lsn = c->source_lsn;
    cdc->pending = c->in_xact ? c->xact_changes : 0;
    cdc->caught_up = c->caught_up;
    cdc->end_lsn = c->end_lsn;
    cdc->latency_ms = c->in_xact     ? (now - c->xact_time) / 1000
                      : c->caught_up ? 0
                                     : c->lag_ms;
    if (cdc->latency_ms < 0)
    {
        cdc->latency_ms = 0; /* the clocks of two machines */
    }
    if (s_fill_tables(c, cdc, error) != 0)
    {
        pgconvoy__cdc_progress__free_unpacked(cdc, NULL);
        return NULL;
    }
    return cdc;
}

/*
 * Tells the source how far the target has durably applied. The apply
 * session commits asynchronously (as a subscription's apply worker does),
 * so what is committed may not be on disk yet: the slot is confirmed only
 * up to the origin's progress read with flush (which flushes the target's
 * WAL up to it: one fsync a second instead of one per transaction). Once that covers every commit and
 * nothing is open, the stream's position itself is safe to confirm.
 */
static int
s_confirm_flushed(cdc_t *c, char **error)
{
    const char *params[1] = {c->a->slot};
    uint64_t flushed = 0;

    if (s_query_lsn(c->counts,
                    "SELECT pg_replication_origin_progress($1, true)", 1,
                    params, &flushed, error) != 0)
    {
        return -1;
    }
    slot_reader_confirm(c->reader, flushed);
    if (c->caught_up && !c->in_xact && flushed >= apply_committed_lsn(c->apply))
    {
        slot_reader_confirm(c->reader, slot_reader_received_lsn(c->reader));
    }
    return 0;
}

/* Where the stream stands, to the coordinator, with the WAL the slot
 * holds back on the source. Returns 0, or -1 with *error set (a lost
 * connection: the caller reconnects). */
/* The source's WAL position (into c->source_lsn) and how much of it the
 * slot holds back (into *held). Returns 0, or -1 with *error set. */
static int
s_query_slot_wal(cdc_t *c, uint64_t *held, char **error)
{
    const char *params[1] = {c->a->slot};
    uint64_t restart_lsn = 0;

    if (s_query_lsn(c->src, "SELECT pg_current_wal_lsn()", 0, NULL,
                    &c->source_lsn, error) != 0 ||
        s_query_lsn(c->src,
                    "SELECT restart_lsn FROM pg_replication_slots "
                    "WHERE slot_name = $1",
                    1, params, &restart_lsn, error) != 0)
    {
        return -1;
    }
    *held = restart_lsn > 0 && c->source_lsn > restart_lsn
                ? c->source_lsn - restart_lsn
                : 0;
    return 0;
}

static int
s_report(cdc_t *c, char **error)
{
    Pgconvoy__CdcProgress *cdc = NULL;
    uint64_t held = 0;

    if (s_query_slot_wal(c, &held, error) != 0 ||
        s_confirm_flushed(c, error) != 0)
    {
        return -1;
    }
    cdc = s_snapshot_progress(c, error);
    if (cdc == NULL)
    {
        return -1;
    }
    cdc->slot_wal_bytes = held;
    unit_report_cdc(c->unit, cdc);
    pgconvoy__cdc_progress__free_unpacked(cdc, NULL);
    c->next_report = zclock_mono() + CDC_REPORT_MS;
    return 0;
}

/* Applies one message and keeps the stream's bookkeeping. Returns 0, or
 * -1 with *error and *transient set. */
static int
s_apply_one(cdc_t *c, const char *data, size_t len, uint64_t wal_start,
            bool *marker, char **error, bool *transient)
{
    pgoutput_msg_t msg;

    if (pgoutput_decode(c->decoder, data, len, &msg) != 0)
    {
        *error = xasprintf("slot=%s lsn=" LSN_FMT " could not decode: %s",
                           c->a->slot, LSN_ARGS(wal_start),
                           pgoutput_error(c->decoder));
        *transient = false;
        return -1;
    }
    if (s_is_marker(c, &msg))
    {
        *marker = c->cutting_over;
        return 0;
    }
    if (apply_message(c->apply, &msg) != 0)
    {
        *error = xstrdup(apply_error(c->apply));
        *transient = apply_error_is_transient(c->apply);
        return -1;
    }
    switch (msg.type)
    {
        case PGOUTPUT_BEGIN:
            c->in_xact = true;
            c->xact_changes = 0;
            c->xact_time = msg.begin.commit_time;
            break;
        case PGOUTPUT_INSERT:
        case PGOUTPUT_UPDATE:
        case PGOUTPUT_DELETE:
            c->xact_changes++;
            break;
        case PGOUTPUT_COMMIT:
            c->in_xact = false;
            c->progressed = true;
            c->commit_lsn = msg.commit.end_lsn;
            c->lag_ms = (pgoutput_now_us() - msg.commit.commit_time) / 1000;
            /* persist, then acknowledge: see s_confirm_flushed() */
            break;
        default:
            break;
    }
    return 0;
}

/* Commits the batch of transactions applied, if any. Returns 0, or -1
 * with *error and *transient set. */
static int
s_flush(cdc_t *c, char **error, bool *transient)
{
    if (apply_flush(c->apply) != 0)
    {
        *error = xstrdup(apply_error(c->apply));
        *transient = apply_error_is_transient(c->apply);
        return -1;
    }
    return 0;
}

/* Streams and applies until the marker, a release or a failure. */
static cdc_end_t
s_stream(cdc_t *c, char **error, bool *transient)
{
    bool validate = false;

    *transient = true;
    for (;;)
    {
        const char *data = NULL;
        size_t len = 0;
        uint64_t wal_start = 0;
        bool marker = false;
        int r;

        if (!c->cutting_over && unit_cutover_requested(c->unit, &validate))
        {
            c->validate = validate;
            if (s_emit_marker(c, error) != 0)
            {
                return CDC_FAILED;
            }
        }
        /* a lease run out stops even a cutover: another agent may
         * stream the slot by now */
        if (unit_is_fenced(c->unit) ||
            (!c->cutting_over && unit_is_released(c->unit)))
        {
            return CDC_STOPPED;
        }
        /* a batch open: only what is at hand, then commit it */
        r = slot_reader_next(
            c->reader, apply_has_deferred(c->apply) ? 0 : CDC_READ_TIMEOUT_MS,
            &data, &len, &wal_start, error);
        if (r < 0)
        {
            return CDC_FAILED;
        }
        if (r == 0 && s_flush(c, error, transient) != 0)
        {
            return CDC_FAILED;
        }
        if (r == 1)
        {
            c->caught_up = false;
            c->received_lsn =
                wal_start > c->received_lsn ? wal_start : c->received_lsn;
            if (s_apply_one(c, data, len, wal_start, &marker, error,
                            transient) != 0)
            {
                return CDC_FAILED;
            }
            if (marker || s_passed_end_lsn(c))
            {
                /* everything before it is in the batch: commit it */
                return s_flush(c, error, transient) == 0 ? CDC_MARKER
                                                         : CDC_FAILED;
            }
        }
        else if (!c->in_xact)
        {
            /* idle, everything received is committed: once flushed, the
             * slot may move past WAL that held nothing of ours */
            uint64_t received = slot_reader_received_lsn(c->reader);

            c->received_lsn =
                received > c->received_lsn ? received : c->received_lsn;
            c->caught_up = true;
            if (s_passed_end_lsn(c))
            {
                return s_flush(c, error, transient) == 0 ? CDC_MARKER
                                                         : CDC_FAILED;
            }
            /* no marker will come: ask where the server has got to */
            if (c->cutting_over && !slot_reader_has_messages(c->reader) &&
                slot_reader_ask_position(c->reader, error) != 0)
            {
                return CDC_FAILED;
            }
        }
        if (zclock_mono() >= c->next_report && s_report(c, error) != 0)
        {
            return CDC_FAILED;
        }
    }
}

/*
 * --validate: every change before the marker is committed on the target,
 * and the tables are compared by validate units, on any agents, in
 * parallel, while this unit waits with the slot kept. The coordinator
 * sends "validated" once every table compared equal; if one did not, the
 * database fails and this unit is released. The report is repeated, for
 * a coordinator restarted meanwhile.
 */
static int
s_wait_validated(cdc_t *c, Pgconvoy__Result *res)
{
    int64_t next_report = 0;

    while (!unit_is_validated(c->unit))
    {
        if (unit_is_released(c->unit))
        {
            return unit_fail(res,
                             xasprintf("slot=%s cutover stopped while the "
                                       "tables were compared: the database "
                                       "failed or the task was cancelled",
                                       c->a->slot),
                             false);
        }
        if (zclock_mono() >= next_report)
        {
            res->cdc->validating = true;
            unit_report_cdc(c->unit, res->cdc);
            res->cdc->validating = false;
            next_report = zclock_mono() + CDC_VALIDATING_REPORT_MS;
        }
        zclock_sleep(CDC_VALIDATING_POLL_MS);
    }
    return 0;
}

/* Everything before the marker is on the target: sequences, large
 * objects, materialized views, validation, then the slot, publication
 * and origin go. */
static int
s_finish(cdc_t *c, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = c->a;
    char *error = NULL;

    res->cdc = s_snapshot_progress(c, &error);
    if (res->cdc == NULL)
    {
        return unit_fail(res, error, true);
    }
    res->cdc->caught_up = true;
    res->cdc->latency_ms = 0;
    /* none of them travels through logical decoding */
    if (unit_copy_sequences(a, c->src, c->tgt, res) != 0 ||
        (a->large_objects && large_objects_sync(a, c->src, c->tgt, res) != 0) ||
        matviews_refresh(a, c->tgt, res) != 0)
    {
        return -1;
    }
    /* the walsender and the origin's session end first */
    slot_reader_destroy(&c->reader);
    apply_destroy(&c->apply);
    /* the slot goes next, so what was committed asynchronously must be on
     * disk first: a synchronous commit flushes the WAL before it too */
    if (pgconn_command(c->tgt,
                       "SET synchronous_commit = on; BEGIN; "
                       "SELECT txid_current(); COMMIT",
                       &error) != 0)
    {
        int rc = unit_fail(res,
                           xasprintf("target database \"%s\": could not "
                                     "flush the changes applied: %s",
                                     a->target->dbname, error),
                           true);
        free(error);
        return rc;
    }
    if (c->validate && s_wait_validated(c, res) != 0)
    {
        return -1;
    }
    if (unit_drop_stream(a, c->src, c->tgt, &error) != 0)
    {
        return unit_fail(res, error, true);
    }
    return unit_drop_bookkeeping(a, c->tgt, res);
}

int
unit_cdc_run(unit_t *self, Pgconvoy__Result *res)
{
    cdc_t c;
    int failures = 0;
    int rc = -1;

    memset(&c, 0, sizeof c);
    c.unit = self;
    c.a = unit_assign(self);
    for (;;)
    {
        char *error = NULL;
        bool transient = true;
        cdc_end_t end = CDC_FAILED;

        c.progressed = false;
        if (s_connect(&c, &error, &transient) == 0)
        {
            /* a restarted unit emits its own marker: it cannot know
             * whether the last one was read */
            c.cutting_over = false;
            end = s_stream(&c, &error, &transient);
        }
        if (end == CDC_MARKER)
        {
            rc = s_finish(&c, res);
            break;
        }
        if (end == CDC_STOPPED)
        {
            rc = unit_fail(res,
                           xasprintf("slot=%s streaming stopped: the task "
                                     "was cancelled",
                                     c.a->slot),
                           false);
            break;
        }
        /* transient trouble (a server restarting, a network cut) is
         * waited out however long it lasts, the coordinator told at each
         * try: only what no retry can mend fails the unit */
        failures = c.progressed ? 1 : failures + 1;
        if (!transient)
        {
            rc = unit_fail(res, error, false);
            break;
        }
        log_warn("unit=%" PRIu64 " slot=%s streaming again (try %d) after: %s",
                 unit_id(self), c.a->slot, failures + 1, error);
        /* the slot grows while the target is away: say by how much,
         * asking the source only when it just answered (one cut off too
         * would hold this up until the keepalives give up) */
        uint64_t held = 0;
        char *ignored = NULL;
        bool target_trouble =
            c.tgt == NULL || PQstatus(c.tgt) != CONNECTION_OK;
        if (!target_trouble || c.src == NULL ||
            PQstatus(c.src) != CONNECTION_OK ||
            s_query_slot_wal(&c, &held, &ignored) != 0)
        {
            held = 0;
        }
        free(ignored);
        unit_report_trouble(self, error, (uint32_t) failures, held);
        free(error);
        s_disconnect(&c);
        sleep((unsigned) (failures < CDC_MAX_BACKOFF_S ? failures
                                                       : CDC_MAX_BACKOFF_S));
        if (unit_is_fenced(self) ||
            (unit_is_released(self) &&
             !unit_cutover_requested(self, &c.validate)))
        {
            rc = unit_fail(res,
                           xstrdup("streaming stopped: the task was "
                                   "cancelled"),
                           false);
            break;
        }
    }
    s_disconnect(&c);
    return rc;
}
