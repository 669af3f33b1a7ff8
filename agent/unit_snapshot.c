/*
 * agent/unit_snapshot.c
 *     The snapshot unit: exports a snapshot of the source and holds it
 *     open until the coordinator says every copy has started.
 *
 * Every copy unit, on any agent, reads under this snapshot (SET
 * TRANSACTION SNAPSHOT), so all tables are copied as of one instant, as
 * pg_dump does. The snapshot lives as long as this transaction: losing
 * this connection before every copy started makes it unusable, and the
 * coordinator hears of it through this unit's failure.
 */
#include <stdlib.h>
#include <unistd.h>

#include "agent/unit.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

#define SNAPSHOT_POLL_US 100000
#define SNAPSHOT_PING_EVERY 50 /* polls: check the connection every 5 s */

int
unit_snapshot_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    char *error = NULL;
    PGconn *src = pgconn_connect(a->source, NULL, "source", "snapshot", &error);
    PGresult *r = NULL;
    int rc = -1;

    if (src == NULL)
    {
        return unit_fail(res, error, true);
    }
    if (pgconn_command(src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                       &error) != 0 ||
        (r = pgconn_query(src, "SELECT pg_export_snapshot()", 0, NULL,
                          &error)) == NULL)
    {
        rc = unit_fail(res,
                       xasprintf("source database \"%s\": could not export "
                                 "a snapshot: %s",
                                 a->source->dbname, error),
                       pgconn_is_transient(src, NULL));
        free(error);
        goto cleanup;
    }
    unit_report_progress(self, 0, 0, PQgetvalue(r, 0, 0));
    for (int polls = 1; !unit_is_released(self); polls++)
    {
        usleep(SNAPSHOT_POLL_US);
        if (polls % SNAPSHOT_PING_EVERY == 0 &&
            pgconn_command(src, "SELECT 1", &error) != 0)
        {
            rc = unit_fail(res,
                           xasprintf("source database \"%s\": lost the "
                                     "connection holding snapshot %s: %s",
                                     a->source->dbname, PQgetvalue(r, 0, 0),
                                     error),
                           true); /* another is taken */
            free(error);
            goto cleanup;
        }
    }
    rc = pgconn_command(src, "COMMIT", &error);
    if (rc != 0)
    {
        /* every copy had started: nothing depends on this commit */
        free(error);
        rc = 0;
    }

cleanup:
    PQclear(r);
    PQfinish(src);
    return rc;
}
