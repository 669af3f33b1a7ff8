/*
 * agent/connpool.c
 *     Idle sessions kept for the next unit.
 *
 * Invariants: a session in the pool is idle (no transaction, no result
 * pending) and belongs to no unit; the key it was made with is kept
 * beside it, password included, and wiped when it goes. Nothing here
 * logs a key.
 */
#include "agent/connpool.h"

#include <assert.h>
#include <czmq.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

typedef struct
{
    PGconn *conn;    /* owned */
    char *key;       /* what it was made for, owned (holds the password) */
    size_t key_len;  /* key holds NULs: its length */
    int64_t idle_at; /* zclock_mono() when it came back */
} connpool_idle_t;

typedef struct
{
    PGconn *conn;     /* a session handed out, borrowed by a unit */
    PGcancel *cancel; /* owned: made by the taking thread, which owns conn;
                       * NULL once handed to a canceller */
    char *key;        /* owned */
    size_t key_len;
} connpool_lent_t;

/* What one canceller thread cancels: owned by that thread. */
typedef struct
{
    PGcancel **cancels;
    size_t n;
} connpool_cancels_t;

struct connpool_t
{
    pthread_mutex_t lock;  /* guards everything below */
    connpool_idle_t *idle; /* owned, oldest first */
    size_t nidle;
    size_t max_idle;
    connpool_lent_t *lent; /* sessions out, with their keys */
    size_t nlent;
    uint64_t made;
    uint64_t reused;
};

/* The key: every field that decides which session this is, NUL-separated. */
static char *
s_key(const Pgconvoy__Endpoint *ep, const char *dbname, size_t *len)
{
    strbuf_t *key = strbuf_new();
    const char *fields[5] = {ep->host, ep->user,
                             dbname != NULL ? dbname : ep->dbname,
                             ep->password != NULL ? ep->password : "", NULL};
    char port[16];

    snprintf(port, sizeof port, "%u", ep->port);
    strbuf_append_len(key, port, strlen(port) + 1);
    for (size_t i = 0; fields[i] != NULL; i++)
    {
        strbuf_append_len(key, fields[i], strlen(fields[i]) + 1);
    }
    /* a session made with sslmode=disable for one task must not serve
     * another that asked for verify-full */
    for (size_t i = 0; i < ep->n_options; i++)
    {
        strbuf_append_len(key, ep->options[i]->key,
                          strlen(ep->options[i]->key) + 1);
        strbuf_append_len(key, ep->options[i]->value,
                          strlen(ep->options[i]->value) + 1);
    }
    *len = strbuf_len(key);
    return strbuf_finish(&key);
}

static void
s_wipe(char **key, size_t len)
{
    if (*key != NULL)
    {
        memset(*key, 0, len);
        free(*key);
        *key = NULL;
    }
}

connpool_t *
connpool_new(size_t max_idle)
{
    connpool_t *self = xcalloc(1, sizeof *self);

    pthread_mutex_init(&self->lock, NULL);
    self->max_idle = max_idle;
    return self;
}

void
connpool_destroy(connpool_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    connpool_t *self = *self_p;
    assert(self->nlent == 0);
    for (size_t i = 0; i < self->nidle; i++)
    {
        PQfinish(self->idle[i].conn);
        s_wipe(&self->idle[i].key, self->idle[i].key_len);
    }
    free(self->idle);
    free(self->lent);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* Removes idle[i] (lock held), closing nothing; returns its session. */
static PGconn *
s_unlink_idle(connpool_t *self, size_t i)
{
    PGconn *conn = self->idle[i].conn;

    s_wipe(&self->idle[i].key, self->idle[i].key_len);
    memmove(&self->idle[i], &self->idle[i + 1],
            (self->nidle - i - 1) * sizeof *self->idle);
    self->nidle--;
    return conn;
}

/* Records conn as lent under key (lock held; takes key). */
static void
s_lend(connpool_t *self, PGconn *conn, PGcancel *cancel, char **key_p,
       size_t key_len)
{
    connpool_lent_t *grown =
        realloc(self->lent, (self->nlent + 1) * sizeof *self->lent);
    if (grown == NULL)
    {
        abort();
    }
    self->lent = grown;
    self->lent[self->nlent].conn = conn;
    self->lent[self->nlent].cancel = cancel;
    self->lent[self->nlent].key = *key_p;
    self->lent[self->nlent].key_len = key_len;
    self->nlent++;
    *key_p = NULL;
}

/* The newest idle session of key, unlinked; NULL if none (lock held). */
static PGconn *
s_find_idle(connpool_t *self, const char *key, size_t key_len)
{
    for (size_t i = self->nidle; i-- > 0;)
    {
        if (self->idle[i].key_len == key_len &&
            memcmp(self->idle[i].key, key, key_len) == 0)
        {
            return s_unlink_idle(self, i);
        }
    }
    return NULL;
}

PGconn *
connpool_take(connpool_t *self, const Pgconvoy__Endpoint *ep,
              const char *dbname, const char *side, const char *role,
              char **error)
{
    size_t key_len = 0;
    char *key = s_key(ep, dbname, &key_len);
    PGconn *conn = NULL;

    for (;;)
    {
        pthread_mutex_lock(&self->lock);
        conn = s_find_idle(self, key, key_len);
        pthread_mutex_unlock(&self->lock);
        if (conn == NULL)
        {
            break;
        }
        /* the reset is the proof of life: a dead one is dropped */
        PGresult *r = PQexec(conn, "DISCARD ALL");
        bool alive = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (alive)
        {
            pthread_mutex_lock(&self->lock);
            self->reused++;
            pthread_mutex_unlock(&self->lock);
            break;
        }
        PQfinish(conn);
        conn = NULL;
    }
    if (conn == NULL)
    {
        conn = pgconn_connect(ep, dbname, side, role, error);
        if (conn == NULL)
        {
            s_wipe(&key, key_len);
            return NULL;
        }
        pthread_mutex_lock(&self->lock);
        self->made++;
        pthread_mutex_unlock(&self->lock);
    }
    /* made here, by the thread that owns conn: libpq's objects are not
     * to be read by two threads at once */
    PGcancel *cancel = PQgetCancel(conn);
    pthread_mutex_lock(&self->lock);
    s_lend(self, conn, cancel, &key, key_len);
    pthread_mutex_unlock(&self->lock);
    return conn;
}

/* True if conn can serve another unit: idle, its transaction ended. */
static bool
s_make_idle(PGconn *conn)
{
    PGTransactionStatusType status = PQtransactionStatus(conn);

    if (PQstatus(conn) != CONNECTION_OK || status == PQTRANS_ACTIVE ||
        status == PQTRANS_UNKNOWN || PQisBusy(conn))
    {
        return false;
    }
    if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR)
    {
        PGresult *r = PQexec(conn, "ROLLBACK");
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        return ok && PQtransactionStatus(conn) == PQTRANS_IDLE;
    }
    return true;
}

void
connpool_give(connpool_t *self, PGconn **conn_p)
{
    PGconn *conn = *conn_p;
    PGconn *evicted = NULL;
    PGcancel *cancel = NULL;
    char *key = NULL;
    size_t key_len = 0;
    bool keep = false;

    *conn_p = NULL;
    if (conn == NULL)
    {
        return;
    }
    keep = s_make_idle(conn);
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->nlent; i++)
    {
        if (self->lent[i].conn == conn)
        {
            key = self->lent[i].key;
            key_len = self->lent[i].key_len;
            cancel = self->lent[i].cancel;
            self->lent[i] = self->lent[--self->nlent];
            break;
        }
    }
    assert(key != NULL); /* only sessions taken here come back */
    if (keep && self->max_idle > 0)
    {
        if (self->nidle == self->max_idle)
        {
            evicted = s_unlink_idle(self, 0); /* the oldest */
        }
        connpool_idle_t *grown =
            realloc(self->idle, (self->nidle + 1) * sizeof *self->idle);
        if (grown == NULL)
        {
            abort();
        }
        self->idle = grown;
        self->idle[self->nidle].conn = conn;
        self->idle[self->nidle].key = key;
        self->idle[self->nidle].key_len = key_len;
        self->idle[self->nidle].idle_at = zclock_mono();
        self->nidle++;
        key = NULL;
        conn = NULL;
    }
    pthread_mutex_unlock(&self->lock);
    s_wipe(&key, key_len);
    PQfreeCancel(cancel); /* NULL-safe */
    PQfinish(conn);       /* NULL-safe: kept ones are NULL here */
    PQfinish(evicted);
}

/* A canceller: PQcancel() connects to the server and waits for it,
 * however long that takes when it is out of reach. */
static void *
s_cancel_main(void *arg)
{
    connpool_cancels_t *work = arg;
    char why[256];

    for (size_t i = 0; i < work->n; i++)
    {
        /* failure is no news: the unit's own checks stop it instead */
        (void) PQcancel(work->cancels[i], why, (int) sizeof why);
        PQfreeCancel(work->cancels[i]);
    }
    free(work->cancels);
    free(work);
    return NULL;
}

void
connpool_cancel_lent(connpool_t *self)
{
    connpool_cancels_t *work = xcalloc(1, sizeof *work);
    pthread_t thread;
    pthread_attr_t attr;

    pthread_mutex_lock(&self->lock);
    work->cancels =
        xcalloc(self->nlent > 0 ? self->nlent : 1, sizeof(PGcancel *));
    for (size_t i = 0; i < self->nlent; i++)
    {
        if (self->lent[i].cancel != NULL)
        {
            work->cancels[work->n++] = self->lent[i].cancel;
            self->lent[i].cancel = NULL;
        }
    }
    pthread_mutex_unlock(&self->lock);
    if (work->n == 0)
    {
        free(work->cancels);
        free(work);
        return;
    }
    /* detached: nobody waits for a server out of reach */
    (void) pthread_attr_init(&attr);
    (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, s_cancel_main, work) != 0)
    {
        log_warn("could not start a thread to cancel %zu queries: the units "
                 "stop at their next check instead",
                 work->n);
        for (size_t i = 0; i < work->n; i++)
        {
            PQfreeCancel(work->cancels[i]);
        }
        free(work->cancels);
        free(work);
    }
    (void) pthread_attr_destroy(&attr);
}

void
connpool_prune(connpool_t *self, int64_t max_idle_ms)
{
    int64_t now = zclock_mono();

    for (;;)
    {
        PGconn *old = NULL;

        pthread_mutex_lock(&self->lock);
        /* oldest first: the first one young enough ends the search */
        if (self->nidle > 0 && now - self->idle[0].idle_at > max_idle_ms)
        {
            old = s_unlink_idle(self, 0);
        }
        pthread_mutex_unlock(&self->lock);
        if (old == NULL)
        {
            return;
        }
        PQfinish(old); /* outside the lock: it talks to the server */
    }
}

void
connpool_counts(connpool_t *self, uint64_t *made, uint64_t *reused)
{
    pthread_mutex_lock(&self->lock);
    *made = self->made;
    *reused = self->reused;
    pthread_mutex_unlock(&self->lock);
}
