/*
 * cli/main.c
 *     pgferry: the seed's `az dms` nouns and verbs against a coordinator,
 *     and `migrate`, the embedded mode.
 *
 * Input is checked here, before anything is sent: a bad file, field or
 * value is named and the exit code is 2, with nothing written anywhere.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/config.h"
#include "common/curve.h"
#include "common/envelope.h"
#include "common/strbuf.h"

#define CLI_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define CLI_CREATE_TIMEOUT_MS (600 * 1000) /* prepare checks every table */
#define CLI_TIMEOUT_MS (30 * 1000)

typedef struct
{
    const char *coordinator;
    const char *project;
    const char *name;
    const char *source_platform;
    const char *target_platform;
    const char *task_type;
    const char *source_json;
    const char *target_json;
    const char *options_json;
    const char *object_name;
    const char *output;
    bool expand;
    bool validate;
    int64_t split_bytes; /* 0: the coordinator's default */
    bool fix_replica_identity;
    bool no_owner;
    bool no_privileges;
    bool create_roles;
    bool role_passwords;
} cli_args_t;

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: pgferry [--coordinator tcp://HOST:PORT]\n"
            "               [--curve-secret FILE --curve-server FILE] "
            "COMMAND ...\n"
            "\n"
            "  project create -n P --source-platform PostgreSQL "
            "--target-platform PostgreSQL\n"
            "  project delete -n P\n"
            "  project list\n"
            "  task create --project-name P -n T --task-type "
            "OfflineMigration|OnlineMigration\n"
            "              --source-connection-json s.json "
            "--target-connection-json t.json\n"
            "              --database-options-json o.json "
            "[--split-tables-larger-than 1GB]\n"
            "              [--no-owner] [--no-privileges] [--roles "
            "[--role-passwords]]\n"
            "              [--fix-replica-identity]   (OnlineMigration "
            "only)\n"
            "  task show   --project-name P -n T [--expand output] "
            "[-o json|table]\n"
            "  task watch  --project-name P -n T\n"
            "  task cutover --project-name P -n T --object-name DB "
            "[--validate]\n"
            "  task cancel --project-name P -n T\n"
            "  task delete --project-name P -n T\n"
            "  migrate --source URI --target URI [--tables s.t,...] "
            "[--agents N] [--jobs N]\n"
            "          [--split-tables-larger-than 1GB] [--no-owner] "
            "[--no-privileges] [--roles [--role-passwords]]\n"
            "          [--online [--fix-replica-identity]]\n"
            "  keygen PATH   (writes a CURVE key pair: PATH, PATH_secret)\n"
            "\n"
            "The coordinator defaults to $PGFERRY_COORDINATOR, else %s.\n"
            "CURVE: --curve-secret is this client's key pair (pgferry "
            "keygen), --curve-server\n"
            "the coordinator's public certificate; or $PGFERRY_CURVE_SECRET "
            "and\n$PGFERRY_CURVE_SERVER.\n"
            "Exit codes: 0 done, 1 failed, 2 bad usage or bad input.\n",
            CLI_DEFAULT_ENDPOINT);
}

static int
s_parse(int argc, char **argv, cli_args_t *args)
{
    static const struct option long_opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"project-name", required_argument, NULL, 'p'},
        {"source-platform", required_argument, NULL, 'S'},
        {"target-platform", required_argument, NULL, 'T'},
        {"task-type", required_argument, NULL, 't'},
        {"source-connection-json", required_argument, NULL, 's'},
        {"target-connection-json", required_argument, NULL, 'g'},
        {"database-options-json", required_argument, NULL, 'd'},
        {"object-name", required_argument, NULL, 'b'},
        {"expand", required_argument, NULL, 'e'},
        {"output", required_argument, NULL, 'o'},
        {"validate", no_argument, NULL, 'v'},
        {"split-tables-larger-than", required_argument, NULL, 'z'},
        {"fix-replica-identity", no_argument, NULL, 'F'},
        {"no-owner", no_argument, NULL, 'O'},
        {"no-privileges", no_argument, NULL, 'x'},
        {"no-acl", no_argument, NULL, 'x'},
        {"roles", no_argument, NULL, 'R'},
        {"role-passwords", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "n:o:h", long_opts, NULL)) != -1)
    {
        switch (c)
        {
            case 'n':
                args->name = optarg;
                break;
            case 'p':
                args->project = optarg;
                break;
            case 'S':
                args->source_platform = optarg;
                break;
            case 'T':
                args->target_platform = optarg;
                break;
            case 't':
                args->task_type = optarg;
                break;
            case 's':
                args->source_json = optarg;
                break;
            case 'g':
                args->target_json = optarg;
                break;
            case 'd':
                args->options_json = optarg;
                break;
            case 'b':
                args->object_name = optarg;
                break;
            case 'e':
                if (strcmp(optarg, "output") != 0)
                {
                    cli_error("--expand: value \"%s\" is not supported, "
                              "expected output",
                              optarg);
                    return -1;
                }
                args->expand = true;
                break;
            case 'o':
                if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
                {
                    cli_error("--output: value \"%s\" is not supported, "
                              "expected json or table",
                              optarg);
                    return -1;
                }
                args->output = optarg;
                break;
            case 'v':
                args->validate = true;
                break;
            case 'z':
            {
                char *error = NULL;
                if (config_parse_size(optarg, &args->split_bytes, &error) != 0)
                {
                    cli_error("--split-tables-larger-than: %s", error);
                    free(error);
                    return -1;
                }
                break;
            }
            case 'F':
                args->fix_replica_identity = true;
                break;
            case 'O':
                args->no_owner = true;
                break;
            case 'x':
                args->no_privileges = true;
                break;
            case 'R':
                args->create_roles = true;
                break;
            case 'P':
                args->role_passwords = true;
                break;
            case 'h':
                s_usage(stdout);
                exit(0);
            default:
                return -1;
        }
    }
    if (optind < argc)
    {
        cli_error("unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    return 0;
}

/* Complains about the first required option missing. */
static int
s_require(const char *value, const char *option)
{
    if (value == NULL || value[0] == '\0')
    {
        cli_error("%s is required", option);
        return -1;
    }
    return 0;
}

/* Sends req and prints the answer; returns the exit code. */
static int
s_simple_call(const cli_args_t *args, Pgferry__Request *req, int timeout_ms)
{
    Pgferry__Envelope *reply = NULL;
    int code = cli_call(args->coordinator, req, timeout_ms, &reply);

    if (reply != NULL)
    {
        const Pgferry__Reply *r = reply->reply;
        if (code != CLI_EXIT_OK)
        {
            cli_error("%s", r->message);
        }
        else if (r->json[0] != '\0')
        {
            puts(r->json);
        }
        else if (r->message[0] != '\0')
        {
            puts(r->message);
        }
    }
    envelope_free(&reply);
    return code;
}

/* Reads a password from the terminal without echoing it; NULL if there
 * is no terminal or nothing was typed. */
static char *
s_prompt_password(const config_endpoint_t *cfg, const char *file)
{
    struct termios saved;
    struct termios quiet;
    char line[1024];
    char *password = NULL;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) != 0)
    {
        return NULL;
    }
    fprintf(stderr, "Password for user \"%s\" on %s:%d (%s): ", cfg->user,
            cfg->host, cfg->port, file);
    quiet = saved;
    quiet.c_lflag &= (tcflag_t) ~ECHO;
    (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    if (fgets(line, sizeof line, stdin) != NULL)
    {
        line[strcspn(line, "\r\n")] = '\0';
        password = line[0] ? xstrdup(line) : NULL;
    }
    (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fputc('\n', stderr);
    memset(line, 0, sizeof line);
    return password;
}

/*
 * A null password, as in the seed: PGPASSWORD if set; else, when the
 * user has no ~/.pgpass (or PGPASSFILE) for libpq to use, a prompt on the
 * terminal; else the agents' own PGPASSWORD or .pgpass apply.
 */
static void
s_resolve_password(config_endpoint_t *cfg, const char *file)
{
    const char *home = getenv("HOME");
    char *pgpass = getenv("PGPASSFILE")
                       ? xstrdup(getenv("PGPASSFILE"))
                       : xasprintf("%s/.pgpass", home ? home : "");

    if (cfg->password == NULL && getenv("PGPASSWORD") == NULL &&
        access(pgpass, R_OK) != 0)
    {
        cfg->password = s_prompt_password(cfg, file);
    }
    free(pgpass);
    if (cfg->password == NULL && getenv("PGPASSWORD") != NULL)
    {
        cfg->password = xstrdup(getenv("PGPASSWORD"));
    }
}

static int
s_task_create(const cli_args_t *args)
{
    config_endpoint_t src = {0};
    config_endpoint_t tgt = {0};
    config_databases_t dbs = {0};
    Pgferry__Request req = PGFERRY__REQUEST__INIT;
    Pgferry__Endpoint src_ep = PGFERRY__ENDPOINT__INIT;
    Pgferry__Endpoint tgt_ep = PGFERRY__ENDPOINT__INIT;
    Pgferry__DatabaseOption *opts = NULL;
    Pgferry__DatabaseOption **opt_ptrs = NULL;
    char *error = NULL;
    int code = CLI_EXIT_USAGE;

    if (s_require(args->project, "--project-name") != 0 ||
        s_require(args->name, "--name") != 0 ||
        s_require(args->task_type, "--task-type") != 0 ||
        s_require(args->source_json, "--source-connection-json") != 0 ||
        s_require(args->target_json, "--target-connection-json") != 0 ||
        s_require(args->options_json, "--database-options-json") != 0)
    {
        return CLI_EXIT_USAGE;
    }
    if (strcmp(args->task_type, "OfflineMigration") != 0 &&
        strcmp(args->task_type, "OnlineMigration") != 0)
    {
        cli_error("--task-type: value \"%s\" is not a task type, expected "
                  "OnlineMigration or OfflineMigration",
                  args->task_type);
        return CLI_EXIT_USAGE;
    }
    if (args->fix_replica_identity &&
        strcmp(args->task_type, "OnlineMigration") != 0)
    {
        cli_error("--fix-replica-identity applies to OnlineMigration "
                  "tasks only; an OfflineMigration copies tables without "
                  "a key as they are");
        return CLI_EXIT_USAGE;
    }
    if (args->role_passwords && !args->create_roles)
    {
        cli_error("--role-passwords applies to --roles only: it gives the "
                  "roles --roles creates their source passwords");
        return CLI_EXIT_USAGE;
    }
    if (config_load_endpoint(args->source_json, &src, &error) != 0 ||
        config_load_endpoint(args->target_json, &tgt, &error) != 0 ||
        config_load_databases(args->options_json, &dbs, &error) != 0)
    {
        cli_error("%s", error);
        goto cleanup;
    }
    s_resolve_password(&src, args->source_json);
    s_resolve_password(&tgt, args->target_json);
    cli_fill_endpoint(&src_ep, &src);
    cli_fill_endpoint(&tgt_ep, &tgt);
    opts = xcalloc(dbs.count, sizeof *opts);
    opt_ptrs = xcalloc(dbs.count, sizeof *opt_ptrs);
    for (size_t i = 0; i < dbs.count; i++)
    {
        pgferry__database_option__init(&opts[i]);
        opts[i].name = dbs.items[i].name;
        opts[i].target_name = dbs.items[i].target_name;
        opts[i].n_selected_tables = dbs.items[i].ntables;
        opts[i].selected_tables = dbs.items[i].tables;
        opt_ptrs[i] = &opts[i];
    }
    req.verb = PGFERRY__REQUEST__VERB__TASK_CREATE;
    req.project = (char *) args->project;
    req.task = (char *) args->name;
    req.task_type = (char *) args->task_type;
    req.source = &src_ep;
    req.target = &tgt_ep;
    req.n_databases = dbs.count;
    req.databases = opt_ptrs;
    req.split_bytes = args->split_bytes;
    req.fix_replica_identity = args->fix_replica_identity;
    req.no_owner = args->no_owner;
    req.no_privileges = args->no_privileges;
    req.create_roles = args->create_roles;
    req.role_passwords = args->role_passwords;
    code = s_simple_call(args, &req, CLI_CREATE_TIMEOUT_MS);

cleanup:
    free(error);
    free(opts);
    free(opt_ptrs);
    cli_endpoint_clear(&src_ep);
    cli_endpoint_clear(&tgt_ep);
    config_endpoint_clear(&src);
    config_endpoint_clear(&tgt);
    config_databases_clear(&dbs);
    return code;
}

static int
s_task_show(const cli_args_t *args)
{
    int code = CLI_EXIT_OK;
    json_object *status = NULL;

    if (args->output != NULL && strcmp(args->output, "table") == 0)
    {
        status = cli_fetch_status(args->coordinator, args->project, args->name,
                                  CLI_STATUS_FULL, &code);
        if (status != NULL)
        {
            cli_render_table(status, stdout);
            json_object_put(status);
        }
        return code;
    }
    Pgferry__Request req = PGFERRY__REQUEST__INIT;
    req.verb = PGFERRY__REQUEST__VERB__TASK_SHOW;
    req.project = (char *) args->project;
    req.task = (char *) args->name;
    req.expand = args->expand;
    return s_simple_call(args, &req, CLI_TIMEOUT_MS);
}

static int
s_project_command(const char *verb, const cli_args_t *args)
{
    Pgferry__Request req = PGFERRY__REQUEST__INIT;

    req.project = (char *) args->name;
    if (strcmp(verb, "list") == 0)
    {
        req.verb = PGFERRY__REQUEST__VERB__PROJECT_LIST;
        return s_simple_call(args, &req, CLI_TIMEOUT_MS);
    }
    if (s_require(args->name, "--name") != 0)
    {
        return CLI_EXIT_USAGE;
    }
    if (strcmp(verb, "create") == 0)
    {
        if (s_require(args->source_platform, "--source-platform") != 0 ||
            s_require(args->target_platform, "--target-platform") != 0)
        {
            return CLI_EXIT_USAGE;
        }
        req.verb = PGFERRY__REQUEST__VERB__PROJECT_CREATE;
        req.source_platform = (char *) args->source_platform;
        req.target_platform = (char *) args->target_platform;
    }
    else if (strcmp(verb, "delete") == 0)
    {
        req.verb = PGFERRY__REQUEST__VERB__PROJECT_DELETE;
    }
    else
    {
        cli_error("unknown command \"project %s\", expected create, delete "
                  "or list",
                  verb);
        return CLI_EXIT_USAGE;
    }
    return s_simple_call(args, &req, CLI_TIMEOUT_MS);
}

static int
s_task_command(const char *verb, const cli_args_t *args)
{
    Pgferry__Request req = PGFERRY__REQUEST__INIT;

    if (strcmp(verb, "create") == 0)
    {
        return s_task_create(args);
    }
    if (s_require(args->project, "--project-name") != 0 ||
        s_require(args->name, "--name") != 0)
    {
        return CLI_EXIT_USAGE;
    }
    req.project = (char *) args->project;
    req.task = (char *) args->name;
    if (strcmp(verb, "show") == 0)
    {
        return s_task_show(args);
    }
    if (strcmp(verb, "watch") == 0)
    {
        return cli_watch(args->coordinator, args->project, args->name, false);
    }
    if (strcmp(verb, "cancel") == 0)
    {
        req.verb = PGFERRY__REQUEST__VERB__TASK_CANCEL;
    }
    else if (strcmp(verb, "delete") == 0)
    {
        req.verb = PGFERRY__REQUEST__VERB__TASK_DELETE;
    }
    else if (strcmp(verb, "cutover") == 0)
    {
        if (s_require(args->object_name, "--object-name") != 0)
        {
            return CLI_EXIT_USAGE;
        }
        return cli_cutover(args->coordinator, args->project, args->name,
                           args->object_name, args->validate);
    }
    else
    {
        cli_error("unknown command \"task %s\", expected create, show, "
                  "watch, cutover, cancel or delete",
                  verb);
        return CLI_EXIT_USAGE;
    }
    return s_simple_call(args, &req, CLI_TIMEOUT_MS);
}

/* Takes global option name ("--name VALUE" or "--name=VALUE") at
 * argv[*first] into *value, moving *first past it; false if it is not
 * that option. */
static bool
s_global_option(int argc, char **argv, int *first, const char *name,
                const char **value)
{
    const char *arg = argv[*first];
    size_t len = strlen(name);

    if (strcmp(arg, name) == 0 && *first + 1 < argc)
    {
        *value = argv[*first + 1];
        *first += 2;
        return true;
    }
    if (strncmp(arg, name, len) == 0 && arg[len] == '=')
    {
        *value = arg + len + 1;
        *first += 1;
        return true;
    }
    return false;
}

int
main(int argc, char **argv)
{
    cli_args_t args = {0};
    int first = 1;

    const char *curve_secret = getenv("PGFERRY_CURVE_SECRET");
    const char *curve_server = getenv("PGFERRY_CURVE_SERVER");

    args.coordinator = getenv("PGFERRY_COORDINATOR");
    /* global options come before the command */
    while (first < argc && strncmp(argv[first], "--", 2) == 0)
    {
        if (s_global_option(argc, argv, &first, "--coordinator",
                            &args.coordinator) ||
            s_global_option(argc, argv, &first, "--curve-secret",
                            &curve_secret) ||
            s_global_option(argc, argv, &first, "--curve-server",
                            &curve_server))
        {
            continue;
        }
        if (strcmp(argv[first], "--help") == 0)
        {
            s_usage(stdout);
            return CLI_EXIT_OK;
        }
        else
        {
            cli_error("unknown option \"%s\"", argv[first]);
            s_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (args.coordinator == NULL)
    {
        args.coordinator = CLI_DEFAULT_ENDPOINT;
    }
    if ((curve_secret == NULL) != (curve_server == NULL))
    {
        cli_error("--curve-secret and --curve-server go together: the "
                  "CLI's key pair and the coordinator's public "
                  "certificate");
        return CLI_EXIT_USAGE;
    }
    cli_use_curve(curve_secret, curve_server);
    if (first >= argc)
    {
        s_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *noun = argv[first];
    zsys_init();
    zsys_set_logstream(NULL);
    if (strcmp(noun, "keygen") == 0)
    {
        if (first + 2 != argc)
        {
            cli_error("keygen takes one argument: the path of the key pair "
                      "to write (PATH and PATH_secret)");
            return CLI_EXIT_USAGE;
        }
        return curve_generate(argv[first + 1]) == 0 ? CLI_EXIT_OK
                                                    : CLI_EXIT_FAILED;
    }
    if (strcmp(noun, "migrate") == 0)
    {
        return cli_migrate(argc - first, argv + first);
    }
    if ((strcmp(noun, "project") != 0 && strcmp(noun, "task") != 0) ||
        first + 1 >= argc)
    {
        cli_error("unknown command \"%s\", expected project, task or migrate",
                  noun);
        s_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *verb = argv[first + 1];
    if (s_parse(argc - first - 1, argv + first + 1, &args) != 0)
    {
        return CLI_EXIT_USAGE;
    }
    return strcmp(noun, "project") == 0 ? s_project_command(verb, &args)
                                        : s_task_command(verb, &args);
}
