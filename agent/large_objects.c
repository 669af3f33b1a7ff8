/*
 * agent/large_objects.c
 *     Syncing the target's large objects with the source's.
 *
 * Both sides list their objects with each one's size and a checksum,
 * computed by the server in chunks of LARGE_OBJECTS_CHUNK (a large
 * object may be larger than any bytea). Walking the two lists in oid
 * order gives what to create, rewrite and unlink. A rewrite reads the
 * source chunk by chunk, in binary, and writes each chunk as it comes:
 * memory stays one chunk whatever the object's size. Each object is
 * written in a transaction of its own; a sync stopped half way leaves
 * objects that the next sync sees differ.
 */
#include "agent/large_objects.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

#define LARGE_OBJECTS_CHUNK 1048576
#define LARGE_OBJECTS_CHUNK_TEXT "1048576"
/* lo_open() modes (libpq-fs.h) */
#define LARGE_OBJECTS_READ "262144"
#define LARGE_OBJECTS_WRITE "131072"

/* oid, owner, size, checksum of every large object, in oid order */
static const char *const s_list_sql =
    "SELECT l.oid::bigint, pg_get_userbyid(l.lomowner), s.size, "
    "       (SELECT md5(string_agg(md5(lo_get(l.oid, o, " LARGE_OBJECTS_CHUNK_TEXT
    ")), '' ORDER BY o)) "
    "          FROM generate_series(0::bigint, greatest(s.size - 1, 0), "
    "                               " LARGE_OBJECTS_CHUNK_TEXT ") o) "
    "  FROM pg_largeobject_metadata l, "
    "       LATERAL (SELECT lo_lseek64(lo_open(l.oid, " LARGE_OBJECTS_READ
    "), 0, 2) AS size) s "
    " ORDER BY l.oid";

/* What a sync did, for the log. */
typedef struct
{
    int64_t created;
    int64_t rewritten;
    int64_t unlinked;
    int64_t bytes;
} s_counts_t;

/* Runs sql with text parameters on conn, expecting rows or a command. */
static bool
s_run(PGconn *conn, const char *sql, int n, const char *const *params,
      char **error)
{
    PGresult *r = pgconn_query(conn, sql, n, params, error);

    PQclear(r);
    return r != NULL;
}

/* Copies the size bytes of object oid from src into its (existing) copy
 * on tgt, inside tgt's open transaction. */
static bool
s_copy_contents(PGconn *src, PGconn *tgt, const char *oid, int64_t size,
                s_counts_t *counts, char **error)
{
    for (int64_t offset = 0; offset < size; offset += LARGE_OBJECTS_CHUNK)
    {
        char at[32];
        snprintf(at, sizeof at, "%" PRId64, offset);
        const char *read_params[2] = {oid, at};
        PGresult *chunk = PQexecParams(
            src,
            "SELECT lo_get($1::oid, $2::bigint, " LARGE_OBJECTS_CHUNK_TEXT ")",
            2, NULL, read_params, NULL, NULL, 1);
        if (PQresultStatus(chunk) != PGRES_TUPLES_OK || PQntuples(chunk) != 1)
        {
            *error = pgconn_error_text(src, chunk);
            PQclear(chunk);
            return false;
        }
        const char *write_params[3] = {oid, at, PQgetvalue(chunk, 0, 0)};
        int lengths[3] = {0, 0, PQgetlength(chunk, 0, 0)};
        int formats[3] = {0, 0, 1};
        PGresult *put =
            PQexecParams(tgt, "SELECT lo_put($1::oid, $2::bigint, $3::bytea)",
                         3, NULL, write_params, lengths, formats, 0);
        bool ok = PQresultStatus(put) == PGRES_TUPLES_OK;

        if (!ok)
        {
            *error = pgconn_error_text(tgt, put);
        }
        counts->bytes += PQgetlength(chunk, 0, 0);
        PQclear(put);
        PQclear(chunk);
        if (!ok)
        {
            return false;
        }
    }
    return true;
}

/*
 * Makes object row i of src (the listing) so on tgt: created (created),
 * cut to its size if the target's is longer (tgt_size), then rewritten,
 * in one target transaction.
 */
static bool
s_write_object(const Pgferry__Assign *a, PGconn *src, PGconn *tgt,
               const PGresult *list, int i, bool create, int64_t tgt_size,
               s_counts_t *counts, char **error)
{
    const char *oid = PQgetvalue(list, i, 0);
    int64_t size = strtoll(PQgetvalue(list, i, 2), NULL, 10);
    char size_text[32];
    char *ignored = NULL;
    bool ok = pgconn_command(tgt, "BEGIN", error) == 0;

    snprintf(size_text, sizeof size_text, "%" PRId64, size);
    const char *params[2] = {oid, size_text};
    if (ok && create)
    {
        ok = s_run(tgt, "SELECT lo_create($1::oid)", 1, params, error);
        if (ok && !a->no_owner)
        {
            char *owner = pgconn_quote_ident(tgt, PQgetvalue(list, i, 1));
            char *sql =
                xasprintf("ALTER LARGE OBJECT %s OWNER TO %s", oid, owner);
            ok = pgconn_command(tgt, sql, error) == 0;
            free(sql);
            free(owner);
        }
    }
    if (ok && tgt_size > size)
    {
        ok = s_run(tgt,
                   "SELECT lo_truncate64(lo_open($1::oid, " LARGE_OBJECTS_WRITE
                   "), $2::bigint)",
                   2, params, error);
    }
    ok = ok && s_copy_contents(src, tgt, oid, size, counts, error);
    ok = ok && pgconn_command(tgt, "COMMIT", error) == 0;
    if (!ok)
    {
        (void) pgconn_command(tgt, "ROLLBACK", &ignored);
        free(ignored);
    }
    return ok;
}

int
large_objects_sync(const Pgferry__Assign *a, PGconn *src, PGconn *tgt,
                   Pgferry__Result *res)
{
    char *error = NULL;
    PGresult *theirs = pgconn_query(src, s_list_sql, 0, NULL, &error);
    PGresult *ours =
        theirs ? pgconn_query(tgt, s_list_sql, 0, NULL, &error) : NULL;
    s_counts_t counts = {0, 0, 0, 0};
    const char *failed_oid = NULL;
    int i = 0;
    int j = 0;
    int rc = -1;

    if (ours == NULL)
    {
        rc = unit_fail(res,
                       xasprintf("%s database \"%s\": could not list the "
                                 "large objects: %s",
                                 theirs ? "target" : "source",
                                 theirs ? a->target->dbname : a->source->dbname,
                                 error),
                       pgconn_is_transient(theirs ? tgt : src, NULL));
        goto cleanup;
    }
    /* both lists in oid order: a merge */
    while (i < PQntuples(theirs) || j < PQntuples(ours))
    {
        uint64_t src_oid = i < PQntuples(theirs)
                               ? strtoull(PQgetvalue(theirs, i, 0), NULL, 10)
                               : UINT64_MAX;
        uint64_t tgt_oid = j < PQntuples(ours)
                               ? strtoull(PQgetvalue(ours, j, 0), NULL, 10)
                               : UINT64_MAX;
        bool ok = true;

        if (tgt_oid < src_oid)
        {
            /* gone from the source */
            const char *params[1] = {PQgetvalue(ours, j, 0)};
            failed_oid = params[0];
            ok = s_run(tgt, "SELECT lo_unlink($1::oid)", 1, params, &error);
            counts.unlinked++;
            j++;
        }
        else if (src_oid < tgt_oid)
        {
            failed_oid = PQgetvalue(theirs, i, 0);
            ok = s_write_object(a, src, tgt, theirs, i, true, 0, &counts,
                                &error);
            counts.created++;
            i++;
        }
        else
        {
            /* the size and checksum, as both servers print them */
            if (strcmp(PQgetvalue(theirs, i, 2), PQgetvalue(ours, j, 2)) != 0 ||
                strcmp(PQgetvalue(theirs, i, 3), PQgetvalue(ours, j, 3)) != 0)
            {
                failed_oid = PQgetvalue(theirs, i, 0);
                ok = s_write_object(a, src, tgt, theirs, i, false,
                                    strtoll(PQgetvalue(ours, j, 2), NULL, 10),
                                    &counts, &error);
                counts.rewritten++;
            }
            i++;
            j++;
        }
        if (!ok)
        {
            rc = unit_fail(res,
                           xasprintf("target database \"%s\": could not "
                                     "make large object %s as on the "
                                     "source: %s",
                                     a->target->dbname, failed_oid, error),
                           pgconn_is_transient(tgt, NULL) ||
                               pgconn_is_transient(src, NULL));
            goto cleanup;
        }
    }
    if (PQntuples(theirs) > 0 || counts.unlinked > 0)
    {
        log_info("db=%s large objects: %d on the source; %" PRId64
                 " created, %" PRId64 " rewritten (%" PRId64 " bytes), %" PRId64
                 " unlinked on the target",
                 a->target->dbname, PQntuples(theirs), counts.created,
                 counts.rewritten, counts.bytes, counts.unlinked);
    }
    rc = 0;

cleanup:
    free(error);
    PQclear(theirs);
    PQclear(ours);
    return rc;
}
