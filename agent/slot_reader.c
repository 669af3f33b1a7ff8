/*
 * agent/slot_reader.c
 *     Reads one logical replication slot over the replication protocol and
 *     hands out its pgoutput messages one at a time.
 *
 * We confirm to the source only LSNs the target has committed
 * (slot_reader_confirm()), so a crash here can replay changes but never
 * lose them. Every message from the server is bounds-checked before a
 * byte of it is read: a malformed one is an error, never an assert.
 */
#include "agent/slot_reader.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/pgoutput.h"
#include "common/lsn.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* status update even when idle, well within wal_sender_timeout (60 s) */
#define STATUS_INTERVAL_MS 10000
/* a new confirmed position is reported at most this often, unless asked */
#define CONFIRM_INTERVAL_MS 1000
/* 'w', walStart, walEnd, sendTime */
#define XLOGDATA_HEADER 25
/* 'k', walEnd, sendTime, replyRequested */
#define KEEPALIVE_LEN 18
/* 'r', write, flush, apply, sendTime, replyRequested */
#define STATUS_LEN 34

struct slot_reader_t
{
    PGconn *conn;           /* replication connection, owned */
    char *slot_name;        /* owned copy */
    char *publication;      /* owned copy */
    char *server;           /* "host:port" for messages, owned */
    bool streaming;         /* START_REPLICATION succeeded: in COPY BOTH */
    char *copybuf;          /* the message handed out last (PQfreemem) */
    uint64_t received_lsn;  /* walEnd of the latest keepalive */
    uint64_t confirmed_lsn; /* committed on the target: what we report */
    uint64_t reported_lsn;  /* confirmed_lsn as of the last status update */
    int64_t last_status_ms; /* monotonic time of the last status update */
    bool transient;         /* the last failure is worth another try */
};


static uint64_t
s_get_u64(const char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
    {
        v = (v << 8) | (uint8_t) p[i];
    }
    return v;
}

static void
s_put_u64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
    {
        p[i] = (char) (v & 0xFF);
        v >>= 8;
    }
}

/* "slot=NAME lsn=X/X what: libpq's reason", one line, allocated; notes
 * whether another try may do better. */
static char *
s_error(slot_reader_t *self, const char *what, const PGresult *res)
{
    char *why = pgconn_error_text(self->conn, res);

    self->transient = pgconn_is_transient(self->conn, res);
    uint64_t lsn = self->received_lsn > self->confirmed_lsn
                       ? self->received_lsn
                       : self->confirmed_lsn;
    char *text =
        xasprintf("slot=%s server=%s lsn=" LSN_FMT " %s: %s", self->slot_name,
                  self->server, LSN_ARGS(lsn), what, why);

    free(why);
    return text;
}

/* Same, for a malformed message (no libpq reason to add). */
static char *
s_malformed(const slot_reader_t *self, const char *what, int len)
{
    return xasprintf("slot=%s server=%s lsn=" LSN_FMT
                     " cannot read the replication stream: %s (%d bytes)",
                     self->slot_name, self->server,
                     LSN_ARGS(self->received_lsn), what, len);
}

/*
 * Standby status update: write = flush = apply = the confirmed position,
 * never what was merely received (persist, then acknowledge).
 */
static int
s_send_status_asking(slot_reader_t *self, bool reply, char **error)
{
    char buf[STATUS_LEN];

    buf[0] = 'r';
    s_put_u64(buf + 1, self->confirmed_lsn);  /* write */
    s_put_u64(buf + 9, self->confirmed_lsn);  /* flush */
    s_put_u64(buf + 17, self->confirmed_lsn); /* apply */
    s_put_u64(buf + 25, (uint64_t) pgoutput_now_us());
    buf[33] = reply ? 1 : 0; /* a keepalive back, with the sent position */
    if (PQputCopyData(self->conn, buf, STATUS_LEN) <= 0 ||
        PQflush(self->conn) != 0)
    {
        *error =
            s_error(self, "could not send the standby status update", NULL);
        return -1;
    }
    self->reported_lsn = self->confirmed_lsn;
    self->last_status_ms = zclock_mono();
    return 0;
}

static int
s_send_status(slot_reader_t *self, char **error)
{
    return s_send_status_asking(self, false, error);
}

/* Milliseconds until a status update is due (0: now). */
static int64_t
s_status_due_in(const slot_reader_t *self, int64_t now)
{
    int64_t due = self->last_status_ms + STATUS_INTERVAL_MS;

    if (self->confirmed_lsn != self->reported_lsn)
    {
        int64_t confirm_due = self->last_status_ms + CONFIRM_INTERVAL_MS;

        due = confirm_due < due ? confirm_due : due;
    }
    return due > now ? due - now : 0;
}

slot_reader_t *
slot_reader_new(const Pgconvoy__Endpoint *ep, const char *slot,
                const char *publication, char **error)
{
    slot_reader_t *self = NULL;
    char *why = NULL;

    assert(ep != NULL && slot != NULL && publication != NULL);
    self = xcalloc(1, sizeof *self);
    self->slot_name = xstrdup(slot);
    self->publication = xstrdup(publication);
    self->server = pgconn_describe(ep);
    self->last_status_ms = zclock_mono();
    self->conn = pgconn_connect_replication(ep, "cdc", &why);
    if (self->conn == NULL)
    {
        *error = xasprintf("slot=%s %s", slot, why);
        free(why);
        slot_reader_destroy(&self);
        return NULL;
    }
    return self;
}

void
slot_reader_destroy(slot_reader_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    slot_reader_t *self = *self_p;

    PQfreemem(self->copybuf);
    if (self->streaming && PQstatus(self->conn) == CONNECTION_OK)
    {
        /* say goodbye, as pg_recvlogical does; the answer does not matter */
        (void) PQputCopyEnd(self->conn, NULL);
        (void) PQflush(self->conn);
    }
    PQfinish(self->conn); /* NULL-safe */
    free(self->slot_name);
    free(self->publication);
    free(self->server);
    free(self);
    *self_p = NULL;
}

int
slot_reader_create_slot(slot_reader_t *self, char **snapshot_out,
                        uint64_t *consistent_lsn, char **error)
{
    int rc = -1;
    char *ident = NULL;
    char *sql = NULL;
    PGresult *res = NULL;

    assert(self != NULL && !self->streaming);
    ident = PQescapeIdentifier(self->conn, self->slot_name,
                               strlen(self->slot_name));
    if (ident == NULL)
    {
        *error = s_error(self, "could not quote the slot name", NULL);
        goto cleanup;
    }
    /* the snapshot lives until our next command; the option list is
     * PostgreSQL 15's, the bare keyword the one from 10 to 14 (15 still
     * takes it, but it may not forever) */
    sql = xasprintf(PQserverVersion(self->conn) >= 150000
                        ? "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput "
                          "(SNAPSHOT 'export')"
                        : "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput "
                          "EXPORT_SNAPSHOT",
                    ident);
    res = PQexec(self->conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        *error = s_error(self, "could not create the replication slot", res);
        goto cleanup;
    }
    /* slot_name, consistent_point, snapshot_name, output_plugin */
    if (PQntuples(res) != 1 || PQnfields(res) < 3 || PQgetisnull(res, 0, 1) ||
        PQgetisnull(res, 0, 2) ||
        lsn_parse(PQgetvalue(res, 0, 1), consistent_lsn) != 0)
    {
        *error = xasprintf("slot=%s server=%s cannot read the answer to "
                           "CREATE_REPLICATION_SLOT: %d rows, %d columns",
                           self->slot_name, self->server, PQntuples(res),
                           PQnfields(res));
        goto cleanup;
    }
    *snapshot_out = xstrdup(PQgetvalue(res, 0, 2));
    rc = 0;

cleanup:
    PQclear(res);
    free(sql);
    PQfreemem(ident);
    return rc;
}

int
slot_reader_start(slot_reader_t *self, uint64_t start_lsn, char **error)
{
    int rc = -1;
    char *ident = NULL;
    char *pub = NULL;
    char *sql = NULL;
    PGresult *res = NULL;

    assert(self != NULL && !self->streaming);
    ident = PQescapeIdentifier(self->conn, self->slot_name,
                               strlen(self->slot_name));
    pub = PQescapeLiteral(self->conn, self->publication,
                          strlen(self->publication));
    if (ident == NULL || pub == NULL)
    {
        *error =
            s_error(self, "could not quote the slot or publication name", NULL);
        goto cleanup;
    }
    /* messages: the cutover marker (pg_logical_emit_message) comes
     * through the stream, after every transaction committed before it;
     * pgoutput knows the option from 14 on, and refuses it before */
    sql = xasprintf("START_REPLICATION SLOT %s LOGICAL %X/%X "
                    "(proto_version '1', publication_names %s%s)",
                    ident, LSN_ARGS(start_lsn), pub,
                    slot_reader_has_messages(self) ? ", messages 'true'" : "");
    res = PQexec(self->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_BOTH)
    {
        *error = s_error(self, "could not start streaming", res);
        goto cleanup;
    }
    self->streaming = true;
    /* let the server know where we stand right away, as pg_recvlogical */
    if (s_send_status(self, error) != 0)
    {
        goto cleanup;
    }
    rc = 0;

cleanup:
    PQclear(res);
    free(sql);
    PQfreemem(pub);
    PQfreemem(ident);
    return rc;
}

/* Waits until the socket is readable or ms pass. Returns 0 or -1. */
static int
s_wait_socket(slot_reader_t *self, int64_t ms, char **error)
{
    struct pollfd pfd;
    int r;

    pfd.fd = PQsocket(self->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0)
    {
        *error = s_error(self, "lost the replication connection", NULL);
        return -1;
    }
    r = poll(&pfd, 1, (int) (ms > 60000 ? 60000 : ms));
    if (r < 0 && errno != EINTR)
    {
        *error = xasprintf("slot=%s server=%s lsn=" LSN_FMT
                           " could not wait for the replication stream: %s",
                           self->slot_name, self->server,
                           LSN_ARGS(self->received_lsn), strerror(errno));
        return -1;
    }
    if (r > 0 && PQconsumeInput(self->conn) == 0)
    {
        *error = s_error(self,
                         "could not receive data from the replication "
                         "stream",
                         NULL);
        return -1;
    }
    return 0;
}

/* The server ended the COPY (-1 from PQgetCopyData): say why. */
static char *
s_stream_ended(slot_reader_t *self)
{
    PGresult *res = PQgetResult(self->conn);
    char *text = NULL;

    self->streaming = false;
    if (PQresultStatus(res) == PGRES_COMMAND_OK ||
        PQresultStatus(res) == PGRES_COPY_OUT)
    {
        text = xasprintf("slot=%s server=%s lsn=" LSN_FMT
                         " could not receive more changes: the server "
                         "ended the replication stream",
                         self->slot_name, self->server,
                         LSN_ARGS(self->received_lsn));
    }
    else
    {
        text = s_error(self, "could not receive more changes", res);
    }
    PQclear(res);
    return text;
}

/* loop shape follows pg_recvlogical.c StreamLogicalLog() */
int
slot_reader_next(slot_reader_t *self, int timeout_ms, const char **data,
                 size_t *len, uint64_t *wal_start, char **error)
{
    int64_t deadline = timeout_ms >= 0 ? zclock_mono() + timeout_ms : -1;
    bool polled = false; /* timeout 0: the socket was read once */

    assert(self != NULL && self->streaming);
    /* one message at a time: the previous one is no longer borrowed */
    PQfreemem(self->copybuf);
    self->copybuf = NULL;

    for (;;)
    {
        char *buf = NULL;
        int r;
        int64_t now = zclock_mono();

        /* feedback even when idle, otherwise wal_sender_timeout drops us */
        if (s_status_due_in(self, now) == 0 && s_send_status(self, error) != 0)
        {
            return -1;
        }

        r = PQgetCopyData(self->conn, &buf, 1);
        if (r == 0)
        {
            /* nothing buffered: sleep until data, timeout or status due */
            int64_t wait_ms = s_status_due_in(self, now);

            if (deadline >= 0)
            {
                /* no waiting, but what the socket holds already counts */
                if (now >= deadline && (timeout_ms > 0 || polled))
                {
                    return 0;
                }
                polled = true;
                if (deadline - now < wait_ms)
                {
                    wait_ms = deadline - now;
                }
            }
            if (s_wait_socket(self, wait_ms, error) != 0)
            {
                return -1;
            }
            continue;
        }
        if (r == -1)
        {
            *error = s_stream_ended(self);
            return -1;
        }
        if (r < -1)
        {
            *error = s_error(self,
                             "could not receive data from the "
                             "replication stream",
                             NULL);
            return -1;
        }

        if (buf[0] == 'k')
        {
            bool reply;

            if (r < KEEPALIVE_LEN)
            {
                *error = s_malformed(self, "keepalive message too short", r);
                PQfreemem(buf);
                return -1;
            }
            if (s_get_u64(buf + 1) > self->received_lsn)
            {
                self->received_lsn = s_get_u64(buf + 1);
            }
            reply = buf[17] != 0;
            PQfreemem(buf);
            if (reply && s_send_status(self, error) != 0)
            {
                return -1;
            }
            continue;
        }
        if (buf[0] == 'w')
        {
            /* an XLogData without payload cannot be a pgoutput message */
            if (r <= XLOGDATA_HEADER)
            {
                *error = s_malformed(self, "XLogData message too short", r);
                PQfreemem(buf);
                return -1;
            }
            self->copybuf = buf;
            *wal_start = s_get_u64(buf + 1);
            *data = buf + XLOGDATA_HEADER;
            *len = (size_t) r - XLOGDATA_HEADER;
            return 1;
        }
        {
            char what[64];

            snprintf(what, sizeof what, "unexpected message type 0x%02X",
                     (unsigned int) (uint8_t) buf[0]);
            *error = s_malformed(self, what, r);
        }
        PQfreemem(buf);
        return -1;
    }
}

void
slot_reader_confirm(slot_reader_t *self, uint64_t lsn)
{
    char *error = NULL;

    assert(self != NULL);
    if (lsn <= self->confirmed_lsn)
    {
        return;
    }
    self->confirmed_lsn = lsn;
    if (self->streaming &&
        zclock_mono() - self->last_status_ms >= CONFIRM_INTERVAL_MS)
    {
        /* a failure shows again, and is reported, in slot_reader_next() */
        if (s_send_status(self, &error) != 0)
        {
            free(error);
        }
    }
}

int
slot_reader_check(slot_reader_t *self, char **error)
{
    struct pollfd pfd;

    pfd.fd = PQsocket(self->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    /* the server says nothing on an idle connection before streaming:
     * readable means it closed, or is telling us why it will */
    if (PQstatus(self->conn) != CONNECTION_OK || pfd.fd < 0 ||
        (poll(&pfd, 1, 0) > 0 && (PQconsumeInput(self->conn) == 0 ||
                                  PQstatus(self->conn) != CONNECTION_OK)))
    {
        *error = s_error(self, "lost the replication connection", NULL);
        return -1;
    }
    return 0;
}

uint64_t
slot_reader_confirmed_lsn(const slot_reader_t *self)
{
    return self->confirmed_lsn;
}

bool
slot_reader_error_is_transient(const slot_reader_t *self)
{
    return self->transient;
}

uint64_t
slot_reader_received_lsn(const slot_reader_t *self)
{
    return self->received_lsn;
}

bool
slot_reader_has_messages(const slot_reader_t *self)
{
    return PQserverVersion(self->conn) >= 140000;
}

int
slot_reader_ask_position(slot_reader_t *self, char **error)
{
    assert(self != NULL && self->streaming);
    return s_send_status_asking(self, true, error);
}
