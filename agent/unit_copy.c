/*
 * agent/unit_copy.c
 *     The copy unit: one table from source to target, as COPY bytes
 *     forwarded untouched from PQgetCopyData to PQputCopyData.
 *
 * Exactly once: the rows and the table's row in pgferry.partition_done
 * commit in one target transaction, and a unit that finds its row there
 * skips. The TRUNCATE in that same transaction makes a retry start from
 * an empty table and lets COPY FREEZE write frozen rows (no later
 * anti-wraparound rewrite). Memory stays bounded: one COPY row at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

#define COPY_REPORT_EVERY_US 1000000LL

typedef struct
{
    const Pgferry__Assign *assign; /* borrowed */
    PGconn *src;                   /* taken from the agent's pool */
    PGconn *tgt;                   /* taken from the agent's pool */
    char *qualified;               /* "schema"."table", owned */
    char *label;                   /* schema.table for messages, owned */
    int64_t rows;
    int64_t bytes;
} copy_t;

/* Fails the unit with the connection's error, naming the table. */
static int
s_fail(copy_t *c, Pgferry__Result *res, PGconn *conn, PGresult *r,
       const char *what)
{
    char *why = pgconn_error_text(conn, r);
    int rc = unit_fail(res,
                       xasprintf("table %s: %s on the %s: %s", c->label, what,
                                 conn == c->src ? "source" : "target", why),
                       pgconn_is_transient(conn, r));
    free(why);
    return rc;
}

/* Returns 1 if an earlier attempt committed this table, 0 if not. */
static int
s_already_done(copy_t *c, Pgferry__Result *res)
{
    const Pgferry__TableRef *t = c->assign->table;
    char part[16];
    const char *params[4] = {c->assign->task_key, t->schema, t->name, part};

    snprintf(part, sizeof part, "%u", t->part);
    PGresult *r = PQexecParams(
        c->tgt,
        "SELECT rows, bytes FROM pgferry.partition_done "
        "WHERE task_key = $1 AND schema_name = $2 AND table_name = $3 "
        "AND part = $4",
        4, NULL, params, NULL, NULL, 0);
    int done = -1;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        (void) s_fail(c, res, c->tgt, r,
                      "could not read pgferry.partition_done");
    }
    else if (PQntuples(r) == 1)
    {
        c->rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        c->bytes = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        done = 1;
    }
    else
    {
        done = 0;
    }
    PQclear(r);
    return done;
}

/*
 * The source side: the whole table, or one block range of it read with a
 * TID range scan (PostgreSQL 14 and later); the last range is open-ended
 * so that no row past the size measured at prepare time is missed.
 */
static char *
s_source_sql(const copy_t *c)
{
    const Pgferry__TableRef *t = c->assign->table;
    const char *format = t->binary ? "binary" : "text";

    if (t->parts <= 1)
    {
        const char *cols = t->columns[0] ? t->columns : NULL;
        return xasprintf("COPY %s %s%s%s TO STDOUT WITH (FORMAT %s)",
                         c->qualified, cols ? "(" : "", cols ? cols : "",
                         cols ? ")" : "", format);
    }
    char upper[64] = "";
    if (t->last_page > 0)
    {
        snprintf(upper, sizeof upper, " AND ctid < '(%lld,0)'::tid",
                 (long long) t->last_page);
    }
    return xasprintf("COPY (SELECT %s FROM ONLY %s WHERE ctid >= "
                     "'(%lld,0)'::tid%s) TO STDOUT WITH (FORMAT %s)",
                     t->columns, c->qualified, (long long) t->first_page, upper,
                     format);
}

static int
s_begin(unit_t *self, copy_t *c, Pgferry__Result *res)
{
    const Pgferry__Assign *a = c->assign;
    const Pgferry__TableRef *t = a->table;
    const char *format = t->binary ? "binary" : "text";
    const char *cols = t->columns[0] ? t->columns : NULL;
    char *sql = NULL;
    char *error = NULL;
    PGresult *r = NULL;
    int rc = -1;

    if (pgconn_command(c->src,
                       "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                       &error) != 0)
    {
        goto failed;
    }
    if (a->snapshot[0] != '\0')
    {
        char *literal =
            PQescapeLiteral(c->src, a->snapshot, strlen(a->snapshot));
        sql = xasprintf("SET TRANSACTION SNAPSHOT %s", literal);
        PQfreemem(literal);
        if (pgconn_command(c->src, sql, &error) != 0)
        {
            /* its holder is gone: the coordinator takes another */
            res->snapshot_lost = true;
            goto failed;
        }
        free(sql);
        sql = NULL;
    }
    unit_report_started(self);
    /* a whole table is emptied and loaded frozen in this transaction; a
     * range shares its table with other writers, so neither */
    sql = t->parts > 1 ? xstrdup("BEGIN")
                       : xasprintf("BEGIN; TRUNCATE ONLY %s", c->qualified);
    if (pgconn_command(c->tgt, sql, &error) != 0)
    {
        goto failed;
    }
    free(sql);
    sql = xasprintf("COPY %s %s%s%s FROM STDIN WITH (FORMAT %s%s)",
                    c->qualified, cols ? "(" : "", cols ? cols : "",
                    cols ? ")" : "", format, t->parts > 1 ? "" : ", FREEZE");
    r = PQexec(c->tgt, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
    {
        rc = s_fail(c, res, c->tgt, r, "could not start COPY");
        goto cleanup;
    }
    PQclear(r);
    free(sql);
    sql = s_source_sql(c);
    r = PQexec(c->src, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT)
    {
        rc = s_fail(c, res, c->src, r, "could not start COPY");
        goto cleanup;
    }
    rc = 0;
    goto cleanup;

failed:
    rc = unit_fail(
        res, xasprintf("table %s: could not start: %s", c->label, error), true);
cleanup:
    free(error);
    free(sql);
    PQclear(r);
    return rc;
}

/* The copy loop: bytes in, bytes out, nothing parsed. */
static int
s_stream(unit_t *self, copy_t *c, Pgferry__Result *res)
{
    char *buf = NULL;
    int len = 0;
    int64_t next_report = zclock_usecs() + COPY_REPORT_EVERY_US;
    PGresult *r = NULL;
    int rc = -1;

    while ((len = PQgetCopyData(c->src, &buf, 0)) > 0)
    {
        if (PQputCopyData(c->tgt, buf, len) != 1)
        {
            PQfreemem(buf);
            return s_fail(c, res, c->tgt, NULL, "could not send COPY data");
        }
        PQfreemem(buf);
        c->bytes += len;
        if (zclock_usecs() >= next_report)
        {
            unit_report_progress(self, 0, c->bytes, NULL);
            next_report = zclock_usecs() + COPY_REPORT_EVERY_US;
        }
    }
    r = PQgetResult(c->src);
    if (len == -2 || PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        rc = s_fail(c, res, c->src, r, "COPY failed");
        (void) PQputCopyEnd(c->tgt, "source COPY failed");
        PQclear(r);
        return rc;
    }
    PQclear(r);
    /* the source session is kept for the next unit: settle it too */
    while ((r = PQgetResult(c->src)) != NULL)
    {
        PQclear(r);
    }
    if (PQputCopyEnd(c->tgt, NULL) != 1)
    {
        return s_fail(c, res, c->tgt, NULL, "could not end COPY");
    }
    r = PQgetResult(c->tgt);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        rc = s_fail(c, res, c->tgt, r, "COPY failed");
    }
    else
    {
        c->rows = strtoll(PQcmdTuples(r), NULL, 10);
        rc = 0;
    }
    PQclear(r);
    /* drain: a COPY leaves one more NULL result behind */
    while ((r = PQgetResult(c->tgt)) != NULL)
    {
        PQclear(r);
    }
    return rc;
}

static int
s_commit(copy_t *c, Pgferry__Result *res)
{
    const Pgferry__TableRef *t = c->assign->table;
    char rows[32];
    char bytes[32];
    char part[16];
    const char *params[6] = {
        c->assign->task_key, t->schema, t->name, rows, bytes, part};
    PGresult *r = NULL;

    snprintf(part, sizeof part, "%u", t->part);
    snprintf(rows, sizeof rows, "%lld", (long long) c->rows);
    snprintf(bytes, sizeof bytes, "%lld", (long long) c->bytes);
    r = PQexecParams(c->tgt,
                     "INSERT INTO pgferry.partition_done "
                     "(task_key, schema_name, table_name, part, rows, bytes) "
                     "VALUES ($1, $2, $3, $6, $4, $5)",
                     6, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        int rc = s_fail(c, res, c->tgt, r, "could not record the copy");
        PQclear(r);
        return rc;
    }
    PQclear(r);
    r = PQexec(c->tgt, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        int rc = s_fail(c, res, c->tgt, r, "could not commit");
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return 0;
}

int
unit_copy_run(unit_t *self, Pgferry__Result *res)
{
    const Pgferry__Assign *a = unit_assign(self);
    copy_t c = {a, NULL, NULL, NULL, NULL, 0, 0};
    char *error = NULL;
    int rc = -1;
    int done = 0;

    c.label =
        a->table->parts > 1
            ? xasprintf("\"%s.%s\" part %u/%u", a->table->schema,
                        a->table->name, a->table->part + 1, a->table->parts)
            : xasprintf("\"%s.%s\"", a->table->schema, a->table->name);
    c.tgt = connpool_take(unit_pool(self), a->target, NULL, "target", "copy",
                          &error);
    if (c.tgt == NULL)
    {
        rc = unit_fail(res, xasprintf("table %s: %s", c.label, error), true);
        goto cleanup;
    }
    /* safe: we report done only after a real commit */
    (void) pgconn_command(c.tgt, "SET synchronous_commit = off", &error);
    free(error);
    error = NULL;
    /* needs superuser; only matters when the user made the schema with
     * its triggers and foreign keys before the load */
    if (pgconn_command(c.tgt, "SET session_replication_role = replica",
                       &error) != 0)
    {
        log_debug("table=%s could not set session_replication_role: %s",
                  c.label, error);
        free(error);
        error = NULL;
    }
    c.qualified =
        pgconn_quote_qualified(c.tgt, a->table->schema, a->table->name);
    done = s_already_done(&c, res);
    if (done != 0)
    {
        res->skipped = done == 1;
        rc = done == 1 ? 0 : -1;
        goto cleanup;
    }
    c.src = connpool_take(unit_pool(self), a->source, NULL, "source", "copy",
                          &error);
    if (c.src == NULL)
    {
        rc = unit_fail(res, xasprintf("table %s: %s", c.label, error), true);
        goto cleanup;
    }
    if (s_begin(self, &c, res) != 0 || s_stream(self, &c, res) != 0 ||
        s_commit(&c, res) != 0)
    {
        goto cleanup;
    }
    rc = 0;

cleanup:
    res->rows = c.rows;
    res->bytes = c.bytes;
    free(error);
    free(c.qualified);
    free(c.label);
    /* a session left mid-COPY by a failure is closed, not kept */
    connpool_give(unit_pool(self), &c.src);
    connpool_give(unit_pool(self), &c.tgt);
    return rc;
}
