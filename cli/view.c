/*
 * cli/view.c
 *     The screen of `pgconvoy task watch` on a terminal, as lines of text.
 *
 * Every line is cut to the terminal's width here, and the lines to its
 * height: a screen that scrolls is no screen. Widths count code points,
 * since every glyph we draw (blocks, the ellipsis) takes one column; a
 * table named in a double-width script may be cut a little late.
 *
 * The status is read as `task show -o json` prints it (render.c's
 * helpers): the view can show nothing that the JSON does not say.
 */
#include "cli/view.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/strbuf.h"

/* samples a rate is worked out over: about ten seconds at one a second */
#define VIEW_RATE_SAMPLES 10
/* the widest a name column, a bar or a sparkline gets */
#define VIEW_NAME_MAX 40
#define VIEW_BAR_MAX 30
#define VIEW_SPARK_MAX 20

/* What a sample holds of a database, besides when it was taken. */
typedef enum
{
    S_BYTES,     /* copied by the full load */
    S_APPLIED,   /* changes applied by change data capture */
    S_LAG_BYTES, /* WAL between the source and what was applied */
    S_LAG_MS,    /* how far behind the source, in time */
    S_FIELD_COUNT
} s_field_t;

/* What one status said of one database. */
typedef struct
{
    int64_t at_ms;                /* when it was read */
    bool streaming;               /* in change data capture: a lag to show */
    int64_t value[S_FIELD_COUNT]; /* by s_field_t */
} s_sample_t;

typedef struct
{
    char *name;                    /* the database's, owned */
    s_sample_t ring[VIEW_HISTORY]; /* the last samples, oldest overwritten */
    size_t n;                      /* how many of ring are set */
    size_t head;                   /* where the next one goes */
} s_history_t;

struct view_t
{
    bool utf8;        /* Unicode blocks, else ASCII */
    s_history_t *dbs; /* one per database seen, owned */
    size_t n_dbs;
};

/* A table's place on the screen: what matters most comes first. */
typedef struct
{
    json_object *t; /* the table's output, borrowed */
    int rank;       /* by state: errors, loading, queued, completed */
    double key;     /* within a rank, larger first */
} s_row_t;

view_t *
view_new(bool utf8)
{
    view_t *self = xcalloc(1, sizeof(view_t));

    self->utf8 = utf8;
    return self;
}

void
view_destroy(view_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    view_t *self = *self_p;

    for (size_t i = 0; i < self->n_dbs; i++)
    {
        free(self->dbs[i].name);
    }
    free(self->dbs);
    free(self);
    *self_p = NULL;
}

static bool
s_is(json_object *item, const char *type)
{
    return strcmp(cli_json_str(item, "resultType"), type) == 0;
}

static s_history_t *
s_history_find(const view_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_dbs; i++)
    {
        if (strcmp(self->dbs[i].name, name) == 0)
        {
            return &self->dbs[i];
        }
    }
    return NULL;
}

/* The k-th newest sample (0: the last one); k < history->n. */
static const s_sample_t *
s_sample_at(const s_history_t *history, size_t k)
{
    assert(k < history->n);
    return &history
                ->ring[(history->head + VIEW_HISTORY - 1 - k) % VIEW_HISTORY];
}

void
view_add_sample(view_t *self, json_object *status, int64_t now_ms)
{
    json_object *output = cli_status_output(status);
    size_t n = output ? json_object_array_length(output) : 0;

    for (size_t i = 0; i < n; i++)
    {
        json_object *d = json_object_array_get_idx(output, i);
        if (!s_is(d, "DatabaseLevelOutput"))
        {
            continue;
        }
        const char *name = cli_json_str(d, "databaseName");
        s_history_t *h = s_history_find(self, name);
        if (h == NULL)
        {
            self->dbs =
                realloc(self->dbs, (self->n_dbs + 1) * sizeof *self->dbs);
            if (self->dbs == NULL)
            {
                abort();
            }
            h = &self->dbs[self->n_dbs++];
            memset(h, 0, sizeof *h);
            h->name = xstrdup(name);
        }
        s_sample_t *s = &h->ring[h->head];
        s->at_ms = now_ms;
        s->streaming = strcmp(cli_json_str(d, "appliedLsn"), "-") != 0;
        s->value[S_BYTES] = cli_json_int(d, "fullLoadTotalVolumeBytes");
        s->value[S_APPLIED] = cli_json_int(d, "appliedChanges");
        s->value[S_LAG_BYTES] = cli_json_int(d, "lagBytes");
        s->value[S_LAG_MS] =
            (int64_t) (json_object_get_double(
                           json_object_object_get(d, "latency")) *
                           1000.0 +
                       0.5);
        h->head = (h->head + 1) % VIEW_HISTORY;
        h->n = h->n < VIEW_HISTORY ? h->n + 1 : VIEW_HISTORY;
    }
}

/* Per second, of one field of the samples, over the last
 * VIEW_RATE_SAMPLES samples; -1 with fewer than two. */
static double
s_rate(const s_history_t *h, s_field_t field)
{
    if (h == NULL || h->n < 2)
    {
        return -1;
    }
    size_t back = h->n - 1 < VIEW_RATE_SAMPLES ? h->n - 1 : VIEW_RATE_SAMPLES;
    const s_sample_t *new = s_sample_at(h, 0);
    const s_sample_t *old = s_sample_at(h, back);
    int64_t now = new->value[field];
    int64_t then = old->value[field];

    if (new->at_ms <= old->at_ms)
    {
        return -1;
    }
    return now > then ? (double) (now - then) * 1000.0 /
                            (double) (new->at_ms - old->at_ms)
                      : 0;
}

/* "45s", "3m04s", "2h05m": how long, to the precision a person reads. */
static void
s_format_duration(double secs, char *buf, size_t size)
{
    long s = secs > 0 ? (long) (secs + 0.5) : 0;

    if (s < 60)
    {
        (void) snprintf(buf, size, "%lds", s);
    }
    else if (s < 3600)
    {
        (void) snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    }
    else
    {
        (void) snprintf(buf, size, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    }
}

/* Appends text to line, padded or cut (with an ellipsis) to width
 * columns. */
static void
s_append_fit(const view_t *self, strbuf_t *line, const char *text, int width)
{
    int cols = 0;
    size_t i = 0;
    size_t len = strlen(text);
    const char *more = self->utf8 ? "…" : "~";

    /* the byte where the width runs out, counting code points */
    while (i < len && cols < width)
    {
        i++;
        while (i < len && ((unsigned char) text[i] & 0xC0) == 0x80)
        {
            i++;
        }
        cols++;
    }
    if (i < len)
    {
        /* cut: one column fewer, for the ellipsis */
        while (i > 0 && ((unsigned char) text[--i] & 0xC0) == 0x80)
        {
        }
        strbuf_append_len(line, text, i);
        strbuf_append(line, more);
        return;
    }
    strbuf_append(line, text);
    for (; cols < width; cols++)
    {
        strbuf_append(line, " ");
    }
}

/* "[████▌     ]": done of total in width columns between the brackets,
 * to an eighth of a column in Unicode, to a column in ASCII. */
static void
s_append_bar(const view_t *self, strbuf_t *line, int64_t done, int64_t total,
             int width)
{
    static const char *const eighths[] = {"",  "▏", "▎", "▍",
                                          "▌", "▋", "▊", "▉"};
    double share = total > 0 ? (double) done / (double) total : 0;
    int units = self->utf8 ? 8 : 1;
    int filled = (int) ((share > 1 ? 1 : share) * width * units);
    int col = 0;

    strbuf_append(line, "[");
    for (; col < filled / units; col++)
    {
        strbuf_append(line, self->utf8 ? "█" : "#");
    }
    if (self->utf8 && filled % units != 0)
    {
        strbuf_append(line, eighths[filled % units]);
        col++;
    }
    for (; col < width; col++)
    {
        strbuf_append(line, self->utf8 ? "░" : ".");
    }
    strbuf_append(line, "]");
}

/* The last `width` samples of one field taken while streaming (before,
 * there was no lag to speak of) as a sparkline, oldest first,
 * scaled to the largest of them. */
static void
s_append_spark(const view_t *self, strbuf_t *line, const s_history_t *h,
               s_field_t field, int width)
{
    static const char *const blocks[] = {"▁", "▂", "▃", "▄",
                                         "▅", "▆", "▇", "█"};
    static const char ascii[] = "_.-~=+*#";
    size_t n = 0;
    int64_t max = 0;

    while (n < h->n && n < (size_t) width && s_sample_at(h, n)->streaming)
    {
        n++;
    }
    for (size_t k = 0; k < n; k++)
    {
        int64_t v = s_sample_at(h, k)->value[field];
        max = v > max ? v : max;
    }
    for (size_t k = n; k-- > 0;)
    {
        int64_t v = s_sample_at(h, k)->value[field];
        int level = max > 0 ? (int) ((double) v * 7.0 / (double) max + 0.5) : 0;
        level = level < 0 ? 0 : level > 7 ? 7 : level;
        if (self->utf8)
        {
            strbuf_append(line, blocks[level]);
        }
        else
        {
            strbuf_append_len(line, &ascii[level], 1);
        }
    }
}

/* The lines of screen so far, so that the last ones can be dropped. */
typedef struct
{
    char **v; /* each owned */
    size_t n;
} s_lines_t;

/* Adds line's text as the next line, cut to cols columns, and leaves
 * *line_p a new empty buffer for the line after. */
static void
s_lines_take(s_lines_t *lines, strbuf_t **line_p, int cols)
{
    strbuf_t *cut = strbuf_new();
    char *text = strbuf_finish(line_p);
    int width = 0;
    const char *p = text;

    /* cut without an ellipsis: the ends of lines are the least needed */
    while (*p != '\0' && width < cols)
    {
        const char *start = p++;
        while (((unsigned char) *p & 0xC0) == 0x80)
        {
            p++;
        }
        strbuf_append_len(cut, start, (size_t) (p - start));
        width++;
    }
    free(text);
    lines->v = realloc(lines->v, (lines->n + 1) * sizeof *lines->v);
    if (lines->v == NULL)
    {
        abort();
    }
    lines->v[lines->n++] = strbuf_finish(&cut);
    *line_p = strbuf_new();
}

static void
s_lines_clear(s_lines_t *lines)
{
    for (size_t i = 0; i < lines->n; i++)
    {
        free(lines->v[i]);
    }
    free(lines->v);
    lines->v = NULL;
    lines->n = 0;
}

/* "shop-db FULL_LOAD" then the bars, the rate and ETA, and the lag. */
static void
s_render_database(const view_t *self, s_lines_t *lines, json_object *d,
                  int cols)
{
    strbuf_t *line = strbuf_new();
    const s_history_t *h =
        s_history_find(self, cli_json_str(d, "databaseName"));
    const char *state = cli_json_str(d, "migrationState");
    int bar = cols - 50 < 10             ? 10
              : cols - 50 > VIEW_BAR_MAX ? VIEW_BAR_MAX
                                         : cols - 50;
    int64_t done = cli_json_int(d, "fullLoadCompletedTables");
    int64_t tables = done + cli_json_int(d, "fullLoadLoadingTables") +
                     cli_json_int(d, "fullLoadQueuedTables") +
                     cli_json_int(d, "fullLoadErroredTables");
    int64_t bytes = cli_json_int(d, "fullLoadTotalVolumeBytes");
    int64_t est = cli_json_int(d, "fullLoadEstimatedBytes");
    double rate = s_rate(h, S_BYTES);
    char hbytes[32];
    char hest[32];
    char hrate[32];
    char eta[32] = "-";

    strbuf_appendf(line, "%s", cli_json_str(d, "databaseName"));
    if (strcmp(cli_json_str(d, "targetDatabaseName"),
               cli_json_str(d, "databaseName")) != 0)
    {
        strbuf_appendf(line, " -> %s", cli_json_str(d, "targetDatabaseName"));
    }
    strbuf_appendf(line, "  %s", state);
    if (strcmp(cli_json_str(d, "errorMessage"), "-") != 0)
    {
        strbuf_appendf(line, "  error: %s", cli_json_str(d, "errorMessage"));
    }
    s_lines_take(lines, &line, cols);

    strbuf_append(line, "  tables ");
    s_append_bar(self, line, done, tables, bar);
    strbuf_appendf(line,
                   " %" PRId64 "/%" PRId64 " done, %" PRId64
                   " loading, %" PRId64 " queued",
                   done, tables, cli_json_int(d, "fullLoadLoadingTables"),
                   cli_json_int(d, "fullLoadQueuedTables"));
    if (cli_json_int(d, "fullLoadErroredTables") > 0)
    {
        strbuf_appendf(line, ", %" PRId64 " errored",
                       cli_json_int(d, "fullLoadErroredTables"));
    }
    s_lines_take(lines, &line, cols);

    /* before a second sample, the coordinator's own figure */
    if (rate < 0)
    {
        rate = (double) cli_json_int(d, "bytesPerSecond");
    }
    cli_format_bytes(bytes, hbytes, sizeof hbytes);
    cli_format_bytes(est > bytes ? est : bytes, hest, sizeof hest);
    cli_format_bytes((int64_t) rate, hrate, sizeof hrate);
    if (tables > 0 && done == tables)
    {
        (void) snprintf(eta, sizeof eta, "loaded");
    }
    else if (rate > 0 && est > bytes)
    {
        s_format_duration((double) (est - bytes) / rate, eta, sizeof eta);
    }
    strbuf_append(line, "  bytes  ");
    s_append_bar(self, line, bytes, est, bar);
    if (strcmp(eta, "loaded") == 0)
    {
        strbuf_appendf(line, " %s of %s, loaded", hbytes, hest);
    }
    else
    {
        strbuf_appendf(line, " %s of %s, %s/s, ETA %s", hbytes, hest, hrate,
                       eta);
    }
    s_lines_take(lines, &line, cols);

    bool cdc = strcmp(cli_json_str(d, "appliedLsn"), "-") != 0 ||
               strcmp(state, "CATCHING_UP") == 0 ||
               strcmp(state, "READY_TO_COMPLETE") == 0;
    if (cdc && h != NULL)
    {
        int spark = (cols - 60) / 2 < 5                ? 5
                    : (cols - 60) / 2 > VIEW_SPARK_MAX ? VIEW_SPARK_MAX
                                                       : (cols - 60) / 2;
        char hlag[32];
        double applied_rate = s_rate(h, S_APPLIED);
        const s_sample_t *last = s_sample_at(h, 0);

        cli_format_bytes(last->value[S_LAG_BYTES], hlag, sizeof hlag);
        strbuf_appendf(line, "  lag    %.1f s ",
                       (double) last->value[S_LAG_MS] / 1000);
        s_append_spark(self, line, h, S_LAG_MS, spark);
        strbuf_appendf(line, "  %s ", hlag);
        s_append_spark(self, line, h, S_LAG_BYTES, spark);
        strbuf_appendf(line, "  %" PRId64 " applied", last->value[S_APPLIED]);
        if (applied_rate >= 0)
        {
            strbuf_appendf(line, ", %.0f/s", applied_rate);
        }
        s_lines_take(lines, &line, cols);
    }
    if (strcmp(cli_json_str(d, "waitingOut"), "-") != 0)
    {
        strbuf_appendf(line, "  waiting out since %s (%" PRId64 " retries): %s",
                       cli_json_str(d, "waitingSince"),
                       cli_json_int(d, "retries"),
                       cli_json_str(d, "waitingOut"));
        s_lines_take(lines, &line, cols);
    }
    strbuf_destroy(&line);
}

static int
s_rank(const char *state)
{
    static const char *const order[] = {"ERROR", "LOADING", "QUEUED"};

    for (int i = 0; i < 3; i++)
    {
        if (strcmp(state, order[i]) == 0)
        {
            return i;
        }
    }
    return 3;
}

static int
s_row_cmp(const void *a, const void *b)
{
    const s_row_t *x = a;
    const s_row_t *y = b;

    if (x->rank != y->rank)
    {
        return x->rank - y->rank;
    }
    if (x->key != y->key)
    {
        return x->key > y->key ? -1 : 1;
    }
    return strcmp(cli_json_str(x->t, "tableName"),
                  cli_json_str(y->t, "tableName"));
}

/* The order of the tables: errors; loading, the longest still to go
 * first; queued, the biggest (the next to start) first; completed, the
 * slowest to load first. */
static double
s_row_key(json_object *t, int rank)
{
    int64_t bytes = cli_json_int(t, "fullLoadTotalVolumeBytes");
    int64_t est = cli_json_int(t, "fullLoadEstimatedBytes");
    int64_t rate = cli_json_int(t, "bytesPerSecond");
    double secs =
        json_object_get_double(json_object_object_get(t, "fullLoadSeconds"));

    switch (rank)
    {
        case 1:
            /* nothing copied yet: it may be stuck, show it first */
            return rate > 0 ? (double) (est > bytes ? est - bytes : 0) /
                                  (double) rate
                            : HUGE_VAL;
        case 2:
            return (double) est;
        case 3:
            return secs;
        default:
            return 0;
    }
}

/* One table's line: its name, state and what that state shows. */
static void
s_render_table(const view_t *self, s_lines_t *lines, json_object *t,
               bool with_db, int name_width, int cols)
{
    strbuf_t *line = strbuf_new();
    const char *state = cli_json_str(t, "state");
    int64_t bytes = cli_json_int(t, "fullLoadTotalVolumeBytes");
    int64_t est = cli_json_int(t, "fullLoadEstimatedBytes");
    int64_t rate = cli_json_int(t, "bytesPerSecond");
    char hbytes[32];
    char hest[32];
    char hrate[32];
    char took[32];
    char *name = with_db ? xasprintf("%s:%s", cli_json_str(t, "databaseName"),
                                     cli_json_str(t, "tableName"))
                         : xstrdup(cli_json_str(t, "tableName"));

    cli_format_bytes(bytes, hbytes, sizeof hbytes);
    cli_format_bytes(est, hest, sizeof hest);
    cli_format_bytes(rate, hrate, sizeof hrate);
    s_format_duration(
        json_object_get_double(json_object_object_get(t, "fullLoadSeconds")),
        took, sizeof took);
    s_append_fit(self, line, name, name_width);
    strbuf_append(line, " ");
    s_append_fit(self, line, state, 10);
    strbuf_append(line, " ");
    if (strcmp(state, "LOADING") == 0)
    {
        char eta[32] = "?";
        if (rate > 0 && est > bytes)
        {
            s_format_duration((double) (est - bytes) / (double) rate, eta,
                              sizeof eta);
        }
        s_append_bar(self, line, bytes, est, cols >= 100 ? 16 : 8);
        strbuf_appendf(
            line, " %3d%% %s of %s, %s/s, ETA %s",
            est > 0 ? (int) (bytes * 100 / (est > bytes ? est : bytes)) : 0,
            hbytes, hest, hrate, eta);
        if (cli_json_int(t, "partitionsTotal") > 1)
        {
            strbuf_appendf(line, ", ranges %" PRId64 "/%" PRId64,
                           cli_json_int(t, "partitionsDone"),
                           cli_json_int(t, "partitionsTotal"));
        }
    }
    else if (strcmp(state, "QUEUED") == 0)
    {
        strbuf_appendf(line, "%s to copy", hest);
    }
    else if (strcmp(state, "ERROR") == 0)
    {
        strbuf_append(line, cli_json_str(t, "errorMessage"));
    }
    else
    {
        strbuf_appendf(line, "%s in %s", hbytes, took);
        if (cli_json_int(t, "totalChangesApplied") > 0)
        {
            strbuf_appendf(line, ", %" PRId64 " changes applied",
                           cli_json_int(t, "totalChangesApplied"));
        }
    }
    free(name);
    s_lines_take(lines, &line, cols);
    strbuf_destroy(&line);
}

/* The tables, in s_row_key's order, as many as rows lines hold: the last
 * line then says how many more there are, of which states. */
static void
s_render_tables(const view_t *self, s_lines_t *lines, json_object *output,
                int rows, int cols)
{
    size_t n = output ? json_object_array_length(output) : 0;
    s_row_t *order = xcalloc(n + 1, sizeof *order);
    size_t count = 0;
    size_t databases = 0;
    int name_width = 5;
    strbuf_t *line = strbuf_new();

    for (size_t i = 0; i < n; i++)
    {
        json_object *item = json_object_array_get_idx(output, i);
        databases += s_is(item, "DatabaseLevelOutput");
        if (!s_is(item, "TableLevelOutput"))
        {
            continue;
        }
        order[count].t = item;
        order[count].rank = s_rank(cli_json_str(item, "state"));
        order[count].key = s_row_key(item, order[count].rank);
        count++;
    }
    if (count == 0 || rows < 2)
    {
        goto cleanup; /* the databases' lines say how many there are */
    }
    qsort(order, count, sizeof *order, s_row_cmp);
    /* the heading and the tables, or the heading, the tables that fit and
     * the "more" line */
    size_t shown = count + 1 <= (size_t) rows ? count : (size_t) rows - 2;
    for (size_t i = 0; i < shown; i++)
    {
        int len =
            (int) strlen(cli_json_str(order[i].t, "tableName")) +
            (databases > 1
                 ? (int) strlen(cli_json_str(order[i].t, "databaseName")) + 1
                 : 0);
        name_width = len > name_width ? len : name_width;
    }
    int limit = cols - 50 < 16 ? 16 : cols - 50;
    limit = limit > VIEW_NAME_MAX ? VIEW_NAME_MAX : limit;
    name_width = name_width > limit ? limit : name_width;
    s_append_fit(self, line, "TABLE", name_width);
    strbuf_append(line, " STATE      PROGRESS");
    s_lines_take(lines, &line, cols);
    for (size_t i = 0; i < shown; i++)
    {
        s_render_table(self, lines, order[i].t, databases > 1, name_width,
                       cols);
    }
    if (shown < count)
    {
        size_t by_rank[4] = {0, 0, 0, 0};
        static const char *const names[] = {"errored", "loading", "queued",
                                            "completed"};
        const char *sep = ": ";

        for (size_t i = shown; i < count; i++)
        {
            by_rank[order[i].rank]++;
        }
        strbuf_appendf(line, "%s and %zu more", self->utf8 ? "…" : "...",
                       count - shown);
        for (int r = 0; r < 4; r++)
        {
            if (by_rank[r] > 0)
            {
                strbuf_appendf(line, "%s%zu %s", sep, by_rank[r], names[r]);
                sep = ", ";
            }
        }
        s_lines_take(lines, &line, cols);
    }

cleanup:
    strbuf_destroy(&line);
    free(order);
}

/* "pgconvoy P/T OnlineMigration Running, 1m05s" and the agents. */
static void
s_render_header(s_lines_t *lines, json_object *status, json_object *agents,
                int cols)
{
    strbuf_t *line = strbuf_new();
    json_object *output = cli_status_output(status);
    json_object *props = NULL;
    json_object *list = NULL;
    char elapsed[32] = "-";

    (void) json_object_object_get_ex(status, "properties", &props);
    for (size_t i = 0; output && i < json_object_array_length(output); i++)
    {
        json_object *m = json_object_array_get_idx(output, i);
        if (s_is(m, "MigrationLevelOutput"))
        {
            s_format_duration(json_object_get_double(
                                  json_object_object_get(m, "elapsedSeconds")),
                              elapsed, sizeof elapsed);
        }
    }
    strbuf_appendf(
        line, "task %s/%s  %s  %s  elapsed %s",
        cli_json_str(status, "projectName"), cli_json_str(status, "name"),
        cli_json_str(props, "taskType"), cli_task_state(status), elapsed);
    s_lines_take(lines, &line, cols);
    if (agents != NULL && json_object_object_get_ex(agents, "agents", &list))
    {
        strbuf_append(line, "agents");
        for (size_t i = 0; i < json_object_array_length(list); i++)
        {
            json_object *a = json_object_array_get_idx(list, i);
            json_object *list_units = NULL;
            int64_t units = json_object_object_get_ex(a, "units", &list_units)
                                ? (int64_t) json_object_array_length(list_units)
                                : 0;
            int64_t jobs = cli_json_int(a, "jobs");

            strbuf_appendf(line, "%s %s", i ? "," : "",
                           cli_json_str(a, "name"));
            /* small tables go in batches: more units than jobs */
            if (strcmp(cli_json_str(a, "state"), "alive") == 0)
            {
                strbuf_appendf(line, " %" PRId64 " unit%s on %" PRId64 " job%s",
                               units, units == 1 ? "" : "s", jobs,
                               jobs == 1 ? "" : "s");
            }
            else
            {
                strbuf_appendf(line, " %s", cli_json_str(a, "state"));
            }
        }
        if (json_object_array_length(list) == 0)
        {
            strbuf_append(line, ": none has sent a heartbeat");
        }
        s_lines_take(lines, &line, cols);
    }
    strbuf_destroy(&line);
}

char *
view_render(const view_t *self, json_object *status, json_object *agents,
            int rows, int cols)
{
    s_lines_t lines = {NULL, 0};
    json_object *output = cli_status_output(status);
    size_t n = output ? json_object_array_length(output) : 0;
    strbuf_t *screen = strbuf_new();
    strbuf_t *line = strbuf_new();

    cols = cols < 20 ? 20 : cols;
    rows = rows < 1 ? 1 : rows;
    s_render_header(&lines, status, agents, cols);
    for (size_t i = 0; i < n; i++)
    {
        json_object *d = json_object_array_get_idx(output, i);
        if (s_is(d, "DatabaseLevelOutput"))
        {
            s_lines_take(&lines, &line, cols); /* a blank line */
            s_render_database(self, &lines, d, cols);
        }
    }
    if (lines.n + 2 < (size_t) rows)
    {
        s_lines_take(&lines, &line, cols);
        s_render_tables(self, &lines, output, rows - (int) lines.n, cols);
    }
    /* databases that do not fit: the first ones, and how many lines not */
    if (lines.n > (size_t) rows)
    {
        size_t cut = lines.n - (size_t) rows + 1;
        for (size_t i = (size_t) rows - 1; i < lines.n; i++)
        {
            free(lines.v[i]);
        }
        lines.n = (size_t) rows - 1;
        strbuf_appendf(line, "%s and %zu more lines", self->utf8 ? "…" : "...",
                       cut);
        s_lines_take(&lines, &line, cols);
    }
    for (size_t i = 0; i < lines.n; i++)
    {
        strbuf_appendf(screen, "%s\n", lines.v[i]);
    }
    s_lines_clear(&lines);
    strbuf_destroy(&line);
    return strbuf_finish(&screen);
}
