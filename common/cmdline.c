/*
 * common/cmdline.c
 *     getopt_long over an option table, and the table's help.
 *
 * optind is reset on every cmdline_init(): a process parses global
 * options and then a command's with different tables.
 */
#include "common/cmdline.h"

#include <assert.h>
#include <string.h>

/* where the options' help starts: what help2man and an 80-column
 * terminal both read well */
#define CMDLINE_HELP_COLUMN 30

static const cmdline_option_t s_help_option = {"help", 'h', NULL, CMDLINE_HELP,
                                               "print this help and exit"};

void
cmdline_init(cmdline_t *self, const cmdline_option_t *options,
             const char *program, const char *command, bool stop_at_operand)
{
    size_t n = 0;
    size_t s = 0;

    memset(self, 0, sizeof *self);
    self->options = options;
    self->program = program;
    self->command = command;
    if (stop_at_operand)
    {
        self->shorts[s++] = '+';
    }
    self->shorts[s++] = ':'; /* a missing value is told apart: ':' */
    for (const cmdline_option_t *o = options;; o++)
    {
        if (o->name == NULL)
        {
            o = &s_help_option;
        }
        assert(n < CMDLINE_MAX_OPTIONS + 1);
        assert(o == &s_help_option ||
               (o->key != CMDLINE_HELP && o->short_name != 'h'));
        self->longs[n].name = o->name;
        self->longs[n].has_arg = o->value ? required_argument : no_argument;
        self->longs[n].val = o->key;
        n++;
        if (o->short_name != 0)
        {
            self->shorts[s++] = o->short_name;
            if (o->value != NULL)
            {
                self->shorts[s++] = ':';
            }
        }
        if (o == &s_help_option)
        {
            break;
        }
    }
    optind = 0; /* 0, not 1: glibc then forgets the last argv's state */
    opterr = 0; /* we name the bad option ourselves */
}

/* Prints "PROGRAM: error: BEFORE OPTION[ for "COMMAND"]AFTER; see
 * PROGRAM[ COMMAND] --help". */
static void
s_complain(const cmdline_t *self, const char *before, const char *option,
           int option_len, const char *after)
{
    const char *sep = self->command ? " " : "";
    const char *command = self->command ? self->command : "";

    fprintf(stderr, "%s: error: %s%.*s", self->program, before, option_len,
            option);
    if (self->command != NULL)
    {
        fprintf(stderr, " for \"%s\"", self->command);
    }
    fprintf(stderr, "%s; see %s%s%s --help\n", after, self->program, sep,
            command);
}

int
cmdline_next(cmdline_t *self, int argc, char **argv)
{
    int c = getopt_long(argc, argv, self->shorts, self->longs, NULL);
    char letter[3] = {'-', (char) optopt, '\0'};
    const char *arg = NULL;

    if (c != '?' && c != ':')
    {
        return c;
    }
    /* a bad one-letter option is in optopt; a bad long one is the
     * argument getopt_long just passed, up to any "=value" */
    arg = (c == '?' && optopt != 0) ? letter : argv[optind - 1];
    s_complain(self, c == '?' ? "unknown option " : "option ", arg,
               (int) strcspn(arg, "="), c == '?' ? "" : " needs a value");
    return CMDLINE_ERROR;
}

void
cmdline_print_options(const cmdline_option_t *options, FILE *out)
{
    for (const cmdline_option_t *o = options;; o++)
    {
        char spec[128];
        if (o->name == NULL)
        {
            o = &s_help_option;
        }
        int len = snprintf(
            spec, sizeof spec, "  %c%c%s--%s%s%s", o->short_name ? '-' : ' ',
            o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ",
            o->name, o->value ? " " : "", o->value ? o->value : "");
        if (len >= CMDLINE_HELP_COLUMN - 1)
        {
            fprintf(out, "%s\n%*s%s\n", spec, CMDLINE_HELP_COLUMN, "", o->help);
        }
        else
        {
            fprintf(out, "%-*s%s\n", CMDLINE_HELP_COLUMN, spec, o->help);
        }
        if (o == &s_help_option)
        {
            break;
        }
    }
}
