/*
 * tests/unit/test_lock_order.c
 *     The order a group of post-data items runs in
 *     (schema_step_lock_order()): by table, each table's strongest lock
 *     first, so that two groups holding items of the same tables take
 *     their locks in one order and cannot deadlock (they did: a group
 *     with a table's index, another with its primary key).
 */
#include <string.h>

#include "agent/schema_step.h"
#include "check.h"

static Pgconvoy__SchemaItem
s_item(const char *kind, const char *schema, const char *table,
       const char *tag)
{
    Pgconvoy__SchemaItem item = PGCONVOY__SCHEMA_ITEM__INIT;

    item.kind = (char *) kind;
    item.table_schema = (char *) schema;
    item.table_name = (char *) table;
    item.tag = (char *) tag;
    return item;
}

/* The tags of items[0..n), comma separated, into out. */
static const char *
s_tags(const Pgconvoy__SchemaItem **items, size_t n, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
    {
        strncat(out, i > 0 ? "," : "", size - strlen(out) - 1);
        strncat(out, items[i]->tag, size - strlen(out) - 1);
    }
    return out;
}

int
main(void)
{
    char got[256];
    Pgconvoy__SchemaItem t2_idx = s_item("INDEX", "gen_a", "t2", "t2_idx");
    Pgconvoy__SchemaItem t2_pk = s_item("CONSTRAINT", "gen_a", "t2", "t2_pk");
    Pgconvoy__SchemaItem t1_i1 = s_item("INDEX", "gen_a", "t1", "t1_i1");
    Pgconvoy__SchemaItem t1_st = s_item("STATISTICS", "gen_a", "t1", "t1_st");
    Pgconvoy__SchemaItem t1_pk = s_item("CONSTRAINT", "gen_a", "t1", "t1_pk");
    Pgconvoy__SchemaItem t1_i2 = s_item("INDEX", "gen_a", "t1", "t1_i2");
    Pgconvoy__SchemaItem b_t0 = s_item("INDEX", "gen_b", "t0", "b_t0");
    Pgconvoy__SchemaItem loose = s_item("INDEX", "", "", "loose");

    /* by schema, then table; a table's constraint, then its statistics,
     * then its indexes in the order given; an item of no table first */
    {
        const Pgconvoy__SchemaItem *items[] = {&b_t0,  &t2_idx, &t2_pk, &t1_i1,
                                               &t1_st, &t1_pk,  &t1_i2, &loose};
        schema_step_lock_order(items, 8);
        CHECK_EQ_STR(s_tags(items, 8, got, sizeof got),
                     "loose,t1_pk,t1_st,t1_i1,t1_i2,t2_pk,t2_idx,b_t0");
    }

    /* the deadlock seen: one group has t1's index and t2's key, another
     * t2's index and t1's key, each given in its batch's order. Ordered,
     * both take t1 before t2, and each table's strongest lock first. */
    {
        const Pgconvoy__SchemaItem *one[] = {&t2_pk, &t1_i1};
        const Pgconvoy__SchemaItem *two[] = {&t1_pk, &t2_idx};
        schema_step_lock_order(one, 2);
        schema_step_lock_order(two, 2);
        CHECK_EQ_STR(s_tags(one, 2, got, sizeof got), "t1_i1,t2_pk");
        CHECK_EQ_STR(s_tags(two, 2, got, sizeof got), "t1_pk,t2_idx");
    }

    /* one item, none: left as they are */
    {
        const Pgconvoy__SchemaItem *items[] = {&t2_idx};
        schema_step_lock_order(items, 1);
        CHECK(items[0] == &t2_idx);
        schema_step_lock_order(NULL, 0);
    }
    return 0;
}
