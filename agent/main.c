/*
 * agent/main.c
 *     pgconvoy-agent: registers with the coordinator, heartbeats, and runs
 *     the units it is given, each on its own thread, --jobs at once; one
 *     more waits for a slot (agent/backlog.h).
 *
 * The agent holds no state worth keeping: killed at any moment, it costs
 * only the units it was running, which the coordinator places again. The
 * main thread alone uses the DEALER socket; unit threads report through
 * an inproc PULL socket that the main thread forwards.
 *
 * Units run only under a lease (agent/lease.h): cut off from the
 * coordinator for longer, the agent stops them all before the
 * coordinator places them elsewhere, and passes on nothing they say.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "agent/backlog.h"
#include "agent/lease.h"
#include "agent/pgtool.h"
#include "agent/unit.h"
#include "common/cmdline.h"
#include "common/curve.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/version.h"

#define AGENT_DEFAULT_HEARTBEAT_MS 1000
#define AGENT_MAX_UNITS 256
/* the most unit ids a heartbeat lists (a batch counts each of its own) */
#define AGENT_MAX_RUNNING 4096
/* an idle kept session older than this is closed */
#define AGENT_POOL_IDLE_MS 10000
/* where Debian installs each major version's tools, as MAJOR/bin */
#define AGENT_PG_ROOT "/usr/lib/postgresql"

typedef struct
{
    char *coordinator; /* DEALER endpoint */
    char *name;
    char *labels;
    char *pg_bin;
    char *curve_secret; /* the agent's key pair, NAME_secret file */
    char *curve_server; /* the coordinator's public certificate */
    int jobs;
} agent_options_t;

typedef struct
{
    agent_options_t opts;
    zsock_t *dealer;                /* to the coordinator */
    zsock_t *pull;                  /* from unit threads */
    char results_endpoint[64];      /* inproc name of pull */
    unit_t *units[AGENT_MAX_UNITS]; /* running, owned */
    connpool_t *pool;               /* sessions kept between units, owned */
    size_t nunits;
    int heartbeat_ms;
    uint64_t incarnation;     /* random, this process's: Hello */
    uint64_t placements_seen; /* the highest Assign.placement received */
    lease_t *lease;           /* owned: may units run */
    backlog_t *backlog;       /* owned: Assigns waiting for a job slot */
} agent_t;

/* The options, their help and what the parser accepts: one table. */
static const cmdline_option_t s_options[] = {
    {"coordinator", 'c', "ENDPOINT", 'c',
     "the coordinator's agents socket (required)"},
    {"name", 'n', "NAME", 'n', "this agent's name, unique (required)"},
    {"labels", 'l', "K=V,...", 'l',
     "what tasks can ask for: region=eastus2,zone=1"},
    {"jobs", 'j', "N", 'j', "units run at once, 1 to 64 (default 2)"},
    {"pg-bin", 'b', "DIR", 'b', "where pg_dump and pg_restore are (see below)"},
    {"log-level", 'L', "LEVEL", 'L',
     "trace, debug, info, warn or error (default info)"},
    {"curve-secret", 'k', "FILE", 'k',
     "its CURVE key pair; with --curve-server"},
    {"curve-server", 'K', "FILE", 'K',
     "the coordinator's public CURVE certificate"},
    {"version", 0, NULL, CMDLINE_VERSION, "print the versions and exit"},
    {NULL, 0, NULL, 0, NULL}};

static void
s_usage(FILE *out)
{
    fprintf(out,
            "Usage: %s --coordinator ENDPOINT --name NAME [OPTION]...\n"
            "A pgconvoy agent: registers with the coordinator and runs the "
            "units it is given\n(copies, schema steps, change streams), "
            "each on a thread of its own.\n"
            "\n"
            "Options:\n",
            PGCONVOY_AGENT_NAME);
    cmdline_print_options(s_options, out);
    fprintf(out, "\n"
                 "Without --pg-bin, pg_dump and pg_restore are taken from "
                 "$PGCONVOY_PG_BIN, else\n"
                 "from the newest /usr/lib/postgresql/MAJOR/bin there is, "
                 "else from $PATH.\n"
                 "They must be of the newest major version of the two "
                 "servers, or later:\n"
                 "a migration whose servers are newer is refused.\n");
}

/* 0: go on; 1: --help or --version printed, exit 0; -1: exit 2 */
static int
s_parse_options(int argc, char **argv, agent_options_t *opts)
{
    cmdline_t cmdline;
    int c = 0;

    opts->jobs = 2;
    cmdline_init(&cmdline, s_options, PGCONVOY_AGENT_NAME, NULL, false);
    while ((c = cmdline_next(&cmdline, argc, argv)) != CMDLINE_END)
    {
        switch (c)
        {
            case 'c':
                opts->coordinator = optarg;
                break;
            case 'n':
                opts->name = optarg;
                break;
            case 'l':
                opts->labels = optarg;
                break;
            case 'j':
            {
                char *end = NULL;
                long jobs = strtol(optarg, &end, 10);
                if (*end != '\0' || jobs < 1 || jobs > 64)
                {
                    fprintf(stderr,
                            "pgconvoy-agent: error: --jobs: value "
                            "\"%s\" is not an integer from 1 to 64\n",
                            optarg);
                    return -1;
                }
                opts->jobs = (int) jobs;
                break;
            }
            case 'b':
                opts->pg_bin = optarg;
                break;
            case 'k':
                opts->curve_secret = optarg;
                break;
            case 'K':
                opts->curve_server = optarg;
                break;
            case 'L':
            {
                log_level_t level;
                if (log_parse_level(optarg, &level) != 0)
                {
                    fprintf(stderr,
                            "pgconvoy-agent: error: --log-level: "
                            "value \"%s\" is not one of trace, "
                            "debug, info, warn, error\n",
                            optarg);
                    return -1;
                }
                log_set_level(level);
                break;
            }
            case CMDLINE_HELP:
                s_usage(stdout);
                return 1;
            case CMDLINE_VERSION:
                version_print(stdout, PGCONVOY_AGENT_NAME);
                return 1;
            default: /* CMDLINE_ERROR: named on stderr */
                return -1;
        }
    }
    if (optind < argc || opts->coordinator == NULL || opts->name == NULL)
    {
        fprintf(stderr, "pgconvoy-agent: error: --coordinator and --name are "
                        "required\n");
        s_usage(stderr);
        return -1;
    }
    if ((opts->curve_secret == NULL) != (opts->curve_server == NULL))
    {
        fprintf(stderr, "pgconvoy-agent: error: --curve-secret and "
                        "--curve-server go together\n");
        return -1;
    }
    if (opts->pg_bin == NULL)
    {
        opts->pg_bin = getenv("PGCONVOY_PG_BIN");
    }
    if (opts->pg_bin == NULL)
    {
        /* the newest of Debian's: the tools must be at least as new as
         * both servers, which the checks and schema units verify */
        static char found[4096];
        char *newest = pgtool_find_newest(AGENT_PG_ROOT);

        snprintf(found, sizeof found, "%s", newest ? newest : "");
        free(newest);
        opts->pg_bin = found;
    }
    return 0;
}

static void
s_send_hello(agent_t *self)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Hello hello = PGCONVOY__HELLO__INIT;
    uint64_t running[AGENT_MAX_RUNNING];
    size_t nrunning = 0;

    /* every unit of a batch, started or not, is ours until its Result
     * has been passed on: one sent by a unit's thread but still queued
     * here would otherwise be missing from both this Hello and, so far,
     * from what the coordinator received */
    for (size_t i = 0; i < self->nunits; i++)
    {
        nrunning += unit_pending_ids(self->units[i], running + nrunning,
                                     AGENT_MAX_RUNNING - nrunning);
    }
    /* and those waiting for a slot: placed here, not to be placed again */
    nrunning += backlog_ids(self->backlog, running + nrunning,
                            AGENT_MAX_RUNNING - nrunning);
    hello.name = self->opts.name;
    hello.labels = self->opts.labels ? self->opts.labels : "";
    hello.jobs = (uint32_t) self->opts.jobs;
    hello.n_running_units = nrunning;
    hello.running_units = running;
    hello.incarnation = self->incarnation;
    hello.placements_seen = self->placements_seen;
    hello.sent_ms = (uint64_t) zclock_mono();
    env.body_case = PGCONVOY__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    (void) envelope_send(self->dealer, NULL, &env);
}

/* True (logged) if a unit of env runs here already. */
static bool
s_runs_already(agent_t *self, const Pgconvoy__Envelope *env)
{
    bool batch = env->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;
    size_t n = batch ? env->assign_batch->n_units : 1;

    for (size_t k = 0; k < n; k++)
    {
        uint64_t id =
            batch ? env->assign_batch->units[k]->unit_id : env->assign->unit_id;
        for (size_t i = 0; i < self->nunits; i++)
        {
            if (unit_runs(self->units[i], id))
            {
                log_warn("unit=%" PRIu64 " is already running here, "
                         "ignoring the second assignment",
                         id);
                return true;
            }
        }
        if (backlog_holds(self->backlog, id))
        {
            log_warn("unit=%" PRIu64 " waits for a job slot here already, "
                     "ignoring the second assignment",
                     id);
            return true;
        }
    }
    return false;
}

/* The job slots the running units take (backlog_kind_takes_slot()). */
static int
s_slots_taken(const agent_t *self)
{
    int taken = 0;

    for (size_t i = 0; i < self->nunits; i++)
    {
        taken += backlog_kind_takes_slot(unit_assign(self->units[i])->kind);
    }
    return taken;
}

/* Starts the unit (or batch) of *env_p now, if the lease allows; takes
 * the envelope either way. */
static void
s_launch(agent_t *self, Pgconvoy__Envelope **env_p)
{
    bool batch = (*env_p)->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;
    uint64_t id = batch ? (*env_p)->assign_batch->units[0]->unit_id
                        : (*env_p)->assign->unit_id;
    unit_t *unit = NULL;

    /* placements_seen covers it: the next Hello, which does not list
     * it, has the coordinator place it again */
    if (!lease_is_held(self->lease, zclock_mono()))
    {
        log_warn("unit=%" PRIu64 " not started: this agent holds no lease "
                 "from the coordinator",
                 id);
        envelope_free(env_p);
        return;
    }
    if (self->nunits == AGENT_MAX_UNITS)
    {
        log_error("unit=%" PRIu64 " cannot start: %d units already run "
                  "here",
                  id, AGENT_MAX_UNITS);
        envelope_free(env_p);
        return;
    }
    unit = unit_new(env_p, self->results_endpoint, self->opts.name,
                    self->opts.pg_bin, self->pool);
    if (unit_start(unit) != 0)
    {
        unit_destroy(&unit);
        return;
    }
    log_debug("unit=%" PRIu64 " kind=%d started%s", id,
              (int) unit_assign(unit)->kind, batch ? ", a batch" : "");
    self->units[self->nunits++] = unit;
}

/* Starts what waits for a slot, oldest first, while slots are free. */
static void
s_start_backlog(agent_t *self)
{
    while (backlog_size(self->backlog) > 0 &&
           s_slots_taken(self) < self->opts.jobs)
    {
        Pgconvoy__Envelope *env = backlog_pop(self->backlog);
        s_launch(self, &env);
    }
}

/*
 * An Assign or AssignBatch: started now, or, when it would take a slot
 * and every slot is taken, kept until one frees (agent/backlog.h).
 */
static void
s_start_unit(agent_t *self, Pgconvoy__Envelope **env_p)
{
    bool batch = (*env_p)->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;

    if (batch && (*env_p)->assign_batch->n_units == 0)
    {
        log_warn("ignoring an empty batch of units");
        envelope_free(env_p);
        return;
    }
    uint64_t id = batch ? (*env_p)->assign_batch->units[0]->unit_id
                        : (*env_p)->assign->unit_id;
    uint64_t placement = batch ? (*env_p)->assign_batch->units[0]->placement
                               : (*env_p)->assign->placement;
    if (placement > self->placements_seen)
    {
        self->placements_seen = placement;
    }
    if (s_runs_already(self, *env_p))
    {
        envelope_free(env_p);
        return;
    }
    /* without a lease s_launch() drops it, as it would have then */
    if (backlog_takes_slot(*env_p) &&
        lease_is_held(self->lease, zclock_mono()) &&
        (backlog_size(self->backlog) > 0 ||
         s_slots_taken(self) >= self->opts.jobs))
    {
        log_debug("unit=%" PRIu64 " waits for a job slot, %zu before it", id,
                  backlog_size(self->backlog));
        backlog_push(self->backlog, env_p);
        return;
    }
    s_launch(self, env_p);
}

static unit_t *
s_find_unit(agent_t *self, uint64_t id, size_t *index)
{
    for (size_t i = 0; i < self->nunits; i++)
    {
        if (unit_runs(self->units[i], id))
        {
            *index = i;
            return self->units[i];
        }
    }
    return NULL;
}

/*
 * A Release of units waiting for a slot (a batch let go: its database
 * failed or was cancelled): they are not run, and each gets the Result
 * a started batch gives the units it had not reached. True if the
 * released unit was waiting here.
 */
static bool
s_release_waiting(agent_t *self, uint64_t unit_id)
{
    Pgconvoy__Envelope *env = backlog_take(self->backlog, unit_id);
    bool batch =
        env != NULL && env->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;
    size_t n = env == NULL ? 0 : batch ? env->assign_batch->n_units : 1;

    for (size_t i = 0; i < n; i++)
    {
        Pgconvoy__Envelope answer = PGCONVOY__ENVELOPE__INIT;
        Pgconvoy__Result res = PGCONVOY__RESULT__INIT;

        res.unit_id =
            batch ? env->assign_batch->units[i]->unit_id : env->assign->unit_id;
        res.retryable = true;
        res.error = "released before it started: not run";
        answer.body_case = PGCONVOY__ENVELOPE__BODY_RESULT;
        answer.result = &res;
        (void) envelope_send(self->dealer, NULL, &answer);
    }
    envelope_free(&env);
    return n > 0;
}

/* Returns -1 when the coordinator refused us: nothing more to do. */
static int
s_handle_coordinator(agent_t *self)
{
    Pgconvoy__Envelope *env = NULL;
    uint32_t peer_version = 0;
    envelope_status_t status =
        envelope_recv(self->dealer, NULL, &env, &peer_version);
    size_t index = 0;
    int rc = 0;

    if (status == ENVELOPE_VERSION)
    {
        log_error("coordinator speaks protocol version %u, this agent "
                  "speaks %u: upgrade one of them",
                  peer_version, PGCONVOY_PROTOCOL_VERSION);
        return -1;
    }
    if (status != ENVELOPE_OK)
    {
        return 0; /* envelope_recv() logged a malformed one */
    }
    switch (env->body_case)
    {
        case PGCONVOY__ENVELOPE__BODY_ASSIGN:
        case PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH:
            s_start_unit(self, &env);
            break;
        case PGCONVOY__ENVELOPE__BODY_RELEASE:
        {
            if (s_release_waiting(self, env->release->unit_id))
            {
                break;
            }
            unit_t *unit = s_find_unit(self, env->release->unit_id, &index);
            if (unit != NULL && env->release->validated)
            {
                unit_confirm_validated(unit);
            }
            else if (unit != NULL && env->release->cutover)
            {
                unit_request_cutover(unit, env->release->validate);
            }
            else if (unit != NULL)
            {
                unit_release(unit);
            }
            break;
        }
        case PGCONVOY__ENVELOPE__BODY_LEASE:
        {
            int64_t now = zclock_mono();
            lease_state_t before = lease_state(self->lease, now);
            if (lease_grant(self->lease, (int64_t) env->lease->hello_sent_ms,
                            env->lease->lease_ms, now) == 0 &&
                before != LEASE_HELD && lease_is_held(self->lease, now))
            {
                log_info("lease_ms=%u was=%s holds a lease from the "
                         "coordinator: units may run",
                         env->lease->lease_ms, lease_state_name(before));
            }
            break;
        }
        case PGCONVOY__ENVELOPE__BODY_WELCOME:
            if (env->welcome->heartbeat_ms >= 100)
            {
                self->heartbeat_ms = (int) env->welcome->heartbeat_ms;
            }
            break;
        case PGCONVOY__ENVELOPE__BODY_REFUSED:
            log_error("coordinator refused this agent: %s",
                      env->refused->reason);
            rc = -1;
            break;
        default:
            log_warn("ignoring an unexpected message from the coordinator");
            break;
    }
    envelope_free(&env);
    return rc;
}

/* The unit id a unit's message is about (0 if none). */
static uint64_t
s_message_unit(const Pgconvoy__Envelope *env)
{
    if (env == NULL)
    {
        return 0;
    }
    if (env->body_case == PGCONVOY__ENVELOPE__BODY_RESULT)
    {
        return env->result->unit_id;
    }
    if (env->body_case == PGCONVOY__ENVELOPE__BODY_PROGRESS)
    {
        return env->progress->unit_id;
    }
    return 0;
}

/*
 * Forwards a unit's message; reaps the unit when it is its Result. A
 * fenced unit's are dropped: placed elsewhere meanwhile, its failure
 * (or success, which the target's bookkeeping makes its successor skip)
 * is none of the coordinator's business.
 */
static void
s_handle_unit(agent_t *self)
{
    zmsg_t *msg = zmsg_recv(self->pull);
    zframe_t *frame = msg ? zmsg_first(msg) : NULL;
    Pgconvoy__Envelope *env = NULL;
    size_t index = 0;

    if (frame == NULL)
    {
        zmsg_destroy(&msg);
        return;
    }
    env = pgconvoy__envelope__unpack(NULL, zframe_size(frame),
                                     zframe_data(frame));
    uint64_t id = s_message_unit(env);
    unit_t *unit = id != 0 ? s_find_unit(self, id, &index) : NULL;
    bool fenced = unit != NULL && unit_is_fenced(unit);
    if (!fenced && zmsg_send(&msg, self->dealer) != 0)
    {
        log_warn("could not forward a unit's message to the coordinator");
    }
    zmsg_destroy(&msg); /* NULL-safe: sent ones are NULL */
    if (unit != NULL && env->body_case == PGCONVOY__ENVELOPE__BODY_RESULT)
    {
        unit_note_result(unit, id);
        if (fenced)
        {
            log_debug("unit=%" PRIu64 " stopped: the lease had run out", id);
        }
        else
        {
            log_info("unit=%" PRIu64 " finished ok=%d%s%s", id, env->result->ok,
                     env->result->ok ? "" : " ",
                     env->result->ok ? "" : env->result->error);
        }
        /* a batch's thread ends with its last unit's Result */
        if (unit_is_last(unit, id))
        {
            unit_join(unit);
            unit_destroy(&unit);
            self->units[index] = self->units[--self->nunits];
            /* its slot is free: what waits for one starts without a
             * round trip to the coordinator */
            s_start_backlog(self);
        }
    }
    envelope_free(&env);
}

/*
 * The lease ran out: every unit stops, told as Release would tell it,
 * its queries cancelled, its transactions rolled back as it gives its
 * sessions back. Idle sessions go too: a link cut long enough to lose
 * the lease may have left them half-dead.
 */
static void
s_fence_units(agent_t *self)
{
    strbuf_t *ids = strbuf_new();
    uint64_t running[AGENT_MAX_RUNNING];
    size_t nrunning = 0;

    for (size_t i = 0; i < self->nunits; i++)
    {
        nrunning += unit_pending_ids(self->units[i], running + nrunning,
                                     AGENT_MAX_RUNNING - nrunning);
        unit_fence(self->units[i]);
    }
    /* what waits for a slot is dropped unstarted: the coordinator places
     * it again, as it does the running ones */
    nrunning += backlog_ids(self->backlog, running + nrunning,
                            AGENT_MAX_RUNNING - nrunning);
    for (Pgconvoy__Envelope *env = backlog_pop(self->backlog); env != NULL;
         env = backlog_pop(self->backlog))
    {
        envelope_free(&env);
    }
    for (size_t i = 0; i < nrunning; i++)
    {
        strbuf_appendf(ids, "%s%" PRIu64, i > 0 ? "," : "", running[i]);
    }
    log_warn("units=%s lease ran out: no answer from the coordinator in "
             "time, stopping every unit here without reporting them (the "
             "coordinator places them again) and taking none until it "
             "answers",
             nrunning > 0 ? strbuf_data(ids) : "none");
    connpool_cancel_lent(self->pool);
    connpool_prune(self->pool, 0);
    strbuf_destroy(&ids);
}

static int
s_run(agent_t *self)
{
    zpoller_t *poller = zpoller_new(self->dealer, self->pull, NULL);
    int64_t next_hello = 0;
    int rc = 0;

    while (!zsys_interrupted)
    {
        int64_t now = zclock_mono();
        /* first: a paused agent resumed stops before it says anything */
        if (lease_has_lapsed(self->lease, now))
        {
            s_fence_units(self);
        }
        if (now >= next_hello)
        {
            s_send_hello(self);
            next_hello = now + self->heartbeat_ms;
            /* a database done with leaves no sessions open for long */
            connpool_prune(self->pool, AGENT_POOL_IDLE_MS);
        }
        /* woken at the lease's end too, to stop the units on time */
        int64_t until = lease_expires_at(self->lease);
        until = until < next_hello ? until : next_hello;
        void *which =
            zpoller_wait(poller, (int) (until > now ? until - now : 0));
        if (which == self->dealer)
        {
            if (s_handle_coordinator(self) != 0)
            {
                rc = 2;
                break;
            }
        }
        else if (which == self->pull)
        {
            s_handle_unit(self);
        }
        else if (zpoller_terminated(poller))
        {
            break;
        }
    }
    zpoller_destroy(&poller);
    return rc;
}

int
main(int argc, char **argv)
{
    agent_t self;
    char context[160];
    int rc = 2;

    memset(&self, 0, sizeof self);
    int parsed = s_parse_options(argc, argv, &self.opts);
    if (parsed != 0)
    {
        return parsed > 0 ? 0 : 2;
    }
    snprintf(context, sizeof context, "agent=%s", self.opts.name);
    log_set_context(context);
    unit_schema_remove_stale();
    zsys_init();
    self.heartbeat_ms = AGENT_DEFAULT_HEARTBEAT_MS;
    self.lease = lease_new();
    self.backlog = backlog_new();
    /* never 0, which the coordinator's catalog holds for "none yet" */
    while (self.incarnation == 0)
    {
        if (getrandom(&self.incarnation, sizeof self.incarnation, 0) !=
            (ssize_t) sizeof self.incarnation)
        {
            self.incarnation =
                (uint64_t) zclock_usecs() ^ ((uint64_t) getpid() << 32);
        }
    }
    /* a copy holds two sessions: one of each per job, and a spare pair */
    self.pool = connpool_new(2 * (size_t) self.opts.jobs + 2);
    snprintf(self.results_endpoint, sizeof self.results_endpoint,
             "inproc://agent-results-%d", (int) getpid());
    self.pull = zsock_new_pull(NULL);
    self.dealer = zsock_new(ZMQ_DEALER);
    if (self.pull == NULL || self.dealer == NULL ||
        zsock_bind(self.pull, "%s", self.results_endpoint) != 0)
    {
        log_error("could not create the agent's sockets");
        goto cleanup;
    }
    envelope_limit_size(self.dealer);
    /* unsent messages wait for a restarted coordinator, within bounds */
    zsock_set_sndhwm(self.dealer, 10000);
    zsock_set_linger(self.dealer, 1000);
    /* a coordinator started with us is there within milliseconds; one
     * that is gone is tried less and less often, up to once a second */
    zsock_set_reconnect_ivl(self.dealer, 10);
    zsock_set_reconnect_ivl_max(self.dealer, 1000);
    if (self.opts.curve_secret != NULL &&
        curve_setup_client(self.dealer, self.opts.curve_secret,
                           self.opts.curve_server) != 0)
    {
        goto cleanup;
    }
    if (zsock_connect(self.dealer, "%s", self.opts.coordinator) != 0)
    {
        fprintf(stderr,
                "pgconvoy-agent: error: --coordinator: value \"%s\" "
                "is not a ZeroMQ endpoint, expected tcp://HOST:PORT\n",
                self.opts.coordinator);
        goto cleanup;
    }
    log_info("coordinator=%s jobs=%d agent started", self.opts.coordinator,
             self.opts.jobs);
    rc = s_run(&self);
    uint64_t made = 0;
    uint64_t reused = 0;
    connpool_counts(self.pool, &made, &reused);
    log_info("sessions_opened=%" PRIu64 " sessions_reused=%" PRIu64
             " agent stopping",
             made, reused);

cleanup:
    /* running units die with the process; the coordinator re-places them */
    zsock_destroy(&self.dealer);
    zsock_destroy(&self.pull);
    backlog_destroy(&self.backlog);
    lease_destroy(&self.lease);
    if (self.nunits > 0)
    {
        _exit(rc);
    }
    connpool_destroy(&self.pool);
    return rc;
}
