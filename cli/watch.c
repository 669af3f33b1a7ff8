/*
 * cli/watch.c
 *     Following a task until it ends: `task watch`, and the end of
 *     `migrate`. On a terminal a screen redrawn in place (view.c, term.c),
 *     else progress lines (progress.c).
 *
 * The end of a task is seen within WATCH_LOOK_EVERY_MS: that look asks
 * only for the task's state, which costs the coordinator the same at any
 * number of tables. The status with every table, whose cost grows with
 * the tables, is asked for once a redraw or a line is due.
 */
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "cli/view.h"

#define WATCH_LOOK_EVERY_MS 50
/* a terminal's redraw; each is a sample of the rates and the lag history */
#define WATCH_REDRAW_EVERY_MS 1000
/* a log's: the status, and the least time between two lines of numbers
 * (quiet: `migrate`'s log, which also shows no table) */
#define WATCH_STATUS_EVERY_MS 1000
#define WATCH_LINE_EVERY_MS 5000
#define WATCH_QUIET_STATUS_EVERY_MS 250
#define WATCH_QUIET_LINE_EVERY_MS 1000

/* Whether the task has ended, from its state alone: 1 or 0, or -1 when
 * the coordinator did not answer (*code says why). */
static int
s_task_ended(const char *endpoint, const char *project, const char *task,
             int *code)
{
    json_object *status =
        cli_fetch_status(endpoint, project, task, CLI_STATUS_TASK, code);
    int ended = status ? cli_state_is_final(cli_task_state(status)) : -1;

    json_object_put(status);
    return ended;
}

/* The exit code of a task whose status is final, else -1. */
static int
s_final_code(json_object *status)
{
    const char *state = cli_task_state(status);

    if (!cli_state_is_final(state))
    {
        return -1;
    }
    return strcmp(state, "Succeeded") == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* Progress lines until the task ends. */
static int
s_watch_log(const char *endpoint, const char *project, const char *task,
            bool quiet)
{
    cli_progress_t *progress = cli_progress_new(
        quiet ? WATCH_QUIET_LINE_EVERY_MS : WATCH_LINE_EVERY_MS);
    int64_t next = 0;
    int code = CLI_EXIT_OK;

    while (!zsys_interrupted)
    {
        int ended = s_task_ended(endpoint, project, task, &code);
        if (ended < 0)
        {
            break;
        }
        if (ended || zclock_mono() >= next)
        {
            json_object *status = cli_fetch_status(
                endpoint, project, task,
                quiet ? CLI_STATUS_SUMMARY : CLI_STATUS_FULL, &code);
            if (status == NULL)
            {
                break;
            }
            cli_progress_log(progress, status, stdout);
            /* the status read after the state: it may be final already */
            int final = s_final_code(status);
            json_object_put(status);
            if (final >= 0)
            {
                code = final;
                break;
            }
            next = zclock_mono() + (quiet ? WATCH_QUIET_STATUS_EVERY_MS
                                          : WATCH_STATUS_EVERY_MS);
        }
        usleep(WATCH_LOOK_EVERY_MS * 1000);
    }
    if (zsys_interrupted)
    {
        code = CLI_EXIT_FAILED;
    }
    cli_progress_destroy(&progress);
    return code;
}

/* The live view on term until the task ends; the last screen, a line
 * shorter than the terminal, is left in *last_p (owned by the caller), to
 * print once term is given back. */
static int
s_watch_screen(term_t *term, const char *endpoint, const char *project,
               const char *task, char **last_p)
{
    view_t *view = view_new(term_is_utf8());
    json_object *status = NULL;
    json_object *agents = NULL;
    int64_t next = 0;
    int code = CLI_EXIT_OK;
    int final = -1;

    while (!zsys_interrupted && final < 0)
    {
        int ended = s_task_ended(endpoint, project, task, &code);
        bool due = ended != 0 || zclock_mono() >= next;
        if (ended < 0)
        {
            break;
        }
        if (due)
        {
            json_object_put(status);
            json_object_put(agents);
            agents = NULL;
            status = cli_fetch_status(endpoint, project, task, CLI_STATUS_FULL,
                                      &code);
            if (status == NULL)
            {
                break;
            }
            int ignored = 0;
            agents = cli_fetch_agents(endpoint, &ignored); /* NULL: none */
            view_add_sample(view, status, zclock_mono());
            final = s_final_code(status);
            next = zclock_mono() + WATCH_REDRAW_EVERY_MS;
        }
        /* a resize redraws at once, from the status we have */
        if (due || term_was_resized(term))
        {
            int rows = 0;
            int cols = 0;
            term_size(term, &rows, &cols);
            free(*last_p);
            *last_p = view_render(view, status, agents, rows, cols);
            term_draw(term, *last_p);
        }
        if (final < 0)
        {
            usleep(WATCH_LOOK_EVERY_MS * 1000);
        }
    }
    code = final >= 0 ? final : zsys_interrupted ? CLI_EXIT_FAILED : code;
    if (status != NULL)
    {
        /* left on the main screen: a line less, for the shell's prompt */
        int rows = 0;
        int cols = 0;
        term_size(term, &rows, &cols);
        free(*last_p);
        *last_p = view_render(view, status, agents, rows - 1, cols);
    }
    json_object_put(status);
    json_object_put(agents);
    view_destroy(&view);
    return code;
}

int
cli_watch(const char *endpoint, const char *project, const char *task,
          bool quiet)
{
    term_t *term = quiet ? NULL : term_new();
    char *last = NULL;
    int code = CLI_EXIT_OK;

    if (term == NULL)
    {
        return s_watch_log(endpoint, project, task, quiet);
    }
    code = s_watch_screen(term, endpoint, project, task, &last);
    term_destroy(&term);
    /* the alternate screen is gone: what it showed last stays readable */
    if (last != NULL)
    {
        fputs(last, stdout);
        fflush(stdout);
    }
    free(last);
    return code;
}
