/*
 * tests/integration/matview_levels/levels_driver.c
 *     Test driver for matviews_levels() (agent/matviews.c): makes one
 *     finalize item per name given, as pg_dump writes a MATERIALIZED VIEW
 *     DATA entry, and prints the level of each, "name=level" a line, or
 *     "none" if the target could not tell.
 *
 * usage: levels_driver TGT_CONNINFO QUALIFIED_NAME...
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent/matviews.h"
#include "common/strbuf.h"

int
main(int argc, char **argv)
{
    if (argc < 3)
    {
        fprintf(stderr, "usage: levels_driver TGT_CONNINFO QUALIFIED_NAME...\n");
        return 2;
    }
    size_t n = (size_t) argc - 2;
    Pgconvoy__SchemaItem *items = xcalloc(n, sizeof *items);
    Pgconvoy__SchemaItem **each = xcalloc(n, sizeof *each);
    PGconn *tgt = PQconnectdb(argv[1]);
    int max_level = 0;
    int rc = 1;

    if (PQstatus(tgt) != CONNECTION_OK)
    {
        fprintf(stderr, "levels_driver: %s", PQerrorMessage(tgt));
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
    {
        pgconvoy__schema_item__init(&items[i]);
        items[i].kind = "MATERIALIZED VIEW DATA";
        /* pg_dump's entry: its settings, a header, then the statement */
        items[i].sql = xasprintf("SET default_tablespace = '';\n\n--\n"
                                 "-- Name: %s; Type: MATERIALIZED VIEW DATA\n"
                                 "--\n\nREFRESH MATERIALIZED VIEW %s;\n\n",
                                 argv[i + 2], argv[i + 2]);
        each[i] = &items[i];
    }
    int *levels = matviews_levels(tgt, each, n, &max_level);
    for (size_t i = 0; levels != NULL && i < n; i++)
    {
        printf("%s=%d\n", argv[i + 2], levels[i]);
    }
    if (levels == NULL)
    {
        printf("none\n");
    }
    free(levels);
    rc = 0;

cleanup:
    for (size_t i = 0; i < n; i++)
    {
        free(items[i].sql);
    }
    free(items);
    free(each);
    PQfinish(tgt);
    return rc;
}
