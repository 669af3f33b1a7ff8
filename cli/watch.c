/*
 * cli/watch.c
 *     Following a task: `task watch`, and the progress log that `migrate`
 *     and a watch without a terminal print.
 *
 * The end of a task is seen within WATCH_LOOK_EVERY_MS: that look asks
 * only for the task's state, which costs the coordinator the same at any
 * number of tables. The totals, whose cost grows with the tables, are
 * asked for once a line is due.
 */
#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/strbuf.h"

#define WATCH_LOOK_EVERY_MS 50
/* the totals, for a log (printed at most every WATCH_LINE_EVERY_MS) or
 * for a terminal's redraw */
#define WATCH_TOTALS_EVERY_MS 250
#define WATCH_LINE_EVERY_MS 1000
#define WATCH_REDRAW_EVERY_MS 1000
/* databases whose throughput a progress line works out */
#define WATCH_MAX_DATABASES 256

struct cli_progress_t
{
    char *line;    /* the last line printed, owned */
    char *states;  /* the states it showed, owned */
    int64_t at_ms; /* when, zclock_mono() */
    int64_t bytes[WATCH_MAX_DATABASES]; /* each database's copied then */
    size_t n;
};

cli_progress_t *
cli_progress_new(void)
{
    return xcalloc(1, sizeof(cli_progress_t));
}

void
cli_progress_destroy(cli_progress_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    cli_progress_t *self = *self_p;

    free(self->line);
    free(self->states);
    free(self);
    *self_p = NULL;
}

void
cli_progress_log(cli_progress_t *self, json_object *status, FILE *out)
{
    int64_t now = zclock_mono();
    int64_t bytes[WATCH_MAX_DATABASES];
    int64_t rates[WATCH_MAX_DATABASES];
    size_t n = cli_database_bytes(status, bytes, WATCH_MAX_DATABASES);
    char *states = cli_states(status);
    char *line = NULL;
    size_t len = 0;
    bool moved = self->states == NULL || strcmp(states, self->states) != 0;

    if (!moved && now - self->at_ms < WATCH_LINE_EVERY_MS)
    {
        free(states);
        return;
    }
    for (size_t k = 0; k < n; k++)
    {
        /* what was copied since the line before: small tables report
         * their bytes only once done, never while loading */
        int64_t since = k < self->n ? bytes[k] - self->bytes[k] : 0;
        int64_t ms = now - self->at_ms;
        rates[k] = self->line != NULL && ms > 0 && since > 0
                       ? since * 1000 / ms
                       : 0;
    }
    FILE *mem = open_memstream(&line, &len);
    cli_render_progress(status, rates, n, mem);
    fclose(mem);
    /* lines start with the time, "HH:MM:SS ": compare after it */
    if (moved || self->line == NULL || len < 9 || strlen(self->line) < 9 ||
        strcmp(self->line + 9, line + 9) != 0)
    {
        fputs(line, out);
        fflush(out);
        free(self->line);
        free(self->states);
        self->line = line;
        self->states = states;
        self->at_ms = now;
        memcpy(self->bytes, bytes, n * sizeof bytes[0]);
        self->n = n;
        return;
    }
    free(line);
    free(states);
}

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

int
cli_watch(const char *endpoint, const char *project, const char *task,
          bool quiet)
{
    bool tty = isatty(STDOUT_FILENO) && !quiet;
    cli_progress_t *progress = cli_progress_new();
    int64_t next_line = 0;
    int code = CLI_EXIT_OK;

    for (;;)
    {
        int ended = s_task_ended(endpoint, project, task, &code);
        if (ended < 0)
        {
            break;
        }
        if (ended || zclock_mono() >= next_line)
        {
            json_object *status = cli_fetch_status(
                endpoint, project, task,
                tty ? CLI_STATUS_FULL : CLI_STATUS_SUMMARY, &code);
            if (status == NULL)
            {
                break;
            }
            if (tty)
            {
                fputs("\033[H\033[2J", stdout); /* redraw in place */
                cli_render_table(status, stdout);
                fflush(stdout);
            }
            else
            {
                cli_progress_log(progress, status, stdout);
            }
            /* the status read after the state: it may be final already */
            bool final = cli_state_is_final(cli_task_state(status));
            if (final)
            {
                code = strcmp(cli_task_state(status), "Succeeded") == 0
                           ? CLI_EXIT_OK
                           : CLI_EXIT_FAILED;
            }
            json_object_put(status);
            if (final)
            {
                break;
            }
            next_line = zclock_mono() +
                        (tty ? WATCH_REDRAW_EVERY_MS : WATCH_TOTALS_EVERY_MS);
        }
        usleep(WATCH_LOOK_EVERY_MS * 1000);
    }
    cli_progress_destroy(&progress);
    return code;
}
