/*
 * cli/progress.c
 *     Progress lines for a log: what `migrate` prints, and `task watch`
 *     without a terminal.
 *
 * A line only when something changed: at once for a state (the task's, a
 * database's, a table's), else at most every every_ms and only if a
 * number moved, so that a log of a long migration stays readable and no
 * two lines in a row say the same.
 */
#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/strbuf.h"

/* databases whose throughput a progress line works out */
#define PROGRESS_MAX_DATABASES 256

struct cli_progress_t
{
    int64_t every_ms; /* the least time between two lines of numbers */
    char *line;       /* the last databases' lines printed, owned */
    char *states;     /* the states they showed, owned */
    int64_t at_ms;    /* when, zclock_mono() */
    int64_t bytes[PROGRESS_MAX_DATABASES]; /* each database's copied then */
    size_t n;
    zhashx_t *tables; /* "database\ttable" -> its last state; NULL until a
                         status with tables was seen */
};

cli_progress_t *
cli_progress_new(int64_t every_ms)
{
    cli_progress_t *self = xcalloc(1, sizeof(cli_progress_t));

    self->every_ms = every_ms;
    return self;
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
    zhashx_destroy(&self->tables);
    free(self);
    *self_p = NULL;
}

/* A line for each table whose state changed since the status before:
 * none for the first status, whose tables' states are where we start. */
static void
s_log_tables(cli_progress_t *self, json_object *status, FILE *out)
{
    json_object *output = cli_status_output(status);
    size_t n = output ? json_object_array_length(output) : 0;
    bool first = self->tables == NULL;
    char now[16];
    time_t t = time(NULL);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(now, sizeof now, "%H:%M:%S", &tm);
    if (first)
    {
        self->tables = zhashx_new();
        zhashx_set_destructor(self->tables, (zhashx_destructor_fn *) zstr_free);
    }
    for (size_t i = 0; i < n; i++)
    {
        json_object *item = json_object_array_get_idx(output, i);
        if (strcmp(cli_json_str(item, "resultType"), "TableLevelOutput") != 0)
        {
            continue;
        }
        const char *db = cli_json_str(item, "databaseName");
        const char *name = cli_json_str(item, "tableName");
        const char *state = cli_json_str(item, "state");
        char *key = xasprintf("%s\t%s", db, name);
        const char *was = zhashx_lookup(self->tables, key);

        if (was != NULL && strcmp(was, state) == 0)
        {
            free(key);
            continue;
        }
        /* a table that shows up queued is counted in its database's
         * line: only its moves are news */
        if (!first && (was != NULL || strcmp(state, "QUEUED") != 0))
        {
            fprintf(out, "%s %s: table %s %s -> %s", now, db, name,
                    was ? was : "new", state);
            if (strcmp(state, "COMPLETED") == 0)
            {
                char bytes[32];
                cli_format_bytes(cli_json_int(item, "fullLoadTotalVolumeBytes"),
                                 bytes, sizeof bytes);
                fprintf(out, ", %lld rows, %s in %.1f s",
                        (long long) cli_json_int(item, "fullLoadTotalRows"),
                        bytes,
                        json_object_get_double(
                            json_object_object_get(item, "fullLoadSeconds")));
            }
            else if (strcmp(state, "ERROR") == 0)
            {
                fprintf(out, ": %s", cli_json_str(item, "errorMessage"));
            }
            fputc('\n', out);
        }
        zhashx_update(self->tables, key, xstrdup(state));
        free(key);
    }
    fflush(out);
}

void
cli_progress_log(cli_progress_t *self, json_object *status, FILE *out)
{
    int64_t now = zclock_mono();
    int64_t bytes[PROGRESS_MAX_DATABASES];
    int64_t rates[PROGRESS_MAX_DATABASES];
    size_t n = cli_database_bytes(status, bytes, PROGRESS_MAX_DATABASES);
    char *states = NULL;
    char *line = NULL;
    size_t len = 0;

    s_log_tables(self, status, out);
    states = cli_states(status);
    bool moved = self->states == NULL || strcmp(states, self->states) != 0;
    if (!moved && now - self->at_ms < self->every_ms)
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
        rates[k] =
            self->line != NULL && ms > 0 && since > 0 ? since * 1000 / ms : 0;
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
