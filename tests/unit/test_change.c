/*
 * tests/unit/test_change.c
 *     Copies of decoded changes: they outlive the bytes they came from,
 *     text values NUL-terminated, null and unchanged values without data.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/change.h"
#include "check.h"

int
main(void)
{
    /* the message's bytes: not NUL-terminated, and reused afterwards */
    char wire[] = {'4', '2', 'a', 'b', 'c', 'k', '7'};
    pgoutput_value_t old_values[2] = {
        {PGOUTPUT_VALUE_TEXT, &wire[5], 2},
        {PGOUTPUT_VALUE_NULL, NULL, 0},
    };
    pgoutput_value_t new_values[2] = {
        {PGOUTPUT_VALUE_TEXT, &wire[0], 2},
        {PGOUTPUT_VALUE_UNCHANGED, NULL, 0},
    };
    pgoutput_change_t c = {
        .relation = NULL,
        .old_kind = 'K',
        .old_tuple = {2, old_values},
        .new_tuple = {2, new_values},
    };
    change_t *ch = change_new(PGOUTPUT_UPDATE, &c, 0x16B374D48ULL);

    memset(wire, 'x', sizeof wire);
    CHECK(ch != NULL && ch->next == NULL);
    CHECK(ch->type == PGOUTPUT_UPDATE && ch->lsn == 0x16B374D48ULL);
    CHECK(ch->change.relation == NULL && ch->change.old_kind == 'K');
    CHECK(ch->change.new_tuple.ncols == 2 && ch->change.old_tuple.ncols == 2);
    CHECK(ch->change.new_tuple.values[0].kind == PGOUTPUT_VALUE_TEXT);
    CHECK(ch->change.new_tuple.values[0].len == 2);
    CHECK(strcmp(ch->change.new_tuple.values[0].data, "42") == 0);
    CHECK(ch->change.new_tuple.values[1].kind == PGOUTPUT_VALUE_UNCHANGED);
    CHECK(ch->change.new_tuple.values[1].data == NULL);
    CHECK(strcmp(ch->change.old_tuple.values[0].data, "k7") == 0);
    CHECK(ch->change.old_tuple.values[1].kind == PGOUTPUT_VALUE_NULL);
    CHECK(ch->change.old_tuple.values[1].data == NULL);
    /* header, four values, 2 + 1 + 2 + 1 bytes of text (and a NUL byte
     * reserved per value, sent or not) */
    CHECK(ch->size == sizeof(change_t) + 4 * sizeof(pgoutput_value_t) + 8);
    change_destroy(&ch);
    CHECK(ch == NULL);
    change_destroy(&ch); /* NULL-safe */

    /* an Insert: no old tuple */
    pgoutput_change_t ins = {.new_tuple = {1, old_values}};
    ch = change_new(PGOUTPUT_INSERT, &ins, 1);
    CHECK(ch->change.old_tuple.ncols == 0 &&
          ch->change.old_tuple.values == NULL);
    CHECK(ch->change.new_tuple.values[0].len == 2);
    change_destroy(&ch);
    puts("test_change: ok");
    return 0;
}
