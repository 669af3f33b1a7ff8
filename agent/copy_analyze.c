/*
 * agent/copy_analyze.c
 *     Statistics gathered in the copy's own transaction (copy_analyze.h).
 */
#include "agent/copy_analyze.h"

#include <stdlib.h>

#include "common/pgconn.h"
#include "common/strbuf.h"

int
copy_analyze_run(PGconn *tgt, const char *const *qualified, size_t n,
                 char **error)
{
    strbuf_t *sql = strbuf_new();
    int rc;

    strbuf_append(sql, "SAVEPOINT pgconvoy_analyze; ANALYZE ");
    for (size_t i = 0; i < n; i++)
    {
        strbuf_appendf(sql, "%s%s", i > 0 ? ", " : "", qualified[i]);
    }
    strbuf_append(sql, "; RELEASE SAVEPOINT pgconvoy_analyze");
    rc = pgconn_command(tgt, strbuf_data(sql), error);
    if (rc != 0)
    {
        char *ignored = NULL;

        /* a failed SAVEPOINT leaves nothing to roll back to: the
         * transaction is lost then, and its commit says so */
        (void) pgconn_command(tgt, "ROLLBACK TO SAVEPOINT pgconvoy_analyze",
                              &ignored);
        free(ignored);
    }
    strbuf_destroy(&sql);
    return rc;
}
