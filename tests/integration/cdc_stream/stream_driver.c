/*
 * tests/integration/cdc_stream/stream_driver.c
 *     Test driver for agent/slot_reader.c: a full load and the change
 *     stream that meet exactly, over the replication protocol.
 *
 * usage: cdc_stream_driver SRC_PORT TGT_PORT DB SLOT PUBLICATION ORIGIN
 *                          ENDPOS_FILE TABLE...
 *
 * 1. creates SLOT with an exported snapshot (CREATE_REPLICATION_SLOT ...
 *    (SNAPSHOT 'export')) and, while the replication connection still holds
 *    it, copies each TABLE from a second, normal connection that imported
 *    the snapshot (REPEATABLE READ + SET TRANSACTION SNAPSHOT), with COPY
 *    TO/FROM;
 * 2. streams from the slot's consistent point with START_REPLICATION and
 *    applies with agent/apply.c, confirming each committed LSN (and, when
 *    idle between transactions, the server's last keepalive position);
 * 3. once ENDPOS_FILE holds an LSN (written by run.sh after its writers
 *    stopped), goes on until it has confirmed that LSN and the source's
 *    pg_replication_slots.confirmed_flush_lsn shows it.
 *
 * Both clusters are on 127.0.0.1 as user postgres. Prints "snapshot NAME
 * LSN", "copied TABLE ROWS", "totals INS UPD DEL TRUNC COMMITTED SKIPPED",
 * "endpos LSN confirmed LSN slot_confirmed_flush LSN". Exits 0, 1 on
 * failure.
 */
#include <czmq.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/apply.h"
#include "agent/pgoutput.h"
#include "agent/slot_reader.h"
#include "common/lsn.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* the whole run, copy and stream, must fit in this */
#define DEADLINE_SECONDS INT64_C(100)

/* Copies one table of schema public from src (in the snapshot's
 * transaction) to tgt; named with its schema, as the sessions' search_path
 * is pinned to pg_catalog. Returns the rows copied, or -1. */
static long
s_copy_table(PGconn *src, PGconn *tgt, const char *table)
{
    char *qname = pgconn_quote_qualified(src, "public", table);
    char *out_sql = xasprintf("COPY %s TO STDOUT", qname);
    char *in_sql = xasprintf("COPY %s FROM STDIN", qname);
    PGresult *res = PQexec(src, out_sql);
    PGresult *tres = NULL;
    char *row = NULL;
    int len = 0;
    long rows = -1;
    long n = 0;

    if (PQresultStatus(res) != PGRES_COPY_OUT)
    {
        fprintf(stderr, "table=%s could not start COPY TO: %s", table,
                PQerrorMessage(src));
        goto cleanup;
    }
    tres = PQexec(tgt, in_sql);
    if (PQresultStatus(tres) != PGRES_COPY_IN)
    {
        fprintf(stderr, "table=%s could not start COPY FROM: %s", table,
                PQerrorMessage(tgt));
        goto cleanup;
    }
    PQclear(tres);
    tres = NULL;
    while ((len = PQgetCopyData(src, &row, 0)) > 0)
    {
        if (PQputCopyData(tgt, row, len) != 1)
        {
            fprintf(stderr, "table=%s could not send a row: %s", table,
                    PQerrorMessage(tgt));
            goto cleanup;
        }
        PQfreemem(row);
        row = NULL;
        n++;
    }
    PQclear(res);
    res = PQgetResult(src);
    if (len == -2 || PQresultStatus(res) != PGRES_COMMAND_OK)
    {
        fprintf(stderr, "table=%s COPY TO failed: %s", table,
                PQerrorMessage(src));
        goto cleanup;
    }
    if (PQputCopyEnd(tgt, NULL) != 1)
    {
        fprintf(stderr, "table=%s could not end COPY FROM: %s", table,
                PQerrorMessage(tgt));
        goto cleanup;
    }
    tres = PQgetResult(tgt);
    if (PQresultStatus(tres) != PGRES_COMMAND_OK)
    {
        fprintf(stderr, "table=%s COPY FROM failed: %s", table,
                PQerrorMessage(tgt));
        goto cleanup;
    }
    rows = n;

cleanup:
    /* drain whatever is left, so both connections stay usable */
    PQclear(res);
    while (res != NULL && (res = PQgetResult(src)) != NULL)
    {
        PQclear(res);
    }
    PQclear(tres);
    while (tres != NULL && (tres = PQgetResult(tgt)) != NULL)
    {
        PQclear(tres);
    }
    PQfreemem(row);
    free(in_sql);
    free(out_sql);
    free(qname);
    return rows;
}

/* The full load under the exported snapshot. Returns 0 or -1. */
static int
s_full_load(PGconn *src, PGconn *tgt, const char *snapshot, char **tables,
            int ntables)
{
    char *error = NULL;
    char *lit = PQescapeLiteral(src, snapshot, strlen(snapshot));
    char *sql = xasprintf("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
                          "SET TRANSACTION SNAPSHOT %s",
                          lit);
    int rc = -1;

    if (pgconn_command(src, sql, &error) != 0 ||
        pgconn_command(tgt, "BEGIN", &error) != 0)
    {
        fprintf(stderr, "snapshot=%s could not begin the copy: %s\n", snapshot,
                error);
        goto cleanup;
    }
    for (int i = 0; i < ntables; i++)
    {
        long rows = s_copy_table(src, tgt, tables[i]);

        if (rows < 0)
        {
            goto cleanup;
        }
        printf("copied %s %ld\n", tables[i], rows);
    }
    if (pgconn_command(tgt, "COMMIT", &error) != 0 ||
        pgconn_command(src, "COMMIT", &error) != 0)
    {
        fprintf(stderr, "snapshot=%s could not commit the copy: %s\n", snapshot,
                error);
        goto cleanup;
    }
    rc = 0;

cleanup:
    free(error);
    free(sql);
    PQfreemem(lit);
    return rc;
}

/* The LSN in path, once run.sh has written it; 0 before. */
static uint64_t
s_read_endpos(const char *path)
{
    char text[64] = "";
    uint64_t lsn = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL)
    {
        return 0;
    }
    if (fgets(text, sizeof text, f) != NULL)
    {
        text[strcspn(text, "\r\n")] = '\0';
        if (lsn_parse(text, &lsn) != 0)
        {
            lsn = 0;
        }
    }
    (void) fclose(f);
    return lsn;
}

/* The slot's confirmed_flush_lsn as the source sees it; 0 on failure. */
static uint64_t
s_slot_confirmed(PGconn *src, const char *slot)
{
    char *error = NULL;
    const char *params[1] = {slot};
    uint64_t lsn = 0;
    PGresult *res = pgconn_query(src,
                                 "SELECT confirmed_flush_lsn FROM "
                                 "pg_replication_slots WHERE slot_name = $1",
                                 1, params, &error);

    if (res == NULL)
    {
        fprintf(stderr, "slot=%s could not read the slot: %s\n", slot, error);
        free(error);
        return 0;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
    {
        (void) lsn_parse(PQgetvalue(res, 0, 0), &lsn);
    }
    PQclear(res);
    return lsn;
}

int
main(int argc, char **argv)
{
    int rc = 1;
    char *error = NULL;
    bool transient = false; /* apply_new()'s, unused: a driver stops */
    char *snapshot = NULL;
    uint64_t consistent = 0;
    uint64_t endpos = 0;
    uint64_t server_confirmed = 0;
    uint64_t messages = 0;
    int64_t deadline = zclock_mono() + DEADLINE_SECONDS * 1000;
    int64_t next_poll = 0;
    bool in_xact = false;
    Pgconvoy__Endpoint src_ep = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__Endpoint tgt_ep = PGCONVOY__ENDPOINT__INIT;
    slot_reader_t *reader = NULL;
    PGconn *src = NULL;
    PGconn *tgt = NULL;
    apply_t *apply = NULL;
    pgoutput_t *decoder = NULL;
    apply_counters_t c;

    if (argc < 9)
    {
        fprintf(stderr,
                "usage: %s SRC_PORT TGT_PORT DB SLOT PUBLICATION ORIGIN "
                "ENDPOS_FILE TABLE...\n",
                argv[0]);
        return 2;
    }
    src_ep.host = tgt_ep.host = "127.0.0.1";
    src_ep.user = tgt_ep.user = "postgres";
    src_ep.dbname = tgt_ep.dbname = argv[3];
    src_ep.port = (uint32_t) strtoul(argv[1], NULL, 10);
    tgt_ep.port = (uint32_t) strtoul(argv[2], NULL, 10);
    const char *slot = argv[4];
    const char *endpos_file = argv[7];

    /* 1. the slot and its snapshot, then the copy under that snapshot */
    reader = slot_reader_new(&src_ep, slot, argv[5], &error);
    if (reader == NULL ||
        slot_reader_create_slot(reader, &snapshot, &consistent, &error) != 0)
    {
        fprintf(stderr, "%s\n", error);
        goto cleanup;
    }
    printf("snapshot %s " LSN_FMT "\n", snapshot, LSN_ARGS(consistent));
    fflush(stdout);
    src = pgconn_connect(&src_ep, NULL, "source", "cdc-copy", &error);
    if (src == NULL)
    {
        fprintf(stderr, "%s\n", error);
        goto cleanup;
    }
    tgt = pgconn_connect(&tgt_ep, NULL, "target", "cdc-apply", &error);
    if (tgt == NULL)
    {
        fprintf(stderr, "%s\n", error);
        goto cleanup;
    }
    if (s_full_load(src, tgt, snapshot, argv + 8, argc - 8) != 0)
    {
        goto cleanup;
    }
    fflush(stdout);

    /* 2. the stream from the consistent point, applied */
    decoder = pgoutput_new();
    apply = apply_new(tgt, argv[6], &error, &transient);
    if (apply == NULL)
    {
        fprintf(stderr, "%s\n", error);
        goto cleanup;
    }
    if (slot_reader_start(reader, consistent, &error) != 0)
    {
        fprintf(stderr, "%s\n", error);
        goto cleanup;
    }
    for (;;)
    {
        const char *data = NULL;
        size_t len = 0;
        uint64_t wal_start = 0;
        int r = slot_reader_next(reader, 100, &data, &len, &wal_start, &error);
        int64_t now = zclock_mono();

        if (r < 0)
        {
            fprintf(stderr, "%s\n", error);
            goto cleanup;
        }
        if (r == 1)
        {
            pgoutput_msg_t msg;

            messages++;
            if (pgoutput_decode(decoder, data, len, &msg) != 0)
            {
                fprintf(stderr,
                        "slot=%s lsn=" LSN_FMT " could not decode: %s\n", slot,
                        LSN_ARGS(wal_start), pgoutput_error(decoder));
                goto cleanup;
            }
            if (apply_message(apply, &msg) != 0)
            {
                fprintf(stderr, "%s\n", apply_error(apply));
                goto cleanup;
            }
            if (msg.type == PGOUTPUT_BEGIN)
            {
                in_xact = true;
            }
            else if (msg.type == PGOUTPUT_COMMIT)
            {
                in_xact = false;
                /* persist, then acknowledge: committed on the target */
                slot_reader_confirm(reader, apply_committed_lsn(apply));
            }
        }
        else if (!in_xact)
        {
            /* idle between transactions, all of them committed: the
             * server's keepalive position may be confirmed */
            slot_reader_confirm(reader, slot_reader_received_lsn(reader));
        }
        if (now < next_poll && r == 1)
        {
            continue;
        }
        if (now > deadline)
        {
            fprintf(stderr,
                    "slot=%s endpos=" LSN_FMT " confirmed=" LSN_FMT
                    " received=" LSN_FMT " cannot finish within %d s\n",
                    slot, LSN_ARGS(endpos),
                    LSN_ARGS(slot_reader_confirmed_lsn(reader)),
                    LSN_ARGS(slot_reader_received_lsn(reader)),
                    (int) DEADLINE_SECONDS);
            goto cleanup;
        }
        next_poll = now + 200;
        if (endpos == 0)
        {
            endpos = s_read_endpos(endpos_file);
        }
        /* 3. done once the source itself shows endpos as confirmed */
        if (endpos != 0 && slot_reader_confirmed_lsn(reader) >= endpos)
        {
            server_confirmed = s_slot_confirmed(src, slot);
            if (server_confirmed >= endpos)
            {
                break;
            }
        }
    }
    apply_totals(apply, &c);
    printf("totals %llu %llu %llu %llu %llu %llu\n",
           (unsigned long long) c.inserts, (unsigned long long) c.updates,
           (unsigned long long) c.deletes, (unsigned long long) c.truncates,
           (unsigned long long) apply_xacts_committed(apply),
           (unsigned long long) apply_xacts_skipped(apply));
    printf("messages %llu\n", (unsigned long long) messages);
    printf("endpos " LSN_FMT " confirmed " LSN_FMT
           " slot_confirmed_flush " LSN_FMT "\n",
           LSN_ARGS(endpos), LSN_ARGS(slot_reader_confirmed_lsn(reader)),
           LSN_ARGS(server_confirmed));
    rc = 0;

cleanup:
    slot_reader_destroy(&reader);
    apply_destroy(&apply);
    pgoutput_destroy(&decoder);
    PQfinish(src);
    PQfinish(tgt);
    free(snapshot);
    free(error);
    return rc;
}
