/*
 * tests/unit/test_view.c
 *     The screen of `task watch` (cli/view.c) from made-up statuses: it
 *     fits the terminal (no line wider, no more lines), puts errors and
 *     the slowest loading tables first with a "more" line for the rest,
 *     works out the rate and ETA from the samples, draws the lag's
 *     history in CDC, and falls back to ASCII outside UTF-8.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli/view.h"

/* a table of database shop: state, bytes copied, its size, bytes/s */
static void
s_add_table(json_object *out, const char *name, const char *state,
            int64_t bytes, int64_t est, int64_t rate, double secs)
{
    json_object *t = json_object_new_object();

    json_object_object_add(t, "resultType",
                           json_object_new_string("TableLevelOutput"));
    json_object_object_add(t, "databaseName", json_object_new_string("shop"));
    json_object_object_add(t, "tableName", json_object_new_string(name));
    json_object_object_add(t, "state", json_object_new_string(state));
    json_object_object_add(t, "fullLoadTotalVolumeBytes",
                           json_object_new_int64(bytes));
    json_object_object_add(t, "fullLoadEstimatedBytes",
                           json_object_new_int64(est));
    json_object_object_add(t, "bytesPerSecond", json_object_new_int64(rate));
    json_object_object_add(t, "fullLoadSeconds", json_object_new_double(secs));
    json_object_object_add(t, "partitionsDone", json_object_new_int64(0));
    json_object_object_add(t, "partitionsTotal", json_object_new_int64(1));
    json_object_object_add(
        t, "errorMessage",
        strcmp(state, "ERROR") == 0 ? json_object_new_string("boom") : NULL);
    json_object_array_add(out, t);
}

/* A status of task P/T: database shop in state, bytes copied of est,
 * lag in CDC, and (with tables) 30 tables: 1 errored, 4 loading, 10
 * queued, 15 completed. */
static json_object *
s_status(const char *state, int64_t bytes, int64_t est, int64_t lag_bytes,
         double latency, bool tables)
{
    json_object *root = json_object_new_object();
    json_object *props = json_object_new_object();
    json_object *out = json_object_new_array();
    json_object *m = json_object_new_object();
    json_object *d = json_object_new_object();
    bool cdc = strcmp(state, "CATCHING_UP") == 0;

    json_object_object_add(root, "name", json_object_new_string("T"));
    json_object_object_add(root, "projectName", json_object_new_string("P"));
    json_object_object_add(props, "taskType",
                           json_object_new_string("OnlineMigration"));
    json_object_object_add(props, "state", json_object_new_string("Running"));
    json_object_object_add(m, "resultType",
                           json_object_new_string("MigrationLevelOutput"));
    json_object_object_add(m, "elapsedSeconds", json_object_new_double(65.2));
    json_object_array_add(out, m);
    json_object_object_add(d, "resultType",
                           json_object_new_string("DatabaseLevelOutput"));
    json_object_object_add(d, "databaseName", json_object_new_string("shop"));
    json_object_object_add(d, "targetDatabaseName",
                           json_object_new_string("shop"));
    json_object_object_add(d, "migrationState", json_object_new_string(state));
    json_object_object_add(d, "fullLoadCompletedTables",
                           json_object_new_int64(cdc ? 30 : 15));
    json_object_object_add(d, "fullLoadLoadingTables",
                           json_object_new_int64(cdc ? 0 : 4));
    json_object_object_add(d, "fullLoadQueuedTables",
                           json_object_new_int64(cdc ? 0 : 10));
    json_object_object_add(d, "fullLoadErroredTables",
                           json_object_new_int64(cdc ? 0 : 1));
    json_object_object_add(d, "fullLoadTotalVolumeBytes",
                           json_object_new_int64(bytes));
    json_object_object_add(d, "fullLoadEstimatedBytes",
                           json_object_new_int64(est));
    json_object_object_add(d, "bytesPerSecond", json_object_new_int64(7));
    json_object_object_add(d, "appliedChanges",
                           json_object_new_int64(cdc ? 1000 : 0));
    json_object_object_add(d, "lagBytes", json_object_new_int64(lag_bytes));
    json_object_object_add(d, "latency", json_object_new_double(latency));
    json_object_object_add(d, "appliedLsn",
                           cdc ? json_object_new_string("0/16B3748") : NULL);
    json_object_array_add(out, d);
    for (int i = 0; tables && i < 30; i++)
    {
        char name[64];
        snprintf(name, sizeof name, "public.t%02d", i);
        /* in CDC every table is done, the slowest (t29) in 29 s */
        if (!cdc && i == 7)
        {
            s_add_table(out, name, "ERROR", 0, 5000, 0, 0);
        }
        else if (!cdc && i >= 20 && i < 24)
        {
            /* t23 has the most to go at the slowest rate */
            s_add_table(out, name, "LOADING", 1000000, 2000000,
                        (int64_t) 100000 * (24 - i), 10);
        }
        else if (!cdc && i >= 10 && i < 20)
        {
            s_add_table(out, name, "QUEUED", 0, (int64_t) 1000 * i, 0, 0);
        }
        else
        {
            s_add_table(out, name, "COMPLETED", 1000, 1000, 0, i);
        }
    }
    json_object_object_add(props, "output", out);
    json_object_object_add(root, "properties", props);
    return root;
}

/* How many lines the screen has, each checked to be at most cols code
 * points wide and '\n'-ended. */
static int
s_check_fits(const char *screen, int cols)
{
    int lines = 0;
    int width = 0;

    for (const char *p = screen; *p != '\0'; p++)
    {
        if (*p == '\n')
        {
            CHECK(width <= cols);
            lines++;
            width = 0;
        }
        else if (((unsigned char) *p & 0xC0) != 0x80)
        {
            width++;
        }
    }
    CHECK(width == 0); /* the last line ends in '\n' too */
    return lines;
}

/* the line of screen that contains needle, as an offset, or -1 */
static long
s_find(const char *screen, const char *needle)
{
    const char *at = strstr(screen, needle);
    return at ? at - screen : -1;
}

int
main(void)
{
    view_t *view = view_new(true);
    json_object *status = s_status("FULL_LOAD", 10000000, 50000000, 0, 0, true);
    char *screen = NULL;

    /* one sample: the rate is the coordinator's (7 B/s) */
    view_add_sample(view, status, 1000);
    screen = view_render(view, status, NULL, 20, 100);
    CHECK(s_check_fits(screen, 100) == 20);
    CHECK_CONTAINS(screen, "task P/T  OnlineMigration  Running  elapsed 1m05s");
    CHECK_CONTAINS(screen, "shop  FULL_LOAD\n");
    CHECK_CONTAINS(screen, "  tables [");
    CHECK_CONTAINS(screen, "] 15/30 done, 4 loading, 10 queued, 1 errored");
    CHECK_CONTAINS(screen, "10.0 MB of 50.0 MB, 7 B/s, ETA ");
    /* 2/10 of 30 columns of bar: 6 full blocks, the rest light */
    CHECK_CONTAINS(screen, "  bytes  [██████░░░░░░░░░░░░░░░░░░░░░░░░]");
    /* the error first, then the loading tables, the longest to go first */
    CHECK(s_find(screen, "public.t07") < s_find(screen, "public.t23"));
    CHECK(s_find(screen, "public.t23") < s_find(screen, "public.t22"));
    CHECK(s_find(screen, "public.t21") < s_find(screen, "public.t20"));
    CHECK(s_find(screen, "public.t20") < s_find(screen, "public.t19"));
    CHECK_CONTAINS(screen, "public.t07 ERROR      boom\n");
    /* 1 MB to go at 100 kB/s */
    CHECK_CONTAINS(screen, " 50% 1.0 MB of 2.0 MB, 100.0 kB/s, ETA 10s\n");
    /* the queued tables, biggest first; no line for the empty CDC */
    CHECK(s_find(screen, "public.t19 QUEUED     19.0 kB to copy") > 0);
    CHECK(s_find(screen, "lag") < 0);
    /* 20 rows: header, blank, 3 database lines, blank, heading, 12
     * tables, "more": 30 - 12 = 18 more */
    CHECK_CONTAINS(screen, "… and 18 more: 3 queued, 15 completed\n");
    free(screen);

    /* a second sample 2 s later, 4 MB more: the rate is the samples' */
    json_object_put(status);
    status = s_status("FULL_LOAD", 14000000, 50000000, 0, 0, true);
    view_add_sample(view, status, 3000);
    screen = view_render(view, status, NULL, 20, 100);
    CHECK_CONTAINS(screen, "14.0 MB of 50.0 MB, 2.0 MB/s, ETA 18s\n");
    free(screen);

    /* the agents under the header: what each runs, or that it is lost;
     * its units, not its jobs in use (a batch of two on one job here) */
    json_object *agents = json_tokener_parse(
        "{\"agents\": [{\"name\": \"a1\", \"state\": \"alive\", "
        "\"jobs\": 2, \"jobsInUse\": 2, \"units\": [{}, {}, {}]}, "
        "{\"name\": \"a2\", \"state\": \"lost\", \"jobs\": 1, "
        "\"jobsInUse\": 0, \"units\": []}]}");
    CHECK(agents != NULL);
    screen = view_render(view, status, agents, 20, 100);
    CHECK(s_check_fits(screen, 100) == 20);
    CHECK_CONTAINS(screen, "\nagents a1 3 units on 2 jobs, a2 lost\n");
    free(screen);
    json_object_put(agents);

    /* two databases: each with its lines, the tables named with theirs */
    json_object *two = json_tokener_parse(json_object_to_json_string(status));
    json_object *two_out = NULL;
    json_object *two_props = NULL;
    CHECK(json_object_object_get_ex(two, "properties", &two_props));
    CHECK(json_object_object_get_ex(two_props, "output", &two_out));
    json_object *hr = json_tokener_parse(
        json_object_to_json_string(json_object_array_get_idx(two_out, 1)));
    json_object_object_add(hr, "databaseName", json_object_new_string("hr"));
    json_object_object_add(hr, "targetDatabaseName",
                           json_object_new_string("hr2"));
    json_object_array_add(two_out, hr);
    screen = view_render(view, two, NULL, 24, 100);
    CHECK(s_check_fits(screen, 100) == 24);
    CHECK_CONTAINS(screen, "\nshop  FULL_LOAD\n");
    CHECK_CONTAINS(screen, "\nhr -> hr2  FULL_LOAD\n");
    CHECK_CONTAINS(screen, "\nshop:public.t07 ERROR      boom\n");
    free(screen);
    json_object_put(two);

    /* a taller terminal shows every table and no "more" line */
    screen = view_render(view, status, NULL, 40, 100);
    CHECK(s_check_fits(screen, 100) == 1 + 1 + 3 + 1 + 1 + 30);
    CHECK(strstr(screen, "more") == NULL);
    free(screen);

    /* a tiny one: still no line too many or too wide */
    screen = view_render(view, status, NULL, 5, 30);
    CHECK(s_check_fits(screen, 30) == 5);
    free(screen);
    screen = view_render(view, status, NULL, 9, 30);
    CHECK(s_check_fits(screen, 30) == 9);
    CHECK_CONTAINS(screen, "… and 29 more");
    free(screen);
    screen = view_render(view, status, NULL, 1, 20);
    CHECK(s_check_fits(screen, 20) == 1);
    free(screen);
    json_object_put(status);

    /* CDC: the lag with its history, oldest first, scaled to the most */
    static const int64_t lag[] = {0, 1000, 2000, 4000, 8000};
    for (int i = 0; i < 5; i++)
    {
        status = s_status("CATCHING_UP", 50000000, 50000000, lag[i],
                          (double) lag[i] / 1000.0, true);
        view_add_sample(view, status, 4000 + 1000 * i);
        if (i < 4)
        {
            json_object_put(status);
        }
    }
    screen = view_render(view, status, NULL, 20, 100);
    CHECK(s_check_fits(screen, 100) == 20);
    CHECK_CONTAINS(screen, "shop  CATCHING_UP\n");
    CHECK_CONTAINS(screen, "] 30/30 done, 0 loading, 0 queued\n");
    CHECK_CONTAINS(screen, "50.0 MB of 50.0 MB, loaded\n");
    /* the two samples of the full load, before the stream, are not */
    CHECK_CONTAINS(screen, "  lag    8.0 s ▁▂▃▅█  8.0 kB ▁▂▃▅█  ");
    /* 1000 changes since the full load's first sample, 7 s before */
    CHECK_CONTAINS(screen, "  1000 applied, 143/s\n");
    /* in CDC, the tables that loaded slowest first */
    CHECK(s_find(screen, "public.t29") < s_find(screen, "public.t28"));
    /* one line more for the lag, one table less */
    CHECK_CONTAINS(screen, "… and 19 more: 19 completed\n");
    free(screen);
    view_destroy(&view);
    CHECK(view == NULL);
    view_destroy(&view);

    /* ASCII: not one byte past 0x7F */
    view = view_new(false);
    view_add_sample(view, status, 1000);
    json_object_put(status);
    status = s_status("CATCHING_UP", 50000000, 50000000, 4000, 4.0, true);
    view_add_sample(view, status, 2000);
    screen = view_render(view, status, NULL, 20, 100);
    for (const char *p = screen; *p != '\0'; p++)
    {
        CHECK((unsigned char) *p < 0x80);
    }
    CHECK_CONTAINS(screen, "  tables [##############################]");
    CHECK_CONTAINS(screen, "  lag    4.0 s #=  4.0 kB #=");
    CHECK_CONTAINS(screen, "... and 19 more: 19 completed\n");
    free(screen);

    /* a table name too long for its column is cut with a mark */
    json_object *output = NULL;
    json_object *props = NULL;
    CHECK(json_object_object_get_ex(status, "properties", &props));
    CHECK(json_object_object_get_ex(props, "output", &output));
    s_add_table(output, "public.a_table_whose_name_is_far_too_long_to_fit",
                "COMPLETED", 1, 1, 0, 100);
    screen = view_render(view, status, NULL, 20, 70);
    CHECK(s_check_fits(screen, 70) == 20);
    CHECK_CONTAINS(screen, "public.a_table_whos~ COMPLETED  1 B in 1m40s");
    free(screen);
    json_object_put(status);
    view_destroy(&view);
    return 0;
}
