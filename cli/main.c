/*
 * cli/main.c
 *     pgconvoy: the seed's `az dms` nouns and verbs against a coordinator,
 *     and `migrate`, the embedded mode.
 *
 * Input is checked here, before anything is sent: a bad file, field or
 * value is named and the exit code is 2, with nothing written anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/dbopts.h"
#include "cli/verbs.h"
#include "common/cmdline.h"
#include "common/config.h"
#include "common/curve.h"
#include "common/envelope.h"
#include "common/strbuf.h"
#include "common/version.h"

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
    const char *operand; /* keygen's PATH */
    bool expand;
    bool validate;
    cli_dbopts_t db;
} cli_args_t;

/* 0: run the command; 1: its help was printed (exit 0); -1: bad input,
 * named on stderr (exit 2). argv[0] is the command's last word. */
static int
s_parse(const cli_verb_t *verb, int argc, char **argv, cli_args_t *args)
{
    cmdline_t cmdline;
    int c = 0;

    cmdline_init(&cmdline, verb->options, PGCONVOY_CLI_NAME, verb->name, false);
    while ((c = cmdline_next(&cmdline, argc, argv)) != CMDLINE_END)
    {
        int taken = cli_dbopts_parse(&args->db, c, optarg);

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
            case CLI_OPT_NAME:
                args->name = optarg;
                break;
            case CLI_OPT_PROJECT:
                args->project = optarg;
                break;
            case CLI_OPT_SOURCE_PLATFORM:
                args->source_platform = optarg;
                break;
            case CLI_OPT_TARGET_PLATFORM:
                args->target_platform = optarg;
                break;
            case CLI_OPT_TASK_TYPE:
                args->task_type = optarg;
                break;
            case CLI_OPT_SOURCE_JSON:
                args->source_json = optarg;
                break;
            case CLI_OPT_TARGET_JSON:
                args->target_json = optarg;
                break;
            case CLI_OPT_OPTIONS_JSON:
                args->options_json = optarg;
                break;
            case CLI_OPT_OBJECT_NAME:
                args->object_name = optarg;
                break;
            case CLI_OPT_EXPAND:
                if (strcmp(optarg, "output") != 0)
                {
                    cli_error("--expand: value \"%s\" is not supported, "
                              "expected output",
                              optarg);
                    return -1;
                }
                args->expand = true;
                break;
            case CLI_OPT_OUTPUT:
                if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
                {
                    cli_error("--output: value \"%s\" is not supported, "
                              "expected json or table",
                              optarg);
                    return -1;
                }
                args->output = optarg;
                break;
            case CLI_OPT_VALIDATE:
                args->validate = true;
                break;
            case CMDLINE_HELP:
                cli_verb_print_help(verb, stdout);
                return 1;
            default: /* CMDLINE_ERROR: named on stderr */
                return -1;
        }
    }
    if (verb->operand != NULL && optind + 1 == argc)
    {
        args->operand = argv[optind];
        return 0;
    }
    if (verb->operand != NULL)
    {
        cli_error("\"%s\" takes one argument, %s; see %s %s --help", verb->name,
                  verb->operand, PGCONVOY_CLI_NAME, verb->name);
        return -1;
    }
    if (optind < argc)
    {
        cli_error("unexpected argument \"%s\" for \"%s\"; see %s %s --help",
                  argv[optind], verb->name, PGCONVOY_CLI_NAME, verb->name);
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
s_simple_call(const cli_args_t *args, Pgconvoy__Request *req, int timeout_ms)
{
    Pgconvoy__Envelope *reply = NULL;
    int code = cli_call(args->coordinator, req, timeout_ms, &reply);

    if (reply != NULL)
    {
        const Pgconvoy__Reply *r = reply->reply;
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
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    Pgconvoy__Endpoint src_ep = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__Endpoint tgt_ep = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__DatabaseOption *opts = NULL;
    Pgconvoy__DatabaseOption **opt_ptrs = NULL;
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
    if (cli_dbopts_check(&args->db,
                         strcmp(args->task_type, "OnlineMigration") == 0,
                         "OnlineMigration tasks") != 0)
    {
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
        pgconvoy__database_option__init(&opts[i]);
        opts[i].name = dbs.items[i].name;
        opts[i].target_name = dbs.items[i].target_name;
        opts[i].n_selected_tables = dbs.items[i].ntables;
        opts[i].selected_tables = dbs.items[i].tables;
        opt_ptrs[i] = &opts[i];
    }
    req.verb = PGCONVOY__REQUEST__VERB__TASK_CREATE;
    req.project = (char *) args->project;
    req.task = (char *) args->name;
    req.task_type = (char *) args->task_type;
    req.source = &src_ep;
    req.target = &tgt_ep;
    req.n_databases = dbs.count;
    req.databases = opt_ptrs;
    cli_dbopts_fill(&args->db, &req);
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
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    req.verb = PGCONVOY__REQUEST__VERB__TASK_SHOW;
    req.project = (char *) args->project;
    req.task = (char *) args->name;
    req.expand = args->expand;
    return s_simple_call(args, &req, CLI_TIMEOUT_MS);
}

/* pgconvoy agent list: the coordinator's JSON as it is, or as a table */
static int
s_agent_list(const cli_args_t *args)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    json_object *list = NULL;
    int code = CLI_EXIT_OK;

    req.verb = PGCONVOY__REQUEST__VERB__AGENT_LIST;
    if (args->output == NULL || strcmp(args->output, "table") != 0)
    {
        return s_simple_call(args, &req, CLI_TIMEOUT_MS);
    }
    list = cli_fetch_agents(args->coordinator, &code);
    if (list != NULL)
    {
        cli_render_agents(list, stdout);
    }
    json_object_put(list);
    return code;
}

static int
s_project_command(cli_verb_id_t verb, const cli_args_t *args)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;

    req.project = (char *) args->name;
    if (verb == CLI_VERB_PROJECT_LIST)
    {
        req.verb = PGCONVOY__REQUEST__VERB__PROJECT_LIST;
        return s_simple_call(args, &req, CLI_TIMEOUT_MS);
    }
    if (s_require(args->name, "--name") != 0)
    {
        return CLI_EXIT_USAGE;
    }
    if (verb == CLI_VERB_PROJECT_CREATE)
    {
        if (s_require(args->source_platform, "--source-platform") != 0 ||
            s_require(args->target_platform, "--target-platform") != 0)
        {
            return CLI_EXIT_USAGE;
        }
        req.verb = PGCONVOY__REQUEST__VERB__PROJECT_CREATE;
        req.source_platform = (char *) args->source_platform;
        req.target_platform = (char *) args->target_platform;
    }
    else
    {
        req.verb = PGCONVOY__REQUEST__VERB__PROJECT_DELETE;
    }
    return s_simple_call(args, &req, CLI_TIMEOUT_MS);
}

static int
s_task_command(cli_verb_id_t verb, const cli_args_t *args)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;

    if (verb == CLI_VERB_TASK_CREATE)
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
    if (verb == CLI_VERB_TASK_SHOW)
    {
        return s_task_show(args);
    }
    if (verb == CLI_VERB_TASK_WATCH)
    {
        return cli_watch(args->coordinator, args->project, args->name, false);
    }
    if (verb == CLI_VERB_TASK_CANCEL)
    {
        req.verb = PGCONVOY__REQUEST__VERB__TASK_CANCEL;
    }
    else if (verb == CLI_VERB_TASK_DELETE)
    {
        req.verb = PGCONVOY__REQUEST__VERB__TASK_DELETE;
    }
    else
    {
        if (s_require(args->object_name, "--object-name") != 0)
        {
            return CLI_EXIT_USAGE;
        }
        return cli_cutover(args->coordinator, args->project, args->name,
                           args->object_name, args->validate);
    }
    return s_simple_call(args, &req, CLI_TIMEOUT_MS);
}

/*
 * The command at argv[0], and argv[1] for a noun's ("task show"): sets
 * *verb_p and returns how many words its name took; or 0 when a noun's
 * help was asked for and printed (exit 0); or -1 when there is no such
 * command, named on stderr (exit 2).
 */
static int
s_find_command(int argc, char **argv, const cli_verb_t **verb_p)
{
    const char *noun = argv[0];
    const char *second = argc > 1 ? argv[1] : NULL;

    if ((*verb_p = cli_verb_find(noun, NULL)) != NULL)
    {
        return 1;
    }
    if (!cli_verbs_is_noun(noun))
    {
        cli_error("unknown command \"%s\"; see %s --help", noun,
                  PGCONVOY_CLI_NAME);
        return -1;
    }
    if (second != NULL && (*verb_p = cli_verb_find(noun, second)) != NULL)
    {
        return 2;
    }
    if (second != NULL &&
        (strcmp(second, "--help") == 0 || strcmp(second, "-h") == 0))
    {
        cli_verbs_print_noun(noun, stdout);
        return 0;
    }
    if (second == NULL)
    {
        cli_error("\"%s\" needs a command; see %s %s --help", noun,
                  PGCONVOY_CLI_NAME, noun);
    }
    else
    {
        cli_error("unknown command \"%s %s\"; see %s %s --help", noun, second,
                  PGCONVOY_CLI_NAME, noun);
    }
    return -1;
}

/* pgconvoy help [COMMAND]: the overview, a noun's commands or one
 * command's help, on stdout; the exit code. */
static int
s_help(int argc, char **argv)
{
    const cli_verb_t *verb = NULL;
    int words = 0;

    if (argc == 0)
    {
        cli_verbs_print_overview(stdout);
        return CLI_EXIT_OK;
    }
    if (argc == 1 && cli_verbs_is_noun(argv[0]))
    {
        cli_verbs_print_noun(argv[0], stdout);
        return CLI_EXIT_OK;
    }
    words = s_find_command(argc, argv, &verb);
    if (words > 0)
    {
        cli_verb_print_help(verb, stdout);
    }
    return words < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
}

int
main(int argc, char **argv)
{
    cli_args_t args = {0};
    cmdline_t cmdline;
    const cli_verb_t *verb = NULL;
    int first = 0;
    int words = 0;
    int c = 0;

    const char *curve_secret = getenv("PGCONVOY_CURVE_SECRET");
    const char *curve_server = getenv("PGCONVOY_CURVE_SERVER");

    args.coordinator = getenv("PGCONVOY_COORDINATOR");
    /* global options come before the command: the first word that is not
     * an option ends them */
    cmdline_init(&cmdline, cli_global_options, PGCONVOY_CLI_NAME, NULL, true);
    while ((c = cmdline_next(&cmdline, argc, argv)) != CMDLINE_END)
    {
        switch (c)
        {
            case CLI_OPT_COORDINATOR:
                args.coordinator = optarg;
                break;
            case CLI_OPT_CURVE_SECRET:
                curve_secret = optarg;
                break;
            case CLI_OPT_CURVE_SERVER:
                curve_server = optarg;
                break;
            case CMDLINE_HELP:
                cli_verbs_print_overview(stdout);
                return CLI_EXIT_OK;
            case CLI_OPT_HELP_ALL:
                cli_verbs_print_all(stdout);
                return CLI_EXIT_OK;
            case CMDLINE_VERSION:
                version_print(stdout, PGCONVOY_CLI_NAME);
                return CLI_EXIT_OK;
            default: /* CMDLINE_ERROR: named on stderr */
                return CLI_EXIT_USAGE;
        }
    }
    first = optind;
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
        cli_verbs_print_overview(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[first], "help") == 0)
    {
        return s_help(argc - first - 1, argv + first + 1);
    }
    words = s_find_command(argc - first, argv + first, &verb);
    if (words <= 0)
    {
        return words == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (verb->id != CLI_VERB_MIGRATE)
    {
        /* argv[0] for getopt: the command's last word */
        int parsed = s_parse(verb, argc - first - words + 1,
                             argv + first + words - 1, &args);
        if (parsed != 0)
        {
            return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    zsys_init();
    zsys_set_logstream(NULL);
    switch (verb->id)
    {
        case CLI_VERB_MIGRATE:
            return cli_migrate(verb, argc - first, argv + first);
        case CLI_VERB_KEYGEN:
            return curve_generate(args.operand) == 0 ? CLI_EXIT_OK
                                                     : CLI_EXIT_FAILED;
        case CLI_VERB_PROJECT_CREATE:
        case CLI_VERB_PROJECT_DELETE:
        case CLI_VERB_PROJECT_LIST:
            return s_project_command(verb->id, &args);
        case CLI_VERB_AGENT_LIST:
            return s_agent_list(&args);
        default:
            return s_task_command(verb->id, &args);
    }
}
