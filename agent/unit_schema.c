/*
 * agent/unit_schema.c
 *     The schema-pre unit: the pre-data section (types, tables,
 *     functions, sequences) made before the load, and the post-data items
 *     (indexes, constraints…) read for after it (unit_schema_post.c).
 *
 * pg_dump decides what the schema is, so that pgconvoy restores what a
 * DBA's pg_dump | pg_restore would. Each post-data item is one TOC entry
 * of pg_dump's custom format, extracted with pg_restore -L, so that the
 * coordinator can spread index builds over agents. Every step commits
 * with its row in pgconvoy.step_done (schema_step.c), so a step run twice
 * is skipped. The finalize unit is unit_finalize.c.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/pgtool.h"
#include "agent/postdata.h"
#include "agent/predata.h"
#include "agent/schema_step.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/qualname.h"
#include "common/strbuf.h"

/*
 * The pre-data section is made in chunks: the first closed after this
 * many tables, so that the first copies start soon, the others after
 * SCHEMA_CHUNK_TABLES (a chunk is one transaction and one message).
 */
#define SCHEMA_FIRST_CHUNK_TABLES 20
#define SCHEMA_CHUNK_TABLES 200

/*
 * What pg_dump must leave out when only some tables are selected: every
 * table that is neither selected nor a partitioned ancestor of one, and
 * every view built on such a table, transitively (kind 'x'); and the
 * foreign keys of kept tables that point at a left-out table (kind 'f',
 * as pg_restore -l tags them: "schema table constraint").
 */
/* pg_partition_ancestors() lists nothing outside a partition tree */
#define SCHEMA_KEEP_SQL                                                        \
    "keep AS (SELECT oid AS relid FROM selected UNION "                        \
    "         SELECT a.relid FROM selected l, "                                \
    "                LATERAL pg_partition_ancestors(l.oid) AS a), "
/* before 12, which has no pg_partition_ancestors(): up pg_inherits, from
 * partitions only (not from children by plain inheritance) */
#define SCHEMA_KEEP_SQL_11                                                     \
    "keep AS (SELECT oid AS relid FROM selected UNION "                        \
    "         SELECT i.inhparent FROM keep k "                                 \
    "           JOIN pg_class ch ON ch.oid = k.relid AND ch.relispartition "   \
    "           JOIN pg_inherits i ON i.inhrelid = k.relid), "
/* not clang-formatted: it would break the SQL apart */
/* clang-format off */
#define SCHEMA_FILTER_SQL(KEEP)                                                \
    "WITH RECURSIVE selected AS (SELECT unnest($1::regclass[]) AS oid), "     \
    KEEP                                                                       \
    "excluded AS ("                                                            \
    "  SELECT c.oid FROM pg_class c "                                          \
    "    JOIN pg_namespace n ON n.oid = c.relnamespace "                       \
    "   WHERE c.relkind IN ('r', 'p', 'f') "                                   \
    "     AND n.nspname NOT IN ('pg_catalog', 'information_schema', "          \
    "                           'pgconvoy') "                                   \
    "     AND n.nspname NOT LIKE 'pg\\_%' "                                    \
    "     AND c.oid NOT IN (SELECT relid FROM keep) "                          \
    "  UNION "                                                                 \
    "  SELECT r.ev_class FROM pg_rewrite r "                                   \
    "    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass "              \
    "     AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass "        \
    "    JOIN excluded e ON e.oid = d.refobjid "                               \
    "   WHERE r.ev_class <> d.refobjid) "                                      \
    "SELECT 'x', format('%I.%I', n.nspname, c.relname) "                       \
    "  FROM excluded e JOIN pg_class c ON c.oid = e.oid "                      \
    "  JOIN pg_namespace n ON n.oid = c.relnamespace "                         \
    "UNION ALL "                                                               \
    "SELECT 'f', n.nspname || ' ' || c.relname || ' ' || k.conname "           \
    "  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "            \
    "  JOIN pg_namespace n ON n.oid = c.relnamespace "                         \
    " WHERE k.contype = 'f' AND k.confrelid IN (SELECT oid FROM excluded) "    \
    "   AND k.conrelid NOT IN (SELECT oid FROM excluded)"
/* clang-format on */

static const char *const s_filter_sql = SCHEMA_FILTER_SQL(SCHEMA_KEEP_SQL);
static const char *const s_filter_sql_11 =
    SCHEMA_FILTER_SQL(SCHEMA_KEEP_SQL_11);

typedef struct
{
    char **args; /* "--exclude-table=…", owned */
    size_t nargs;
    char **skip_fks; /* "schema table constraint", owned */
    size_t nskip_fks;
} filter_t;

static void
s_filter_clear(filter_t *f)
{
    for (size_t i = 0; i < f->nargs; i++)
    {
        free(f->args[i]);
    }
    for (size_t i = 0; i < f->nskip_fks; i++)
    {
        free(f->skip_fks[i]);
    }
    free(f->args);
    free(f->skip_fks);
    memset(f, 0, sizeof *f);
}

/*
 * Fills f for the selected tables; leaves it empty when all are. Kept:
 * the tables to copy, and the selected names themselves, which adds a
 * selected partitioned table that has no partition to copy.
 */
static int
s_filter_load(PGconn *src, const Pgconvoy__Assign *a, filter_t *f, char **error)
{
    strbuf_t *list = NULL;
    PGresult *r = NULL;

    memset(f, 0, sizeof *f);
    if (a->n_selected_tables == 0)
    {
        return 0;
    }
    list = strbuf_new();
    strbuf_append(list, "{");
    for (size_t i = 0; i < a->n_tables + a->n_selected_tables; i++)
    {
        char *schema = NULL;
        char *table = NULL;
        char *bad = NULL;
        char *q = NULL;

        if (i < a->n_tables)
        {
            q = pgconn_quote_qualified(src, a->tables[i]->schema,
                                       a->tables[i]->name);
        }
        else if (qualname_parse(a->selected_tables[i - a->n_tables], &schema,
                                &table, &bad) == 0)
        {
            /* prepare looked each name up: they parse, they exist */
            q = pgconn_quote_qualified(src, schema, table);
        }
        if (q != NULL)
        {
            strbuf_append_array_text(list, q);
        }
        free(q);
        free(bad);
        free(schema);
        free(table);
    }
    strbuf_append(list, "}");
    const char *params[1] = {strbuf_data(list)};
    r = pgconn_query(
        src, PQserverVersion(src) >= 120000 ? s_filter_sql : s_filter_sql_11, 1,
        params, error);
    strbuf_destroy(&list);
    if (r == NULL)
    {
        return -1;
    }
    f->args = xcalloc((size_t) PQntuples(r), sizeof(char *));
    f->skip_fks = xcalloc((size_t) PQntuples(r), sizeof(char *));
    for (int i = 0; i < PQntuples(r); i++)
    {
        if (PQgetvalue(r, i, 0)[0] == 'x')
        {
            f->args[f->nargs++] =
                xasprintf("--exclude-table=%s", PQgetvalue(r, i, 1));
        }
        else
        {
            f->skip_fks[f->nskip_fks++] = xstrdup(PQgetvalue(r, i, 1));
        }
    }
    PQclear(r);
    return 0;
}

/* Runs pg_dump with the given extra arguments (a --section, which leaves
 * out table data) and the filter's. Not --schema-only: that would leave
 * out the post-data section's REFRESH MATERIALIZED VIEW entries too, and
 * every materialized view would arrive unpopulated. The pre-data section
 * makes the large objects, empty, with their owners, comments and
 * privileges (large_objects.c fills them), unless only some tables are
 * selected: then none, as pg_dump -t. */
/* pgtool's question: a pg_dump of a released unit is stopped, or it
 * would hold its locks on the source's tables for nobody */
static bool
s_released(const void *unit)
{
    return unit_is_released(unit);
}

static int
s_pg_dump(unit_t *self, const filter_t *f, const char *const *extra,
          strbuf_t *out, char **error)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    size_t argc = 0;
    const char **argv = xcalloc(16 + f->nargs, sizeof(char *));
    int rc = -1;

    if (!a->large_objects)
    {
        argv[argc++] = "--no-blobs";
    }
    if (a->no_owner)
    {
        argv[argc++] = "--no-owner";
    }
    /* the user made the tables beforehand: their privileges are theirs */
    if (a->no_privileges || a->skip_schema)
    {
        argv[argc++] = "--no-privileges";
    }
    for (size_t i = 0; extra[i] != NULL; i++)
    {
        argv[argc++] = extra[i];
    }
    for (size_t i = 0; i < f->nargs; i++)
    {
        argv[argc++] = f->args[i];
    }
    argv[argc] = NULL;
    rc = pgtool_run(unit_pg_bin(self), "pg_dump", argv, a->source, NULL, out,
                    s_released, self, error);
    free(argv);
    return rc;
}

/*
 * Whether a pg_dump that failed failed because the source went away (a
 * restart, a network cut): the session this unit holds there fails too.
 * pg_dump says why only in words, in the server's language.
 */
static bool
s_source_lost(PGconn *src)
{
    char *error = NULL;
    bool lost = pgconn_command(src, "SELECT 1", &error) != 0;

    free(error);
    return lost;
}

/* Where the post-data dump goes: TMPDIR, or /tmp. */
static const char *
s_tmp_dir(void)
{
    return getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
}

/* Removes directory dir and the files the dumps leave in it. */
static void
s_remove_dump_dir(const char *dir)
{
    static const char *const files[] = {"items.list", "post.dump", "pre.dump"};

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    {
        char *path = xasprintf("%s/%s", dir, files[i]);

        (void) unlink(path);
        free(path);
    }
    (void) rmdir(dir);
}

void
unit_schema_remove_stale(void)
{
    DIR *d = opendir(s_tmp_dir());
    struct dirent *e = NULL;

    if (d == NULL)
    {
        return;
    }
    /* pgconvoy-schema-PID-XXXXXX: PID is the agent that made it; only a
     * directory of ours (not a link someone put there) is touched */
    while ((e = readdir(d)) != NULL)
    {
        static const char prefix[] = "pgconvoy-schema-";
        const char *digits = e->d_name + sizeof prefix - 1;
        char *end = NULL;
        long pid = 0;
        struct stat st;
        char *dir = NULL;

        if (strncmp(e->d_name, prefix, sizeof prefix - 1) != 0)
        {
            continue;
        }
        pid = strtol(digits, &end, 10);
        if (end == digits || end[0] != '-' || end[1] == '\0' || pid <= 0 ||
            pid > INT_MAX || kill((pid_t) pid, 0) == 0 || errno != ESRCH)
        {
            continue;
        }
        dir = xasprintf("%s/%s", s_tmp_dir(), e->d_name);
        if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
            st.st_uid == geteuid())
        {
            s_remove_dump_dir(dir);
        }
        free(dir);
    }
    closedir(d);
}

/* Dumps the post-data section and reports it as items, one per entry.
 * The dump's directory is named after this process, so that an agent
 * killed meanwhile has it removed when one starts again. */
/* A private directory for a dump (named for unit_schema_remove_stale()),
 * or NULL with *error set. */
static char *
s_make_dump_dir(char **error)
{
    const char *tmp = s_tmp_dir();
    char *dir = xasprintf("%s/pgconvoy-schema-%d-XXXXXX", tmp, (int) getpid());

    if (mkdtemp(dir) == NULL)
    {
        *error = xasprintf("could not create a temporary directory in %s: %s",
                           tmp, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

static int
s_post_data_items(unit_t *self, PGconn *src, const filter_t *f,
                  Pgconvoy__Result *res, char **error)
{
    char *dir = s_make_dump_dir(error);
    char *dump = NULL;
    int rc = -1;

    if (dir == NULL)
    {
        return -1;
    }
    dump = xasprintf("%s/post.dump", dir);
    const char *extra[] = {"--section=post-data", "-Fc", "-f", dump, NULL};
    postdata_options_t opts = {f->skip_fks, f->nskip_fks, false,
                               unit_assign(self)->no_owner};
    if (s_pg_dump(self, f, extra, NULL, error) == 0)
    {
        rc = postdata_read_items(unit_pg_bin(self), src, dir, dump, &opts, res,
                                 error);
    }
    s_remove_dump_dir(dir);
    free(dir);
    free(dump);
    return rc;
}

/*
 * The post-data items, read while the schema is made: their pg_dump is
 * round trips to the source (0.4 s for 2,000 tables, a LOCK TABLE each),
 * which the load's index builds waited for after the schema's last chunk
 * (a database leaves its full load only once schema-pre is done). A
 * thread of its own, with the source session, which the making of the
 * schema no longer uses once the pre-data section is read.
 */
typedef struct
{
    unit_t *unit;           /* borrowed */
    PGconn *src;            /* borrowed; the thread's while it runs */
    const filter_t *filter; /* borrowed */
    Pgconvoy__Result items; /* what it read: only items */
    char *error;            /* owned, if it failed */
    int rc;
    bool running; /* a thread reads them */
    bool done;    /* read, or failed to */
    pthread_t thread;
} post_reader_t;

static void *
s_post_reader_main(void *arg)
{
    post_reader_t *r = arg;

    r->rc = s_post_data_items(r->unit, r->src, r->filter, &r->items, &r->error);
    return NULL;
}

/* Starts reading beside; without a thread, s_post_reader_finish() reads
 * them itself. */
static void
s_post_reader_start(post_reader_t *r)
{
    r->running = pthread_create(&r->thread, NULL, s_post_reader_main, r) == 0;
}

/* Waits for the thread, if one runs, and hands the items read to res. */
static void
s_post_reader_join(post_reader_t *r, Pgconvoy__Result *res)
{
    if (r->running)
    {
        (void) pthread_join(r->thread, NULL);
        r->running = false;
        r->done = true;
    }
    for (size_t i = 0; i < r->items.n_items; i++)
    {
        unit_add_item(res, r->items.items[i]);
    }
    free(r->items.items);
    r->items.items = NULL;
    r->items.n_items = 0;
}

/* The items in res, read beside or (no thread ran) now. Returns 0, or -1
 * with *error set. */
static int
s_post_reader_finish(post_reader_t *r, Pgconvoy__Result *res, char **error)
{
    s_post_reader_join(r, res);
    if (!r->done)
    {
        r->rc = s_post_data_items(r->unit, r->src, r->filter, res, &r->error);
        r->done = true;
    }
    *error = r->error;
    r->error = NULL;
    return r->rc;
}

/*
 * Makes the pre-data section on the target chunk by chunk, each chunk a
 * step of its own (done once, whatever the attempts), and says which
 * tables each made as it commits: their copies start while the next
 * chunks are made, and the post-data items are read (reader). Returns 0,
 * or -1 with res's error set.
 */
static int
s_make_schema(unit_t *self, PGconn *src, PGconn *tgt, const filter_t *f,
              Pgconvoy__Result *res, post_reader_t *reader)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    char *error = NULL;
    char *dir = s_make_dump_dir(&error);
    char *dump = dir ? xasprintf("%s/pre.dump", dir) : NULL;
    predata_chunk_t *chunks = NULL;
    size_t n = 0;
    int rc = -1;

    if (dir == NULL)
    {
        rc = unit_fail(res, error, true);
        error = NULL;
        goto cleanup;
    }
    const char *extra[] = {"--section=pre-data", "-Fc", "-f", dump, NULL};
    postdata_options_t acls = {NULL, 0, true, a->no_owner};
    /* the GRANTs of the tables, views, functions… made here are items,
     * run after the load as pg_restore runs them after every object */
    if (s_pg_dump(self, f, extra, NULL, &error) != 0 ||
        predata_read_chunks(unit_pg_bin(self), src, dump, a->no_owner,
                            SCHEMA_FIRST_CHUNK_TABLES, SCHEMA_CHUNK_TABLES,
                            &chunks, &n, &error) != 0 ||
        postdata_read_items(unit_pg_bin(self), src, dir, dump, &acls, res,
                            &error) != 0)
    {
        rc = unit_fail(
            res,
            xasprintf("source database \"%s\": %s", a->source->dbname, error),
            s_source_lost(src));
        goto cleanup;
    }
    s_post_reader_start(reader);
    for (size_t c = 0; c < n; c++)
    {
        char step[40];

        /* one piece keeps the step's name from before the chunks */
        if (n == 1)
        {
            snprintf(step, sizeof step, "schema-pre");
        }
        else
        {
            snprintf(step, sizeof step, "schema-pre:%zu", c);
        }
        int step_rc =
            schema_step_run(tgt, a->task_key, step, chunks[c].sql, false, &error);
        if (step_rc != 0)
        {
            rc = unit_fail(res,
                           xasprintf("target database \"%s\": could "
                                     "not create the schema: %s",
                                     a->target->dbname, error),
                           step_rc == SCHEMA_STEP_TRANSIENT ||
                               pgconn_is_transient(tgt, NULL));
            goto cleanup;
        }
        if (chunks[c].n_tables > 0)
        {
            unit_report_tables(self, chunks[c].tables, chunks[c].n_tables);
        }
        log_info("unit=%" PRIu64 " schema chunk %zu of %zu made, %zu "
                 "tables in it",
                 a->unit_id, c + 1, n, chunks[c].n_tables);
    }
    rc = 0;

cleanup:
    predata_free_chunks(&chunks, n);
    if (dir != NULL)
    {
        s_remove_dump_dir(dir);
    }
    free(dump);
    free(dir);
    free(error);
    return rc;
}

int
unit_schema_pre_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    char *error = NULL;
    PGconn *src = NULL;
    PGconn *tgt = NULL;
    filter_t filter = {0};
    post_reader_t reader = {.unit = self, .filter = &filter};
    int rc = -1;

    src = pgconn_connect(a->source, NULL, "source", "schema", &error);
    if (src == NULL || (tgt = pgconn_connect(a->target, NULL, "target",
                                             "schema", &error)) == NULL)
    {
        rc = unit_fail(res, error, true);
        error = NULL;
        goto cleanup;
    }
    /* this agent's tools, which may not be those of the prepare unit's:
     * an older pg_dump would refuse a newer source, or dump for itself */
    error = pgtool_check_versions(unit_pg_bin(self), PQserverVersion(src),
                                  PQserverVersion(tgt));
    if (error != NULL)
    {
        rc = unit_fail(res, error, false);
        error = NULL;
        goto cleanup;
    }
    if (schema_step_make_bookkeeping(tgt, &error) != 0)
    {
        rc = unit_fail(res,
                       xasprintf("target database \"%s\": could not "
                                 "create schema \"pgconvoy\": %s",
                                 a->target->dbname, error),
                       false);
        goto cleanup;
    }
    if (s_filter_load(src, a, &filter, &error) != 0)
    {
        rc = unit_fail(res,
                       xasprintf("source database \"%s\": could not list "
                                 "the objects to leave out: %s",
                                 a->source->dbname, error),
                       true);
        goto cleanup;
    }
    reader.src = src;
    if (!a->skip_schema &&
        s_make_schema(self, src, tgt, &filter, res, &reader) != 0)
    {
        goto cleanup;
    }
    /* every table exists: the copies can start while the post-data items
     * are read, if they are not yet; with the tables made beforehand,
     * their items are built too, where missing */
    unit_report_started(self);
    if (s_post_reader_finish(&reader, res, &error) != 0)
    {
        rc = unit_fail(res,
                       xasprintf("source database \"%s\": could "
                                 "not read the post-data schema: %s",
                                 a->source->dbname, error),
                       s_source_lost(src));
        goto cleanup;
    }
    /* finalize runs them in this order: the pre-data section's GRANTs
     * after the post-data section's objects */
    postdata_order_items(res->items, res->n_items);
    rc = 0;

cleanup:
    /* the thread uses src and the filter until it ends */
    s_post_reader_join(&reader, res);
    free(reader.error);
    free(error);
    s_filter_clear(&filter);
    PQfinish(src);
    PQfinish(tgt);
    return rc;
}
