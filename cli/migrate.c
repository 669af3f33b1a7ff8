/*
 * cli/migrate.c
 *     `pgconvoy migrate`: one command that starts a coordinator and N local
 *     agents on private ipc:// endpoints, runs one task through them and
 *     prints its progress and final status.
 *
 * It drives the daemons through the same requests as the CLI, so embedded
 * mode and daemon mode cannot drift apart. The children's logs go to the
 * state directory, which is kept (and named) when the migration fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/dbopts.h"
#include "common/cmdline.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/qualname.h"
#include "common/strbuf.h"
#include "common/version.h"

#define MIGRATE_MAX_AGENTS 64
#define MIGRATE_READY_TIMEOUT_MS 20000
/* a look is one cheap request: a migration starts as soon as it can */
#define MIGRATE_READY_POLL_US 10000
/* how long the coordinator outlives an online task cut over from outside */
#define MIGRATE_LINGER_US 2000000
/* how often the online phase shows progress: a line at most as often */
#define MIGRATE_POLL_US 1000000
#define MIGRATE_LINE_EVERY_MS 1000

typedef struct
{
    const char *source;
    const char *target;
    const char *tables;
    const char *state_dir;
    int agents;
    int jobs;
    bool online;
    bool cutover_when_ready;
    bool validate; /* online: compare every table at cutover */
    cli_dbopts_t db;
} migrate_options_t;

typedef struct
{
    char *state_dir;       /* owned */
    bool own_state_dir;    /* we made it, we remove it on success */
    char *cli_endpoint;    /* owned */
    char *agents_endpoint; /* owned */
    pid_t children[MIGRATE_MAX_AGENTS + 1];
    int nchildren;
} migrate_t;

static int
s_parse_int(const char *option, const char *value, int min, int max, int *out)
{
    char *end = NULL;
    long n = strtol(value, &end, 10);

    if (*value == '\0' || *end != '\0' || n < min || n > max)
    {
        cli_error("%s: value \"%s\" is not an integer from %d to %d", option,
                  value, min, max);
        return -1;
    }
    *out = (int) n;
    return 0;
}

/* 0: run; 1: the help was printed (exit 0); -1: bad input, named on
 * stderr (exit 2) */
static int
s_parse_options(const cli_verb_t *verb, int argc, char **argv,
                migrate_options_t *opts)
{
    cmdline_t cmdline;
    int c = 0;

    opts->agents = 2;
    /* as pgconvoy-agent: two units at once hide each other's round trips */
    opts->jobs = 2;
    cmdline_init(&cmdline, verb->options, PGCONVOY_CLI_NAME, verb->name, false);
    while ((c = cmdline_next(&cmdline, argc, argv)) != CMDLINE_END)
    {
        int taken = cli_dbopts_parse(&opts->db, c, optarg);

        if (taken != 0)
        {
            if (taken < 0)
            {
                return -1;
            }
            continue;
        }
        switch (c)
        {
            case CLI_OPT_SOURCE:
                opts->source = optarg;
                break;
            case CLI_OPT_TARGET:
                opts->target = optarg;
                break;
            case CLI_OPT_TABLES:
                opts->tables = optarg;
                break;
            case CLI_OPT_AGENTS:
                if (s_parse_int("--agents", optarg, 1, MIGRATE_MAX_AGENTS,
                                &opts->agents) != 0)
                {
                    return -1;
                }
                break;
            case CLI_OPT_JOBS:
                if (s_parse_int("--jobs", optarg, 1, 64, &opts->jobs) != 0)
                {
                    return -1;
                }
                break;
            case CLI_OPT_STATE_DIR:
                opts->state_dir = optarg;
                break;
            case CLI_OPT_ONLINE:
                opts->online = true;
                break;
            case CLI_OPT_CUTOVER_WHEN_READY:
                opts->cutover_when_ready = true;
                break;
            case CLI_OPT_VALIDATE:
                opts->validate = true;
                break;
            case CMDLINE_HELP:
                cli_verb_print_help(verb, stdout);
                return 1;
            default: /* CMDLINE_ERROR: named on stderr */
                return -1;
        }
    }
    if (optind < argc)
    {
        cli_error("unexpected argument \"%s\" for \"%s\"; see %s %s --help",
                  argv[optind], verb->name, PGCONVOY_CLI_NAME, verb->name);
        return -1;
    }
    if (opts->source == NULL || opts->target == NULL)
    {
        cli_error("--source and --target are required");
        return -1;
    }
    if (cli_dbopts_check(&opts->db, opts->online, "--online") != 0)
    {
        return -1;
    }
    if ((opts->cutover_when_ready || opts->validate) && !opts->online)
    {
        cli_error("--cutover-when-ready and --validate apply to --online "
                  "only; an offline migration ends by itself");
        return -1;
    }
    return 0;
}

/*
 * Splits "a.b,\"x,y\".c" on the commas outside double quotes, checking
 * each name. Returns the count, or -1 (printed).
 */
static int
s_split_tables(const char *text, char ***out)
{
    strbuf_t *name = strbuf_new();
    bool quoted = false;
    int count = 0;

    *out = NULL;
    for (const char *p = text;; p++)
    {
        if (*p == '"')
        {
            quoted = !quoted;
        }
        if (*p == '\0' || (*p == ',' && !quoted))
        {
            char *schema = NULL;
            char *table = NULL;
            char *error = NULL;
            if (qualname_parse(strbuf_data(name), &schema, &table, &error) != 0)
            {
                cli_error("--tables: %s", error);
                free(error);
                strbuf_destroy(&name);
                return -1;
            }
            free(schema);
            free(table);
            *out = realloc(*out, (size_t) (count + 1) * sizeof(char *));
            (*out)[count++] = xstrdup(strbuf_data(name));
            strbuf_reset(name);
            if (*p == '\0')
            {
                break;
            }
            continue;
        }
        strbuf_append_len(name, p, 1);
    }
    strbuf_destroy(&name);
    return count;
}

/* Starts a sibling executable with its stderr in log_name. */
static pid_t
s_spawn(migrate_t *self, const char *exe, const char *log_name,
        char *const argv[])
{
    char *self_path = realpath("/proc/self/exe", NULL);
    char *dir = self_path ? dirname(self_path) : ".";
    char *path = xasprintf("%s/%s", dir, exe);
    char *log_path = xasprintf("%s/%s", self->state_dir, log_name);
    pid_t pid = fork();

    if (pid == 0)
    {
        /* the daemons live and die with this command, even on kill -9 */
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0)
        {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        execv(path, argv);
        fprintf(stderr, "cannot run %s\n", path);
        _exit(127);
    }
    if (pid < 0)
    {
        cli_error("could not start %s", path);
    }
    else
    {
        self->children[self->nchildren++] = pid;
    }
    free(log_path);
    free(path);
    free(self_path);
    return pid;
}

static int
s_start_daemons(migrate_t *self, const migrate_options_t *opts)
{
    char *coord_argv[] = {PGCONVOY_COORDINATOR_NAME, "--state-dir",
                          self->state_dir,           "--listen",
                          self->cli_endpoint,        "--agents",
                          self->agents_endpoint,     NULL};
    char jobs[16];

    if (s_spawn(self, PGCONVOY_COORDINATOR_NAME, "coordinator.log",
                coord_argv) < 0)
    {
        return -1;
    }
    snprintf(jobs, sizeof jobs, "%d", opts->jobs);
    for (int i = 1; i <= opts->agents; i++)
    {
        char name[32];
        char log_name[48];
        snprintf(name, sizeof name, "local-%d", i);
        snprintf(log_name, sizeof log_name, "agent-%d.log", i);
        char *agent_argv[] = {PGCONVOY_AGENT_NAME,
                              "--coordinator",
                              self->agents_endpoint,
                              "--name",
                              name,
                              "--labels",
                              "role=embedded",
                              "--jobs",
                              jobs,
                              NULL};
        if (s_spawn(self, PGCONVOY_AGENT_NAME, log_name, agent_argv) < 0)
        {
            return -1;
        }
    }
    return 0;
}

/* Waits until the coordinator answers and every agent registered. */
static int
s_wait_ready(migrate_t *self, int agents)
{
    int64_t deadline = zclock_mono() + MIGRATE_READY_TIMEOUT_MS;

    while (zclock_mono() < deadline)
    {
        Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
        Pgconvoy__Envelope *reply = NULL;
        int alive = 0;

        req.verb = PGCONVOY__REQUEST__VERB__PROJECT_LIST;
        if (cli_call(self->cli_endpoint, &req, 2000, &reply) == 0 &&
            reply != NULL)
        {
            json_object *root = json_tokener_parse(reply->reply->json);
            json_object *list = NULL;
            if (root != NULL &&
                json_object_object_get_ex(root, "agents", &list))
            {
                alive = (int) json_object_array_length(list);
            }
            json_object_put(root);
        }
        envelope_free(&reply);
        if (alive >= agents)
        {
            return 0;
        }
        usleep(MIGRATE_READY_POLL_US);
    }
    cli_error("the local coordinator and agents did not start within %d s; "
              "their logs are in %s",
              MIGRATE_READY_TIMEOUT_MS / 1000, self->state_dir);
    return -1;
}

static int
s_call(migrate_t *self, Pgconvoy__Request *req, int timeout_ms)
{
    Pgconvoy__Envelope *reply = NULL;
    int code = cli_call(self->cli_endpoint, req, timeout_ms, &reply);

    if (reply != NULL && code != CLI_EXIT_OK)
    {
        cli_error("%s", reply->reply->message);
    }
    else if (reply != NULL)
    {
        /* a created task's notices, each on a line after the first */
        for (const char *line = strchr(reply->reply->message, '\n');
             line != NULL; line = strchr(line, '\n'))
        {
            line++;
            printf("pgconvoy: %.*s\n", (int) strcspn(line, "\n"), line);
        }
    }
    envelope_free(&reply);
    return code;
}

/* True if the state directory holds the task of an interrupted run. */
static bool
s_task_exists(migrate_t *self)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    Pgconvoy__Envelope *reply = NULL;
    bool exists = false;

    req.verb = PGCONVOY__REQUEST__VERB__PROJECT_LIST;
    if (cli_call(self->cli_endpoint, &req, 10000, &reply) == CLI_EXIT_OK)
    {
        json_object *root = json_tokener_parse(reply->reply->json);
        json_object *projects = NULL;
        if (root != NULL &&
            json_object_object_get_ex(root, "projects", &projects))
        {
            for (size_t i = 0; i < json_object_array_length(projects); i++)
            {
                json_object *p = json_object_array_get_idx(projects, i);
                json_object *name = NULL;
                json_object *tasks = NULL;
                exists =
                    exists ||
                    (json_object_object_get_ex(p, "name", &name) &&
                     strcmp(json_object_get_string(name), "embedded") == 0 &&
                     json_object_object_get_ex(p, "tasks", &tasks) &&
                     tasks != NULL);
            }
        }
        json_object_put(root);
    }
    envelope_free(&reply);
    return exists;
}

static int
s_create_task(migrate_t *self, const migrate_options_t *opts,
              const config_endpoint_t *src, const config_endpoint_t *tgt,
              char **tables, int ntables)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    Pgconvoy__Endpoint src_ep = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__Endpoint tgt_ep = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__DatabaseOption db = PGCONVOY__DATABASE_OPTION__INIT;
    Pgconvoy__DatabaseOption *dbs[1] = {&db};
    int code = 0;

    req.verb = PGCONVOY__REQUEST__VERB__PROJECT_CREATE;
    req.project = "embedded";
    req.source_platform = "PostgreSQL";
    req.target_platform = "PostgreSQL";
    if ((code = s_call(self, &req, 10000)) != CLI_EXIT_OK)
    {
        return code;
    }
    cli_fill_endpoint(&src_ep, src);
    cli_fill_endpoint(&tgt_ep, tgt);
    db.name = src->dbname;
    db.target_name = tgt->dbname;
    db.selected_tables = tables;
    db.n_selected_tables = (size_t) ntables;
    req.verb = PGCONVOY__REQUEST__VERB__TASK_CREATE;
    req.task = "migrate";
    req.task_type = opts->online ? "OnlineMigration" : "OfflineMigration";
    req.source = &src_ep;
    req.target = &tgt_ep;
    req.n_databases = 1;
    req.databases = dbs;
    cli_dbopts_fill(&opts->db, &req);
    code = s_call(self, &req, 600000);
    cli_endpoint_clear(&src_ep);
    cli_endpoint_clear(&tgt_ep);
    return code;
}

/*
 * Online: progress until the database is READY_TO_COMPLETE; then, with
 * --cutover-when-ready, the cutover. Without it the stream goes on until
 * the operator cuts over from another terminal, as the line printed
 * says, or stops this command (the state directory resumes it).
 */
static int
s_follow_online(migrate_t *self, const migrate_options_t *opts,
                const char *database)
{
    bool told = false;
    int code = CLI_EXIT_OK;
    cli_progress_t *progress = cli_progress_new(MIGRATE_LINE_EVERY_MS);

    for (;;)
    {
        json_object *status =
            cli_fetch_status(self->cli_endpoint, "embedded", "migrate",
                             CLI_STATUS_SUMMARY, &code);
        const char *error = NULL;
        const char *state = NULL;

        if (status == NULL)
        {
            break;
        }
        state = cli_database_state(status, database, &error);
        cli_progress_log(progress, status, stdout);
        /* state is the status's: read before it goes */
        bool ended = cli_state_is_final(cli_task_state(status)) ||
                     strcmp(state, "COMPLETING") == 0;
        bool ready = strcmp(state, "READY_TO_COMPLETE") == 0;
        json_object_put(status);
        if (ended)
        {
            break; /* the watch reports the end */
        }
        if (ready && opts->cutover_when_ready)
        {
            code = cli_cutover(self->cli_endpoint, "embedded", "migrate",
                               database, opts->validate);
            break;
        }
        if (ready && !told)
        {
            printf("pgconvoy: caught up; stop the writes, then cut over with:\n"
                   "  pgconvoy --coordinator %s task cutover --project-name "
                   "embedded -n migrate --object-name %s%s\n",
                   self->cli_endpoint, database,
                   opts->validate ? " --validate" : "");
            told = true;
        }
        fflush(stdout);
        usleep(MIGRATE_POLL_US);
    }
    cli_progress_destroy(&progress);
    return code;
}

static int
s_run_task(migrate_t *self, const migrate_options_t *opts,
           const config_endpoint_t *src, const config_endpoint_t *tgt,
           char **tables, int ntables)
{
    int code = 0;

    printf("pgconvoy: migrating database \"%s\" from %s:%d to database "
           "\"%s\" on %s:%d\n",
           src->dbname, src->host, src->port, tgt->dbname, tgt->host,
           tgt->port);
    if (s_task_exists(self))
    {
        /* an earlier run in this state directory was interrupted: its
         * catalog knows what is done, the target's bookkeeping too */
        printf("pgconvoy: resuming the migration recorded in %s\n",
               self->state_dir);
    }
    else if ((code = s_create_task(self, opts, src, tgt, tables, ntables)) !=
             CLI_EXIT_OK)
    {
        return code;
    }
    fflush(stdout);
    if (opts->online)
    {
        code = s_follow_online(self, opts, src->dbname);
    }
    if (code == CLI_EXIT_OK)
    {
        code = cli_watch(self->cli_endpoint, "embedded", "migrate", true);
    }
    if (opts->online && !opts->cutover_when_ready)
    {
        /* the cutover was asked for from another terminal, whose
         * 'task cutover' follows it to the end: let it see that end
         * before the coordinator goes (it looks every 200 ms) */
        usleep(MIGRATE_LINGER_US);
    }
    int fetch_code = 0;
    json_object *status =
        cli_fetch_status(self->cli_endpoint, "embedded", "migrate",
                         CLI_STATUS_FULL, &fetch_code);
    if (status != NULL)
    {
        printf("\n");
        cli_render_table(status, stdout);
        json_object_put(status);
    }
    return code;
}

static int
s_remove_entry(const char *path, const struct stat *sb, int flag,
               struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static void
s_stop_daemons(migrate_t *self)
{
    /* the agents first, so that none reports to a coordinator already
     * gone; all of them at once, each closing its sessions meanwhile */
    for (int i = self->nchildren - 1; i >= 1; i--)
    {
        (void) kill(self->children[i], SIGTERM);
    }
    for (int i = self->nchildren - 1; i >= 1; i--)
    {
        (void) waitpid(self->children[i], NULL, 0);
    }
    /* the coordinator, started first */
    if (self->nchildren > 0)
    {
        (void) kill(self->children[0], SIGTERM);
        (void) waitpid(self->children[0], NULL, 0);
    }
    self->nchildren = 0;
}

int
cli_migrate(const cli_verb_t *verb, int argc, char **argv)
{
    migrate_options_t opts = {0};
    migrate_t self = {0};
    config_endpoint_t src = {0};
    config_endpoint_t tgt = {0};
    char **tables = NULL;
    int ntables = 0;
    char *error = NULL;
    int code = CLI_EXIT_USAGE;

    int parsed = s_parse_options(verb, argc, argv, &opts);
    if (parsed != 0)
    {
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (config_parse_uri(opts.source, &src, &error) != 0 ||
        config_parse_uri(opts.target, &tgt, &error) != 0)
    {
        cli_error("--%s: %s", src.host ? "target" : "source", error);
        goto cleanup;
    }
    if (opts.tables != NULL &&
        (ntables = s_split_tables(opts.tables, &tables)) < 0)
    {
        ntables = 0;
        goto cleanup;
    }
    if (opts.state_dir != NULL)
    {
        self.state_dir = xstrdup(opts.state_dir);
        if (mkdir(self.state_dir, 0700) != 0 && errno != EEXIST)
        {
            cli_error("--state-dir: cannot create \"%s\": %s", self.state_dir,
                      strerror(errno));
            goto cleanup;
        }
    }
    else
    {
        self.state_dir = xstrdup("/tmp/pgconvoy-migrate-XXXXXX");
        self.own_state_dir = true;
        if (mkdtemp(self.state_dir) == NULL)
        {
            cli_error("could not create a state directory in /tmp");
            code = CLI_EXIT_FAILED;
            goto cleanup;
        }
    }
    self.cli_endpoint = xasprintf("ipc://%s/cli.sock", self.state_dir);
    self.agents_endpoint = xasprintf("ipc://%s/agents.sock", self.state_dir);
    code = CLI_EXIT_FAILED;
    if (s_start_daemons(&self, &opts) != 0 ||
        s_wait_ready(&self, opts.agents) != 0)
    {
        goto cleanup;
    }
    code = s_run_task(&self, &opts, &src, &tgt, tables, ntables);

cleanup:
    s_stop_daemons(&self);
    if (self.state_dir != NULL && code == CLI_EXIT_OK && self.own_state_dir)
    {
        (void) nftw(self.state_dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    else if (self.state_dir != NULL && code == CLI_EXIT_FAILED)
    {
        fprintf(stderr,
                "pgconvoy: the catalog and the logs of this run are "
                "in %s\n",
                self.state_dir);
    }
    for (int i = 0; i < ntables; i++)
    {
        free(tables[i]);
    }
    free(tables);
    free(error);
    free(self.state_dir);
    free(self.cli_endpoint);
    free(self.agents_endpoint);
    config_endpoint_clear(&src);
    config_endpoint_clear(&tgt);
    return code;
}
