/*
 * agent/copy_analyze.c
 *     Statistics gathered by the copy (copy_analyze.h).
 */
#include "agent/copy_analyze.h"

/* the first release with pg_stat_force_next_flush() */
#define COPY_ANALYZE_FLUSH_VERSION 150000

PGresult *
copy_analyze_commit(PGconn *tgt, bool analyzing)
{
    const char *sql = "COMMIT";

    if (analyzing && PQserverVersion(tgt) >= COPY_ANALYZE_FLUSH_VERSION)
    {
        /* EXECUTE is PUBLIC's unless a DBA took it away, and a function
         * refused would abort the copy's transaction: asked first */
        PGresult *r = PQexec(tgt, "SELECT pg_catalog.has_function_privilege("
                                  "'pg_catalog.pg_stat_force_next_flush()', "
                                  "'EXECUTE')");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        {
            return r; /* the transaction is lost: the caller's failure */
        }
        if (PQgetvalue(r, 0, 0)[0] == 't')
        {
            sql = "SELECT pg_catalog.pg_stat_force_next_flush(); COMMIT";
        }
        PQclear(r);
    }
    return PQexec(tgt, sql);
}
