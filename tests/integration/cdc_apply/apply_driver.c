/*
 * tests/integration/cdc_apply/apply_driver.c
 *     Test driver for agent/apply.c: reads a logical slot's changes with
 *     SQL (no replication protocol), decodes them with agent/pgoutput.c and
 *     applies them to the target, then prints the counters.
 *
 * usage: cdc_apply_driver SRC_CONNINFO TGT_CONNINFO SLOT PUBLICATION ORIGIN
 *
 * Exactly once, as the agent will do it: at start, the slot is advanced to
 * the origin's progress (what the target committed); changes are peeked,
 * not consumed, and the slot is advanced only past what the target has
 * committed. Environment:
 *   PGCONVOY_APPLY_CRASH_AFTER=N   _exit(3) right after the Nth commit of
 *                                 this run, the slot not advanced past it
 *   PGCONVOY_APPLY_NO_ADVANCE=1    do not advance the slot at start, so the
 *                                 replayed transactions reach apply, which
 *                                 must skip them
 *   PGCONVOY_APPLY_BATCH=N         N source transactions per target one, as
 *                                 the cdc unit does (the last of a peek
 *                                 committed by apply_flush()), counted in
 *                                 pgconvoy.cdc_counts too
 *   PGCONVOY_APPLY_GROUP_STMTS=N   at most N grouped statements prepared
 *
 * Prints "counts SCHEMA.TABLE INS UPD DEL TRUNC" per table and
 * "totals INS UPD DEL TRUNC COMMITTED SKIPPED", and "unchanged_toast N",
 * the unchanged-TOAST values seen in Updates: what the target committed,
 * also when applying failed; "grouping 0|1": whether apply groups
 * changes; "grouped_statements N": how many statements of several rows it
 * prepared in the target session, and "grouped KIND TABLE" for each kind
 * and table (quoted) they were for. Exits 0, 1 on failure, 4 if apply left the
 * target session in a transaction.
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/apply.h"
#include "agent/pgoutput.h"
#include "common/lsn.h"
#include "common/strbuf.h"

/* changes per peek: a batch ends at a transaction boundary anyway */
#define BATCH_CHANGES "10000"
#define MAX_RELIDS 64

typedef struct
{
    PGconn *src;
    PGconn *tgt;
    const char *slot;
    const char *pub;
    apply_t *apply;
    pgoutput_t *decoder;
    long crash_after;            /* 0: never */
    uint64_t unchanged;          /* unchanged-TOAST values in Updates */
    uint32_t relids[MAX_RELIDS]; /* relations seen, for the counters */
    int nrelids;
} driver_t;

static void
s_remember_relid(driver_t *d, uint32_t relid)
{
    for (int i = 0; i < d->nrelids; i++)
    {
        if (d->relids[i] == relid)
        {
            return;
        }
    }
    if (d->nrelids < MAX_RELIDS)
    {
        d->relids[d->nrelids++] = relid;
    }
}

/* Moves the slot's confirmed position up to lsn (never back). */
static int
s_advance_slot(driver_t *d, uint64_t lsn)
{
    char text[LSN_BUFSIZE];
    const char *params[2] = {d->slot, lsn_format(lsn, text)};
    PGresult *res = PQexecParams(
        d->src,
        "SELECT pg_replication_slot_advance(slot_name, $2::pg_lsn) FROM pg_replication_slots WHERE slot_name = $1 AND confirmed_flush_lsn < $2::pg_lsn",
        2, NULL, params, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        fprintf(stderr, "slot=%s lsn=%s could not advance the slot: %s",
                d->slot, text, PQerrorMessage(d->src));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/*
 * One peek of up to BATCH_CHANGES changes, streamed row by row (single-row
 * mode: a 100,000-row transaction is never held whole). Returns the rows
 * seen, or -1.
 */
static long
s_apply_batch(driver_t *d)
{
    const char *params[2] = {d->slot, d->pub};
    long rows = 0;
    int rc = 0;
    PGresult *res = NULL;

    if (!PQsendQueryParams(
            d->src,
            "SELECT lsn, xid, data FROM pg_logical_slot_peek_binary_changes($1, NULL, " BATCH_CHANGES
            ", 'proto_version', '1', 'publication_names', $2)",
            2, NULL, params, NULL, NULL, 1) ||
        !PQsetSingleRowMode(d->src))
    {
        fprintf(stderr, "slot=%s could not peek: %s", d->slot,
                PQerrorMessage(d->src));
        return -1;
    }
    while ((res = PQgetResult(d->src)) != NULL)
    {
        ExecStatusType st = PQresultStatus(res);

        if (st == PGRES_SINGLE_TUPLE && rc == 0)
        {
            pgoutput_msg_t msg;
            const char *data = PQgetvalue(res, 0, 2);
            size_t len = (size_t) PQgetlength(res, 0, 2);

            rows++;
            if (pgoutput_decode(d->decoder, data, len, &msg) != 0)
            {
                fprintf(stderr, "slot=%s could not decode: %s\n", d->slot,
                        pgoutput_error(d->decoder));
                rc = -1;
            }
            else
            {
                if (msg.type == PGOUTPUT_RELATION)
                {
                    s_remember_relid(d, msg.relation->relid);
                }
                if (msg.type == PGOUTPUT_UPDATE)
                {
                    for (int i = 0; i < msg.change.new_tuple.ncols; i++)
                    {
                        d->unchanged += msg.change.new_tuple.values[i].kind ==
                                        PGOUTPUT_VALUE_UNCHANGED;
                    }
                }
                uint64_t before = apply_xacts_committed(d->apply);

                if (apply_message(d->apply, &msg) != 0)
                {
                    fprintf(stderr, "%s\n", apply_error(d->apply));
                    rc = -1;
                }
                else if (d->crash_after > 0 &&
                         apply_xacts_committed(d->apply) > before &&
                         apply_xacts_committed(d->apply) >=
                             (uint64_t) d->crash_after)
                {
                    /* abruptly: no rollback, no slot advance, no goodbye */
                    fprintf(stderr, "crashing after %ld commits\n",
                            d->crash_after);
                    _exit(3);
                }
            }
        }
        else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK)
        {
            fprintf(stderr, "slot=%s could not peek: %s", d->slot,
                    PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    /* the batch the peek ended in */
    if (rc == 0 && apply_flush(d->apply) != 0)
    {
        fprintf(stderr, "%s\n", apply_error(d->apply));
        rc = -1;
    }
    if (rc != 0)
    {
        return -1;
    }
    /* persist, then acknowledge: only what the target has committed */
    if (apply_committed_lsn(d->apply) > 0 &&
        s_advance_slot(d, apply_committed_lsn(d->apply)) != 0)
    {
        return -1;
    }
    return rows;
}

/* Prints the prepared statements of several rows (apply_sql_group() in
 * agent/apply_sql.c: one VALUES list per row). */
static void
s_print_grouped(PGconn *tgt)
{
    PGresult *res = PQexec(
        tgt, "SELECT regexp_replace(statement, "
             "'^(INSERT INTO|UPDATE|DELETE FROM) (\\S+) .*$', '\\1 \\2') "
             "FROM pg_prepared_statements WHERE statement LIKE '%), ($%' "
             "ORDER BY 1");
    int n = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : -1;

    printf("grouped_statements %d\n", n);
    for (int i = 0; i < n; i++)
    {
        if (i == 0 ||
            strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, i - 1, 0)) != 0)
        {
            printf("grouped %s\n", PQgetvalue(res, i, 0));
        }
    }
    PQclear(res);
}

static void
s_print_counters(driver_t *d)
{
    apply_counters_t c;

    for (int i = 0; i < d->nrelids; i++)
    {
        const pgoutput_relation_t *r =
            pgoutput_find_relation(d->decoder, d->relids[i]);

        if (r != NULL && apply_counters(d->apply, d->relids[i], &c) == 0)
        {
            printf("counts %s.%s %llu %llu %llu %llu\n", r->nspname, r->relname,
                   (unsigned long long) c.inserts,
                   (unsigned long long) c.updates,
                   (unsigned long long) c.deletes,
                   (unsigned long long) c.truncates);
        }
    }
    printf("unchanged_toast %llu\n", (unsigned long long) d->unchanged);
    printf("grouping %d\n", apply_is_grouping(d->apply));
    s_print_grouped(d->tgt);
    apply_totals(d->apply, &c);
    printf("totals %llu %llu %llu %llu %llu %llu\n",
           (unsigned long long) c.inserts, (unsigned long long) c.updates,
           (unsigned long long) c.deletes, (unsigned long long) c.truncates,
           (unsigned long long) apply_xacts_committed(d->apply),
           (unsigned long long) apply_xacts_skipped(d->apply));
}

int
main(int argc, char **argv)
{
    int rc = 1;
    driver_t d;
    char *error = NULL;
    bool transient = false; /* apply_new()'s, unused: a driver stops */
    uint64_t origin_lsn = 0;
    const char *crash = getenv("PGCONVOY_APPLY_CRASH_AFTER");
    const char *no_advance = getenv("PGCONVOY_APPLY_NO_ADVANCE");
    const char *batch = getenv("PGCONVOY_APPLY_BATCH");
    const char *group_stmts = getenv("PGCONVOY_APPLY_GROUP_STMTS");

    memset(&d, 0, sizeof(d));
    if (argc != 6)
    {
        fprintf(stderr,
                "usage: %s SRC_CONNINFO TGT_CONNINFO SLOT PUBLICATION ORIGIN\n",
                argv[0]);
        return 2;
    }
    d.slot = argv[3];
    d.pub = argv[4];
    d.crash_after = crash != NULL ? strtol(crash, NULL, 10) : 0;
    d.src = PQconnectdb(argv[1]);
    d.tgt = PQconnectdb(argv[2]);
    if (PQstatus(d.src) != CONNECTION_OK || PQstatus(d.tgt) != CONNECTION_OK)
    {
        fprintf(stderr, "could not connect: %s%s", PQerrorMessage(d.src),
                PQerrorMessage(d.tgt));
        goto cleanup;
    }
    d.decoder = pgoutput_new();
    d.apply = apply_new(d.tgt, argv[5], &error, &transient);
    if (d.apply == NULL ||
        (batch != NULL && apply_keep_counts(d.apply, &error) != 0))
    {
        fprintf(stderr, "%s\n", error);
        goto cleanup;
    }
    if (batch != NULL)
    {
        apply_set_batch(d.apply, (unsigned int) strtoul(batch, NULL, 10));
    }
    if (group_stmts != NULL)
    {
        apply_set_group_statements(
            d.apply, (unsigned int) strtoul(group_stmts, NULL, 10));
    }
    if (apply_origin_lsn(d.apply, &origin_lsn) != 0)
    {
        fprintf(stderr, "%s\n", apply_error(d.apply));
        goto cleanup;
    }
    fprintf(stderr, "origin progress " LSN_FMT "\n", LSN_ARGS(origin_lsn));
    /* restart where the target is, not where the slot was last confirmed */
    if (origin_lsn > 0 && (no_advance == NULL || strcmp(no_advance, "1") != 0))
    {
        if (s_advance_slot(&d, origin_lsn) != 0)
        {
            goto cleanup;
        }
    }
    for (;;)
    {
        long rows = s_apply_batch(&d);

        if (rows < 0)
        {
            goto cleanup;
        }
        if (rows == 0)
        {
            break;
        }
    }
    rc = 0;

cleanup:
    if (d.apply != NULL)
    {
        s_print_counters(&d);
    }
    apply_destroy(&d.apply);
    /* a borrowed session is handed back usable, after a failure too */
    if (d.tgt != NULL && PQstatus(d.tgt) == CONNECTION_OK &&
        PQtransactionStatus(d.tgt) != PQTRANS_IDLE)
    {
        fprintf(stderr, "apply left the target session in a transaction\n");
        rc = 4;
    }
    pgoutput_destroy(&d.decoder);
    PQfinish(d.src);
    PQfinish(d.tgt);
    free(error);
    return rc;
}
