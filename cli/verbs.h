/*
 * cli/verbs.h
 *     Every command of pgconvoy ("task show", "migrate", ...): its usage,
 *     what it does and the options it takes, in one table that both the
 *     parsers (main.c, migrate.c) and every help text read.
 *
 * An option is accepted by a command only if its row is in that
 * command's table, and then its help lists it: the two cannot drift.
 * The parsers' switches handle the keys below.
 */
#ifndef PGCONVOY_CLI_VERBS_H
#define PGCONVOY_CLI_VERBS_H

#include <stdbool.h>
#include <stdio.h>

#include "common/cmdline.h"

/* What cmdline_next() returns for the CLI's options: the letter of
 * those that have one, else a number past every letter. */
typedef enum
{
    CLI_OPT_NAME = 'n',
    CLI_OPT_OUTPUT = 'o',
    CLI_OPT_PROJECT = 0x200,
    CLI_OPT_SOURCE_PLATFORM,
    CLI_OPT_TARGET_PLATFORM,
    CLI_OPT_TASK_TYPE,
    CLI_OPT_SOURCE_JSON,
    CLI_OPT_TARGET_JSON,
    CLI_OPT_OPTIONS_JSON,
    CLI_OPT_OBJECT_NAME,
    CLI_OPT_EXPAND,
    CLI_OPT_VALIDATE,
    CLI_OPT_SPLIT,
    CLI_OPT_FIX_REPLICA_IDENTITY,
    CLI_OPT_NO_OWNER,
    CLI_OPT_NO_PRIVILEGES,
    CLI_OPT_ROLES,
    CLI_OPT_ROLE_PASSWORDS,
    CLI_OPT_NO_ANALYZE,
    CLI_OPT_SOURCE, /* migrate */
    CLI_OPT_TARGET,
    CLI_OPT_TABLES,
    CLI_OPT_AGENTS,
    CLI_OPT_JOBS,
    CLI_OPT_STATE_DIR,
    CLI_OPT_ONLINE,
    CLI_OPT_CUTOVER_WHEN_READY,
    CLI_OPT_COORDINATOR, /* global, before the command */
    CLI_OPT_CURVE_SECRET,
    CLI_OPT_CURVE_SERVER,
    CLI_OPT_HELP_ALL,
} cli_option_key_t;

typedef enum
{
    CLI_VERB_MIGRATE,
    CLI_VERB_PROJECT_CREATE,
    CLI_VERB_PROJECT_DELETE,
    CLI_VERB_PROJECT_LIST,
    CLI_VERB_TASK_CREATE,
    CLI_VERB_TASK_SHOW,
    CLI_VERB_TASK_WATCH,
    CLI_VERB_TASK_CUTOVER,
    CLI_VERB_TASK_CANCEL,
    CLI_VERB_TASK_DELETE,
    CLI_VERB_AGENT_LIST,
    CLI_VERB_KEYGEN,
} cli_verb_id_t;

typedef struct
{
    cli_verb_id_t id;
    const char *name;     /* "task show": what the user types */
    const char *synopsis; /* what follows the name in the usage line */
    const char *summary;  /* one line: what it does */
    const char *operand;  /* the one operand it takes ("PATH"), or NULL */
    const cmdline_option_t *options;
} cli_verb_t;

/* The options before the command (--coordinator, --version, ...). */
extern const cmdline_option_t cli_global_options[];

/* The command "noun verb" ("task", "show"), or the one-word command
 * noun ("migrate": verb NULL); NULL if there is none. */
const cli_verb_t *cli_verb_find(const char *noun, const char *verb);
/* Whether noun is the first word of two-word commands ("task"). */
bool cli_verbs_is_noun(const char *noun);

/* A command's help: usage, what it does, every option. */
void cli_verb_print_help(const cli_verb_t *verb, FILE *out);
/* pgconvoy task --help: the noun's commands, one line each. */
void cli_verbs_print_noun(const char *noun, FILE *out);
/* pgconvoy --help: the global options and the commands, one line each. */
void cli_verbs_print_overview(FILE *out);
/* pgconvoy --help-all: the overview, then every command's help (what the
 * manual page is made from). */
void cli_verbs_print_all(FILE *out);

#endif
