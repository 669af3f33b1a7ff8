/*
 * agent/unit_slot.c
 *     The slot unit of an online task: the publication of the task's
 *     tables, then a pgoutput slot created with an exported snapshot, held
 *     open until the coordinator says every copy has started.
 *
 * The copies read under the slot's snapshot, and the cdc unit streams from
 * the slot's consistent point: the two meet exactly, nothing is lost or
 * applied twice between the full load and change data capture. The
 * snapshot lives only as long as this replication connection stays idle,
 * so nothing but liveness checks is sent on it while it is held.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/schema_step.h"
#include "agent/slot_reader.h"
#include "agent/unit.h"
#include "common/lsn.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

#define SLOT_POLL_US 100000

/*
 * What the publication names, for the task's tables (a text array of
 * qualified names): each table, but a partitioned table in place of its
 * partitions when the task has every one of them and its primary key
 * holds for every partition to come. A partition created on the source
 * during CDC then has its changes published too (as a partition's own);
 * without a key it would have no replica identity, and once published
 * the application's UPDATEs and DELETEs of it would fail on the source.
 * Partitioned tables may be published from PostgreSQL 13 on.
 */
static const char *const s_published_sql =
    "WITH t AS (SELECT unnest($1::text[])::regclass AS oid), "
    "r AS (SELECT t.oid, coalesce(pg_partition_root(t.oid), t.oid) AS root "
    "        FROM t), "
    "whole AS (SELECT DISTINCT r.root FROM r "
    "           WHERE r.root <> r.oid "
    "             AND EXISTS (SELECT 1 FROM pg_constraint k "
    "                          WHERE k.conrelid = r.root AND k.contype = 'p') "
    "             AND NOT EXISTS (SELECT 1 FROM pg_partition_tree(r.root) p "
    "                              WHERE p.isleaf "
    "                                AND p.relid NOT IN (SELECT oid FROM t))) "
    "SELECT format('%I.%I', n.nspname, c.relname) "
    "  FROM (SELECT root AS oid FROM whole UNION ALL "
    "        SELECT oid FROM r WHERE root NOT IN (SELECT root FROM whole)) x "
    "  JOIN pg_class c ON c.oid = x.oid "
    "  JOIN pg_namespace n ON n.oid = c.relnamespace "
    " ORDER BY 1";

/* CREATE PUBLICATION for the task's tables, unless an earlier attempt
 * made it already. Returns 0, or -1 with *error set. */
static int
s_create_publication(PGconn *src, const Pgconvoy__Assign *a, char **error)
{
    const char *params[1] = {a->slot};
    PGresult *r = pgconn_query(src,
                               "SELECT count(*) FROM pg_publication "
                               "WHERE pubname = $1",
                               1, params, error);
    strbuf_t *sql = NULL;
    char *name = NULL;
    int rc = -1;

    if (r == NULL)
    {
        return -1;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "0") != 0)
    {
        PQclear(r);
        return 0;
    }
    PQclear(r);
    r = NULL;
    sql = strbuf_new();
    strbuf_append(sql, "{");
    for (size_t i = 0; i < a->n_tables; i++)
    {
        char *table = pgconn_quote_qualified(src, a->tables[i]->schema,
                                             a->tables[i]->name);
        strbuf_append_array_text(sql, table);
        free(table);
    }
    strbuf_append(sql, "}");
    if (PQserverVersion(src) >= 130000 && a->n_tables > 0)
    {
        const char *names[1] = {strbuf_data(sql)};
        r = pgconn_query(src, s_published_sql, 1, names, error);
        if (r == NULL)
        {
            goto cleanup;
        }
    }
    strbuf_reset(sql);
    name = pgconn_quote_ident(src, a->slot);
    strbuf_appendf(sql, "CREATE PUBLICATION %s", name);
    for (int i = 0; i < (r != NULL ? PQntuples(r) : (int) a->n_tables); i++)
    {
        char *table = r != NULL
                          ? xstrdup(PQgetvalue(r, i, 0))
                          : pgconn_quote_qualified(src, a->tables[i]->schema,
                                                   a->tables[i]->name);
        strbuf_appendf(sql, "%s%s", i == 0 ? " FOR TABLE " : ", ", table);
        free(table);
    }
    rc = pgconn_command(src, strbuf_data(sql), error);

cleanup:
    PQclear(r);
    free(name);
    strbuf_destroy(&sql);
    return rc;
}

/*
 * A slot of this name can only be left from an earlier attempt whose
 * holder was lost before any copy started (the coordinator fails the
 * database otherwise): its snapshot is gone, so it goes too.
 */
static int
s_drop_stale_slot(PGconn *src, const char *slot, char **error)
{
    const char *params[1] = {slot};
    PGresult *r = pgconn_query(src,
                               "SELECT pg_drop_replication_slot(slot_name) "
                               "FROM pg_replication_slots "
                               "WHERE slot_name = $1",
                               1, params, error);

    PQclear(r);
    return r != NULL ? 0 : -1;
}

int
unit_slot_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    char *error = NULL;
    char *snapshot = NULL;
    uint64_t lsn = 0;
    slot_reader_t *reader = NULL;
    PGconn *src = pgconn_connect(a->source, NULL, "source", "slot", &error);
    PGconn *tgt = NULL;
    int rc = -1;

    if (src == NULL)
    {
        return unit_fail(res, error, true);
    }
    if (s_create_publication(src, a, &error) != 0 ||
        s_drop_stale_slot(src, a->slot, &error) != 0)
    {
        rc = unit_fail(res,
                       xasprintf("source database \"%s\": slot=%s could not "
                                 "prepare the publication and slot: %s",
                                 a->source->dbname, a->slot, error),
                       pgconn_is_transient(src, NULL));
        goto cleanup;
    }
    reader = slot_reader_new(a->source, a->slot, a->slot, &error);
    if (reader == NULL ||
        slot_reader_create_slot(reader, &snapshot, &lsn, &error) != 0)
    {
        /* a syntax or privilege error fails the database at once */
        rc = unit_fail(
            res,
            xasprintf("source database \"%s\": %s", a->source->dbname, error),
            reader == NULL || slot_reader_error_is_transient(reader));
        goto cleanup;
    }
    tgt = pgconn_connect(a->target, NULL, "target", "slot", &error);
    int started = tgt == NULL ? SCHEMA_STEP_TRANSIENT
                              : schema_step_start_load(tgt, a, snapshot, &error);
    if (started != 0)
    {
        rc = unit_fail(res,
                       xasprintf("target database \"%s\": could not %s: "
                                 "%s",
                                 a->target->dbname,
                                 a->truncate_target
                                     ? "empty the tables for the full "
                                       "load to start over"
                                     : "record the snapshot copies read "
                                       "under",
                                 error),
                       started == SCHEMA_STEP_TRANSIENT);
        goto cleanup;
    }
    unit_report_slot(self, snapshot, lsn);
    while (!unit_is_released(self))
    {
        usleep(SLOT_POLL_US);
        if (slot_reader_check(reader, &error) != 0)
        {
            rc = unit_fail(res,
                           xasprintf("source database \"%s\": snapshot %s "
                                     "is gone: %s",
                                     a->source->dbname, snapshot, error),
                           true); /* another is taken */
            goto cleanup;
        }
    }
    rc = 0;

cleanup:
    free(error);
    free(snapshot);
    slot_reader_destroy(&reader);
    PQfinish(tgt);
    PQfinish(src);
    return rc;
}
