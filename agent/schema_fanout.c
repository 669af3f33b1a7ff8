/*
 * agent/schema_fanout.c
 *     Scripts run at once on several target sessions: each session is
 *     sent the next script still to run as soon as it is idle, and one
 *     poll() waits for whichever answers first. Finalize's schema steps
 *     run so, and the cutover's refreshes of materialized views.
 *
 * Each step is its script and its pgconvoy.step_done row in one
 * transaction (schema_step_script()), so a step either is done, row and
 * all, or is not: whatever fails here, or is cut short by a lost
 * session, the caller's pass over the same steps one by one finds undone
 * and runs again, with its own error if it fails for good.
 */
#include "agent/schema_fanout.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/schema_step.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

#define FANOUT_IDLE SIZE_MAX

typedef struct
{
    PGconn *conn;  /* NULL once lost */
    bool owned;    /* opened here, closed at the end */
    size_t item;   /* the index of the item it runs, or FANOUT_IDLE */
    bool failed;   /* a statement of that item's script failed */
} s_session_t;

/*
 * Which of items[0..n) have their step_done row already (an earlier
 * attempt), from one query. NULL if it could not be asked: nothing is
 * run at once then.
 */
static bool *
s_done_steps(const Pgconvoy__Assign *a, PGconn *tgt,
             Pgconvoy__SchemaItem *const *items, size_t n)
{
    strbuf_t *steps = strbuf_new();
    bool *done = NULL;
    char *error = NULL;
    char step[40];

    /* "item:<id>": nothing in it to quote inside an array literal */
    strbuf_append(steps, "{");
    for (size_t i = 0; i < n; i++)
    {
        schema_step_item_name(items[i], step, sizeof step);
        strbuf_appendf(steps, "%s%s", i > 0 ? "," : "", step);
    }
    strbuf_append(steps, "}");
    const char *params[2] = {a->task_key, strbuf_data(steps)};
    /* the positions (from 1) of the steps done, in the array sent */
    PGresult *r = pgconn_query(tgt,
                               "SELECT s.i FROM unnest($2::text[]) "
                               "     WITH ORDINALITY AS s (step, i) "
                               " WHERE EXISTS (SELECT FROM pgconvoy.step_done d "
                               "                WHERE d.task_key = $1 "
                               "                  AND d.step = s.step)",
                               2, params, &error);
    if (r != NULL)
    {
        done = xcalloc(n > 0 ? n : 1, sizeof *done);
        for (int row = 0; row < PQntuples(r); row++)
        {
            size_t i = strtoull(PQgetvalue(r, row, 0), NULL, 10);
            if (i >= 1 && i <= n)
            {
                done[i - 1] = true;
            }
        }
    }
    PQclear(r);
    free(error);
    strbuf_destroy(&steps);
    return done;
}

/* Sends script i to s; false if s could not take it (s is lost). */
static bool
s_send(s_session_t *s, size_t i, schema_fanout_script_fn script_of, void *ctx)
{
    char *script = script_of(ctx, i, s->conn);
    bool sent = script != NULL && PQsendQuery(s->conn, script) == 1;

    free(script);
    s->failed = false;
    return sent;
}

/*
 * Reads what s's server has sent; true once its script has ended (every
 * result read), with s->failed set if a statement failed. A failed
 * script leaves its transaction open and aborted: rolled back here.
 */
static bool
s_collect(s_session_t *s)
{
    while (!PQisBusy(s->conn))
    {
        PGresult *r = PQgetResult(s->conn);
        if (r == NULL)
        {
            if (s->failed && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
            {
                PQclear(PQexec(s->conn, "ROLLBACK"));
            }
            return true;
        }
        s->failed = s->failed || PQresultStatus(r) != PGRES_COMMAND_OK;
        PQclear(r);
    }
    return false;
}

/* Forgets a lost session: closes it if it was opened here. */
static void
s_lose(s_session_t *s)
{
    if (s->owned)
    {
        PQfinish(s->conn);
    }
    s->conn = NULL;
    s->item = FANOUT_IDLE;
}

size_t
schema_fanout_scripts(const Pgconvoy__Endpoint *target, const char *purpose,
                      PGconn *tgt, size_t n, const bool *skip,
                      schema_fanout_script_fn script_of, void *ctx, bool *ok,
                      size_t sessions)
{
    size_t nsessions = sessions < n ? sessions : n;
    s_session_t *ss = xcalloc(nsessions > 0 ? nsessions : 1, sizeof *ss);
    struct pollfd *fds = xcalloc(nsessions > 0 ? nsessions : 1, sizeof *fds);
    size_t *polled = xcalloc(nsessions > 0 ? nsessions : 1, sizeof *polled);
    size_t next = 0;
    size_t committed = 0;

    for (size_t i = 0; i < nsessions; i++)
    {
        char *error = NULL;

        ss[i].item = FANOUT_IDLE;
        ss[i].owned = i > 0;
        ss[i].conn = i == 0 ? tgt
                            : pgconn_connect(target, NULL, "target", purpose,
                                             &error);
        if (ss[i].conn == NULL)
        {
            log_debug("target database \"%s\": steps run on %zu sessions, "
                      "not %zu: %s",
                      target->dbname, i, nsessions, error);
        }
        free(error);
    }
    for (;;)
    {
        size_t nfds = 0;

        /* every idle session takes the next step still to do */
        for (size_t i = 0; i < nsessions; i++)
        {
            while (ss[i].conn != NULL && ss[i].item == FANOUT_IDLE && next < n)
            {
                size_t item = next++;
                if (skip != NULL && skip[item])
                {
                    continue;
                }
                if (s_send(&ss[i], item, script_of, ctx))
                {
                    ss[i].item = item;
                }
                else if (i == 0)
                {
                    break; /* tgt is the caller's: not closed here */
                }
                else
                {
                    s_lose(&ss[i]);
                }
            }
            if (ss[i].conn != NULL && ss[i].item != FANOUT_IDLE)
            {
                fds[nfds].fd = PQsocket(ss[i].conn);
                fds[nfds].events = POLLIN;
                fds[nfds].revents = 0;
                polled[nfds++] = i;
            }
        }
        if (nfds == 0)
        {
            break;
        }
        if (poll(fds, nfds, -1) < 0 && errno != EINTR)
        {
            break;
        }
        for (size_t k = 0; k < nfds; k++)
        {
            s_session_t *s = &ss[polled[k]];

            if (fds[k].revents == 0)
            {
                continue;
            }
            if (PQconsumeInput(s->conn) == 0)
            {
                /* its step is found undone, or done, by the caller */
                if (s->owned)
                {
                    s_lose(s);
                }
                else
                {
                    s->item = FANOUT_IDLE;
                    next = n; /* the caller's session: stop using it */
                }
                continue;
            }
            if (s_collect(s))
            {
                committed += s->failed ? 0 : 1;
                if (ok != NULL)
                {
                    ok[s->item] = !s->failed;
                }
                s->item = FANOUT_IDLE;
            }
        }
    }
    /* a session still busy (poll failed): its step is the caller's */
    for (size_t i = 0; i < nsessions; i++)
    {
        if (ss[i].conn != NULL && ss[i].item != FANOUT_IDLE)
        {
            PGcancel *cancel = PQgetCancel(ss[i].conn);
            char ignored[256];

            if (cancel != NULL)
            {
                (void) PQcancel(cancel, ignored, sizeof ignored);
                PQfreeCancel(cancel);
            }
            PGresult *r = NULL;
            while ((r = PQgetResult(ss[i].conn)) != NULL)
            {
                PQclear(r);
            }
            if (PQtransactionStatus(ss[i].conn) != PQTRANS_IDLE)
            {
                PQclear(PQexec(ss[i].conn, "ROLLBACK"));
            }
        }
        if (ss[i].owned && ss[i].conn != NULL)
        {
            PQfinish(ss[i].conn);
        }
    }
    free(polled);
    free(fds);
    free(ss);
    return committed;
}

/* The items of a step fan-out. */
typedef struct
{
    const Pgconvoy__Assign *a;
    Pgconvoy__SchemaItem *const *items;
} s_steps_t;

/* Item i's step: its script and its step_done row, one transaction. */
static char *
s_step_script(void *ctx, size_t i, PGconn *conn)
{
    const s_steps_t *steps = ctx;
    char step[40];

    schema_step_item_name(steps->items[i], step, sizeof step);
    return schema_step_script(conn, steps->a->task_key, step,
                              steps->items[i]->sql);
}

size_t
schema_fanout_run(const Pgconvoy__Assign *a, PGconn *tgt,
                  Pgconvoy__SchemaItem *const *items, size_t n,
                  size_t sessions)
{
    bool *done = s_done_steps(a, tgt, items, n);
    s_steps_t steps = {a, items};
    size_t committed = 0;

    /* not known to be undone: none is run here */
    if (done != NULL)
    {
        committed = schema_fanout_scripts(a->target, "finalize", tgt, n, done,
                                          s_step_script, &steps, NULL,
                                          sessions);
    }
    free(done);
    return committed;
}
