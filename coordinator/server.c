/*
 * coordinator/server.c
 *     The coordinator's loop: CLI requests on one ROUTER (handled in
 *     requests.c), agent heartbeats, progress and results on the other,
 *     and the timer that notices silent agents.
 *
 * Messages are handled in batches, each in one catalog transaction, and
 * whatever they make the coordinator say (replies, assignments) waits in
 * the outbox until that transaction has committed. A task creation is
 * answered only once its prepare units have judged it (pending.c).
 */
#include "coordinator/server.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/curve.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/advance.h"
#include "coordinator/databases.h"
#include "coordinator/dispatch.h"
#include "coordinator/plan.h"
#include "coordinator/requests.h"
#include "coordinator/results.h"
#include "coordinator/units.h"

#define SERVER_TICK_MS 500
/*
 * The most messages handled in one catalog transaction, and the longest
 * time spent reading them: units are placed, and their Assigns sent,
 * only once a batch ends, so a long batch keeps every agent freed early
 * in it waiting.
 */
#define SERVER_BATCH 256
#define SERVER_BATCH_USECS 5000

static int64_t s_started_at; /* zclock_mono() at start */

/* This thread's CPU time: on a loaded machine a pass's wall time is
 * mostly the wait for a CPU, which says nothing of its own cost. */
static int64_t
s_cpu_usecs(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    {
        return 0;
    }
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * What one pass of the loop cost, for the debug log: every agent's next
 * placement and every Lease answer wait for it, so a pass that takes
 * long is named with the message that took longest.
 */
typedef struct
{
    int64_t started;       /* zclock_usecs() at the pass's start */
    int64_t cpu_started;   /* s_cpu_usecs() then */
    int64_t handled;       /* ... once its messages were handled */
    int messages;          /* handled in it */
    int64_t slowest_us;    /* the longest message's handling */
    int slowest_body;      /* its envelope's body case */
    uint64_t slowest_unit; /* its unit, for a Progress or Result */
} s_pass_clock_t;

coord_t *
server_new(const char *state_dir, const char *cli_endpoint,
           const char *agents_endpoint, const char *curve_secret,
           const char *curve_clients, const char *secrets_key,
           const char *http_address)
{
    coord_t *self = xcalloc(1, sizeof *self);
    self->agent_timeout_ms = COORD_AGENT_TIMEOUT_MS;

    const char *fault = getenv("PGCONVOY_TEST_FAULT");
    if (fault != NULL && strncmp(fault, "exit-before-send:", 17) == 0)
    {
        self->fault_exit_before_send = fault + 17;
    }
    self->store = store_new(state_dir);
    if (self->store == NULL)
    {
        goto failed;
    }
    self->cli = zsock_new(ZMQ_ROUTER);
    self->agents = zsock_new(ZMQ_ROUTER);
    if (self->cli == NULL || self->agents == NULL)
    {
        log_error("could not create sockets");
        goto failed;
    }
    envelope_limit_size(self->cli);
    envelope_limit_size(self->agents);
    /* the authenticator runs before either socket binds */
    if (curve_secret != NULL &&
        (curve_setup_server(self->cli, curve_secret, curve_clients,
                            &self->auth) != 0 ||
         curve_setup_server(self->agents, curve_secret, curve_clients,
                            &self->auth) != 0))
    {
        goto failed;
    }
    if (zsock_bind(self->cli, "%s", cli_endpoint) < 0)
    {
        log_error("listen=%s could not bind: %s", cli_endpoint,
                  zmq_strerror(zmq_errno()));
        goto failed;
    }
    if (zsock_bind(self->agents, "%s", agents_endpoint) < 0)
    {
        log_error("agents=%s could not bind: %s", agents_endpoint,
                  zmq_strerror(zmq_errno()));
        goto failed;
    }
    self->checkpointer = checkpointer_new(state_dir, self->store);
    if (self->checkpointer == NULL)
    {
        log_warn("state_dir=%s the catalog is checkpointed by the "
                 "coordinator's loop itself",
                 state_dir);
    }
    self->status = status_worker_new(state_dir);
    if (self->status == NULL)
    {
        log_warn("state_dir=%s task show is answered by the coordinator's "
                 "loop itself",
                 state_dir);
    }
    self->registry = registry_new();
    self->agents_seen = agent_snapshot_new();
    if (http_address != NULL)
    {
        self->http = http_new(http_address, state_dir, self->agents_seen);
        if (self->http == NULL)
        {
            goto failed;
        }
    }
    self->secrets = secrets_new();
    if (secrets_key != NULL)
    {
        if (secrets_seal_with(self->secrets, self->store, secrets_key) != 0)
        {
            goto failed;
        }
    }
    else
    {
        log_warn("the passwords given with tasks are kept in memory only: "
                 "after a restart the agents' own .pgpass or PGPASSWORD "
                 "apply (--secrets-key FILE keeps them sealed in the "
                 "catalog)");
    }
    self->outbox = outbox_new();
    self->inbox = inbox_new();
    self->pending = pending_new(self->cli, self->outbox);
    plan_resume(self);
    /* a sweep a killed coordinator left half done goes on where its last
     * chunk committed: the catalog says which, the first pass finds out */
    self->sweep_wanted = true;
    s_started_at = zclock_mono();
    return self;

failed:
    server_destroy(&self);
    return NULL;
}

void
server_destroy(coord_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    coord_t *self = *self_p;
    http_destroy(&self->http); /* before what its thread reads */
    agent_snapshot_destroy(&self->agents_seen);
    status_worker_destroy(&self->status);
    checkpointer_destroy(&self->checkpointer);
    pending_destroy(&self->pending);
    outbox_destroy(&self->outbox);
    inbox_destroy(&self->inbox);
    free(self->advance);
    secrets_destroy(&self->secrets);
    registry_destroy(&self->registry);
    zsock_destroy(&self->cli);
    zsock_destroy(&self->agents);
    zactor_destroy(&self->auth);
    store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

/* ----- agents ----- */

/* Sends agent a Release of unit id, with these flags. */
static void
s_send_release(coord_t *self, registry_agent_t *agent, uint64_t id,
               bool cutover, bool validate)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Release release = PGCONVOY__RELEASE__INIT;

    release.unit_id = id;
    release.cutover = cutover;
    release.validate = validate;
    env.body_case = PGCONVOY__ENVELOPE__BODY_RELEASE;
    env.release = &release;
    (void) outbox_add(self->outbox, self->agents, agent->route, &env);
}

/*
 * What the agent says it runs, against the catalog. A unit the catalog
 * no longer places on it (the agent was thought lost, and the unit went
 * elsewhere or ended) is released: the agent stops it, and a paused or
 * cut off agent coming back does not go on writing beside its
 * successor. A cdc unit whose database is cutting over is told so
 * again, in case the first Release was lost (a coordinator killed
 * before its outbox went out).
 */
static void
s_settle_reported(coord_t *self, registry_agent_t *agent,
                  const Pgconvoy__Hello *hello)
{
    for (size_t i = 0; i < hello->n_running_units; i++)
    {
        uint64_t id = hello->running_units[i];
        units_row_t unit;
        databases_row_t db;

        if (units_get_running(self->store, (int64_t) id, agent->name, &unit) !=
            0)
        {
            log_info("agent=%s unit=%" PRIu64 " is no longer placed there: "
                     "released",
                     agent->name, id);
            s_send_release(self, agent, id, false, false);
        }
        else if (unit.kind == K_CDC &&
                 databases_get(self->store, unit.database_id, &db) == 0 &&
                 db.cutover)
        {
            s_send_release(self, agent, id, true, db.validate);
        }
    }
}

/*
 * An agent's heartbeat. Units placed on it that it no longer runs are
 * placed again: all of them when it is another process than before (a
 * new incarnation: it restarted) or when this coordinator process hears
 * from it for the first time, else those of the placements it says it
 * received (an Assign still on its way is not lost).
 */
/*
 * Whether hello comes from a process that another one under the same
 * name replaced while it still lived: two agents share a --name. Each
 * one's heartbeat would make the coordinator forget the other's units,
 * so the older one is refused (it exits, saying why) and the newer one,
 * which may be a restart of it, kept. Notes a replacement for next time.
 */
static bool
s_is_duplicate(coord_t *self, zmsg_t *route, const Pgconvoy__Hello *hello)
{
    registry_agent_t *agent = registry_find(self->registry, hello->name);

    if (agent == NULL || agent->incarnation == hello->incarnation)
    {
        return false;
    }
    if (agent->alive && agent->superseded == hello->incarnation)
    {
        char *why = xasprintf("another agent process runs under the name "
                              "\"%s\" (it started after this one): expected "
                              "each agent to have its own --name",
                              hello->name);
        log_warn("agent=%s two processes share this name: the older one is "
                 "refused",
                 hello->name);
        (void) envelope_send_refused(self->agents, route, why);
        free(why);
        return true;
    }
    agent->superseded = agent->alive ? agent->incarnation : 0;
    return false;
}

/*
 * Answers a Hello with a lease. The agent counts it from when it sent
 * the Hello, we from now, which is later: we never believe it holds a
 * lease it has lost. Sent now to route, as the Hello is read (it tells
 * nothing the catalog must keep first); or, for a Hello handled in its
 * turn, queued behind the batch's commit like any answer and before the
 * Assigns the batch may send the agent, so that they find the lease there.
 */
static void
s_grant_lease(coord_t *self, registry_agent_t *agent, zmsg_t *route_now,
              const Pgconvoy__Hello *hello)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Lease lease = PGCONVOY__LEASE__INIT;

    lease.hello_sent_ms = hello->sent_ms;
    lease.lease_ms =
        (uint32_t) (self->agent_timeout_ms - 2 * COORD_HEARTBEAT_MS);
    env.body_case = PGCONVOY__ENVELOPE__BODY_LEASE;
    env.lease = &lease;
    if ((route_now != NULL
             ? envelope_send(self->agents, route_now, &env)
             : outbox_add(self->outbox, self->agents, agent->route, &env)) ==
        0)
    {
        agent->lease_until =
            zclock_mono() + self->agent_timeout_ms - 2 * COORD_HEARTBEAT_MS;
    }
}

/*
 * On reading a Hello: the lease of an agent this process knows, alive
 * and the same process as before, is answered at once, ahead of the
 * messages read before it. One that registers, restarted or shares its
 * name is answered in its turn (s_handle_hello()). True if answered.
 */
static bool
s_lease_ahead(coord_t *self, zmsg_t *route, const Pgconvoy__Hello *hello)
{
    registry_agent_t *agent = registry_find(self->registry, hello->name);

    if (agent == NULL || !agent->alive ||
        agent->incarnation != hello->incarnation)
    {
        return false;
    }
    agent->last_seen = zclock_mono();
    s_grant_lease(self, agent, route, hello);
    return true;
}

/*
 * Reads what the agents' socket holds into the inbox, up to INBOX_MAX,
 * answering the leases of the Hellos among it. Any message says its
 * agent lives, however long it then waits here to be handled.
 */
static void
s_read_agents(coord_t *self)
{
    while (inbox_size(self->inbox) < INBOX_MAX &&
           (zsock_events(self->agents) & ZMQ_POLLIN) != 0)
    {
        inbox_msg_t msg = {0};

        msg.status =
            envelope_recv(self->agents, &msg.route, &msg.env, &msg.version);
        if (msg.status == ENVELOPE_INTERRUPTED)
        {
            inbox_msg_clear(&msg);
            break;
        }
        if (msg.status == ENVELOPE_OK &&
            msg.env->body_case == PGCONVOY__ENVELOPE__BODY_HELLO)
        {
            msg.leased = s_lease_ahead(self, msg.route, msg.env->hello);
        }
        else if (msg.status == ENVELOPE_OK)
        {
            registry_agent_t *agent =
                registry_find_route(self->registry, msg.route);
            if (agent != NULL && agent->alive)
            {
                agent->last_seen = zclock_mono();
            }
        }
        inbox_push(self->inbox, &msg);
    }
}

static void
s_handle_hello(coord_t *self, zmsg_t **route_p, const Pgconvoy__Hello *hello,
               bool leased)
{
    bool is_new = false;

    if (s_is_duplicate(self, *route_p, hello))
    {
        return;
    }
    registry_agent_t *agent =
        registry_heard(self->registry, hello->name, hello->labels,
                       (int) hello->jobs, route_p, &is_new);
    agent->incarnation = hello->incarnation;
    int64_t incarnation = (int64_t) hello->incarnation;
    int64_t known = store_int(self->store, 0,
                              "SELECT incarnation FROM agents WHERE name = ?",
                              "s", agent->name);
    char now[40];

    if (is_new)
    {
        Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
        Pgconvoy__Welcome welcome = PGCONVOY__WELCOME__INIT;

        welcome.heartbeat_ms = COORD_HEARTBEAT_MS;
        env.body_case = PGCONVOY__ENVELOPE__BODY_WELCOME;
        env.welcome = &welcome;
        (void) outbox_add(self->outbox, self->agents, agent->route, &env);
        store_now(now, sizeof now);
        (void) store_exec(
            self->store,
            "INSERT INTO agents (name, labels, jobs, first_seen, "
            "last_seen, incarnation) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
            "(name) DO UPDATE SET labels = excluded.labels, "
            "jobs = excluded.jobs, last_seen = excluded.last_seen, "
            "incarnation = excluded.incarnation",
            "ssissi", agent->name, agent->labels, (int64_t) agent->jobs, now,
            now, incarnation);
        log_info("agent=%s labels=%s jobs=%d registered", agent->name,
                 agent->labels, agent->jobs);
    }
    else if (known != incarnation)
    {
        (void) store_exec(self->store,
                          "UPDATE agents SET incarnation = ? WHERE name = ?",
                          "is", incarnation, agent->name);
    }
    if (known != incarnation)
    {
        if (known != 0)
        {
            log_info("agent=%s restarted: its units are placed again",
                     agent->name);
        }
        results_forget_agent_units(self, agent->name, NULL, 0,
                                   RESULTS_ALL_PLACEMENTS);
    }
    else
    {
        /*
         * The first heartbeat this process hears from the agent: nothing
         * is on its way to it any more. An Assign the catalog recorded
         * but a coordinator killed before sending it would otherwise
         * hold the agent's job slot for good, its placement number
         * always above what the agent received.
         */
        results_forget_agent_units(
            self, agent->name, hello->running_units, hello->n_running_units,
            is_new ? RESULTS_ALL_PLACEMENTS : (int64_t) hello->placements_seen);
    }
    if (!leased)
    {
        s_grant_lease(self, agent, NULL, hello);
    }
    s_settle_reported(self, agent, hello);
    dispatch_request(self);
}

/* Handles the inbox's oldest message; says which it was in clock. */
static void
s_handle_agent(coord_t *self, s_pass_clock_t *clock)
{
    int64_t started = zclock_usecs();
    inbox_msg_t msg;

    if (!inbox_pop(self->inbox, &msg))
    {
        return;
    }
    zmsg_t *route = msg.route;
    Pgconvoy__Envelope *env = msg.env;
    uint32_t version = msg.version;
    envelope_status_t status = msg.status;
    registry_agent_t *agent = NULL;

    if (status == ENVELOPE_VERSION)
    {
        char *why = xasprintf("the coordinator speaks protocol version %u, "
                              "the agent %u",
                              PGCONVOY_PROTOCOL_VERSION, version);
        log_warn("refused an agent speaking protocol version %u", version);
        (void) envelope_send_refused(self->agents, route, why);
        free(why);
        goto cleanup;
    }
    if (status != ENVELOPE_OK)
    {
        goto cleanup;
    }
    if (env->body_case == PGCONVOY__ENVELOPE__BODY_HELLO)
    {
        s_handle_hello(self, &route, env->hello, msg.leased);
        goto cleanup;
    }
    agent = registry_find_route(self->registry, route);
    if (agent == NULL)
    {
        /* a message queued before we (re)started: its unit will be
         * settled by the agent's next heartbeat */
        goto cleanup;
    }
    /* any message says the agent lives: its heartbeat may wait behind
     * its own results in a busy coordinator's queue */
    if (agent->alive)
    {
        agent->last_seen = zclock_mono();
    }
    if (env->body_case == PGCONVOY__ENVELOPE__BODY_PROGRESS)
    {
        results_on_progress(self, agent->name, env->progress);
    }
    else if (env->body_case == PGCONVOY__ENVELOPE__BODY_RESULT)
    {
        results_on_result(self, agent->name, env->result);
    }
    /* what it said may have freed a slot of its: counted again. Units of
     * other agents it made end (a database failed) only free theirs,
     * and the next tick counts those */
    agent->busy = -1;

cleanup:
    clock->messages++;
    if (zclock_usecs() - started > clock->slowest_us)
    {
        clock->slowest_us = zclock_usecs() - started;
        clock->slowest_body = env != NULL ? (int) env->body_case : 0;
        clock->slowest_unit =
            env == NULL ? 0
            : env->body_case == PGCONVOY__ENVELOPE__BODY_RESULT
                ? env->result->unit_id
            : env->body_case == PGCONVOY__ENVELOPE__BODY_PROGRESS
                ? env->progress->unit_id
                : 0;
    }
    envelope_free(&env);
    zmsg_destroy(&route);
}

/* Agents silent too long are dead: their units go elsewhere. Units left
 * running by agents that never came back after our restart too. */
static void
s_tick(coord_t *self)
{
    int64_t now = zclock_mono();

    /* the events are a journal of the latest, not a history: bounded */
    (void) store_exec(self->store,
                      "DELETE FROM events WHERE id <= (SELECT max(id) FROM "
                      "events) - ?",
                      "i", (int64_t) COORD_MAX_EVENTS);

    for (size_t i = 0; i < registry_size(self->registry); i++)
    {
        registry_agent_t *agent = registry_at(self->registry, i);
        if (agent->alive && now - agent->last_seen > self->agent_timeout_ms)
        {
            agent->alive = false;
            log_warn("agent=%s lost: no heartbeat for %d ms", agent->name,
                     (int) self->agent_timeout_ms);
            results_forget_agent_units(self, agent->name, NULL, 0,
                                       RESULTS_ALL_PLACEMENTS);
        }
    }
    if (now - s_started_at > self->agent_timeout_ms)
    {
        /* collect first: forgetting changes the rows being read */
        store_rows_t *rows = store_query(
            self->store,
            "SELECT DISTINCT agent FROM units WHERE state = 'running'", NULL);
        zlist_t *orphans = zlist_new();
        zlist_autofree(orphans);
        while (store_rows_next(rows))
        {
            if (registry_find(self->registry, store_rows_text(rows, 0)) == NULL)
            {
                zlist_append(orphans, (void *) store_rows_text(rows, 0));
            }
        }
        store_rows_done(&rows);
        for (char *name = zlist_first(orphans); name != NULL;
             name = zlist_next(orphans))
        {
            results_forget_agent_units(self, name, NULL, 0,
                                       RESULTS_ALL_PLACEMENTS);
        }
        zlist_destroy(&orphans);
    }
    dispatch_request(self);
}

/*
 * Sends what the batch produced once the catalog has it; if the commit
 * fails, the batch is undone and nobody hears of it (the agents' next
 * heartbeats and the CLI's next request settle what they missed).
 */
static void
s_end_batch(coord_t *self, bool in_transaction, s_pass_clock_t *clock)
{
    clock->handled = zclock_usecs();
    /* the databases first: what they queue is placed now */
    advance_requested(self);
    int64_t advanced = zclock_usecs();
    if (self->dispatch_wanted)
    {
        dispatch_units(self);
    }
    int64_t dispatched = zclock_usecs();
    if (in_transaction && store_commit(self->store) != 0)
    {
        log_error("could not commit a batch of %zu message(s) to the "
                  "catalog: undone",
                  outbox_size(self->outbox));
        store_rollback(self->store);
        outbox_discard(self->outbox);
        /* counted on changes that are undone now */
        registry_recount(self->registry);
        return;
    }
    if (self->fault_armed)
    {
        log_warn("fault injected: exiting with a placement committed and "
                 "not sent");
        _exit(99);
    }
    /*
     * What a database or a task became, and what a person was told, is
     * not undone by a power loss: synced before the CLI hears of it. The
     * agents hear first, as in every other batch, where their messages
     * follow a commit that is not synced (s_handle_batch): the sync, up
     * to 100 ms behind a disk that writes back a migration, held back
     * the first build of a database that had just loaded, and a cancel's
     * Releases.
     */
    if (self->sync_wanted)
    {
        outbox_flush_to(self->outbox, self->agents);
        if (store_sync(self->store) != 0)
        {
            log_warn("could not sync the catalog to disk: a power loss now "
                     "may undo the latest changes of state");
        }
        self->sync_wanted = false;
    }
    outbox_flush(self->outbox);
    if (log_is_enabled(LOG_LEVEL_DEBUG))
    {
        int64_t now = zclock_usecs();
        log_debug("messages=%d slowest=%d unit=%" PRIu64 " slowest_ms=%.1f "
                  "handle_ms=%.1f advance_ms=%.1f dispatch_ms=%.1f "
                  "commit_ms=%.1f cpu_ms=%.1f loop pass",
                  clock->messages, clock->slowest_body, clock->slowest_unit,
                  (double) clock->slowest_us / 1000.0,
                  (double) (clock->handled - clock->started) / 1000.0,
                  (double) (advanced - clock->handled) / 1000.0,
                  (double) (dispatched - advanced) / 1000.0,
                  (double) (now - dispatched) / 1000.0,
                  (double) (s_cpu_usecs() - clock->cpu_started) / 1000.0);
    }
}

/*
 * Handles the messages waiting on sock, up to SERVER_BATCH or for up to
 * SERVER_BATCH_USECS, in one catalog transaction: a burst of results
 * costs one commit (one fsync), not one each.
 */
static void
s_handle_batch(coord_t *self, zsock_t *sock)
{
    /*
     * What a person is told (a task created, a cutover accepted) must
     * survive a power loss: a batch of requests that wrote anything is
     * synced before its answers go (s_end_batch). An agent's progress
     * need not: a placement or result a power loss undoes is done again,
     * and the target's bookkeeping (partition_done, step_done, the
     * origin, the fence) makes that harmless; not syncing it takes an
     * fsync off the path of every placement. So no commit syncs by
     * itself (server_run()), and a synced batch's messages to agents go
     * before its sync.
     */
    int64_t changes = store_total_changes(self->store);
    if (sock == self->cli)
    {
        /* a request may move the units of any agent */
        registry_recount(self->registry);
    }
    s_pass_clock_t clock = {.started = zclock_usecs(),
                            .cpu_started = s_cpu_usecs()};
    bool in_transaction = store_begin(self->store) == 0;
    int64_t ends_at = zclock_usecs() + SERVER_BATCH_USECS;

    for (int n = 0; n < SERVER_BATCH; n++)
    {
        bool more = false;

        if (sock == self->cli)
        {
            requests_handle(self);
            more = (zsock_events(sock) & ZMQ_POLLIN) != 0;
        }
        else
        {
            s_read_agents(self);
            s_handle_agent(self, &clock);
            more = inbox_size(self->inbox) > 0 ||
                   (zsock_events(sock) & ZMQ_POLLIN) != 0;
        }
        if (!more || zclock_usecs() >= ends_at)
        {
            break;
        }
    }
    if (sock == self->cli && store_total_changes(self->store) != changes)
    {
        self->sync_wanted = true;
    }
    s_end_batch(self, in_transaction, &clock);
}

int
server_run(coord_t *self)
{
    zpoller_t *poller = zpoller_new(self->cli, self->agents, NULL);
    zsock_t *answers = self->status ? status_worker_sock(self->status) : NULL;

    if (answers != NULL)
    {
        (void) zpoller_add(poller, answers);
    }
    int64_t next_tick = zclock_mono() + SERVER_TICK_MS;

    /* no commit syncs by itself: s_end_batch() syncs the batches that
     * must be, after their messages to agents went (s_handle_batch()) */
    (void) store_set_durable(self->store, false);
    while (!zsys_interrupted)
    {
        /* a sweep under way takes its next chunk as soon as the sockets
         * have had their turn, without waiting for the tick */
        int64_t wait = self->sweep_wanted || inbox_size(self->inbox) > 0
                           ? 0
                           : next_tick - zclock_mono();
        void *which = zpoller_wait(poller, wait > 0 ? (int) wait : 0);
        if (which == NULL && zpoller_terminated(poller))
        {
            break;
        }
        /* the heartbeats' leases first, whatever the passes below take */
        s_read_agents(self);
        /*
         * Every socket that is ready gets its turn, whichever the poller
         * named: it names the first ready one in its list, and under a
         * steady stream of results the agents' socket is never empty.
         */
        while (answers != NULL && (zsock_events(answers) & ZMQ_POLLIN) != 0)
        {
            zmsg_t *answer = status_worker_answer(self->status);
            if (answer == NULL)
            {
                break;
            }
            if (zmsg_send(&answer, self->cli) != 0)
            {
                zmsg_destroy(&answer);
            }
        }
        if ((zsock_events(self->cli) & ZMQ_POLLIN) != 0)
        {
            s_handle_batch(self, self->cli);
        }
        if (inbox_size(self->inbox) > 0)
        {
            s_handle_batch(self, self->agents);
        }
        /* one chunk per pass, in a transaction of its own: the messages
         * that came meanwhile are handled before the next one */
        if (self->sweep_wanted)
        {
            s_pass_clock_t clock = {.started = zclock_usecs(),
                                    .cpu_started = s_cpu_usecs()};
            registry_recount(self->registry);
            bool in_transaction = store_begin(self->store) == 0;
            /* a chunk's position moves with its work, or not at all */
            if (in_transaction)
            {
                (void) advance_sweep(self);
            }
            s_end_batch(self, in_transaction, &clock);
        }
        if (zclock_mono() >= next_tick)
        {
            s_pass_clock_t clock = {.started = zclock_usecs(),
                                    .cpu_started = s_cpu_usecs()};
            registry_recount(self->registry);
            bool in_transaction = store_begin(self->store) == 0;
            s_tick(self);
            s_end_batch(self, in_transaction, &clock);
            /* after the commit: what /metrics reads matches the agents */
            agent_snapshot_publish(self->agents_seen, self->registry);
            if (self->http != NULL)
            {
                http_set_ready(self->http);
            }
            next_tick = zclock_mono() + SERVER_TICK_MS;
        }
    }
    zpoller_destroy(&poller);
    return 0;
}
