/*
 * coordinator/coord.h
 *     The coordinator's state shared by its modules: the catalog, the two
 *     sockets, the agent registry, the passwords it holds in memory, the
 *     task creations whose CLI is waiting for the prepare verdict, and
 *     the messages waiting for the catalog to commit.
 *
 * One thread owns all of it. The planner (plan.c) sends nothing itself:
 * what it tells agents and CLIs goes through the outbox, which the
 * server's loop flushes after each batch's commit.
 */
#ifndef PGCONVOY_COORDINATOR_COORD_H
#define PGCONVOY_COORDINATOR_COORD_H

#include <czmq.h>

#include "common/strbuf.h"
#include "coordinator/agent_snapshot.h"
#include "coordinator/checkpointer.h"
#include "coordinator/http.h"
#include "coordinator/inbox.h"
#include "coordinator/outbox.h"
#include "coordinator/pending.h"
#include "coordinator/registry.h"
#include "coordinator/secrets.h"
#include "coordinator/status_worker.h"
#include "coordinator/store.h"
#include "pgconvoy.pb-c.h"

/* Heartbeats: agents send one every COORD_HEARTBEAT_MS; one silent for
 * the agent timeout (--agent-timeout, coord_t.agent_timeout_ms) is dead
 * and its units are placed again. */
#define COORD_HEARTBEAT_MS 1000
/*
 * The default agent timeout. Each Hello is answered with a lease of the
 * timeout less two heartbeats, which the agent counts from when it sent
 * that Hello: cut off, it stops its units two heartbeats before they are
 * placed elsewhere, time to cancel and roll back. Units are placed only
 * on agents holding one. Long enough that a coordinator busy for seconds
 * does not let every agent's lease run out and stop every unit (a Hello
 * is answered as soon as it is read, ahead of the results before it, so
 * only the pass under way delays it: in coord_sim, 100 agents and 10,000
 * tables on 2 CPUs, at most 0.1-0.2 s, where it was 1.8 s idle and 11-14
 * s at a load of 8 when it waited its turn); short enough that a dead
 * agent's units move within half a minute.
 */
#define COORD_AGENT_TIMEOUT_MS 20000
/* The shortest --agent-timeout: a lease of one heartbeat */
#define COORD_AGENT_TIMEOUT_MIN_MS (3 * COORD_HEARTBEAT_MS)
/* A unit failing for a transient reason is tried this many times. */
#define COORD_MAX_ATTEMPTS 3
/* A unit whose agent died is placed again up to this many times. */
#define COORD_MAX_PLACEMENTS 5
/* The catalog keeps the newest this many events. */
#define COORD_MAX_EVENTS 100000
/* --slot-wal-warn's default: 10 GiB */
#define COORD_SLOT_WAL_WARN ((int64_t) 10 * 1024 * 1024 * 1024)

typedef struct
{
    store_t *store;          /* owned */
    zsock_t *cli;            /* ROUTER, CLI requests */
    zsock_t *agents;         /* ROUTER, agents */
    zactor_t *auth;          /* CURVE allow-list, when enabled */
    registry_t *registry;    /* owned */
    secrets_t *secrets;      /* owned: passwords of the tasks created here */
    pending_t *pending;      /* owned: creations waiting for their checks */
    outbox_t *outbox;        /* owned: what is sent once the batch commits */
    inbox_t *inbox;          /* owned: agents' messages read, not handled */
    status_worker_t *status; /* owned: answers task show; NULL: we do */
    checkpointer_t *checkpointer; /* owned; NULL: the loop checkpoints */
    /* owned: the registry as other threads may read it, published once
     * per tick; and the --http listener reading it (NULL: none) */
    agent_snapshot_t *agents_seen;
    http_t *http;
    bool dispatch_wanted; /* the batch being handled may have freed slots */
    /* a sweep over some database's tables may be under way (the catalog
     * says which): the loop runs advance_sweep() between batches */
    bool sweep_wanted;
    /* the post-data sweep waits for its database's queue to run low
     * (SWEEP_QUEUE_LOW): advance_requested() looks again each pass */
    bool sweep_held;
    /* the batch being handled moved a task or database, or wrote what a
     * person asked for: synced before the CLI hears of it, though
     * agents' batches are not (server.c) */
    bool sync_wanted;
    /* a warning event when a database's slot holds back more WAL on its
     * source than this (--slot-wal-warn; 0: never) */
    int64_t slot_wal_warn;
    /* an agent silent this long is lost; its lease is two heartbeats
     * shorter (COORD_AGENT_TIMEOUT_MS) */
    int64_t agent_timeout_ms;
    /* fault injection for tests ($PGCONVOY_TEST_FAULT=exit-before-send:
     * KIND): the process exits once a batch that placed a unit of that
     * kind (copy, schema-post…) has committed, before it sends anything,
     * as a kill at that moment would. NULL: none. */
    const char *fault_exit_before_send;
    bool fault_armed; /* the batch being handled placed one */
    struct coord_advance_t
    {
        int64_t task_id;
        int64_t db_id;
    } * advance;      /* databases to move forward at the batch's end */
    size_t n_advance; /* of them */
} coord_t;

/* status.c: a task's status (read from store, which may be another
 * thread's connection), and the projects' and agents' */
char *status_task_json(store_t *store, int64_t task_id, bool expand,
                       bool summary);
char *status_projects_json(coord_t *self);

/* events */
void coord_event(coord_t *self, int64_t task_id, const char *level,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
