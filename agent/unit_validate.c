/*
 * agent/unit_validate.c
 *     The validate unit of a cutover with --validate: one table's row
 *     count and checksum on both sides, once the cdc unit has applied
 *     everything up to the cutover. Any agent runs them, in parallel.
 *
 * A table that differs is no failure of the unit: its Result says so as
 * a problem, and the coordinator names every table that differs once all
 * are compared. Only a comparison that could not run fails the unit.
 */
#include <stdlib.h>

#include "agent/checksum.h"
#include "agent/unit.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

int
unit_validate_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    const Pgconvoy__TableRef *t = a->table;
    char *error = NULL;
    char *on_src = NULL;
    char *on_tgt = NULL;
    PGconn *src = NULL;
    PGconn *tgt = NULL;
    int rc = -1;

    if (t == NULL)
    {
        return unit_fail(res, xstrdup("validate unit without a table"), false);
    }
    src = connpool_take(unit_pool(self), a->source, NULL, "source", "validate",
                        &error);
    if (src == NULL ||
        (tgt = connpool_take(unit_pool(self), a->target, NULL, "target",
                             "validate", &error)) == NULL)
    {
        rc = unit_fail(res, error, true);
        error = NULL;
        goto cleanup;
    }
    if (checksum_pin_settings(src, &error) != 0 ||
        checksum_pin_settings(tgt, &error) != 0)
    {
        rc = unit_fail(res,
                       xasprintf("table \"%s.%s\": could not set the "
                                 "sessions to print values alike: %s",
                                 t->schema, t->name, error),
                       true);
        goto cleanup;
    }
    if (checksum_compare(src, tgt, t, &on_src, &on_tgt, &error) != 0)
    {
        rc = unit_fail(res, error, true);
        error = NULL;
        goto cleanup;
    }
    if (strcmp(on_src, on_tgt) != 0)
    {
        unit_add_problem(res, xasprintf("table \"%s.%s\": source %s, target %s",
                                        t->schema, t->name, on_src, on_tgt));
    }
    rc = 0;

cleanup:
    free(error);
    free(on_src);
    free(on_tgt);
    connpool_give(unit_pool(self), &src);
    connpool_give(unit_pool(self), &tgt);
    return rc;
}
