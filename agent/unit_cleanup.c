/*
 * agent/unit_cleanup.c
 *     What an online task leaves on the servers, taken away: the slot and
 *     the publication on the source, the replication origin and the
 *     counters on the target. Run by the cdc unit after a cutover, and as
 *     the cleanup unit when an online task is cancelled, deleted or fails.
 *
 * A forgotten slot retains WAL on the source until its disk fills: this
 * must happen even when the agent that streamed is gone, hence its own
 * unit. Every step is idempotent, so the unit can simply run again.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/apply.h"
#include "agent/target_tables.h"
#include "agent/unit.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* A walsender lingers a moment after its client went away; after this
 * long we end it ourselves (it streams our slot, for nobody). */
#define CLEANUP_WAIT_ACTIVE_S 10
#define CLEANUP_GIVE_UP_S 30

/* Drops the slot once no walsender holds it. Returns 0, or -1 with
 * *error set. */
static int
s_drop_slot(PGconn *src, const char *slot, char **error)
{
    const char *params[1] = {slot};

    for (int second = 0;; second++)
    {
        PGresult *r = pgconn_query(
            src,
            "SELECT active_pid, CASE WHEN NOT active THEN "
            "       pg_drop_replication_slot(slot_name) IS NULL END "
            "  FROM pg_replication_slots WHERE slot_name = $1",
            1, params, error);
        bool active = r != NULL && PQntuples(r) == 1 && PQgetisnull(r, 0, 1);
        char *pid = active ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;

        PQclear(r);
        if (r == NULL || !active)
        {
            free(pid);
            return r != NULL ? 0 : -1;
        }
        if (second >= CLEANUP_GIVE_UP_S)
        {
            *error =
                xasprintf("slot %s is still in use by process %s", slot, pid);
            free(pid);
            return -1;
        }
        if (second >= CLEANUP_WAIT_ACTIVE_S)
        {
            const char *pid_param[1] = {pid};
            PQclear(pgconn_query(src, "SELECT pg_terminate_backend($1::int)", 1,
                                 pid_param, error));
            free(*error);
            *error = NULL;
        }
        free(pid);
        sleep(1);
    }
}

static int
s_drop_publication(PGconn *src, const char *name, char **error)
{
    char *quoted = pgconn_quote_ident(src, name);
    char *sql = xasprintf("DROP PUBLICATION IF EXISTS %s", quoted);
    int rc = pgconn_command(src, sql, error);

    free(sql);
    free(quoted);
    return rc;
}

/* The origin may still be set up by a session that is going away. */
static int
s_drop_origin(PGconn *tgt, const char *name, char **error)
{
    for (int second = 0;; second++)
    {
        if (apply_drop_origin(tgt, name, error) == 0)
        {
            return 0;
        }
        if (second >= CLEANUP_WAIT_ACTIVE_S)
        {
            return -1;
        }
        free(*error);
        *error = NULL;
        sleep(1);
    }
}

/* The source's part of unit_drop_stream(): the slot and the publication,
 * which retain WAL there. */
static int
s_drop_source_stream(const Pgconvoy__Assign *a, PGconn *src, char **error)
{
    char *why = NULL;

    if (s_drop_slot(src, a->slot, &why) != 0 ||
        s_drop_publication(src, a->slot, &why) != 0)
    {
        *error = xasprintf("source database \"%s\": slot=%s could not be "
                           "dropped: %s",
                           a->source->dbname, a->slot, why);
        free(why);
        return -1;
    }
    return 0;
}

/* The target's part: the replication origin and its counters. */
static int
s_drop_target_stream(const Pgconvoy__Assign *a, PGconn *tgt, char **error)
{
    char *why = NULL;
    const char *params[1] = {a->slot};

    if (s_drop_origin(tgt, a->slot, &why) != 0)
    {
        *error =
            xasprintf("target database \"%s\": %s", a->target->dbname, why);
        free(why);
        return -1;
    }
    PQclear(pgconn_query(tgt,
                         "DELETE FROM pgconvoy.cdc_counts WHERE origin = $1 "
                         "AND to_regclass('pgconvoy.cdc_counts') IS NOT NULL",
                         1, params, &why));
    free(why); /* no counters table: nothing to forget */
    return 0;
}

int
unit_drop_stream(const Pgconvoy__Assign *a, PGconn *src, PGconn *tgt,
                 char **error)
{
    return s_drop_source_stream(a, src, error) != 0 ||
                   s_drop_target_stream(a, tgt, error) != 0
               ? -1
               : 0;
}

int
unit_cleanup_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    char *error = NULL;
    PGconn *src = NULL;
    PGconn *tgt = NULL;
    bool transient = false;
    int rc = -1;

    /*
     * The source first, and without waiting for the target: a slot left
     * there retains WAL for as long as the target stays away, while an
     * origin left on the target costs nothing until it comes back.
     */
    src = pgconn_connect(a->source, NULL, "source", "cleanup", &error);
    if (src == NULL || s_drop_source_stream(a, src, &error) != 0)
    {
        rc = unit_fail(res, error, true);
        goto cleanup;
    }
    tgt = pgconn_connect(a->target, NULL, "target", "cleanup", &error);
    if (tgt == NULL || s_drop_target_stream(a, tgt, &error) != 0)
    {
        res->source_stream_dropped = true;
        rc = unit_fail(res,
                       xasprintf("slot=%s dropped on the source; its "
                                 "replication origin is left on the target "
                                 "until it can be reached: %s",
                                 a->slot, error),
                       true);
        free(error);
        goto cleanup;
    }
    if (a->truncate_target &&
        target_tables_empty(tgt, a->tables, a->n_tables, &transient, &error) <
            0)
    {
        rc = unit_fail(res,
                       xasprintf("target database \"%s\": could not empty "
                                 "the tables loaded: %s",
                                 a->target->dbname, error),
                       true);
        free(error);
        goto cleanup;
    }
    if (a->truncate_target && unit_drop_bookkeeping(a, tgt, res) != 0)
    {
        goto cleanup;
    }
    rc = 0;

cleanup:
    PQfinish(src);
    PQfinish(tgt);
    return rc;
}
