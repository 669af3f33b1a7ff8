/*
 * agent/unit_copy.c
 *     The copy unit: one table from source to target, as COPY bytes
 *     forwarded untouched from PQgetCopyData to PQputCopyData; and the
 *     copy group, several small whole tables of one batch in one pass.
 *
 * Exactly once: the rows and the table's row in pgconvoy.partition_done
 * commit in one target transaction, and a unit that finds its row there
 * skips. A whole table that holds rows, or is big, is emptied by a
 * TRUNCATE in that same transaction, which also lets COPY FREEZE write
 * frozen rows (no later anti-wraparound rewrite). A small empty one is
 * not: a TRUNCATE gives a table new files, which costs more than a later
 * freeze of a few pages, and a 2,000-table load as much as its COPYs.
 * Memory stays bounded: one COPY row at a time, and the rows gathered
 * into one CopyData message (COPY_SEND_BYTES).
 *
 * A group reads its tables in one source transaction (under the task's
 * snapshot) and writes them in one target transaction, with all their
 * partition_done rows: one commit, one pair of session resets and one
 * snapshot import instead of one each, for tables whose rows cost less
 * than those. A unit alone is a group of one. After the commit, the
 * small whole tables that may be are analyzed (copy_analyze.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent/copy_analyze.h"
#include "agent/copy_range.h"
#include "agent/copy_trim.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

#define COPY_REPORT_EVERY_US 1000000LL
/*
 * Rows sent to the target together, in one CopyData message: the
 * protocol lets a message hold any part of the data, rows or not. One
 * message a row (4 million for the big-table benchmark's 690 MB) cost
 * the target's backend and libpq here a message each.
 */
#define COPY_SEND_BYTES ((size_t) 64 * 1024)
/* How long a copy's claim waits for another placement of its unit to
 * commit or roll back (s_claim()). */
#define COPY_FENCE_WAIT "'10s'"
/* Whole tables of this size or more are always emptied and frozen. */
#define COPY_FREEZE_MIN_BYTES ((int64_t) 1024 * 1024)
/* Tables (or parts) of this size or more send their char(n) values
 * without the blank padding (copy_trim.h); a smaller one is not worth the
 * round trip that reads the target's column types. */
#define COPY_TRIM_MIN_BYTES ((int64_t) 1024 * 1024)

/* One table of the group. */
typedef struct
{
    const Pgconvoy__Assign *assign; /* borrowed */
    Pgconvoy__Result *res;          /* borrowed: this unit's Result */
    char *qualified;               /* "schema"."table", owned */
    char *label;                   /* schema.table for messages, owned */
    int64_t rows;
    int64_t bytes;
    bool done;     /* an earlier attempt committed it */
    bool truncate; /* emptied first, so loaded frozen */
    bool delete_rows; /* holds rows, but another table's foreign key
                       * points to it: emptied with DELETE */
    copy_trim_t *trim; /* binary, with char(n) columns; else NULL */
    bool analyzed;     /* once committed (copy_analyze.h) */
} copy_t;

typedef struct
{
    unit_t *unit;   /* borrowed */
    PGconn *src;    /* taken from the agent's pool */
    PGconn *tgt;    /* taken from the agent's pool */
    copy_t *tables; /* n of them, owned */
    size_t n;
    char *send;       /* COPY_SEND_BYTES, owned: rows not sent yet */
    size_t send_used; /* of them */
} group_t;

/* Fails the table's unit with the connection's error, naming the table. */
static int
s_fail(const group_t *g, copy_t *c, PGconn *conn, PGresult *r, const char *what)
{
    char *why = pgconn_error_text(conn, r);
    int rc = unit_fail(c->res,
                       xasprintf("table %s: %s on the %s: %s", c->label, what,
                                 conn == g->src ? "source" : "target", why),
                       pgconn_is_transient(conn, r));
    free(why);
    return rc;
}

/* The (schema, name, part) arrays of the group's tables, from first on. */
static void
s_table_arrays(const group_t *g, strbuf_t **arrays)
{
    for (int i = 0; i < 3; i++)
    {
        strbuf_append(arrays[i], "{");
    }
    for (size_t k = 0; k < g->n; k++)
    {
        const Pgconvoy__TableRef *t = g->tables[k].assign->table;
        strbuf_append_array_text(arrays[0], t->schema);
        strbuf_append_array_text(arrays[1], t->name);
        strbuf_appendf(arrays[2], "%s%u", k > 0 ? "," : "", t->part);
    }
    for (int i = 0; i < 3; i++)
    {
        strbuf_append(arrays[i], "}");
    }
}

/* Marks the tables an earlier attempt committed (their partition_done
 * row is there), with what it counted. Returns 0, or -1 (failed). */
static int
s_find_done(group_t *g)
{
    strbuf_t *arrays[3] = {strbuf_new(), strbuf_new(), strbuf_new()};
    PGresult *r = NULL;
    int rc = -1;

    s_table_arrays(g, arrays);
    const char *params[4] = {g->tables[0].assign->task_key,
                             strbuf_data(arrays[0]), strbuf_data(arrays[1]),
                             strbuf_data(arrays[2])};
    r = PQexecParams(
        g->tgt,
        "SELECT x.i, d.rows, d.bytes FROM pgconvoy.partition_done d "
        "  JOIN unnest($2::text[], $3::text[], $4::int[]) WITH ORDINALITY "
        "       AS x(s, t, p, i) "
        "    ON d.schema_name = x.s AND d.table_name = x.t AND d.part = x.p "
        " WHERE d.task_key = $1",
        4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        (void) s_fail(g, &g->tables[0], g->tgt, r,
                      "could not read pgconvoy.partition_done");
        goto cleanup;
    }
    for (int row = 0; row < PQntuples(r); row++)
    {
        size_t k = (size_t) strtoull(PQgetvalue(r, row, 0), NULL, 10) - 1;
        if (k < g->n)
        {
            g->tables[k].done = true;
            g->tables[k].rows = strtoll(PQgetvalue(r, row, 1), NULL, 10);
            g->tables[k].bytes = strtoll(PQgetvalue(r, row, 2), NULL, 10);
        }
    }
    rc = 0;

cleanup:
    PQclear(r);
    for (int i = 0; i < 3; i++)
    {
        strbuf_destroy(&arrays[i]);
    }
    return rc;
}

/*
 * Decides how to empty each whole table first: a big one always (its
 * copy is then loaded frozen), a small one only when it holds rows (the
 * target has no writer but us while it loads). A table that a foreign
 * key of another table points to cannot be truncated alone (a schema the
 * user made beforehand, as the DMS tutorial has it made with pg_dump
 * --schema-only | psql; pgconvoy adds foreign keys after the load): it is
 * emptied with DELETE when it holds rows, and loaded without FREEZE. One
 * query for the group, which reads pg_constraint (no index on confrelid)
 * once. Returns 0, or -1 (failed).
 */
static int
s_find_filled(group_t *g)
{
    strbuf_t *sql = strbuf_new();
    PGresult *r = NULL;
    size_t n = 0;
    int rc = -1;

    strbuf_append(sql, "WITH referenced AS ("
                       "SELECT f.confrelid FROM pg_catalog.pg_constraint f "
                       "WHERE f.contype = 'f' AND f.conrelid <> f.confrelid) ");
    for (size_t k = 0; k < g->n; k++)
    {
        copy_t *c = &g->tables[k];
        if (c->done || c->assign->table->parts > 1)
        {
            continue;
        }
        char *literal = PQescapeLiteral(g->tgt, c->qualified,
                                        strlen(c->qualified));
        strbuf_appendf(sql,
                       "%sSELECT %zu, EXISTS (SELECT FROM ONLY %s), "
                       "%s::pg_catalog.regclass::pg_catalog.oid "
                       "IN (SELECT * FROM referenced)",
                       n++ > 0 ? " UNION ALL " : "", k, c->qualified,
                       literal != NULL ? literal : "NULL");
        PQfreemem(literal);
    }
    if (n == 0)
    {
        rc = 0;
        goto cleanup;
    }
    r = PQexec(g->tgt, strbuf_data(sql));
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        (void) s_fail(g, &g->tables[0], g->tgt, r,
                      "could not tell whether the tables are empty");
        goto cleanup;
    }
    for (int row = 0; row < PQntuples(r); row++)
    {
        size_t k = (size_t) strtoull(PQgetvalue(r, row, 0), NULL, 10);
        bool filled = PQgetvalue(r, row, 1)[0] == 't';
        bool referenced = PQgetvalue(r, row, 2)[0] == 't';

        if (k < g->n)
        {
            copy_t *c = &g->tables[k];
            c->truncate = !referenced &&
                          (filled || c->assign->table->bytes >=
                                         COPY_FREEZE_MIN_BYTES);
            c->delete_rows = referenced && filled;
        }
    }
    rc = 0;

cleanup:
    PQclear(r);
    strbuf_destroy(&sql);
    return rc;
}

/*
 * The source side: the whole table, or one part of it (copy_range.c: a
 * block range, or a key range on a server without TID range scans).
 * Returns the COPY, or NULL with *error set.
 */
static char *
s_source_sql(const group_t *g, const copy_t *c, char **error)
{
    const Pgconvoy__TableRef *t = c->assign->table;
    const char *format = t->binary ? "binary" : "text";
    char *where = NULL;
    char *sql = NULL;

    if (t->parts <= 1)
    {
        const char *cols = t->columns[0] ? t->columns : NULL;
        return xasprintf("COPY %s %s%s%s TO STDOUT WITH (FORMAT %s)",
                         c->qualified, cols ? "(" : "", cols ? cols : "",
                         cols ? ")" : "", format);
    }
    where = copy_range_where(g->src, t, c->qualified, error);
    if (where != NULL)
    {
        sql = xasprintf("COPY (SELECT %s FROM ONLY %s WHERE %s) TO STDOUT "
                        "WITH (FORMAT %s)",
                        t->columns, c->qualified, where, format);
    }
    free(where);
    return sql;
}

/* How many of the group's tables are done (by this or an earlier
 * placement). */
static size_t
s_count_done(const group_t *g)
{
    size_t n = 0;

    for (size_t k = 0; k < g->n; k++)
    {
        n += g->tables[k].done ? 1 : 0;
    }
    return n;
}

/*
 * Online, in the open target transaction: the snapshot this copy reads
 * under must still be the load's (pgconvoy.load_snapshot, written by the
 * slot unit). Its row stays locked (FOR SHARE) until the commit, so a
 * load that starts over waits for this copy before it empties the
 * tables. Returns 0, or -1 (failed: a load started over is tried again
 * under the new snapshot).
 */
static int
s_check_load_snapshot(group_t *g)
{
    const Pgconvoy__Assign *a = g->tables[0].assign;
    const char *params[1] = {a->task_key};
    PGresult *r = PQexecParams(g->tgt,
                               "SELECT snapshot FROM pgconvoy.load_snapshot "
                               "WHERE task_key = $1 FOR SHARE",
                               1, NULL, params, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        rc = s_fail(g, &g->tables[0], g->tgt, r,
                    "could not read pgconvoy.load_snapshot");
    }
    else if (PQntuples(r) == 1 && a->snapshot != NULL &&
             strcmp(PQgetvalue(r, 0, 0), a->snapshot) != 0)
    {
        rc = unit_fail(g->tables[0].res,
                       xasprintf("table %s: the full load started over under "
                                 "snapshot %s: this copy, under %s, stops "
                                 "without writing",
                                 g->tables[0].label, PQgetvalue(r, 0, 0),
                                 a->snapshot),
                       true);
    }
    PQclear(r);
    return rc;
}

/*
 * Fencing, in the open target transaction, before any write: claims each
 * unit of the group for this placement's epoch in pgconvoy.fence. The
 * claim's row lock is held until the commit, so two placements of a
 * unit (one on an agent thought lost, paused or cut off, still running)
 * write one after the other, never both: the later one finds the rows
 * committed and skips, and an earlier placement finds a later epoch
 * there and stops. A claim waits at most COPY_FENCE_WAIT for the other
 * to end, then tries again later (transient). Returns 0, or -1 (failed).
 */
static int
s_claim(group_t *g)
{
    strbuf_t *units = strbuf_new();
    strbuf_t *epochs = strbuf_new();
    size_t done = s_count_done(g);
    size_t n = 0;
    PGresult *r = NULL;
    int rc = -1;

    strbuf_append(units, "{");
    strbuf_append(epochs, "{");
    for (size_t k = 0; k < g->n; k++)
    {
        const Pgconvoy__Assign *a = g->tables[k].assign;
        if (!g->tables[k].done)
        {
            strbuf_appendf(units, "%s%" PRIu64, n ? "," : "", a->unit_id);
            strbuf_appendf(epochs, "%s%u", n ? "," : "", a->epoch);
            n++;
        }
    }
    strbuf_append(units, "}");
    strbuf_append(epochs, "}");
    const char *params[3] = {g->tables[0].assign->task_key, strbuf_data(units),
                             strbuf_data(epochs)};
    r = PQexec(g->tgt, "SET LOCAL lock_timeout = " COPY_FENCE_WAIT);
    PQclear(r);
    if (g->tables[0].assign->online && s_check_load_snapshot(g) != 0)
    {
        r = NULL;
        goto cleanup;
    }
    r = PQexecParams(
        g->tgt,
        "WITH claimed AS ("
        "  INSERT INTO pgconvoy.fence AS f (task_key, unit_id, epoch) "
        "  SELECT $1, u, e FROM unnest($2::int8[], $3::int4[]) AS x(u, e) "
        "  ON CONFLICT (task_key, unit_id) DO UPDATE "
        "     SET epoch = excluded.epoch WHERE f.epoch <= excluded.epoch "
        "  RETURNING f.unit_id) "
        "SELECT count(*) FROM claimed",
        3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        rc = s_fail(g, &g->tables[0], g->tgt, r,
                    "could not claim the copy for this placement");
        goto cleanup;
    }
    if (strtoull(PQgetvalue(r, 0, 0), NULL, 10) != n)
    {
        rc = unit_fail(g->tables[0].res,
                       xasprintf("table %s: a later placement of this unit "
                                 "(epoch above %u) writes it: this one "
                                 "stops without writing",
                                 g->tables[0].label,
                                 g->tables[0].assign->epoch),
                       false);
        goto cleanup;
    }
    PQclear(r);
    r = PQexec(g->tgt, "SET LOCAL lock_timeout = DEFAULT");
    /* committed by another placement since s_find_done() looked */
    if (s_find_done(g) != 0)
    {
        goto cleanup;
    }
    if (s_count_done(g) != done)
    {
        rc = unit_fail(g->tables[0].res,
                       xasprintf("table %s: another placement of this unit "
                                 "committed a table of it meanwhile: "
                                 "trying again",
                                 g->tables[0].label),
                       true);
        goto cleanup;
    }
    rc = 0;

cleanup:
    PQclear(r);
    strbuf_destroy(&units);
    strbuf_destroy(&epochs);
    return rc;
}

/* Opens the source transaction under the task's snapshot and the target
 * one; every table of the group reads from the snapshot from now on. */
static int
s_begin(group_t *g)
{
    const Pgconvoy__Assign *a = g->tables[0].assign;
    char *sql = NULL;
    char *error = NULL;
    int rc = -1;

    if (pgconn_command(g->src,
                       "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                       &error) != 0)
    {
        goto failed;
    }
    if (a->snapshot[0] != '\0')
    {
        char *literal =
            PQescapeLiteral(g->src, a->snapshot, strlen(a->snapshot));
        sql = xasprintf("SET TRANSACTION SNAPSHOT %s", literal);
        PQfreemem(literal);
        if (pgconn_command(g->src, sql, &error) != 0)
        {
            /* its holder is gone: the coordinator takes another */
            g->tables[0].res->snapshot_lost = true;
            goto failed;
        }
    }
    for (size_t k = 0; k < g->n; k++)
    {
        if (!g->tables[k].done)
        {
            unit_report_started_id(g->unit, g->tables[k].assign->unit_id);
        }
    }
    if (pgconn_command(g->tgt, "BEGIN", &error) != 0)
    {
        goto failed;
    }
    rc = s_claim(g);
    goto cleanup;

failed:
    rc = unit_fail(
        g->tables[0].res,
        xasprintf("table %s: could not start: %s", g->tables[0].label, error),
        true);
cleanup:
    free(error);
    free(sql);
    return rc;
}

/* Starts the COPY of one table on both sides, emptying it first if
 * s_find_filled said so; a range shares its table with other writers,
 * so never. */
static int
s_start_copy(group_t *g, copy_t *c)
{
    const Pgconvoy__TableRef *t = c->assign->table;
    const char *format = t->binary ? "binary" : "text";
    const char *cols = t->columns[0] ? t->columns : NULL;
    char *sql = NULL;
    char *error = NULL;
    PGresult *r = NULL;
    int rc = -1;

    if (c->truncate || c->delete_rows)
    {
        sql = xasprintf(c->truncate ? "TRUNCATE ONLY %s" : "DELETE FROM ONLY %s",
                        c->qualified);
        r = PQexec(g->tgt, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
        {
            rc = s_fail(g, c, g->tgt, r, "could not empty the table");
            goto cleanup;
        }
        PQclear(r);
        r = NULL;
        free(sql);
        sql = NULL;
    }
    if (t->binary && cols != NULL && t->bytes >= COPY_TRIM_MIN_BYTES)
    {
        c->trim = copy_trim_new(g->tgt, c->qualified, cols, &error);
        if (c->trim == NULL)
        {
            rc = unit_fail(c->res,
                           xasprintf("table %s: could not read its column "
                                     "types on the target: %s",
                                     c->label, error),
                           pgconn_is_transient(g->tgt, NULL));
            goto cleanup;
        }
        if (!copy_trim_is_useful(c->trim))
        {
            copy_trim_destroy(&c->trim);
        }
    }
    sql = xasprintf("COPY %s %s%s%s FROM STDIN WITH (FORMAT %s%s)",
                    c->qualified, cols ? "(" : "", cols ? cols : "",
                    cols ? ")" : "", format, c->truncate ? ", FREEZE" : "");
    r = PQexec(g->tgt, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
    {
        rc = s_fail(g, c, g->tgt, r, "could not start COPY");
        goto cleanup;
    }
    PQclear(r);
    free(sql);
    sql = s_source_sql(g, c, &error);
    if (sql == NULL)
    {
        rc = unit_fail(c->res,
                       xasprintf("table %s: could not find the range of part "
                                 "%u on the source: %s",
                                 c->label, t->part, error),
                       pgconn_is_transient(g->src, NULL));
        goto cleanup;
    }
    r = PQexec(g->src, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT)
    {
        rc = s_fail(g, c, g->src, r, "could not start COPY");
        goto cleanup;
    }
    rc = 0;

cleanup:
    free(error);
    free(sql);
    PQclear(r);
    return rc;
}

/* A copy whose agent's lease ran out stops, its transaction rolled back
 * by the caller: it may be placed elsewhere already. */
static int
s_fail_fenced(copy_t *c)
{
    return unit_fail(c->res,
                     xasprintf("table %s: stopped without committing: this "
                               "agent's lease ran out",
                               c->label),
                     true);
}

/* Sends the rows gathered. Returns 0, or -1 (g->send_used kept). */
static int
s_send(group_t *g)
{
    if (g->send_used > 0 &&
        PQputCopyData(g->tgt, g->send, (int) g->send_used) != 1)
    {
        return -1;
    }
    g->send_used = 0;
    return 0;
}

/* Gathers one row to send, sending what it fills first; a row as big
 * as the buffer goes alone. Returns 1 if it sent something, 0 if not,
 * -1 on error. */
static int
s_gather(group_t *g, const char *row, size_t len)
{
    bool full = g->send_used + len > COPY_SEND_BYTES;

    if (full && s_send(g) != 0)
    {
        return -1;
    }
    if (len >= COPY_SEND_BYTES)
    {
        return PQputCopyData(g->tgt, row, (int) len) == 1 ? 1 : -1;
    }
    memcpy(g->send + g->send_used, row, len);
    g->send_used += len;
    return full ? 1 : 0;
}

/* The copy loop: bytes in, bytes out, nothing parsed. */
static int
s_stream(group_t *g, copy_t *c)
{
    char *buf = NULL;
    int len = 0;
    int64_t next_report = zclock_usecs() + COPY_REPORT_EVERY_US;
    PGresult *r = NULL;
    int rc = -1;

    g->send_used = 0;
    while ((len = PQgetCopyData(g->src, &buf, 0)) > 0)
    {
        size_t out = c->trim != NULL ? copy_trim_row(c->trim, buf, (size_t) len)
                                     : (size_t) len;
        int sent = s_gather(g, buf, out);
        PQfreemem(buf);
        if (sent < 0)
        {
            return s_fail(g, c, g->tgt, NULL, "could not send COPY data");
        }
        c->bytes += len;
        /* an atomic load a row: nothing beside the copy itself */
        if (unit_is_fenced(g->unit))
        {
            (void) PQputCopyEnd(g->tgt, "the agent's lease ran out");
            return s_fail_fenced(c);
        }
        /* the clock read once a send, not once a row: it was a quarter
         * of this loop's time */
        if (sent > 0 && zclock_usecs() >= next_report)
        {
            unit_report_progress_id(g->unit, c->assign->unit_id, 0, c->bytes);
            next_report = zclock_usecs() + COPY_REPORT_EVERY_US;
        }
    }
    r = PQgetResult(g->src);
    if (len == -2 || PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        rc = s_fail(g, c, g->src, r, "COPY failed");
        (void) PQputCopyEnd(g->tgt, "source COPY failed");
        PQclear(r);
        return rc;
    }
    PQclear(r);
    /* settle the source session: the next table, or unit, uses it */
    while ((r = PQgetResult(g->src)) != NULL)
    {
        PQclear(r);
    }
    if (s_send(g) != 0)
    {
        (void) PQputCopyEnd(g->tgt, "the last rows could not be sent");
        return s_fail(g, c, g->tgt, NULL, "could not send COPY data");
    }
    if (PQputCopyEnd(g->tgt, NULL) != 1)
    {
        return s_fail(g, c, g->tgt, NULL, "could not end COPY");
    }
    r = PQgetResult(g->tgt);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        rc = s_fail(g, c, g->tgt, r, "COPY failed");
    }
    else
    {
        c->rows = strtoll(PQcmdTuples(r), NULL, 10);
        rc = 0;
    }
    PQclear(r);
    /* drain: a COPY leaves one more NULL result behind */
    while ((r = PQgetResult(g->tgt)) != NULL)
    {
        PQclear(r);
    }
    return rc;
}

/* Whether c, copied here, is to be analyzed after the commit. */
static bool
s_to_analyze(const copy_t *c)
{
    return c->assign->analyze && !c->done;
}

/* True if a table copied is to be analyzed after the commit. */
static bool
s_analyzing(const group_t *g)
{
    for (size_t k = 0; k < g->n; k++)
    {
        if (s_to_analyze(&g->tables[k]))
        {
            return true;
        }
    }
    return false;
}

/* Records every table copied, with its counts, and commits. */
static int
s_commit(group_t *g)
{
    strbuf_t *arrays[5] = {strbuf_new(), strbuf_new(), strbuf_new(),
                           strbuf_new(), strbuf_new()};
    copy_t *last = &g->tables[g->n - 1];
    PGresult *r = NULL;
    int rc = -1;

    for (int i = 0; i < 5; i++)
    {
        strbuf_append(arrays[i], "{");
    }
    for (size_t k = 0; k < g->n; k++)
    {
        const copy_t *c = &g->tables[k];
        const char *sep = strbuf_len(arrays[2]) > 1 ? "," : "";
        if (c->done)
        {
            continue;
        }
        strbuf_append_array_text(arrays[0], c->assign->table->schema);
        strbuf_append_array_text(arrays[1], c->assign->table->name);
        strbuf_appendf(arrays[2], "%s%u", sep, c->assign->table->part);
        strbuf_appendf(arrays[3], "%s%" PRId64, sep, c->rows);
        strbuf_appendf(arrays[4], "%s%" PRId64, sep, c->bytes);
    }
    for (int i = 0; i < 5; i++)
    {
        strbuf_append(arrays[i], "}");
    }
    const char *params[6] = {last->assign->task_key, strbuf_data(arrays[0]),
                             strbuf_data(arrays[1]), strbuf_data(arrays[2]),
                             strbuf_data(arrays[3]), strbuf_data(arrays[4])};
    r = PQexecParams(g->tgt,
                     "INSERT INTO pgconvoy.partition_done "
                     "(task_key, schema_name, table_name, part, rows, bytes) "
                     "SELECT $1, * FROM unnest($2::text[], $3::text[], "
                     "$4::int[], $5::int8[], $6::int8[])",
                     6, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        rc = s_fail(g, last, g->tgt, r, "could not record the copy");
        goto cleanup;
    }
    PQclear(r);
    r = copy_analyze_commit(g->tgt, s_analyzing(g));
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        rc = s_fail(g, last, g->tgt, r, "could not commit");
        goto cleanup;
    }
    rc = 0;

cleanup:
    PQclear(r);
    for (int i = 0; i < 5; i++)
    {
        strbuf_destroy(&arrays[i]);
    }
    return rc;
}

/* Takes the target session, set for a load, and finds what is done. */
static int
s_prepare_target(group_t *g)
{
    const Pgconvoy__Assign *a = g->tables[0].assign;
    char *error = NULL;

    g->tgt = connpool_take(unit_pool(g->unit), a->target, NULL, "target",
                           "copy", &error);
    if (g->tgt == NULL)
    {
        return unit_fail(g->tables[0].res,
                         xasprintf("table %s: %s", g->tables[0].label, error),
                         true);
    }
    /* a table is reported done once its commit is on the target's disk:
     * a target crash right after must not lose what the catalog calls
     * done. One commit per group, so one flush: on, whatever the role's
     * or the server's default */
    if (pgconn_command(g->tgt, "SET synchronous_commit = on", &error) != 0)
    {
        int rc = unit_fail(g->tables[0].res,
                           xasprintf("table %s: %s", g->tables[0].label, error),
                           pgconn_is_transient(g->tgt, NULL));
        free(error);
        return rc;
    }
    /* needs superuser; only matters when the user made the schema with
     * its triggers and foreign keys before the load */
    if (pgconn_command(g->tgt, "SET session_replication_role = replica",
                       &error) != 0)
    {
        log_debug("table=%s could not set session_replication_role: %s",
                  g->tables[0].label, error);
    }
    free(error);
    for (size_t k = 0; k < g->n; k++)
    {
        const Pgconvoy__TableRef *t = g->tables[k].assign->table;
        g->tables[k].qualified =
            pgconn_quote_qualified(g->tgt, t->schema, t->name);
    }
    return s_find_done(g) == 0 ? s_find_filled(g) : -1;
}

/*
 * Analyzes, after the commit, the tables copied whose Assign asks it
 * (copy_analyze.h), in one statement. Not being able to is no failure of
 * the copy: those tables get their ANALYZE units.
 */
static void
s_analyze(group_t *g)
{
    const char **names = xcalloc(g->n, sizeof *names);
    size_t n = 0;
    char *error = NULL;

    for (size_t k = 0; k < g->n; k++)
    {
        if (s_to_analyze(&g->tables[k]))
        {
            names[n++] = g->tables[k].qualified;
        }
    }
    if (n > 0 && unit_analyze_tables(g->tgt, names, n, true, &error) != 0)
    {
        log_warn("table=%s could not ANALYZE %zu table(s) with their "
                 "copies, left to ANALYZE units: %s",
                 g->tables[0].label, n, error);
        n = 0;
    }
    for (size_t k = 0; k < g->n && n > 0; k++)
    {
        g->tables[k].analyzed = s_to_analyze(&g->tables[k]);
    }
    free(error);
    free(names);
}

/* Copies the tables not done yet, and commits them together. */
static int
s_copy_tables(group_t *g)
{
    const Pgconvoy__Assign *a = g->tables[0].assign;
    char *error = NULL;

    g->src = connpool_take(unit_pool(g->unit), a->source, NULL, "source",
                           "copy", &error);
    if (g->src == NULL)
    {
        return unit_fail(g->tables[0].res,
                         xasprintf("table %s: %s", g->tables[0].label, error),
                         true);
    }
    if (s_begin(g) != 0)
    {
        return -1;
    }
    for (size_t k = 0; k < g->n; k++)
    {
        copy_t *c = &g->tables[k];
        if (!c->done && (s_start_copy(g, c) != 0 || s_stream(g, c) != 0))
        {
            return -1;
        }
    }
    /* checked last before the commit, the fence row guarding the rest */
    if (unit_is_fenced(g->unit))
    {
        return s_fail_fenced(&g->tables[0]);
    }
    /* let go meanwhile (its database was cancelled or failed, or its load
     * starts over): nothing of it is wanted, and a unit that waited for
     * its slot may have started just before the Release came */
    if (unit_is_released(g->unit))
    {
        return unit_fail(g->tables[0].res,
                         xasprintf("table %s: stopped without committing: "
                                   "released by the coordinator",
                                   g->tables[0].label),
                         true);
    }
    return s_commit(g);
}

int
unit_copy_group(unit_t *self, const Pgconvoy__Assign *const *assigns, size_t n,
                Pgconvoy__Result **res)
{
    group_t g = {.unit = self,
                 .tables = xcalloc(n, sizeof(copy_t)),
                 .n = n,
                 .send = xcalloc(1, COPY_SEND_BYTES)};
    size_t todo = 0;
    int rc = -1;

    for (size_t k = 0; k < n; k++)
    {
        const Pgconvoy__TableRef *t = assigns[k]->table;
        g.tables[k].assign = assigns[k];
        g.tables[k].res = res[k];
        g.tables[k].label = t->parts > 1
                                ? xasprintf("\"%s.%s\" part %u/%u", t->schema,
                                            t->name, t->part + 1, t->parts)
                                : xasprintf("\"%s.%s\"", t->schema, t->name);
    }
    if (s_prepare_target(&g) != 0)
    {
        goto cleanup;
    }
    for (size_t k = 0; k < n; k++)
    {
        todo += g.tables[k].done ? 0 : 1;
    }
    if (todo > 0 && s_copy_tables(&g) != 0)
    {
        goto cleanup;
    }
    rc = 0;
    s_analyze(&g);

cleanup:
    for (size_t k = 0; k < n; k++)
    {
        copy_t *c = &g.tables[k];
        c->res->rows = c->rows;
        c->res->bytes = c->bytes;
        c->res->skipped = rc == 0 && c->done;
        c->res->analyzed = rc == 0 && c->analyzed;
        if (rc == 0 && c->trim != NULL)
        {
            log_info("table=%s blank padding of char(n) values left out: "
                     "%" PRId64 " of %" PRId64 " bytes",
                     c->label, copy_trim_dropped(c->trim), c->bytes);
        }
        copy_trim_destroy(&c->trim);
        free(c->qualified);
        free(c->label);
    }
    free(g.tables);
    free(g.send);
    /* a session left mid-COPY by a failure is closed, not kept */
    connpool_give(unit_pool(self), &g.src);
    connpool_give(unit_pool(self), &g.tgt);
    return rc;
}

int
unit_copy_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);

    return unit_copy_group(self, &a, 1, &res);
}
