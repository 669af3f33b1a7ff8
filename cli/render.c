/*
 * cli/render.c
 *     Status for a person: `task show -o table`, the progress lines of
 *     `migrate`, `task watch` and `agent list -o table`.
 *
 * Everything here reads the same JSON that `-o json` prints, so the two
 * views can never disagree.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/strbuf.h"

const char *
cli_json_str(json_object *obj, const char *key)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex(obj, key, &value) || value == NULL)
    {
        return "-";
    }
    return json_object_get_string(value);
}

int64_t
cli_json_int(json_object *obj, const char *key)
{
    json_object *value = NULL;
    return json_object_object_get_ex(obj, key, &value)
               ? json_object_get_int64(value)
               : 0;
}

json_object *
cli_status_output(json_object *status)
{
    json_object *props = NULL;
    json_object *out = NULL;
    if (json_object_object_get_ex(status, "properties", &props))
    {
        (void) json_object_object_get_ex(props, "output", &out);
    }
    return out;
}

static bool
s_is(json_object *item, const char *type)
{
    return strcmp(cli_json_str(item, "resultType"), type) == 0;
}

void
cli_format_bytes(int64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    double value = (double) bytes;
    int unit = 0;

    while (value >= 1000 && unit < 4)
    {
        value /= 1000;
        unit++;
    }
    snprintf(buf, size, unit ? "%.1f %s" : "%.0f %s", value, units[unit]);
}

const char *
cli_task_state(json_object *status)
{
    json_object *props = NULL;
    return json_object_object_get_ex(status, "properties", &props)
               ? cli_json_str(props, "state")
               : "-";
}

bool
cli_state_is_final(const char *state)
{
    return strcmp(state, "Succeeded") == 0 || strcmp(state, "Failed") == 0 ||
           strcmp(state, "Canceled") == 0;
}

static void
s_render_errors(json_object *status, FILE *out)
{
    json_object *props = NULL;
    json_object *errors = NULL;

    if (json_object_object_get_ex(status, "properties", &props) &&
        json_object_object_get_ex(props, "errors", &errors) &&
        json_object_array_length(errors) > 0)
    {
        fprintf(out, "\nerrors:\n");
        for (size_t i = 0; i < json_object_array_length(errors); i++)
        {
            fprintf(
                out, "  %s\n",
                json_object_get_string(json_object_array_get_idx(errors, i)));
        }
    }
}

/* What a database waits out, and what it may still leave on the servers
 * (its cleanup has not succeeded yet): the lines under its row, each
 * indented; nothing when all goes well. */
static void
s_render_database_notes(json_object *d, FILE *out)
{
    json_object *left = NULL;

    if (strcmp(cli_json_str(d, "waitingOut"), "-") != 0)
    {
        char held[32];

        cli_format_bytes(cli_json_int(d, "slotRetainedWalBytes"), held,
                         sizeof held);
        fprintf(out,
                "    waiting out since %s (%lld retries, slot holds %s of "
                "WAL): %s\n",
                cli_json_str(d, "waitingSince"),
                (long long) cli_json_int(d, "retries"), held,
                cli_json_str(d, "waitingOut"));
    }
    if (json_object_object_get_ex(d, "cleanupPending", &left) &&
        json_object_array_length(left) > 0)
    {
        fprintf(out, "    cleanup %s, not yet known gone:",
                cli_json_str(d, "cleanupState"));
        for (size_t j = 0; j < json_object_array_length(left); j++)
        {
            fprintf(out, "%s %s", j ? "," : "",
                    json_object_get_string(json_object_array_get_idx(left, j)));
        }
        fputc('\n', out);
    }
}

void
cli_render_table(json_object *status, FILE *out)
{
    json_object *output = cli_status_output(status);
    size_t n = output ? json_object_array_length(output) : 0;
    json_object *props = NULL;

    (void) json_object_object_get_ex(status, "properties", &props);
    fprintf(out, "task %s (%s): %s\n", cli_json_str(status, "name"),
            cli_json_str(props, "taskType"), cli_task_state(status));
    for (size_t i = 0; i < n; i++)
    {
        json_object *m = json_object_array_get_idx(output, i);
        if (s_is(m, "MigrationLevelOutput"))
        {
            fprintf(out, "  source %s (%s) -> target %s (%s)\n",
                    cli_json_str(m, "sourceServer"),
                    cli_json_str(m, "sourceVersion"),
                    cli_json_str(m, "targetServer"),
                    cli_json_str(m, "targetVersion"));
            fprintf(out, "  started %s, ended %s\n",
                    cli_json_str(m, "startedOn"), cli_json_str(m, "endedOn"));
        }
    }
    fprintf(out, "\n%-20s %-20s %-18s %9s %7s %6s %7s\n", "DATABASE", "TARGET",
            "STATE", "COMPLETED", "LOADING", "QUEUED", "ERRORED");
    for (size_t i = 0; i < n; i++)
    {
        json_object *d = json_object_array_get_idx(output, i);
        if (s_is(d, "DatabaseLevelOutput"))
        {
            fprintf(out, "%-20s %-20s %-18s %9lld %7lld %6lld %7lld\n",
                    cli_json_str(d, "databaseName"),
                    cli_json_str(d, "targetDatabaseName"),
                    cli_json_str(d, "migrationState"),
                    (long long) cli_json_int(d, "fullLoadCompletedTables"),
                    (long long) cli_json_int(d, "fullLoadLoadingTables"),
                    (long long) cli_json_int(d, "fullLoadQueuedTables"),
                    (long long) cli_json_int(d, "fullLoadErroredTables"));
            s_render_database_notes(d, out);
        }
    }
    fprintf(out, "\n%-40s %-10s %12s %10s %10s  %s\n", "TABLE", "STATE", "ROWS",
            "BYTES", "RATE/s", "AGENTS");
    for (size_t i = 0; i < n; i++)
    {
        json_object *t = json_object_array_get_idx(output, i);
        char bytes[32];
        char rate[32];
        char name[256];
        strbuf_t *agents = strbuf_new();
        json_object *list = NULL;

        if (!s_is(t, "TableLevelOutput"))
        {
            strbuf_destroy(&agents);
            continue;
        }
        if (json_object_object_get_ex(t, "agents", &list))
        {
            for (size_t j = 0; j < json_object_array_length(list); j++)
            {
                strbuf_appendf(
                    agents, "%s%s", j ? "," : "",
                    json_object_get_string(json_object_array_get_idx(list, j)));
            }
        }
        cli_format_bytes(cli_json_int(t, "fullLoadTotalVolumeBytes"), bytes,
                         sizeof bytes);
        cli_format_bytes(cli_json_int(t, "bytesPerSecond"), rate, sizeof rate);
        snprintf(name, sizeof name, "%s %s", cli_json_str(t, "databaseName"),
                 cli_json_str(t, "tableName"));
        fprintf(out, "%-40s %-10s %12lld %10s %10s  %s\n", name,
                cli_json_str(t, "state"),
                (long long) cli_json_int(t, "fullLoadTotalRows"), bytes, rate,
                strbuf_data(agents));
        if (strcmp(cli_json_str(t, "errorMessage"), "-") != 0)
        {
            fprintf(out, "    error: %s\n", cli_json_str(t, "errorMessage"));
        }
        strbuf_destroy(&agents);
    }
    s_render_errors(status, out);
}

void
cli_render_progress(json_object *status, const int64_t *rates, size_t n_rates,
                    FILE *out)
{
    json_object *output = cli_status_output(status);
    size_t n = output ? json_object_array_length(output) : 0;
    char now[16];
    time_t t = time(NULL);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(now, sizeof now, "%H:%M:%S", &tm);
    for (size_t i = 0, k = 0; i < n; i++)
    {
        json_object *d = json_object_array_get_idx(output, i);
        char hbytes[32];
        char hrate[32];

        if (!s_is(d, "DatabaseLevelOutput"))
        {
            continue;
        }
        /* the database's totals over its tables, as the coordinator adds
         * them up: a progress line needs no table's own output */
        int64_t rows = cli_json_int(d, "fullLoadTotalRows");
        int64_t bytes = cli_json_int(d, "fullLoadTotalVolumeBytes");
        int64_t rate =
            k < n_rates ? rates[k] : cli_json_int(d, "bytesPerSecond");
        k++;
        cli_format_bytes(bytes, hbytes, sizeof hbytes);
        cli_format_bytes(rate, hrate, sizeof hrate);
        int64_t total = cli_json_int(d, "fullLoadCompletedTables") +
                        cli_json_int(d, "fullLoadLoadingTables") +
                        cli_json_int(d, "fullLoadQueuedTables") +
                        cli_json_int(d, "fullLoadErroredTables");
        fprintf(out,
                "%s %s: %-12s tables %lld/%lld done, %lld loading, %lld "
                "errored; %lld rows, %s copied, %s/s now",
                now, cli_json_str(d, "databaseName"),
                cli_json_str(d, "migrationState"),
                (long long) cli_json_int(d, "fullLoadCompletedTables"),
                (long long) total,
                (long long) cli_json_int(d, "fullLoadLoadingTables"),
                (long long) cli_json_int(d, "fullLoadErroredTables"),
                (long long) rows, hbytes, hrate);
        if (strcmp(cli_json_str(d, "appliedLsn"), "-") != 0)
        {
            char hlag[32];

            /* bytes of WAL behind: the fastest moving number, rounded so
             * that the log gets a line when the stream moves visibly */
            cli_format_bytes(cli_json_int(d, "lagBytes") / 1024 * 1024, hlag,
                             sizeof hlag);
            fprintf(
                out,
                "; changes applied %lld (%lld ins, %lld upd, %lld del), "
                "latency %.1f s, %s behind",
                (long long) cli_json_int(d, "appliedChanges"),
                (long long) cli_json_int(d, "cdcInsertCounter"),
                (long long) cli_json_int(d, "cdcUpdateCounter"),
                (long long) cli_json_int(d, "cdcDeleteCounter"),
                json_object_get_double(json_object_object_get(d, "latency")),
                hlag);
        }
        if (strcmp(cli_json_str(d, "waitingOut"), "-") != 0)
        {
            fprintf(out, "; waiting out since %s (%lld retries): %s",
                    cli_json_str(d, "waitingSince"),
                    (long long) cli_json_int(d, "retries"),
                    cli_json_str(d, "waitingOut"));
        }
        fputc('\n', out);
    }
    fflush(out);
}

const char *
cli_database_state(json_object *status, const char *database,
                   const char **error)
{
    json_object *output = cli_status_output(status);
    size_t n = output ? json_object_array_length(output) : 0;

    for (size_t i = 0; i < n; i++)
    {
        json_object *d = json_object_array_get_idx(output, i);
        if (s_is(d, "DatabaseLevelOutput") &&
            (database == NULL ||
             strcmp(cli_json_str(d, "databaseName"), database) == 0))
        {
            *error = cli_json_str(d, "errorMessage");
            return cli_json_str(d, "migrationState");
        }
    }
    *error = "";
    return "";
}

size_t
cli_database_bytes(json_object *status, int64_t *bytes, size_t max)
{
    json_object *output = cli_status_output(status);
    size_t n = output ? json_object_array_length(output) : 0;
    size_t k = 0;

    for (size_t i = 0; i < n && k < max; i++)
    {
        json_object *d = json_object_array_get_idx(output, i);
        if (s_is(d, "DatabaseLevelOutput"))
        {
            bytes[k++] = cli_json_int(d, "fullLoadTotalVolumeBytes");
        }
    }
    return k;
}

char *
cli_states(json_object *status)
{
    json_object *output = cli_status_output(status);
    size_t n = output ? json_object_array_length(output) : 0;
    strbuf_t *states = strbuf_new();

    strbuf_append(states, cli_task_state(status));
    for (size_t i = 0; i < n; i++)
    {
        json_object *d = json_object_array_get_idx(output, i);
        if (s_is(d, "DatabaseLevelOutput"))
        {
            strbuf_appendf(states, " %s", cli_json_str(d, "migrationState"));
        }
    }
    return strbuf_finish(&states);
}

/* "a1 alive 1/2 0s ago (...)", then "  #12 cdc ..." per unit: the name
 * column as wide as the longest name, so the rows line up */
void
cli_render_agents(json_object *list, FILE *out)
{
    json_object *agents = NULL;
    int width = (int) strlen("AGENT");

    if (!json_object_object_get_ex(list, "agents", &agents) ||
        json_object_array_length(agents) == 0)
    {
        fprintf(out, "no agent has sent a heartbeat\n");
        return;
    }
    for (size_t i = 0; i < json_object_array_length(agents); i++)
    {
        int len = (int) strlen(
            cli_json_str(json_object_array_get_idx(agents, i), "name"));
        width = len > width ? len : width;
    }
    fprintf(out, "%-*s  %-8s  %-5s  %-28s  %s\n", width, "AGENT", "STATE",
            "JOBS", "LAST HEARTBEAT", "LABELS");
    for (size_t i = 0; i < json_object_array_length(agents); i++)
    {
        json_object *a = json_object_array_get_idx(agents, i);
        json_object *units = NULL;
        char jobs[32];
        char seen[64];
        const char *labels = cli_json_str(a, "labels");

        /* 2/2+1: both jobs in use, one placement waiting for a slot */
        int64_t waiting = cli_json_int(a, "unitsWaiting");
        (void) snprintf(jobs, sizeof jobs, "%" PRId64 "/%" PRId64,
                        cli_json_int(a, "jobsInUse"), cli_json_int(a, "jobs"));
        if (waiting > 0)
        {
            size_t len = strlen(jobs);
            (void) snprintf(jobs + len, sizeof jobs - len, "+%" PRId64,
                            waiting);
        }
        /* an agent known from the catalog only was never heard */
        (void) snprintf(seen, sizeof seen, "%" PRId64 "s ago %s",
                        cli_json_int(a, "lastHeartbeatAgeSeconds"),
                        cli_json_str(a, "lastHeartbeat"));
        if (strcmp(cli_json_str(a, "lastHeartbeat"), "-") == 0)
        {
            (void) snprintf(seen, sizeof seen, "never");
        }
        fprintf(out, "%-*s  %-8s  %-5s  %-28s  %s\n", width,
                cli_json_str(a, "name"), cli_json_str(a, "state"), jobs, seen,
                labels[0] ? labels : "-");
        if (!json_object_object_get_ex(a, "units", &units))
        {
            continue;
        }
        for (size_t k = 0; k < json_object_array_length(units); k++)
        {
            json_object *u = json_object_array_get_idx(units, k);
            fprintf(out, "    unit %-6" PRId64 " %-11s %s/%s  %s  %s\n",
                    cli_json_int(u, "id"), cli_json_str(u, "kind"),
                    cli_json_str(u, "project"), cli_json_str(u, "task"),
                    cli_json_str(u, "database"), cli_json_str(u, "table"));
        }
    }
}
