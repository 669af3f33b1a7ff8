/*
 * tests/integration/step_race/step_driver.c
 *     Test driver for agent/schema_step.c: runs one schema step on the
 *     target as a schema-post or finalize unit does, and says how it
 *     ended.
 *
 * usage: step_driver TGT_CONNINFO TASK_KEY STEP SQL
 *
 * Prints "done" and exits 0 if the step ran or was found done, or prints
 * "failed[ transient]: ERROR" and exits 1.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent/schema_step.h"

int
main(int argc, char **argv)
{
    PGconn *tgt = NULL;
    char *error = NULL;
    int rc = -1;

    if (argc != 5)
    {
        fprintf(stderr, "usage: step_driver TGT_CONNINFO TASK_KEY STEP SQL\n");
        return 2;
    }
    /* application_name: the test finds this session waiting on a lock */
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *values[] = {argv[1], "step_driver", NULL};
    tgt = PQconnectdbParams(keys, values, 1);
    if (PQstatus(tgt) != CONNECTION_OK)
    {
        fprintf(stderr, "step_driver: %s", PQerrorMessage(tgt));
        PQfinish(tgt);
        return 1;
    }
    if (schema_step_make_bookkeeping(tgt, &error) == 0)
    {
        rc = schema_step_run(tgt, argv[2], argv[3], argv[4], false, &error);
    }
    if (rc == 0)
    {
        printf("done\n");
    }
    else
    {
        printf("failed%s: %s\n",
               rc == SCHEMA_STEP_TRANSIENT ? " transient" : "",
               error ? error : "?");
    }
    free(error);
    PQfinish(tgt);
    return rc == 0 ? 0 : 1;
}
