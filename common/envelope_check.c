/*
 * common/envelope_check.c
 *     The parts of each message that its receiver dereferences unchecked.
 *
 * Keep this in step with the receivers: a field that agent/ or
 * coordinator/ starts reading without a NULL check belongs here, or the
 * next hostile peer crashes that process.
 */
#include "common/envelope_check.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

/* The unit kinds that read Assign.table (unit_copy.c, unit_analyze.c,
 * unit_validate.c). */
static bool
s_kind_reads_table(Pgconvoy__UnitKind kind)
{
    return kind == PGCONVOY__UNIT_KIND__UNIT_COPY ||
           kind == PGCONVOY__UNIT_KIND__UNIT_ANALYZE ||
           kind == PGCONVOY__UNIT_KIND__UNIT_VALIDATE;
}

/* where names the Assign in messages ("Assign", "AssignBatch.units[3]"). */
static int
s_check_assign(const Pgconvoy__Assign *a, const char *where, char *why,
               size_t size)
{
    const char *missing = NULL;

    if (a->source == NULL)
    {
        missing = "source";
    }
    else if (a->target == NULL)
    {
        missing = "target";
    }
    else if (a->table == NULL && s_kind_reads_table(a->kind))
    {
        missing = "table";
    }
    if (missing != NULL)
    {
        snprintf(why, size, "%s unit=%" PRIu64 " kind=%d has no %s", where,
                 a->unit_id, (int) a->kind, missing);
        return -1;
    }
    return 0;
}

static int
s_check_batch(const Pgconvoy__AssignBatch *batch, char *why, size_t size)
{
    char where[64];

    if (batch->n_units == 0)
    {
        snprintf(why, size, "AssignBatch has no units");
        return -1;
    }
    for (size_t i = 0; i < batch->n_units; i++)
    {
        snprintf(where, sizeof where, "AssignBatch.units[%zu]", i);
        if (s_check_assign(batch->units[i], where, why, size) != 0)
        {
            return -1;
        }
    }
    return 0;
}

int
envelope_check_complete(const Pgconvoy__Envelope *env, char *why, size_t size)
{
    switch (env->body_case)
    {
        case PGCONVOY__ENVELOPE__BODY_ASSIGN:
            return s_check_assign(env->assign, "Assign", why, size);
        case PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH:
            return s_check_batch(env->assign_batch, why, size);
        default:
            /* every other message is scalars, strings, repeated fields
             * (never NULL elements) and parts its receiver checks */
            return 0;
    }
}
