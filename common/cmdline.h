/*
 * common/cmdline.h
 *     A command's options as one table: getopt_long's tables, the help's
 *     list of options and the message for a bad option are all made from
 *     it, so that what a command accepts and what its help says cannot
 *     drift apart.
 *
 * Every table gets -h/--help without listing it (cmdline_next() returns
 * CMDLINE_HELP). A bad option is named on stderr, with where to read the
 * command's help, and the caller exits 2 with nothing done.
 */
#ifndef PGCONVOY_COMMON_CMDLINE_H
#define PGCONVOY_COMMON_CMDLINE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct
{
    const char *name;  /* long name without "--"; NULL ends a table */
    char short_name;   /* its one-letter form, or 0 */
    const char *value; /* the value's placeholder ("FILE"); NULL: a flag */
    int key;           /* what cmdline_next() returns for it */
    const char *help;  /* one line: what it is for, and its default */
} cmdline_option_t;

/* what cmdline_next() returns besides an option's key */
#define CMDLINE_END (-1)
#define CMDLINE_ERROR (-2) /* a bad option or a missing value, printed */
#define CMDLINE_HELP 'h'
/* a key for --version: outside the range of one-letter options */
#define CMDLINE_VERSION 0x100

#define CMDLINE_MAX_OPTIONS 32

/*
 * getopt_long's state for one table. It lives on the caller's stack, not
 * behind a pointer: parsing allocates nothing, so --help and a bad option
 * can end the process with nothing to free.
 */
typedef struct
{
    const cmdline_option_t *options; /* borrowed */
    const char *program;             /* "pgconvoy": messages' prefix */
    const char *command;             /* "task show", or NULL: the program */
    struct option longs[CMDLINE_MAX_OPTIONS + 2]; /* + --help, the end */
    char shorts[3 * CMDLINE_MAX_OPTIONS + 8];     /* "+:n:o:h" */
} cmdline_t;

/*
 * Gets ready to read argv with options (borrowed, as are program and
 * command). stop_at_operand: the first argument that is not an option
 * ends the options (global options before a command), instead of
 * options and operands mixing.
 */
void cmdline_init(cmdline_t *self, const cmdline_option_t *options,
                  const char *program, const char *command,
                  bool stop_at_operand);

/* The next option's key, with its value in optarg; CMDLINE_HELP,
 * CMDLINE_END (optind is then the first operand) or CMDLINE_ERROR. */
int cmdline_next(cmdline_t *self, int argc, char **argv);

/* Prints one line an option, -h/--help last, as help2man reads them. */
void cmdline_print_options(const cmdline_option_t *options, FILE *out);

#endif
