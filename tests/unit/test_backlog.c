/*
 * tests/unit/test_backlog.c
 *     The agent's backlog: which units wait for a job slot at all, the
 *     order they start in, the ids a heartbeat lists, and a released
 *     batch taken out of line from the middle.
 */
#include <stdint.h>
#include <stdlib.h>

#include "agent/backlog.h"
#include "check.h"
#include "common/envelope.h"

static Pgconvoy__Assign *
s_assign(uint64_t id, Pgconvoy__UnitKind kind)
{
    Pgconvoy__Assign *a = calloc(1, sizeof *a);

    pgconvoy__assign__init(a);
    a->unit_id = id;
    a->kind = kind;
    return a;
}

/* An Assign envelope, built as unpack would: freed by envelope_free() */
static Pgconvoy__Envelope *
s_one(uint64_t id, Pgconvoy__UnitKind kind)
{
    Pgconvoy__Envelope *env = calloc(1, sizeof *env);

    pgconvoy__envelope__init(env);
    env->body_case = PGCONVOY__ENVELOPE__BODY_ASSIGN;
    env->assign = s_assign(id, kind);
    return env;
}

static Pgconvoy__Envelope *
s_batch(uint64_t first, size_t n, Pgconvoy__UnitKind kind)
{
    Pgconvoy__Envelope *env = calloc(1, sizeof *env);
    Pgconvoy__AssignBatch *batch = calloc(1, sizeof *batch);

    pgconvoy__envelope__init(env);
    pgconvoy__assign_batch__init(batch);
    batch->units = calloc(n, sizeof *batch->units);
    for (size_t i = 0; i < n; i++)
    {
        batch->units[batch->n_units++] = s_assign(first + i, kind);
    }
    env->body_case = PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;
    env->assign_batch = batch;
    return env;
}

static uint64_t
s_first_id(const Pgconvoy__Envelope *env)
{
    return env->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH
               ? env->assign_batch->units[0]->unit_id
               : env->assign->unit_id;
}

int
main(void)
{
    backlog_t *backlog = backlog_new();
    Pgconvoy__Envelope *env = NULL;
    uint64_t ids[8] = {0};

    /* the units that only hold a snapshot, and cdc, never wait */
    CHECK(backlog_kind_takes_slot(PGCONVOY__UNIT_KIND__UNIT_COPY));
    CHECK(backlog_kind_takes_slot(PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST));
    CHECK(backlog_kind_takes_slot(PGCONVOY__UNIT_KIND__UNIT_ANALYZE));
    CHECK(backlog_kind_takes_slot(PGCONVOY__UNIT_KIND__UNIT_SCHEMA_PRE));
    CHECK(!backlog_kind_takes_slot(PGCONVOY__UNIT_KIND__UNIT_SNAPSHOT));
    CHECK(!backlog_kind_takes_slot(PGCONVOY__UNIT_KIND__UNIT_SLOT));
    CHECK(!backlog_kind_takes_slot(PGCONVOY__UNIT_KIND__UNIT_CDC));
    env = s_batch(40, 2, PGCONVOY__UNIT_KIND__UNIT_ANALYZE);
    CHECK(backlog_takes_slot(env));
    envelope_free(&env);
    env = s_one(41, PGCONVOY__UNIT_KIND__UNIT_SNAPSHOT);
    CHECK(!backlog_takes_slot(env));
    envelope_free(&env);

    /* empty */
    CHECK(backlog_pop(backlog) == NULL);
    CHECK(backlog_take(backlog, 1) == NULL);
    CHECK_EQ_INT(backlog_ids(backlog, ids, 8), 0);

    /* a copy, a batch of three builds, an ANALYZE: kept in that order,
     * every unit of the batch listed */
    env = s_one(10, PGCONVOY__UNIT_KIND__UNIT_COPY);
    backlog_push(backlog, &env);
    CHECK(env == NULL);
    env = s_batch(20, 3, PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST);
    backlog_push(backlog, &env);
    env = s_one(30, PGCONVOY__UNIT_KIND__UNIT_ANALYZE);
    backlog_push(backlog, &env);
    CHECK_EQ_INT(backlog_size(backlog), 3);
    CHECK_EQ_INT(backlog_ids(backlog, ids, 8), 5);
    CHECK_EQ_INT(ids[0], 10);
    CHECK_EQ_INT(ids[1], 20);
    CHECK_EQ_INT(ids[3], 22);
    CHECK_EQ_INT(ids[4], 30);
    /* a heartbeat's room runs out: as many as fit, oldest first */
    CHECK_EQ_INT(backlog_ids(backlog, ids, 2), 2);
    CHECK_EQ_INT(ids[1], 20);
    CHECK(backlog_holds(backlog, 21));
    CHECK(backlog_holds(backlog, 30));
    CHECK(!backlog_holds(backlog, 23));

    /* a Release names the batch by its first unit: it leaves the line */
    env = backlog_take(backlog, 20);
    CHECK(env != NULL && s_first_id(env) == 20);
    envelope_free(&env);
    CHECK(!backlog_holds(backlog, 21));
    CHECK_EQ_INT(backlog_size(backlog), 2);

    /* the rest start first come, first started */
    env = backlog_pop(backlog);
    CHECK(env != NULL && s_first_id(env) == 10);
    envelope_free(&env);
    /* one left behind is freed with the backlog (the sanitizers' check) */
    backlog_destroy(&backlog);
    CHECK(backlog == NULL);
    backlog_destroy(&backlog);
    return 0;
}
