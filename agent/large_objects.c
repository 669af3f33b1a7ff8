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
 * objects that the next sync sees differ. Owners and privileges are
 * compared as well: pg_dump set those of the objects it knew, and the
 * sync sets those of the objects made or changed since.
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

/* oid, owner, size, checksum, privileges of every large object, in oid
 * order */
static const char *const s_list_sql =
    "SELECT l.oid::bigint, pg_get_userbyid(l.lomowner), s.size, "
    "       (SELECT md5(string_agg(md5(lo_get(l.oid, o, " LARGE_OBJECTS_CHUNK_TEXT
    ")), '' ORDER BY o)) "
    "          FROM generate_series(0::bigint, greatest(s.size - 1, 0), "
    "                               " LARGE_OBJECTS_CHUNK_TEXT ") o), "
    "       l.lomacl::text "
    "  FROM pg_largeobject_metadata l, "
    "       LATERAL (SELECT lo_lseek64(lo_open(l.oid, " LARGE_OBJECTS_READ
    "), 0, 2) AS size) s "
    " ORDER BY l.oid";
#define LARGE_OBJECTS_OWNER 1
#define LARGE_OBJECTS_SIZE 2
#define LARGE_OBJECTS_SUM 3
#define LARGE_OBJECTS_ACL 4

/* What a sync did, for the log. */
typedef struct
{
    int64_t created;
    int64_t rewritten;
    int64_t unlinked;
    int64_t relabeled; /* owner or privileges changed */
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
s_write_object(PGconn *src, PGconn *tgt,
               const PGresult *list, int i, bool create, int64_t tgt_size,
               s_counts_t *counts, char **error)
{
    const char *oid = PQgetvalue(list, i, 0);
    int64_t size = strtoll(PQgetvalue(list, i, LARGE_OBJECTS_SIZE), NULL, 10);
    char size_text[32];
    char *ignored = NULL;
    bool ok = pgconn_command(tgt, "BEGIN", error) == 0;

    snprintf(size_text, sizeof size_text, "%" PRId64, size);
    const char *params[2] = {oid, size_text};
    if (ok && create)
    {
        ok = s_run(tgt, "SELECT lo_create($1::oid)", 1, params, error);
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

/* "PUBLIC", or the role name quoted, for a grantee as the queries below
 * print it ("" for PUBLIC). */
static char *
s_grantee(PGconn *tgt, const char *name)
{
    return name[0] == '\0' ? xstrdup("PUBLIC") : pgconn_quote_ident(tgt, name);
}

/*
 * Gives object oid on tgt the source's privileges, acl (its text, role
 * names and all), as pg_dump does: every privilege revoked, from the
 * owner too, then each of acl's granted. The target's server reads acl,
 * so that no aclitem is parsed here. One transaction: a multi-statement
 * query.
 */
static bool
s_set_privileges(PGconn *tgt, const char *oid, const char *acl, char **error)
{
    const char *revoke_params[1] = {oid};
    const char *grant_params[1] = {acl};
    PGresult *holders = pgconn_query(
        tgt,
        "SELECT DISTINCT CASE a.grantee WHEN 0 THEN '' "
        "       ELSE pg_get_userbyid(a.grantee) END "
        "  FROM pg_largeobject_metadata l, "
        "       aclexplode(coalesce(l.lomacl, "
        "                           acldefault('L', l.lomowner))) a "
        " WHERE l.oid = $1::oid",
        1, revoke_params, error);
    PGresult *grants =
        holders ? pgconn_query(tgt,
                               "SELECT a.privilege_type, CASE a.grantee WHEN 0 "
                               "       THEN '' ELSE pg_get_userbyid(a.grantee) "
                               "       END, a.is_grantable "
                               "  FROM aclexplode($1::aclitem[]) a",
                               1, grant_params, error)
                : NULL;
    strbuf_t *sql = strbuf_new();
    bool ok = false;

    if (grants == NULL)
    {
        goto cleanup;
    }
    for (int k = 0; k < PQntuples(holders); k++)
    {
        char *grantee = s_grantee(tgt, PQgetvalue(holders, k, 0));
        strbuf_appendf(sql, "REVOKE ALL ON LARGE OBJECT %s FROM %s; ", oid,
                       grantee);
        free(grantee);
    }
    for (int k = 0; k < PQntuples(grants); k++)
    {
        char *grantee = s_grantee(tgt, PQgetvalue(grants, k, 1));
        /* privilege_type is SELECT or UPDATE, from the server's list */
        strbuf_appendf(sql, "GRANT %s ON LARGE OBJECT %s TO %s%s; ",
                       PQgetvalue(grants, k, 0), oid, grantee,
                       PQgetvalue(grants, k, 2)[0] == 't' ? " WITH GRANT OPTION"
                                                          : "");
        free(grantee);
    }
    ok = pgconn_command(tgt, strbuf_data(sql), error) == 0;

cleanup:
    strbuf_destroy(&sql);
    PQclear(holders);
    PQclear(grants);
    return ok;
}

/*
 * Gives object row i of theirs (the source's listing) its owner and
 * privileges on tgt, where they differ from row j of ours (the
 * target's; j < 0 for an object just created, owned by the migrating
 * role and with default privileges). A large object made during CDC has
 * no pg_dump entry that would do it.
 */
static bool
s_sync_labels(const Pgconvoy__Assign *a, PGconn *tgt, const PGresult *theirs,
              int i, const PGresult *ours, int j, s_counts_t *counts,
              char **error)
{
    const char *oid = PQgetvalue(theirs, i, 0);
    const char *owner = PQgetvalue(theirs, i, LARGE_OBJECTS_OWNER);
    bool set_owner =
        !a->no_owner &&
        (j < 0 || strcmp(owner, PQgetvalue(ours, j, LARGE_OBJECTS_OWNER)) != 0);
    /* default privileges on the source: nothing was granted or revoked */
    bool set_privileges =
        !a->no_privileges && !PQgetisnull(theirs, i, LARGE_OBJECTS_ACL) &&
        (j < 0 || PQgetisnull(ours, j, LARGE_OBJECTS_ACL) ||
         strcmp(PQgetvalue(theirs, i, LARGE_OBJECTS_ACL),
                PQgetvalue(ours, j, LARGE_OBJECTS_ACL)) != 0);
    bool ok = true;

    if (set_owner)
    {
        char *quoted = pgconn_quote_ident(tgt, owner);
        char *sql = xasprintf("ALTER LARGE OBJECT %s OWNER TO %s", oid, quoted);
        ok = pgconn_command(tgt, sql, error) == 0;
        free(sql);
        free(quoted);
    }
    if (ok && set_privileges)
    {
        ok = s_set_privileges(tgt, oid,
                              PQgetvalue(theirs, i, LARGE_OBJECTS_ACL), error);
    }
    if (set_owner || set_privileges)
    {
        counts->relabeled++;
    }
    return ok;
}

int
large_objects_sync(const Pgconvoy__Assign *a, PGconn *src, PGconn *tgt,
                   Pgconvoy__Result *res)
{
    char *error = NULL;
    PGresult *theirs = pgconn_query(src, s_list_sql, 0, NULL, &error);
    PGresult *ours =
        theirs ? pgconn_query(tgt, s_list_sql, 0, NULL, &error) : NULL;
    s_counts_t counts = {0, 0, 0, 0, 0};
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
            ok = s_write_object(src, tgt, theirs, i, true, 0, &counts,
                                &error) &&
                 s_sync_labels(a, tgt, theirs, i, NULL, -1, &counts, &error);
            counts.created++;
            i++;
        }
        else
        {
            /* the size and checksum, as both servers print them */
            failed_oid = PQgetvalue(theirs, i, 0);
            if (strcmp(PQgetvalue(theirs, i, LARGE_OBJECTS_SIZE),
                       PQgetvalue(ours, j, LARGE_OBJECTS_SIZE)) != 0 ||
                strcmp(PQgetvalue(theirs, i, LARGE_OBJECTS_SUM),
                       PQgetvalue(ours, j, LARGE_OBJECTS_SUM)) != 0)
            {
                ok = s_write_object(
                    src, tgt, theirs, i, false,
                    strtoll(PQgetvalue(ours, j, LARGE_OBJECTS_SIZE), NULL, 10),
                    &counts, &error);
                counts.rewritten++;
            }
            ok = ok &&
                 s_sync_labels(a, tgt, theirs, i, ours, j, &counts, &error);
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
                 " unlinked, %" PRId64 " given their owner or privileges on "
                 "the target",
                 a->target->dbname, PQntuples(theirs), counts.created,
                 counts.rewritten, counts.bytes, counts.unlinked,
                 counts.relabeled);
    }
    rc = 0;

cleanup:
    free(error);
    PQclear(theirs);
    PQclear(ours);
    return rc;
}
