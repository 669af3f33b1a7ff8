/*
 * tests/bench/coord_sim.c
 *     The coordinator at scale, without PostgreSQL: a real
 *     pgconvoy-coordinator, fake agents over real ZeroMQ (sim_fleet.c) and
 *     an OfflineMigration of one simulated database (sim_workload.c),
 *     created over the CLI socket as the CLI does.
 *
 * It reports, next to their targets, and never asserts them: planning
 * time (prepare's tables taken in, copies queued, post-data items taken
 * in), result-to-next-placement latency, the status read (TASK_SHOW
 * --expand) early, mid-run and at the end, wall time, units/s and the
 * coordinator's peak RSS. Exit code: 0 if the task Succeeded, 1 if not
 * (failed, timed out, the coordinator died), 2 on bad usage.
 *
 * One thread serves every agent and the CLI, and answers each unit at
 * once (or after --unit-ms), so that what is timed is the coordinator.
 * The coordinator is the only process started here, and the only one
 * signalled.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "sim_cli.h"
#include "sim_fleet.h"
#include "sim_proc.h"
#include "sim_stats.h"
#include "sim_workload.h"

/* the targets, as the issue states them; reported, not asserted */
#define TARGET_PLANNING_S 1.0
#define TARGET_STATUS_S 1.0
#define TARGET_P99_MS 10.0
#define TARGET_RSS_MB 200.0

#define SIM_POLL_MS 20
#define SIM_CONNECT_TIMEOUT_US (30LL * 1000 * 1000)
#define SIM_STATE_POLL_US (100LL * 1000)
/* no Result for this long while running: ask whether the task ended */
#define SIM_STALL_US (5LL * 1000 * 1000)
#define SIM_PROJECT "coord-sim"
#define SIM_TASK "sim-offline"
#define SIM_DATABASE "simdb"

typedef struct
{
    const char *coordinator;     /* the binary */
    const char *state_dir;       /* given: kept; NULL: a temporary one */
    const char *coord_log_level; /* its --log-level */
    int agents;                  /* fake agents */
    int jobs;                    /* job slots of each */
    int unit_ms;                 /* how long each unit runs on a fake agent */
    int timeout_s;               /* the run's, before the last status reads */
    int report_every_s;          /* progress lines */
    int status_reads; /* timed TASK_SHOW --expand at each READ_ point */
    bool keep;        /* the temporary state directory */
    sim_workload_options_t workload; /* the database migrated */
} sim_options_t;

typedef enum
{
    PHASE_CONNECTING, /* agents say Hello; the project is created */
    PHASE_CREATING,   /* TASK_CREATE waits for prepare */
    PHASE_RUNNING,
    PHASE_FINISHING,  /* finalize answered: waiting for the task's state */
    PHASE_STATUS_END, /* over: the last timed status reads */
    PHASE_DONE,
    PHASE_FAILED, /* cannot go on: not even the last reads */
} sim_phase_t;

typedef enum
{
    ASK_NONE,
    ASK_PROJECT,
    ASK_TASK,
    ASK_SHOW_TIMED, /* TASK_SHOW --expand, timed */
    ASK_SHOW_STATE, /* TASK_SHOW, for the task's state */
} sim_ask_t;

/* When the status read is timed: it costs per table and per unit, so
 * early in the copies, half-way, and once the run is over (Succeeded,
 * Failed or timed out: the catalog is whole and nothing else runs). */
typedef enum
{
    READ_EARLY,
    READ_MID,
    READ_END,
    READ_POINTS
} sim_read_point_t;

static const char *const s_read_names[READ_POINTS] = {
    "early (5% done)", "mid-run (50% done)", "end"};
/* the share of units answered from which a point's reads start */
static const double s_read_share[READ_POINTS] = {0.05, 0.5, 2.0};

typedef struct
{
    sim_options_t opts;
    sim_proc_t *proc;         /* the coordinator, owned */
    sim_workload_t *workload; /* owned */
    sim_fleet_t *fleet;       /* the fake agents, owned */
    sim_cli_t *cli;           /* owned */
    sim_phase_t phase;
    sim_ask_t asking; /* the request in flight */
    bool project_created;
    int64_t started;                  /* zclock_usecs() at start */
    int64_t task_sent;                /* TASK_CREATE sent */
    int64_t task_answered;            /* ... and answered */
    int64_t succeeded_seen;           /* the status first said Succeeded */
    int64_t next_state_poll;          /* when the task's state is asked next */
    int64_t last_units;               /* units answered when last seen moving */
    int64_t last_units_at;            /* ... and when */
    int64_t next_report;              /* the next progress line */
    int64_t last_report_units;        /* units answered at the last one */
    int64_t last_report_at;           /* ... and when */
    char task_state[32];              /* as the last status said */
    char task_errors[512];            /* its first error, if any */
    char *failure;                    /* why the run did not complete, owned */
    sim_read_point_t reading;         /* of the timed read in flight */
    sim_stats_t *status[READ_POINTS]; /* round trips, in s */
    size_t status_bytes[READ_POINTS]; /* the last reply's JSON size */
    int64_t end_deadline;     /* zclock_usecs() by which the last reads end */
    int64_t tables_completed; /* in the final status */
    int64_t rss_kb;           /* the coordinator's at the end */
    int64_t hwm_kb;           /* its peak */
    double coord_cpu_s;       /* its user and system CPU */
    double coord_wait_s;      /* schedstat: runnable, waiting for a CPU */
    double load_start;        /* the machine's 1-minute load average */
    double load_end;
} sim_t;

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: coord_sim [OPTION]...\n"
            "Runs a pgconvoy-coordinator against fake agents over ZeroMQ and "
            "reports how it scales.\n"
            "\n"
            "  --coordinator PATH     pgconvoy-coordinator (default: next to "
            "this program, or one up)\n"
            "  --agents N             fake agents (100)\n"
            "  --jobs N               job slots per agent (2)\n"
            "  --unit-ms N            how long each unit runs (0: answered at "
            "once)\n"
            "  --tables N             tables prepare reports (10000)\n"
            "  --items-per-table N    indexes and constraints per table (8)\n"
            "  --big-tables N         tables of 256 MB, never batched "
            "(tables/1000)\n"
            "  --huge-tables N        tables of 4 GB, split in ranges (1)\n"
            "  --fk-items N           foreign keys, built by finalize "
            "(tables/100)\n"
            "  --timeout SECONDS      give up after this long (600)\n"
            "  --report-every SECONDS progress line interval (10)\n"
            "  --status-reads N       timed TASK_SHOW --expand at each point "
            "(5)\n"
            "  --state-dir DIR        the coordinator's state (default: a "
            "temporary one)\n"
            "  --keep                 keep the temporary state directory\n"
            "  --coord-log-level L    the coordinator's --log-level (info)\n"
            "\n"
            "Exit code: 0 if the task Succeeded, 1 if not, 2 on bad usage. "
            "The targets are\nprinted next to the figures, not asserted.\n");
}

static int
s_parse_int(const char *name, const char *text, int min, int max, int *out)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);

    if (end == text || *end != '\0' || value < min || value > max)
    {
        fprintf(stderr,
                "coord_sim: error: --%s: value \"%s\" is not an integer "
                "from %d to %d\n",
                name, text, min, max);
        return -1;
    }
    *out = (int) value;
    return 0;
}

/* pgconvoy-coordinator next to this program, or one directory up (the
 * build directory, when this is build/tests/coord_sim). */
static char *
s_find_coordinator(void)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);

    if (len <= 0)
    {
        return NULL;
    }
    self[len] = '\0';
    char *dir = dirname(self);
    char *here = xasprintf("%s/pgconvoy-coordinator", dir);
    if (access(here, X_OK) == 0)
    {
        return here;
    }
    free(here);
    char *up = xasprintf("%s/../pgconvoy-coordinator", dir);
    if (access(up, X_OK) == 0)
    {
        return up;
    }
    free(up);
    return NULL;
}

static int
s_parse_options(int argc, char **argv, sim_options_t *opts)
{
    static const struct option long_opts[] = {
        {"coordinator", required_argument, NULL, 'c'},
        {"agents", required_argument, NULL, 'a'},
        {"jobs", required_argument, NULL, 'j'},
        {"unit-ms", required_argument, NULL, 'm'},
        {"tables", required_argument, NULL, 't'},
        {"items-per-table", required_argument, NULL, 'i'},
        {"big-tables", required_argument, NULL, 'b'},
        {"huge-tables", required_argument, NULL, 'u'},
        {"fk-items", required_argument, NULL, 'f'},
        {"timeout", required_argument, NULL, 'T'},
        {"report-every", required_argument, NULL, 'r'},
        {"status-reads", required_argument, NULL, 's'},
        {"state-dir", required_argument, NULL, 'd'},
        {"keep", no_argument, NULL, 'k'},
        {"coord-log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c = 0;
    int fk = -1;
    int rc = 0;

    opts->agents = 100;
    opts->jobs = 2;
    opts->timeout_s = 600;
    opts->report_every_s = 10;
    opts->status_reads = 5;
    opts->coord_log_level = "info";
    opts->workload.tables = 10000;
    opts->workload.items_per_table = 8;
    opts->workload.big = -1;
    opts->workload.huge = 1;
    /* the coordinator's default, sent explicitly so that the model
     * splits tables as the coordinator will */
    opts->workload.split_bytes = 1024LL * 1024 * 1024;
    while (rc == 0 &&
           (c = getopt_long(argc, argv, "c:a:j:m:t:i:b:u:f:T:r:s:d:kL:h",
                            long_opts, NULL)) != -1)
    {
        switch (c)
        {
            case 'c':
                opts->coordinator = optarg;
                break;
            case 'a':
                rc = s_parse_int("agents", optarg, 1, 1000, &opts->agents);
                break;
            case 'j':
                rc = s_parse_int("jobs", optarg, 1, 64, &opts->jobs);
                break;
            case 'm':
                rc = s_parse_int("unit-ms", optarg, 0, 600000, &opts->unit_ms);
                break;
            case 't':
                rc = s_parse_int("tables", optarg, 1, 1000000,
                                 &opts->workload.tables);
                break;
            case 'i':
                rc = s_parse_int("items-per-table", optarg, 0, 1000,
                                 &opts->workload.items_per_table);
                break;
            case 'b':
                rc = s_parse_int("big-tables", optarg, 0, 1000000,
                                 &opts->workload.big);
                break;
            case 'u':
                rc = s_parse_int("huge-tables", optarg, 0, 1000,
                                 &opts->workload.huge);
                break;
            case 'f':
                rc = s_parse_int("fk-items", optarg, 0, 1000000, &fk);
                break;
            case 'T':
                rc = s_parse_int("timeout", optarg, 1, 86400, &opts->timeout_s);
                break;
            case 'r':
                rc = s_parse_int("report-every", optarg, 1, 3600,
                                 &opts->report_every_s);
                break;
            case 's':
                rc = s_parse_int("status-reads", optarg, 1, 100,
                                 &opts->status_reads);
                break;
            case 'd':
                opts->state_dir = optarg;
                break;
            case 'k':
                opts->keep = true;
                break;
            case 'L':
            {
                log_level_t level;
                if (log_parse_level(optarg, &level) != 0)
                {
                    fprintf(stderr,
                            "coord_sim: error: --coord-log-level: "
                            "value \"%s\" is not one of trace, "
                            "debug, info, warn, error\n",
                            optarg);
                    rc = -1;
                }
                opts->coord_log_level = optarg;
                break;
            }
            case 'h':
                s_usage(stdout);
                exit(0);
            default:
                s_usage(stderr);
                return -1;
        }
    }
    if (rc != 0)
    {
        return -1;
    }
    if (optind < argc)
    {
        s_usage(stderr);
        return -1;
    }
    /* defaults that follow the table count: 1 in 1,000 tables is big, 1
     * in 100 has a foreign key */
    if (opts->workload.big < 0)
    {
        opts->workload.big = opts->workload.tables / 1000;
    }
    opts->workload.fk_items = fk >= 0 ? fk : opts->workload.tables / 100;
    if (opts->workload.huge + opts->workload.big > opts->workload.tables)
    {
        fprintf(stderr, "coord_sim: error: --big-tables and --huge-tables "
                        "add up to more than --tables\n");
        return -1;
    }
    return 0;
}

static double
s_seconds(int64_t from_us, int64_t to_us)
{
    return from_us > 0 && to_us >= from_us ? (double) (to_us - from_us) / 1e6
                                           : -1;
}

/* The run cannot go on, not even to read the status. */
static void
s_fail(sim_t *self, const char *why)
{
    if (self->failure == NULL)
    {
        self->failure = xstrdup(why);
    }
    self->phase = PHASE_FAILED;
}

/* The run is over (why: it did not succeed; NULL: it did): time the
 * status of what the catalog holds now, for at most 60 s more. */
static void
s_end_run(sim_t *self, const char *why)
{
    if (why != NULL && self->failure == NULL)
    {
        self->failure = xstrdup(why);
    }
    self->phase = PHASE_STATUS_END;
    self->end_deadline = zclock_usecs() + 60 * 1000000LL;
}

/* ----- CLI requests ----- */

static void
s_ask(sim_t *self, sim_ask_t what)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    Pgconvoy__Endpoint source = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__Endpoint target = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__DatabaseOption db = PGCONVOY__DATABASE_OPTION__INIT;
    Pgconvoy__DatabaseOption *dbs[] = {&db};

    req.project = SIM_PROJECT;
    req.task = SIM_TASK;
    switch (what)
    {
        case ASK_PROJECT:
            req.verb = PGCONVOY__REQUEST__VERB__PROJECT_CREATE;
            req.source_platform = "PostgreSQL";
            req.target_platform = "PostgreSQL";
            break;
        case ASK_TASK:
            /* as cli/main.c builds it; no agent ever connects to these */
            source.host = "sim-source.invalid";
            source.port = 5432;
            source.user = "postgres";
            source.password = ""; /* none: nothing ever connects */
            source.dbname = "postgres";
            target = source;
            target.host = "sim-target.invalid";
            db.name = SIM_DATABASE;
            db.target_name = SIM_DATABASE;
            req.verb = PGCONVOY__REQUEST__VERB__TASK_CREATE;
            req.task_type = "OfflineMigration";
            req.source = &source;
            req.target = &target;
            req.n_databases = 1;
            req.databases = dbs;
            req.split_bytes = self->opts.workload.split_bytes;
            break;
        default:
            req.verb = PGCONVOY__REQUEST__VERB__TASK_SHOW;
            req.expand = what != ASK_SHOW_STATE;
            break;
    }
    if (sim_cli_send(self->cli, &req) != 0)
    {
        s_fail(self, "could not send a request to the coordinator");
        return;
    }
    self->asking = what;
    if (what == ASK_TASK)
    {
        self->task_sent = sim_cli_sent_at(self->cli);
    }
    sim_fleet_set_status_reading(self->fleet, what == ASK_SHOW_TIMED);
}

/* The task's state, and in the final status the tables COMPLETED. */
static void
s_read_status(sim_t *self, const char *text, bool count_tables)
{
    json_object *root = json_tokener_parse(text);
    json_object *props = NULL;
    json_object *state = NULL;
    json_object *output = NULL;

    if (root == NULL)
    {
        s_fail(self, "the coordinator sent a status that is not JSON");
        return;
    }
    if (json_object_object_get_ex(root, "properties", &props) &&
        json_object_object_get_ex(props, "state", &state))
    {
        snprintf(self->task_state, sizeof self->task_state, "%s",
                 json_object_get_string(state));
    }
    json_object *errors = NULL;
    if (props != NULL && json_object_object_get_ex(props, "errors", &errors) &&
        json_object_array_length(errors) > 0)
    {
        snprintf(self->task_errors, sizeof self->task_errors, "%s",
                 json_object_get_string(json_object_array_get_idx(errors, 0)));
    }
    if (count_tables && props != NULL &&
        json_object_object_get_ex(props, "output", &output))
    {
        self->tables_completed = 0;
        for (size_t i = 0; i < json_object_array_length(output); i++)
        {
            json_object *o = json_object_array_get_idx(output, i);
            json_object *type = NULL;
            json_object *st = NULL;
            if (json_object_object_get_ex(o, "resultType", &type) &&
                strcmp(json_object_get_string(type), "TableLevelOutput") == 0 &&
                json_object_object_get_ex(o, "state", &st) &&
                strcmp(json_object_get_string(st), "COMPLETED") == 0)
            {
                self->tables_completed++;
            }
        }
    }
    json_object_put(root);
}

static void
s_on_reply(sim_t *self)
{
    int64_t round_trip = 0;
    Pgconvoy__Envelope *env = sim_cli_recv(self->cli, &round_trip);
    sim_ask_t what = self->asking;
    const Pgconvoy__Reply *reply = env ? env->reply : NULL;

    self->asking = ASK_NONE;
    sim_fleet_set_status_reading(self->fleet, false);
    if (reply == NULL)
    {
        s_fail(self, "the coordinator's answer was not a Reply");
        return;
    }
    if (reply->code != 0)
    {
        char *why = xasprintf("the coordinator answered %d: %s", reply->code,
                              reply->message);
        s_fail(self, why);
        free(why);
        envelope_free(&env);
        return;
    }
    switch (what)
    {
        case ASK_PROJECT:
            self->project_created = true;
            break;
        case ASK_TASK:
            self->task_answered = zclock_usecs();
            self->last_units_at = self->task_answered;
            self->phase = PHASE_RUNNING;
            break;
        case ASK_SHOW_TIMED:
            sim_stats_add(self->status[self->reading],
                          (double) round_trip / 1e6);
            self->status_bytes[self->reading] = strlen(reply->json);
            if (self->reading == READ_END &&
                sim_stats_count(self->status[READ_END]) == 1)
            {
                s_read_status(self, reply->json, true);
            }
            if (self->reading == READ_END &&
                (int) sim_stats_count(self->status[READ_END]) >=
                    self->opts.status_reads)
            {
                self->phase = PHASE_DONE;
            }
            break;
        case ASK_SHOW_STATE:
            s_read_status(self, reply->json, false);
            if (self->phase == PHASE_FINISHING)
            {
                self->next_state_poll = zclock_usecs() + SIM_STATE_POLL_US;
            }
            if (strcmp(self->task_state, "Succeeded") == 0 &&
                self->phase == PHASE_FINISHING)
            {
                self->succeeded_seen = zclock_usecs();
                s_end_run(self, NULL);
            }
            else if (strcmp(self->task_state, "Running") != 0 &&
                     strcmp(self->task_state, "Pending") != 0 &&
                     strcmp(self->task_state, "Succeeded") != 0)
            {
                char *why = xasprintf("the task ended %s: %s", self->task_state,
                                      self->task_errors);
                s_end_run(self, why);
                free(why);
            }
            break;
        default:
            break;
    }
    envelope_free(&env);
}

/* What the run asks next, once the CLI socket is free. */
static void
s_advance(sim_t *self)
{
    const sim_fleet_marks_t *marks = sim_fleet_marks(self->fleet);
    int64_t now = zclock_usecs();

    if (sim_fleet_is_refused(self->fleet))
    {
        s_fail(self, "the coordinator refused the fake agents");
        return;
    }
    if (sim_cli_is_busy(self->cli))
    {
        return;
    }
    switch (self->phase)
    {
        case PHASE_CONNECTING:
            if (!self->project_created)
            {
                s_ask(self, ASK_PROJECT);
            }
            else if (sim_fleet_welcomed(self->fleet) ==
                     sim_fleet_size(self->fleet))
            {
                self->phase = PHASE_CREATING;
                s_ask(self, ASK_TASK);
            }
            else if (now - self->started > SIM_CONNECT_TIMEOUT_US)
            {
                s_fail(self, "not every fake agent was welcomed within 30 s");
            }
            break;
        case PHASE_RUNNING:
            if (marks->units_done != self->last_units)
            {
                self->last_units = marks->units_done;
                self->last_units_at = now;
            }
            if (marks->finalize_sent != 0)
            {
                self->phase = PHASE_FINISHING;
                s_ask(self, ASK_SHOW_STATE);
            }
            else if (now - self->last_units_at > SIM_STALL_US &&
                     now >= self->next_state_poll)
            {
                /* stalled: has the task ended (failed)? */
                s_ask(self, ASK_SHOW_STATE);
                self->next_state_poll = now + SIM_STALL_US;
            }
            else
            {
                double share =
                    (double) marks->units_done /
                    (double) sim_workload_total_units(self->workload);
                for (int p = READ_EARLY; p < READ_END; p++)
                {
                    if (share >= s_read_share[p] &&
                        (int) sim_stats_count(self->status[p]) <
                            self->opts.status_reads)
                    {
                        self->reading = (sim_read_point_t) p;
                        s_ask(self, ASK_SHOW_TIMED);
                        break;
                    }
                }
            }
            break;
        case PHASE_FINISHING:
            if (now >= self->next_state_poll)
            {
                s_ask(self, ASK_SHOW_STATE);
            }
            break;
        case PHASE_STATUS_END:
            self->reading = READ_END;
            s_ask(self, ASK_SHOW_TIMED);
            break;
        default:
            break;
    }
}

/* ----- the loop ----- */

static void
s_report_progress(sim_t *self, bool force)
{
    const sim_fleet_marks_t *marks = sim_fleet_marks(self->fleet);
    int64_t now = zclock_usecs();
    int64_t rss = 0;
    int64_t hwm = 0;

    if (!force && now < self->next_report)
    {
        return;
    }
    (void) sim_proc_memory(self->proc, &rss, &hwm);
    double interval = (double) (now - self->last_report_at) / 1e6;
    printf("[%7.1f s] units done %7" PRId64 "/%" PRId64 " %5.1f%%  "
           "%8.1f units/s  queued~%-6" PRId64 " coordinator rss %5.1f MB "
           "cpu %6.1f s\n",
           (double) (now - self->started) / 1e6, marks->units_done,
           sim_workload_total_units(self->workload),
           100.0 * (double) marks->units_done /
               (double) sim_workload_total_units(self->workload),
           interval > 0
               ? (double) (marks->units_done - self->last_report_units) /
                     interval
               : 0,
           sim_workload_queued(self->workload), (double) rss / 1024.0,
           sim_proc_cpu_seconds(self->proc));
    fflush(stdout);
    self->last_report_units = marks->units_done;
    self->last_report_at = now;
    self->next_report = now + (int64_t) self->opts.report_every_s * 1000000;
}

static void
s_run(sim_t *self)
{
    size_t n = sim_fleet_size(self->fleet);
    zmq_pollitem_t *items = xcalloc(n + 1, sizeof *items);
    int64_t deadline = self->started + (int64_t) self->opts.timeout_s * 1000000;

    items[0].socket = zsock_resolve(sim_cli_socket(self->cli));
    items[0].events = ZMQ_POLLIN;
    for (size_t i = 0; i < n; i++)
    {
        items[i + 1].socket = zsock_resolve(sim_fleet_socket(self->fleet, i));
        items[i + 1].events = ZMQ_POLLIN;
    }
    self->next_report = self->started;
    self->last_report_at = self->started;
    while (self->phase != PHASE_DONE && self->phase != PHASE_FAILED)
    {
        int64_t wait_ms = sim_fleet_next_tick_in(self->fleet) / 1000;
        wait_ms = wait_ms < SIM_POLL_MS ? wait_ms : SIM_POLL_MS;
        if (zmq_poll(items, (int) n + 1, (long) wait_ms) < 0 &&
            zmq_errno() != EINTR)
        {
            s_fail(self, "could not poll the sockets");
            break;
        }
        if (zsys_interrupted)
        {
            s_fail(self, "interrupted");
            break;
        }
        /* the CLI first: its reply is timed when it is read */
        if (items[0].revents & ZMQ_POLLIN)
        {
            s_on_reply(self);
        }
        for (size_t i = 0; i < n; i++)
        {
            if (items[i + 1].revents & ZMQ_POLLIN)
            {
                sim_fleet_handle(self->fleet, i);
            }
        }
        sim_fleet_tick(self->fleet);
        s_advance(self);
        s_report_progress(self, false);
        if (!sim_proc_is_running(self->proc))
        {
            s_fail(self, "the coordinator exited");
        }
        else if (self->phase == PHASE_STATUS_END &&
                 zclock_usecs() > self->end_deadline)
        {
            s_fail(self, "the last status reads took over 60 s");
        }
        else if (self->phase < PHASE_STATUS_END && zclock_usecs() > deadline)
        {
            char *why = xasprintf("timed out after %d s", self->opts.timeout_s);
            s_end_run(self, why);
            free(why);
        }
    }
    s_report_progress(self, true);
    free(items);
}

/* ----- the summary ----- */

static const char *
s_verdict(double value, double target)
{
    return value < 0 ? "n/a" : value < target ? "met" : "MISSED";
}

static void
s_line_s(const char *what, double seconds, double target)
{
    if (seconds < 0)
    {
        printf("  %-52s %12s\n", what, "not reached");
    }
    else if (target > 0)
    {
        printf("  %-52s %10.3f s  < %.0f s   %s\n", what, seconds, target,
               s_verdict(seconds, target));
    }
    else
    {
        printf("  %-52s %10.3f s\n", what, seconds);
    }
}

static void
s_line_latency(sim_t *self, const char *what, sim_latency_set_t set,
               bool target)
{
    sim_stats_t *stats = sim_fleet_latency(self->fleet, set);
    double p99 = sim_stats_quantile(stats, 0.99);

    printf("  %-40s n=%-7zu p50 %7.2f ms  p99 %8.2f ms  max %8.1f ms", what,
           sim_stats_count(stats), sim_stats_quantile(stats, 0.50), p99,
           sim_stats_max(stats));
    if (target)
    {
        printf("   p99 < %.0f ms  %s", TARGET_P99_MS,
               sim_stats_count(stats) ? s_verdict(p99, TARGET_P99_MS) : "n/a");
    }
    printf("\n");
}

static const char *
s_kind_name(int kind)
{
    static const char *const names[] = {"none",       "prepare", "snapshot",
                                        "schema-pre", "copy",    "schema-post",
                                        "finalize",   "analyze", "slot",
                                        "cdc",        "cleanup", "validate"};

    return kind >= 0 && kind < SIM_FLEET_KINDS ? names[kind] : "?";
}

static void
s_print_summary(sim_t *self)
{
    const sim_fleet_marks_t *m = sim_fleet_marks(self->fleet);
    const sim_workload_options_t *w = &self->opts.workload;
    const sim_spike_t *spikes = NULL;
    size_t nspikes = sim_fleet_spikes(self->fleet, &spikes);
    int64_t end = self->succeeded_seen ? self->succeeded_seen : zclock_usecs();
    double wall = s_seconds(self->task_sent, end);
    struct rusage usage;

    getrusage(RUSAGE_SELF, &usage);
    printf("\ncoord_sim: %d agents x %d jobs, units of %d ms; %d tables (%d "
           "of %lld MB split, %d of %lld MB), %" PRId64 " items; %" PRId64
           " units expected\n",
           self->opts.agents, self->opts.jobs, self->opts.unit_ms, w->tables,
           w->huge, SIM_WORKLOAD_HUGE_BYTES >> 20, w->big,
           SIM_WORKLOAD_BIG_BYTES >> 20,
           sim_workload_item_count(self->workload),
           sim_workload_total_units(self->workload));
    printf("  %-52s %s\n", "result",
           self->failure ? self->failure : "task Succeeded");

    printf("\nplanning\n");
    char what[96];
    snprintf(what, sizeof what, "prepare Result (%d tables) -> next Assign",
             w->tables);
    s_line_s(what, s_seconds(m->prepare_sent, m->prepare_next),
             TARGET_PLANNING_S);
    s_line_s("prepare Result -> TASK_CREATE answered",
             s_seconds(m->prepare_sent, self->task_answered), 0);
    snprintf(what, sizeof what,
             "tables created -> first copy (%" PRId64 " copies)",
             sim_workload_copy_units(self->workload));
    s_line_s(what, s_seconds(m->tables_created, m->first_copy),
             TARGET_PLANNING_S);
    snprintf(what, sizeof what,
             "schema-pre Result (%" PRId64 " items) -> next placement",
             sim_workload_item_count(self->workload));
    s_line_s(what, s_seconds(m->items_sent, m->items_next), TARGET_PLANNING_S);

    printf("\nresult-to-next-placement latency (waits where work "
           "remained)\n");
    s_line_latency(self, "all", SIM_LATENCY_WORK, true);
    s_line_latency(self, "no status read in flight", SIM_LATENCY_QUIET, false);
    s_line_latency(self, "slot freed by copies", SIM_LATENCY_COPY, false);
    s_line_latency(self, "slot freed by schema-post", SIM_LATENCY_POST, false);
    s_line_latency(self, "slot freed by analyze", SIM_LATENCY_ANALYZE, false);
    s_line_latency(self, "every wait, work left or not", SIM_LATENCY_ALL,
                   false);
    for (size_t i = 0; i < nspikes; i++)
    {
        printf("  longest #%zu: %8.1f ms, slot freed at +%.1f s by %s on %s, "
               "~%" PRId64 " units queued%s\n",
               i + 1, spikes[i].wait_ms,
               s_seconds(self->started, spikes[i].freed),
               s_kind_name(spikes[i].kind), spikes[i].agent, spikes[i].queued,
               spikes[i].status ? ", during a status read" : "");
    }

    printf("\nstatus aggregation (TASK_SHOW expand=true round trip)\n");
    for (int p = READ_EARLY; p < READ_POINTS; p++)
    {
        sim_stats_t *reads = self->status[p];
        snprintf(what, sizeof what, "%s, median of %zu (max %.3f s, %zu kB)",
                 s_read_names[p], sim_stats_count(reads), sim_stats_max(reads),
                 self->status_bytes[p] / 1024);
        s_line_s(what,
                 sim_stats_count(reads) ? sim_stats_quantile(reads, 0.5) : -1,
                 TARGET_STATUS_S);
    }

    printf("\nthroughput and resources\n");
    s_line_s("wall: TASK_CREATE sent -> Succeeded seen (or the end)", wall, 0);
    s_line_s("wall: copies placed -> finalize answered",
             s_seconds(m->first_copy, m->finalize_sent), 0);
    printf("  %-52s %10.1f\n", "units answered per second (over the wall)",
           wall > 0 ? (double) m->units_done / wall : 0);
    printf("  %-52s %10.1f MB  < %.0f MB  %s\n", "coordinator peak RSS (VmHWM)",
           (double) self->hwm_kb / 1024.0, TARGET_RSS_MB,
           self->hwm_kb > 0
               ? s_verdict((double) self->hwm_kb / 1024.0, TARGET_RSS_MB)
               : "n/a");
    printf("  %-52s %10.1f MB\n", "coordinator RSS at the end",
           (double) self->rss_kb / 1024.0);
    printf("  %-52s %10.1f s (%.0f%% of the wall)\n", "coordinator CPU",
           self->coord_cpu_s, wall > 0 ? 100.0 * self->coord_cpu_s / wall : 0);
    printf("  %-52s %10.1f s\n",
           "coordinator waited for a CPU (schedstat, all threads)",
           self->coord_wait_s);
    printf("  %-52s %10.1f s\n", "coord_sim CPU (agents and CLI)",
           (double) usage.ru_utime.tv_sec + (double) usage.ru_stime.tv_sec +
               (double) (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
                   1e6);

    printf("  %-52s %.2f at the start, %.2f at the end (%ld CPUs)\n",
           "load average, 1 min", self->load_start, self->load_end,
           sysconf(_SC_NPROCESSORS_ONLN));

    printf("\nunits\n");
    printf("  %-52s %10" PRId64 " (of %" PRId64 ")\n", "answered",
           m->units_done, sim_workload_total_units(self->workload));
    printf("  %-52s %10" PRId64 " Assign, %" PRId64 " AssignBatch (%" PRId64
           " units)\n",
           "placements", m->assigns, m->batches, m->batched_units);
    printf("  %-52s copy %" PRId64 ", schema-post %" PRId64 ", analyze %" PRId64
           ", finalize %" PRId64 "\n",
           "placed, per kind", m->by_kind[PGCONVOY__UNIT_KIND__UNIT_COPY],
           m->by_kind[PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST],
           m->by_kind[PGCONVOY__UNIT_KIND__UNIT_ANALYZE],
           m->by_kind[PGCONVOY__UNIT_KIND__UNIT_FINALIZE]);
    printf("  %-52s %10" PRId64 "\n", "placed a second time", m->duplicates);
    printf("  %-52s %10" PRId64 "\n",
           "placed on an agent with no slot free, one waiting",
           m->overplaced);
    printf("  %-52s %10" PRId64 "\n",
           "placements that waited on their agent for a slot", m->waited);
    printf("  %-52s %10" PRId64 "\n", "unexpected messages or kinds",
           m->unexpected);
    printf("  %-52s %10" PRId64 "\n", "heartbeats sent", m->hellos);
    printf("  %-52s %10" PRId64 "\n",
           "agents declared lost by the coordinator (Welcomed again)",
           m->rewelcomes);
    printf("  %-52s %7" PRId64 " ms\n", "slowest heartbeat -> Lease answer",
           m->lease_answer_max_ms);
    printf("  %-52s %10" PRId64 "\n",
           "leases run out before the next came (units stopped)",
           m->lease_lapses);
    if (self->tables_completed > 0)
    {
        printf("  %-52s %10" PRId64 " (of %d)\n",
               "tables COMPLETED in the "
               "final status",
               self->tables_completed, w->tables);
    }
}

/* ----- setup and cleanup ----- */

/* The 1-minute load average: other work on the machine shows in every
 * figure, so the summary says how busy it was. */
static double
s_load_average(void)
{
    char line[128];
    char *end = NULL;
    double load = -1;
    FILE *file = fopen("/proc/loadavg", "r");

    if (file != NULL && fgets(line, sizeof line, file) != NULL)
    {
        load = strtod(line, &end);
        load = end == line ? -1 : load;
    }
    if (file != NULL)
    {
        fclose(file);
    }
    return load;
}

static int
s_remove_entry(const char *path, const struct stat *st, int flag,
               struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

int
main(int argc, char **argv)
{
    sim_t self;
    char *coordinator = NULL;
    char *state_dir = NULL;
    char *cli_endpoint = NULL;
    char *agents_endpoint = NULL;
    bool remove_dir = false;
    double run_s = 0; /* the coordinator's time on a CPU: not shown */
    int rc = 2;

    memset(&self, 0, sizeof self);
    log_set_context("coord_sim");
    if (s_parse_options(argc, argv, &self.opts) != 0)
    {
        return 2;
    }
    coordinator = self.opts.coordinator ? xstrdup(self.opts.coordinator)
                                        : s_find_coordinator();
    if (coordinator == NULL)
    {
        fprintf(stderr, "coord_sim: error: pgconvoy-coordinator not found "
                        "next to this program: give --coordinator PATH\n");
        return 2;
    }
    if (self.opts.state_dir != NULL)
    {
        state_dir = xstrdup(self.opts.state_dir);
        if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
        {
            log_error("path=%s could not create the state directory: %s",
                      state_dir, strerror(errno));
            goto cleanup;
        }
    }
    else
    {
        const char *tmp = getenv("TMPDIR");
        state_dir = xasprintf("%s/coord_sim.XXXXXX", tmp ? tmp : "/tmp");
        if (mkdtemp(state_dir) == NULL)
        {
            log_error("path=%s could not create a temporary directory: %s",
                      state_dir, strerror(errno));
            goto cleanup;
        }
        remove_dir = !self.opts.keep;
    }
    cli_endpoint = xasprintf("ipc://%s/cli.sock", state_dir);
    agents_endpoint = xasprintf("ipc://%s/agents.sock", state_dir);
    rc = 1;

    /* before any ZeroMQ context: the child must not inherit its threads */
    self.proc = sim_proc_start(coordinator, state_dir, cli_endpoint,
                               agents_endpoint, self.opts.coord_log_level);
    if (self.proc == NULL)
    {
        goto cleanup;
    }
    self.load_start = s_load_average();
    printf("coord_sim: coordinator %s pid %d, state in %s\n", coordinator,
           (int) sim_proc_pid(self.proc), state_dir);
    zsys_init();
    self.workload = sim_workload_new(&self.opts.workload);
    for (int p = READ_EARLY; p < READ_POINTS; p++)
    {
        self.status[p] = sim_stats_new();
    }
    self.started = zclock_usecs();
    self.fleet =
        sim_fleet_new(agents_endpoint, self.opts.agents, self.opts.jobs,
                      self.opts.unit_ms, self.workload);
    self.cli = sim_cli_new(cli_endpoint);
    if (self.fleet == NULL || self.cli == NULL)
    {
        goto cleanup;
    }
    printf("coord_sim: %d agents x %d jobs, units of %d ms, %d tables, "
           "%" PRId64 " items, %" PRId64 " units; timeout %d s\n",
           self.opts.agents, self.opts.jobs, self.opts.unit_ms,
           self.opts.workload.tables, sim_workload_item_count(self.workload),
           sim_workload_total_units(self.workload), self.opts.timeout_s);
    fflush(stdout);
    s_run(&self);

    /* the peak is read before the coordinator stops, which frees */
    (void) sim_proc_memory(self.proc, &self.rss_kb, &self.hwm_kb);
    self.coord_cpu_s = sim_proc_cpu_seconds(self.proc);
    (void) sim_proc_schedstat(self.proc, &run_s, &self.coord_wait_s);
    self.load_end = s_load_average();
    s_print_summary(&self);
    rc = self.phase == PHASE_DONE && self.failure == NULL ? 0 : 1;

cleanup:
    sim_cli_destroy(&self.cli);
    sim_fleet_destroy(&self.fleet);
    sim_proc_stop(&self.proc);
    sim_workload_destroy(&self.workload);
    for (int p = READ_EARLY; p < READ_POINTS; p++)
    {
        sim_stats_destroy(&self.status[p]);
    }
    if (remove_dir && rc == 0)
    {
        (void) nftw(state_dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    else if (state_dir != NULL && rc != 2)
    {
        printf("coord_sim: state directory and coordinator.log kept in %s\n",
               state_dir);
    }
    free(self.failure);
    free(coordinator);
    free(state_dir);
    free(cli_endpoint);
    free(agents_endpoint);
    return rc;
}
