/*
 * agent/pipeline.c
 *     libpq pipeline mode with a bounded queue of statements in flight,
 *     each checked when its result arrives.
 *
 * libpq returns, per statement, one result followed by NULL; per Sync one
 * PGRES_PIPELINE_SYNC with no NULL after it. After an error, the server
 * skips everything up to the next Sync, each of which comes back as
 * PGRES_PIPELINE_ABORTED.
 */
#include "agent/pipeline.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lsn.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* statements whose result is not read yet; beyond this, wait for some */
#define PIPELINE_MAX_INFLIGHT 512
/* ask the server to flush its results after this many statements */
#define PIPELINE_FLUSH_EVERY 64

typedef struct
{
    pipeline_expect_t expect;
    int rows;         /* PIPELINE_ROWS: what it must change */
    const char *what; /* static text */
    char label[132];  /* schema.table, cut if longer */
    uint64_t lsn;
} s_inflight_t;

struct pipeline_t
{
    PGconn *conn; /* borrowed */
    bool open;
    s_inflight_t queue[PIPELINE_MAX_INFLIGHT]; /* ring buffer */
    int head;                                  /* oldest in flight */
    int count;                                 /* in flight */
    int unflushed;          /* sent since the last flush request */
    char *error;            /* first failure, owned */
    bool transient;         /* it is worth another try */
    uint64_t committed_lsn; /* lsn of the last PIPELINE_COMMIT that did */
};

pipeline_t *
pipeline_new(PGconn *conn)
{
    pipeline_t *self = xcalloc(1, sizeof *self);

    self->conn = conn;
    return self;
}

void
pipeline_destroy(pipeline_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    pipeline_t *self = *self_p;

    if (self->open)
    {
        pipeline_abort(self);
    }
    free(self->error);
    free(self);
    *self_p = NULL;
}

/* Keeps the first failure only: what follows it is its consequence. */
static void
s_fail(pipeline_t *self, bool transient, char *text)
{
    if (self->error == NULL)
    {
        self->error = text;
        self->transient = transient;
    }
    else
    {
        free(text);
    }
}

static void
s_fail_result(pipeline_t *self, const s_inflight_t *f, const PGresult *res)
{
    char *why = pgconn_error_text(self->conn, res);

    s_fail(self, pgconn_is_transient(self->conn, res),
           xasprintf("table=%s lsn=" LSN_FMT " could not apply %s: %s",
                     f->label, LSN_ARGS(f->lsn), f->what, why));
    free(why);
}

/* An UPDATE or DELETE changed found rows, not f->rows. Several rows:
 * one statement for the changes of several source transactions, the
 * first of which is at f->lsn. */
static void
s_fail_rows(pipeline_t *self, const s_inflight_t *f, int found)
{
    char count[32];

    if (f->rows == 1)
    {
        snprintf(count, sizeof count, "%d rows", found);
        s_fail(self, false,
               xasprintf("table=%s lsn=" LSN_FMT " cannot apply %s: %s "
                         "on the target %s the replica identity, expected "
                         "one (the target has diverged from the source)",
                         f->label, LSN_ARGS(f->lsn), f->what,
                         found == 0 ? "no row" : count,
                         found == 0 ? "matches" : "match"));
        return;
    }
    s_fail(self, false,
           xasprintf("table=%s lsn=" LSN_FMT " cannot apply %s of %d rows: "
                     "%d on the target match their replica identity, "
                     "expected %d (the target has diverged from the source)",
                     f->label, LSN_ARGS(f->lsn), f->what, f->rows, found,
                     f->rows));
}

/* Checks one statement's result against what it should be. */
static void
s_check(pipeline_t *self, const s_inflight_t *f, const PGresult *res)
{
    ExecStatusType status = PQresultStatus(res);
    int found = f->expect == PIPELINE_ROWS
                    ? (int) strtol(PQcmdTuples((PGresult *) res), NULL, 10)
                    : 0;
    if (status == PGRES_PIPELINE_ABORTED)
    {
        return; /* an earlier failure is the reason, and is kept */
    }
    if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
        (f->expect == PIPELINE_TUPLES && status != PGRES_TUPLES_OK) ||
        (f->expect != PIPELINE_TUPLES && status != PGRES_COMMAND_OK))
    {
        s_fail_result(self, f, res);
    }
    else if (f->expect == PIPELINE_ROWS && found != f->rows)
    {
        s_fail_rows(self, f, found);
    }
    else if (f->expect == PIPELINE_COMMIT &&
             strcmp(PQcmdStatus((PGresult *) res), "COMMIT") != 0)
    {
        /* COMMIT of an aborted transaction "succeeds" as ROLLBACK */
        s_fail(self, false,
               xasprintf("lsn=" LSN_FMT " could not commit the target "
                         "transaction: it was rolled back",
                         LSN_ARGS(f->lsn)));
    }
    else if (f->expect == PIPELINE_COMMIT && f->lsn > self->committed_lsn)
    {
        self->committed_lsn = f->lsn;
    }
}

/* The connection broke under us: nothing more will come back. */
static int
s_lost(pipeline_t *self)
{
    char *why = pgconn_error_text(self->conn, NULL);

    s_fail(self, true,
           xasprintf("lost the target connection with %d statements in "
                     "flight: %s",
                     self->count, why));
    free(why);
    self->count = 0;
    return -1;
}

static int s_flush(pipeline_t *self);

/*
 * Reads the result of the oldest statement in flight. block: wait for it;
 * otherwise only if it has arrived. Returns 1 if one was read, 0 if not
 * yet, -1 if the connection is gone.
 */
static int
s_read_one(pipeline_t *self, bool block)
{
    s_inflight_t *f = &self->queue[self->head];
    PGresult *res = NULL;

    if (block && s_flush(self) != 0)
    {
        return -1;
    }
    if (!block && (PQconsumeInput(self->conn) == 0 || PQisBusy(self->conn)))
    {
        return PQstatus(self->conn) == CONNECTION_OK ? 0 : s_lost(self);
    }
    res = PQgetResult(self->conn);
    if (res == NULL)
    {
        return s_lost(self);
    }
    s_check(self, f, res);
    PQclear(res);
    /* each statement's results end with NULL */
    while ((res = PQgetResult(self->conn)) != NULL)
    {
        PQclear(res);
    }
    self->head = (self->head + 1) % PIPELINE_MAX_INFLIGHT;
    self->count--;
    return 1;
}

static int
s_flush(pipeline_t *self)
{
    if (self->unflushed > 0)
    {
        if (PQsendFlushRequest(self->conn) == 0 || PQflush(self->conn) != 0)
        {
            return s_lost(self);
        }
        self->unflushed = 0;
    }
    return 0;
}

/* Queues the expectation of a statement just sent, reading results
 * meanwhile so that the queue and the socket buffers stay bounded. */
static int
s_sent(pipeline_t *self, pipeline_expect_t expect, int rows, const char *what,
       const char *label, uint64_t lsn)
{
    s_inflight_t *f =
        &self->queue[(self->head + self->count) % PIPELINE_MAX_INFLIGHT];

    f->expect = expect;
    f->rows = rows;
    f->what = what;
    snprintf(f->label, sizeof f->label, "%s", label != NULL ? label : "");
    f->lsn = lsn;
    self->count++;
    self->unflushed++;
    if (self->unflushed >= PIPELINE_FLUSH_EVERY && s_flush(self) != 0)
    {
        return -1;
    }
    while (self->count > 0)
    {
        int r = s_read_one(self, self->count >= PIPELINE_MAX_INFLIGHT);

        if (r < 0)
        {
            return -1;
        }
        if (r == 0)
        {
            break;
        }
    }
    return self->error != NULL ? -1 : 0;
}

int
pipeline_begin(pipeline_t *self)
{
    assert(!self->open);
    free(self->error);
    self->error = NULL;
    self->transient = false;
    self->head = self->count = self->unflushed = 0;
    if (PQenterPipelineMode(self->conn) == 0)
    {
        char *why = pgconn_error_text(self->conn, NULL);

        s_fail(self, PQstatus(self->conn) != CONNECTION_OK,
               xasprintf("could not enter pipeline mode: %s", why));
        free(why);
        return -1;
    }
    self->open = true;
    return 0;
}

bool
pipeline_is_open(const pipeline_t *self)
{
    return self->open;
}

int
pipeline_send(pipeline_t *self, const char *name, const char *sql, int nparams,
              const char *const *values, const int *lengths, const int *formats,
              pipeline_expect_t expect, int rows, const char *what,
              const char *label, uint64_t lsn)
{
    int ok;

    assert(self->open);
    if (self->error != NULL)
    {
        return -1;
    }
    ok = name != NULL ? PQsendQueryPrepared(self->conn, name, nparams, values,
                                            lengths, formats, 0)
                      : PQsendQueryParams(self->conn, sql, nparams, NULL,
                                          values, lengths, formats, 0);
    if (ok == 0)
    {
        return s_lost(self);
    }
    return s_sent(self, expect, rows, what, label, lsn);
}

int
pipeline_prepare(pipeline_t *self, const char *name, const char *sql,
                 int nparams, const Oid *types, const char *what,
                 const char *label, uint64_t lsn)
{
    assert(self->open);
    if (self->error != NULL)
    {
        return -1;
    }
    if (PQsendPrepare(self->conn, name, sql, nparams, types) == 0)
    {
        return s_lost(self);
    }
    return s_sent(self, PIPELINE_OK, 0, what, label, lsn);
}

/* Reads everything up to and including the Sync just sent. */
static int
s_drain_to_sync(pipeline_t *self)
{
    for (int nulls = 0;;)
    {
        PGresult *res = NULL;

        while (self->count > 0)
        {
            if (s_read_one(self, true) < 0)
            {
                return -1;
            }
        }
        res = PQgetResult(self->conn);
        if (res == NULL)
        {
            /* between statements: the Sync comes next, once */
            if (PQstatus(self->conn) != CONNECTION_OK || ++nulls > 1)
            {
                return s_lost(self);
            }
            continue;
        }
        if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
        {
            PQclear(res);
            return 0;
        }
        PQclear(res); /* nothing else is expected here */
    }
}

int
pipeline_sync(pipeline_t *self)
{
    assert(self->open);
    if (PQpipelineSync(self->conn) == 0 || s_drain_to_sync(self) != 0)
    {
        (void) s_lost(self);
    }
    self->open = false;
    if (PQstatus(self->conn) == CONNECTION_OK &&
        PQexitPipelineMode(self->conn) == 0)
    {
        char *why = pgconn_error_text(self->conn, NULL);

        s_fail(self, false,
               xasprintf("could not leave pipeline mode: %s", why));
        free(why);
    }
    return self->error != NULL ? -1 : 0;
}

int
pipeline_poll(pipeline_t *self)
{
    assert(self->open);
    if (self->error == NULL && s_flush(self) == 0)
    {
        while (self->count > 0 && s_read_one(self, false) > 0)
        {
        }
    }
    return self->error != NULL ? -1 : 0;
}

int
pipeline_drain(pipeline_t *self)
{
    assert(self->open);
    while (self->count > 0 && self->error == NULL)
    {
        if (s_read_one(self, true) < 0)
        {
            break;
        }
    }
    return self->error != NULL ? -1 : 0;
}

int
pipeline_wait_commit(pipeline_t *self, uint64_t lsn)
{
    assert(self->open);
    /* results come in order: once a failure is known, a COMMIT sent
     * before it has been read already, and one sent after cannot commit */
    while (self->committed_lsn < lsn && self->error == NULL)
    {
        if (self->count == 0)
        {
            s_fail(self, false,
                   xasprintf("lsn=" LSN_FMT " cannot wait for a COMMIT: "
                             "none is in flight",
                             LSN_ARGS(lsn)));
            break;
        }
        if (s_read_one(self, true) < 0)
        {
            break;
        }
    }
    return self->committed_lsn >= lsn ? 0 : -1;
}

uint64_t
pipeline_committed_lsn(const pipeline_t *self)
{
    return self->committed_lsn;
}

void
pipeline_abort(pipeline_t *self)
{
    char *kept = self->error;

    if (!self->open)
    {
        return;
    }
    /* a Sync ends the aborted run; the results are of no interest */
    self->error = xstrdup("aborted");
    (void) pipeline_sync(self);
    free(self->error);
    self->error = kept;
}

const char *
pipeline_error(const pipeline_t *self)
{
    return self->error != NULL ? self->error : "";
}

bool
pipeline_error_is_transient(const pipeline_t *self)
{
    return self->transient;
}
