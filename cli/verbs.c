/*
 * cli/verbs.c
 *     The table of pgconvoy's commands and their options, and the help
 *     printed from it.
 *
 * A row's help is one line of at most 50 characters, so that the help
 * fits 80 columns; what needs more goes in the command's summary or in
 * the manual page (deploy/man/).
 */
#include "cli/verbs.h"

#include <string.h>

#include "cli/cli.h"
#include "common/version.h"

#define OPT_END                                                                \
    {                                                                          \
        NULL, 0, NULL, 0, NULL                                                 \
    }
#define OPT_PROJECT                                                            \
    {                                                                          \
        "project-name", 0, "P", CLI_OPT_PROJECT,                               \
            "the task's project (required)"                                    \
    }
#define OPT_TASK                                                               \
    {                                                                          \
        "name", 'n', "T", CLI_OPT_NAME, "the task's name (required)"           \
    }
#define OPT_OUTPUT                                                             \
    {                                                                          \
        "output", 'o', "json|table", CLI_OPT_OUTPUT,                           \
            "print JSON (default) or a table"                                  \
    }
/* what to restore besides the data, the same for task create and migrate */
#define OPTS_RESTORE                                                           \
    {"split-tables-larger-than", 0, "SIZE", CLI_OPT_SPLIT,                     \
     "copy larger tables in ranges of SIZE (1GB, 64MB)"},                      \
        {"no-owner", 0, NULL, CLI_OPT_NO_OWNER,                                \
         "objects owned by the migrating role instead"},                       \
        {"no-privileges", 0, NULL, CLI_OPT_NO_PRIVILEGES,                      \
         "no GRANT, REVOKE or default privileges"},                            \
        {"no-acl", 0, NULL, CLI_OPT_NO_PRIVILEGES,                             \
         "the same as --no-privileges"},                                       \
        {"roles", 0, NULL, CLI_OPT_ROLES,                                      \
         "create the roles the target lacks"},                                 \
        {"role-passwords", 0, NULL, CLI_OPT_ROLE_PASSWORDS,                    \
         "with their source passwords (with --roles)"},                        \
    {                                                                          \
        "no-analyze", 0, NULL, CLI_OPT_NO_ANALYZE,                             \
            "leave the statistics to autovacuum, as pg_restore"                \
    }

const cmdline_option_t cli_global_options[] = {
    {"coordinator", 0, "ENDPOINT", CLI_OPT_COORDINATOR,
     "the coordinator (default below)"},
    {"curve-secret", 0, "FILE", CLI_OPT_CURVE_SECRET,
     "this client's CURVE key pair (keygen)"},
    {"curve-server", 0, "FILE", CLI_OPT_CURVE_SERVER,
     "the coordinator's public CURVE certificate"},
    {"help-all", 0, NULL, CLI_OPT_HELP_ALL,
     "print every command's help and exit"},
    {"version", 0, NULL, CMDLINE_VERSION, "print the versions and exit"},
    OPT_END};

static const cmdline_option_t s_migrate_options[] = {
    {"source", 0, "URI", CLI_OPT_SOURCE,
     "the source database, postgresql://... (required)"},
    {"target", 0, "URI", CLI_OPT_TARGET, "the target database (required)"},
    {"tables", 0, "S.T,...", CLI_OPT_TABLES,
     "only these tables (default: every table)"},
    {"agents", 0, "N", CLI_OPT_AGENTS, "agents to start, 1 to 64 (default 2)"},
    {"jobs", 0, "N", CLI_OPT_JOBS,
     "units an agent runs at once, 1 to 64 (default 2)"},
    {"state-dir", 0, "DIR", CLI_OPT_STATE_DIR,
     "keep catalog and logs here; a rerun resumes"},
    OPTS_RESTORE,
    {"online", 0, NULL, CLI_OPT_ONLINE,
     "then stream the changes made since, until cutover"},
    {"fix-replica-identity", 0, NULL, CLI_OPT_FIX_REPLICA_IDENTITY,
     "REPLICA IDENTITY FULL where no key (--online)"},
    {"cutover-when-ready", 0, NULL, CLI_OPT_CUTOVER_WHEN_READY,
     "cut over once caught up (--online)"},
    {"validate", 0, NULL, CLI_OPT_VALIDATE,
     "compare every table at cutover (--online)"},
    OPT_END};

static const cmdline_option_t s_project_create_options[] = {
    {"name", 'n', "P", CLI_OPT_NAME, "the project's name (required)"},
    {"source-platform", 0, "PLATFORM", CLI_OPT_SOURCE_PLATFORM,
     "PostgreSQL (required)"},
    {"target-platform", 0, "PLATFORM", CLI_OPT_TARGET_PLATFORM,
     "PostgreSQL (required)"},
    OPT_END};

static const cmdline_option_t s_project_delete_options[] = {
    {"name", 'n', "P", CLI_OPT_NAME, "the project's name (required)"}, OPT_END};

static const cmdline_option_t s_no_options[] = {OPT_END};

static const cmdline_option_t s_task_create_options[] = {
    OPT_PROJECT,
    OPT_TASK,
    {"task-type", 0, "TYPE", CLI_OPT_TASK_TYPE,
     "OfflineMigration or OnlineMigration (required)"},
    {"source-connection-json", 0, "FILE", CLI_OPT_SOURCE_JSON,
     "the source server, as JSON (required)"},
    {"target-connection-json", 0, "FILE", CLI_OPT_TARGET_JSON,
     "the target server, as JSON (required)"},
    {"database-options-json", 0, "FILE", CLI_OPT_OPTIONS_JSON,
     "the databases and tables to move (required)"},
    OPTS_RESTORE,
    {"fix-replica-identity", 0, NULL, CLI_OPT_FIX_REPLICA_IDENTITY,
     "REPLICA IDENTITY FULL where no key (online)"},
    OPT_END};

static const cmdline_option_t s_task_show_options[] = {
    OPT_PROJECT,
    OPT_TASK,
    {"expand", 0, "output", CLI_OPT_EXPAND,
     "add each database's and table's output"},
    OPT_OUTPUT,
    OPT_END};

static const cmdline_option_t s_task_options[] = {OPT_PROJECT, OPT_TASK,
                                                  OPT_END};

static const cmdline_option_t s_task_cutover_options[] = {
    OPT_PROJECT,
    OPT_TASK,
    {"object-name", 0, "DB", CLI_OPT_OBJECT_NAME,
     "the database to cut over (required)"},
    {"validate", 0, NULL, CLI_OPT_VALIDATE,
     "compare every table before completing"},
    OPT_END};

static const cmdline_option_t s_output_options[] = {OPT_OUTPUT, OPT_END};

static const cli_verb_t s_verbs[] = {
    {CLI_VERB_MIGRATE, "migrate", "--source URI --target URI [OPTION]...",
     "Migrates a database from here, with daemons of its own.\n"
     "It starts a coordinator and agents on private sockets, runs one task "
     "through\nthem and prints its progress (embedded mode).",
     NULL, s_migrate_options},
    {CLI_VERB_PROJECT_CREATE, "project create",
     "-n P --source-platform PostgreSQL\n  --target-platform PostgreSQL",
     "Creates a project: a name that groups tasks.", NULL,
     s_project_create_options},
    {CLI_VERB_PROJECT_DELETE, "project delete", "-n P", "Deletes a project.",
     NULL, s_project_delete_options},
    {CLI_VERB_PROJECT_LIST, "project list", "",
     "Lists the projects and their tasks, as JSON.", NULL, s_no_options},
    {CLI_VERB_TASK_CREATE, "task create",
     "--project-name P -n T --task-type TYPE\n"
     "  --source-connection-json FILE --target-connection-json FILE\n"
     "  --database-options-json FILE [OPTION]...",
     "Creates a migration task and starts it.\n"
     "Both servers and every table are checked first: a task that fails a "
     "check is\nnot kept.",
     NULL, s_task_create_options},
    {CLI_VERB_TASK_SHOW, "task show", "--project-name P -n T [OPTION]...",
     "Prints a task's state, errors and progress.", NULL, s_task_show_options},
    {CLI_VERB_TASK_WATCH, "task watch", "--project-name P -n T",
     "Shows a task's progress until it ends, live on a terminal.\n"
     "Exits 0 if the task succeeded, 1 if it failed or was cancelled, or "
     "if the\nwatch was stopped (Ctrl-C).\n"
     "On a terminal, one screen redrawn in place and fitted to its size: "
     "each\ndatabase's state, bars for tables and bytes, rate and ETA, in "
     "change data\ncapture the lag in seconds and bytes with its recent "
     "history; then the failed,\nthe loading and the slowest tables, and "
     "how many more there are. Unicode\nblocks in a UTF-8 locale, ASCII "
     "otherwise.\n"
     "Without a terminal (or with TERM=dumb), a line per change: a "
     "table's or a\ndatabase's state, and the numbers at most every 5 "
     "seconds.",
     NULL, s_task_options},
    {CLI_VERB_TASK_CUTOVER, "task cutover",
     "--project-name P -n T --object-name DB [--validate]",
     "Cuts an online task's database over, once caught up.\n"
     "It waits until the database is COMPLETED (exit 0) or has failed "
     "(exit 1).",
     NULL, s_task_cutover_options},
    {CLI_VERB_TASK_CANCEL, "task cancel", "--project-name P -n T",
     "Cancels a task, dropping its slot on the source.", NULL, s_task_options},
    {CLI_VERB_TASK_DELETE, "task delete", "--project-name P -n T",
     "Deletes a task, dropping its slot on the source.", NULL, s_task_options},
    {CLI_VERB_AGENT_LIST, "agent list", "[-o json|table]",
     "Lists the agents: state, heartbeat, jobs and running units.\n"
     "An agent is alive while it sends heartbeats, and leased while units "
     "may be\nplaced on it; lost agents stay listed until the coordinator "
     "restarts.",
     NULL, s_output_options},
    {CLI_VERB_KEYGEN, "keygen", "PATH",
     "Writes a CURVE key pair: PATH and PATH_secret.\n"
     "PATH is the public certificate, PATH_secret the key pair to keep "
     "secret.",
     "PATH", s_no_options},
};

#define CLI_NVERBS (sizeof s_verbs / sizeof s_verbs[0])

const cli_verb_t *
cli_verb_find(const char *noun, const char *verb)
{
    size_t noun_len = strlen(noun);

    for (size_t i = 0; i < CLI_NVERBS; i++)
    {
        const char *name = s_verbs[i].name;
        if (strncmp(name, noun, noun_len) != 0)
        {
            continue;
        }
        if (verb == NULL ? name[noun_len] == '\0'
                         : (name[noun_len] == ' ' &&
                            strcmp(name + noun_len + 1, verb) == 0))
        {
            return &s_verbs[i];
        }
    }
    return NULL;
}

bool
cli_verbs_is_noun(const char *noun)
{
    size_t noun_len = strlen(noun);

    for (size_t i = 0; i < CLI_NVERBS; i++)
    {
        if (strncmp(s_verbs[i].name, noun, noun_len) == 0 &&
            s_verbs[i].name[noun_len] == ' ')
        {
            return true;
        }
    }
    return false;
}

/* "  task show        Prints a task's ...": the summary's first line */
static void
s_print_summary_line(const cli_verb_t *verb, FILE *out)
{
    fprintf(out, "  %-18s%.*s\n", verb->name,
            (int) strcspn(verb->summary, "\n"), verb->summary);
}

void
cli_verb_print_help(const cli_verb_t *verb, FILE *out)
{
    fprintf(out, "Usage: %s %s%s%s\n%s\n\nOptions:\n", PGCONVOY_CLI_NAME,
            verb->name, verb->synopsis[0] ? " " : "", verb->synopsis,
            verb->summary);
    cmdline_print_options(verb->options, out);
}

void
cli_verbs_print_noun(const char *noun, FILE *out)
{
    size_t noun_len = strlen(noun);

    fprintf(out, "Usage: %s %s COMMAND [OPTION]...\n\nCommands:\n",
            PGCONVOY_CLI_NAME, noun);
    for (size_t i = 0; i < CLI_NVERBS; i++)
    {
        if (strncmp(s_verbs[i].name, noun, noun_len) == 0 &&
            s_verbs[i].name[noun_len] == ' ')
        {
            s_print_summary_line(&s_verbs[i], out);
        }
    }
    fprintf(out, "\n\"%s %s COMMAND --help\" prints a command's options.\n",
            PGCONVOY_CLI_NAME, noun);
}

void
cli_verbs_print_overview(FILE *out)
{
    fprintf(out,
            "Usage: %s [OPTION]... COMMAND [COMMAND OPTION]...\n"
            "Migrates PostgreSQL databases, online or offline: through a "
            "%s\nand its %s processes, or on its own with \"migrate\".\n"
            "\nCommands:\n",
            PGCONVOY_CLI_NAME, PGCONVOY_COORDINATOR_NAME, PGCONVOY_AGENT_NAME);
    for (size_t i = 0; i < CLI_NVERBS; i++)
    {
        s_print_summary_line(&s_verbs[i], out);
    }
    fprintf(out, "  %-18s%s\n", "help [COMMAND]",
            "Prints this help, or a command's.");
    fprintf(out, "\nOptions:\n");
    cmdline_print_options(cli_global_options, out);
    fprintf(out,
            "\n"
            "These options go before the command; \"%s COMMAND --help\" "
            "prints its own.\n"
            "The coordinator defaults to $PGCONVOY_COORDINATOR, else %s.\n"
            "CURVE: --curve-secret and --curve-server default to "
            "$PGCONVOY_CURVE_SECRET and\n$PGCONVOY_CURVE_SERVER; they go "
            "together.\n"
            "Exit status: 0 done, 1 failed, 2 bad usage or bad input.\n",
            PGCONVOY_CLI_NAME, CLI_DEFAULT_ENDPOINT);
}

/* text with each line break (and the indent after it) as one space */
static void
s_print_one_line(const char *text, FILE *out)
{
    for (const char *p = text; *p != '\0'; p++)
    {
        if (*p == '\n')
        {
            fputc(' ', out);
            p += strspn(p + 1, " ");
            continue;
        }
        fputc(*p, out);
    }
}

/*
 * The overview, then a section of every command's help in the shape
 * help2man makes a manual page of: "*Commands*" starts a section, and a
 * line ending in ':' followed by an indented one a subsection.
 */
void
cli_verbs_print_all(FILE *out)
{
    cli_verbs_print_overview(out);
    fprintf(out, "\n*Commands*\n");
    for (size_t i = 0; i < CLI_NVERBS; i++)
    {
        const cli_verb_t *verb = &s_verbs[i];
        fprintf(out, "%s %s:\n  %s %s ", PGCONVOY_CLI_NAME, verb->name,
                PGCONVOY_CLI_NAME, verb->name);
        s_print_one_line(verb->synopsis, out);
        fprintf(out, "\n\n%s\n\n", verb->summary);
        cmdline_print_options(verb->options, out);
        fputc('\n', out);
    }
}
