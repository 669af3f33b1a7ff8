/*
 * agent/connpool.h
 *     Sessions kept between units: a unit takes a session to a database
 *     and gives it back, so that a thousand small tables cost a thousand
 *     COPYs, not two thousand connections.
 *
 * A session is matched by server, port, user, password and database. It
 * comes back with its transaction ended, and is reset (DISCARD ALL)
 * before it is handed out again, which also proves it alive: a session
 * the server closed meanwhile is dropped, never handed out. Shared by
 * the units' threads; its own mutex guards it.
 */
#ifndef PGCONVOY_AGENT_CONNPOOL_H
#define PGCONVOY_AGENT_CONNPOOL_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "pgconvoy.pb-c.h"

typedef struct connpool_t connpool_t;

/* Keeps up to max_idle idle sessions in all. */
connpool_t *connpool_new(size_t max_idle);
/* Closes every idle session. Every taken one must have come back. */
void connpool_destroy(connpool_t **self_p);

/*
 * A session to ep's database (dbname if not NULL), as pgconn_connect()
 * makes it: an idle one from the pool, or a new one. NULL with *error
 * set when it cannot connect.
 */
PGconn *connpool_take(connpool_t *self, const Pgconvoy__Endpoint *ep,
                      const char *dbname, const char *side, const char *role,
                      char **error);

/*
 * Gives a session back and nulls the caller's pointer. One in a
 * transaction is rolled back; one that is mid-COPY, mid-query or broken
 * is closed. NULL is fine.
 */
void connpool_give(connpool_t *self, PGconn **conn_p);

/*
 * Asks the server of every session handed out to cancel its query, from
 * a thread of its own, so that a server out of reach never blocks the
 * caller. The units using them see the error (or, if the request never
 * arrives, their own checks) and give them back as usual.
 */
void connpool_cancel_lent(connpool_t *self);

/* Closes the sessions idle for longer than max_idle_ms. */
void connpool_prune(connpool_t *self, int64_t max_idle_ms);

/* Sessions made, and sessions handed out again (for the tests). */
void connpool_counts(connpool_t *self, uint64_t *made, uint64_t *reused);

#endif
