/*
 * tests/unit/test_qualname.c
 *     schema.table parsing with SQL's quoting rules.
 */
#include <stdlib.h>

#include "check.h"
#include "common/qualname.h"

static void
s_expect(const char *text, const char *schema, const char *table)
{
    char *s = NULL;
    char *t = NULL;
    char *error = NULL;

    CHECK(qualname_parse(text, &s, &t, &error) == 0);
    CHECK(strcmp(s, schema) == 0);
    CHECK(strcmp(t, table) == 0);
    CHECK(error == NULL);
    free(s);
    free(t);
}

static void
s_expect_error(const char *text)
{
    char *s = NULL;
    char *t = NULL;
    char *error = NULL;

    CHECK(qualname_parse(text, &s, &t, &error) == -1);
    CHECK(s == NULL && t == NULL);
    CHECK_CONTAINS(error, "schemaName.tableName");
    CHECK_CONTAINS(error, text);
    free(error);
}

int
main(void)
{
    s_expect("public.orders", "public", "orders");
    s_expect("Public.Orders", "public", "orders"); /* folds, as SQL does */
    s_expect("\"Sales Dept\".orders", "Sales Dept", "orders");
    s_expect("s.\"Mixed\"\"Quote\"", "s", "Mixed\"Quote");
    s_expect("\"a.b\".\"c,d\"", "a.b", "c,d");
    s_expect_error("orders");
    s_expect_error("a.b.c");
    s_expect_error("\"unclosed.orders");
    s_expect_error(".orders");
    s_expect_error("public.");
    s_expect_error("public.orders ");
    s_expect_error("");
    puts("test_qualname: ok");
    return 0;
}
