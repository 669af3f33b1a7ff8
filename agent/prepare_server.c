/*
 * agent/prepare_server.c
 *     The prepare unit's checks of the source server's settings.
 *
 * A source of 10,000 tables is where the lock table matters: pg_dump
 * takes a lock on every table it dumps and holds them all until it ends,
 * in the table of max_locks_per_transaction locks per server process
 * that every session draws from. Past its size, the dump can fail with
 * "out of shared memory", and so can any statement of the application
 * that needs a lock meanwhile.
 */
#include "agent/prepare_server.h"

#include <stdlib.h>
#include <string.h>

#include "agent/unit.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/*
 * Online: what logical replication needs of the source server. Slots and
 * WAL senders in use are counted whoever holds them (pg_stat_replication
 * lists every walsender, if not every detail, to any user). On Amazon RDS
 * membership of rds_replication stands for the REPLICATION attribute.
 */
static const char *const s_online_server_sql =
    "SELECT current_setting('wal_level'), "
    "       current_setting('max_replication_slots')::int, "
    "       (SELECT count(*) FROM pg_replication_slots), "
    "       current_setting('max_wal_senders')::int, "
    "       (SELECT count(*) FROM pg_stat_replication), "
    "       r.rolreplication OR r.rolsuper "
    "       OR EXISTS (SELECT 1 FROM pg_roles g "
    "                  WHERE g.rolname = 'rds_replication' "
    "                    AND pg_has_role(g.oid, 'MEMBER')), "
    "       has_database_privilege(current_database(), 'CREATE') "
    "  FROM pg_roles r WHERE r.rolname = current_user";

/*
 * What pg_dump locks beside the tables: the catalogs it reads and their
 * indexes (measured on 15: 103 with plain tables, 149 with TOAST tables).
 */
#define PREPARE_DUMP_CATALOG_LOCKS 150

/*
 * The lock table's size, as the server computes it (lock.c, NLOCKENTS):
 * max_locks_per_transaction for each process that may hold locks, every
 * backend and prepared transaction. Before 12 the WAL senders are among
 * max_connections: counting them again overstates the size a little, so
 * the check errs towards letting a task through.
 */
static const char *const s_locks_sql =
    "SELECT current_setting('max_locks_per_transaction')::int, "
    "       current_setting('max_connections')::int "
    "       + current_setting('autovacuum_max_workers')::int + 1 "
    "       + current_setting('max_worker_processes')::int "
    "       + current_setting('max_wal_senders')::int "
    "       + current_setting('max_prepared_transactions')::int";

void
prepare_server_check_online(const Pgconvoy__Assign *a, PGconn *src,
                            Pgconvoy__Result *res)
{
    const Pgconvoy__Endpoint *ep = a->source;
    char *server = pgconn_describe(ep);
    char *error = NULL;
    PGresult *r = pgconn_query(src, s_online_server_sql, 0, NULL, &error);

    if (r == NULL || PQntuples(r) != 1)
    {
        unit_add_problem(res,
                         xasprintf("source server %s: could not check the "
                                   "settings logical replication needs: %s",
                                   server, error ? error : "no such role"));
        goto cleanup;
    }
    const char *wal_level = PQgetvalue(r, 0, 0);
    long max_slots = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    long used_slots = strtol(PQgetvalue(r, 0, 2), NULL, 10);
    long max_senders = strtol(PQgetvalue(r, 0, 3), NULL, 10);
    long used_senders = strtol(PQgetvalue(r, 0, 4), NULL, 10);

    if (strcmp(wal_level, "logical") != 0)
    {
        unit_add_problem(res,
                         xasprintf("source server %s: wal_level is \"%s\", "
                                   "expected \"logical\" (set wal_level = "
                                   "logical and restart the server)",
                                   server, wal_level));
    }
    if (used_slots >= max_slots)
    {
        unit_add_problem(res,
                         xasprintf("source server %s: no free replication "
                                   "slot: max_replication_slots is %ld and "
                                   "%ld slot%s exist%s, expected at least 1 "
                                   "free (drop an unused slot, or raise "
                                   "max_replication_slots and restart the "
                                   "server)",
                                   server, max_slots, used_slots,
                                   used_slots == 1 ? "" : "s",
                                   used_slots == 1 ? "s" : ""));
    }
    if (used_senders >= max_senders)
    {
        unit_add_problem(res,
                         xasprintf("source server %s: no free WAL sender: "
                                   "max_wal_senders is %ld and %ld %s "
                                   "running, expected at least 1 free (raise "
                                   "max_wal_senders and restart the server)",
                                   server, max_senders, used_senders,
                                   used_senders == 1 ? "is" : "are"));
    }
    if (PQgetvalue(r, 0, 5)[0] != 't')
    {
        unit_add_problem(res, xasprintf("source server %s: user \"%s\" cannot "
                                        "replicate, expected the REPLICATION "
                                        "attribute (ALTER ROLE ... WITH "
                                        "REPLICATION) or superuser",
                                        server, ep->user));
    }
    if (PQgetvalue(r, 0, 6)[0] != 't')
    {
        unit_add_problem(res, xasprintf("source database \"%s\": user \"%s\" "
                                        "cannot create a publication, expected "
                                        "CREATE privilege on the database",
                                        ep->dbname, ep->user));
    }

cleanup:
    PQclear(r);
    free(error);
    free(server);
}

void
prepare_server_check_locks(const Pgconvoy__Assign *a, PGconn *src,
                           size_t n_tables, Pgconvoy__Result *res)
{
    char *server = pgconn_describe(a->source);
    char *error = NULL;
    PGresult *r = pgconn_query(src, s_locks_sql, 0, NULL, &error);

    if (r == NULL || PQntuples(r) != 1)
    {
        unit_add_problem(res, xasprintf("source server %s: could not read "
                                        "the size of its lock table: %s",
                                        server, error ? error : "no row"));
        goto cleanup;
    }
    long per_process = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    long processes = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    long slots = per_process * processes;
    long tables = (long) n_tables;
    long locks = tables + PREPARE_DUMP_CATALOG_LOCKS;
    /* what leaves the others half of the table, whatever they do */
    long enough = processes > 0 ? (2 * locks + processes - 1) / processes : 0;

    if (locks > slots)
    {
        unit_add_problem(
            res,
            xasprintf("source server %s: pg_dump locks each of the %ld "
                      "tables to migrate, and about %d catalogs and indexes, "
                      "in one transaction: more than the %ld locks its lock "
                      "table is sized for (max_locks_per_transaction %ld for "
                      "each of %ld server processes), so the dump may fail "
                      "with \"out of shared memory\", and statements of other "
                      "sessions with it; expected max_locks_per_transaction "
                      "of at least %ld (set it and restart the server), or "
                      "fewer tables in each task (--tables)",
                      server, tables, PREPARE_DUMP_CATALOG_LOCKS, slots,
                      per_process, processes, enough));
    }
    else if (2 * locks > slots)
    {
        unit_add_notice(
            res,
            xasprintf("source server %s: pg_dump locks each of the %ld "
                      "tables to migrate, and about %d catalogs and indexes, "
                      "in one transaction: more than half of the %ld locks "
                      "its lock table is sized for (max_locks_per_transaction "
                      "%ld for each of %ld server processes), so while it "
                      "runs, statements of other sessions that take many "
                      "locks may fail with \"out of shared memory\" "
                      "(max_locks_per_transaction %ld or more leaves them "
                      "half)",
                      server, tables, PREPARE_DUMP_CATALOG_LOCKS, slots,
                      per_process, processes, enough));
    }

cleanup:
    PQclear(r);
    free(error);
    free(server);
}
