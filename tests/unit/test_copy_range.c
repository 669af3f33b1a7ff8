/*
 * tests/unit/test_copy_range.c
 *     The bounds of a split table's key ranges (issue 11): each part's
 *     lower bound is i/n of the way from min to max, rounded down, in
 *     order, and computed without overflow for the widest int64 keys.
 */
#include <stdint.h>

#include "agent/copy_range.h"
#include "check.h"

int
main(void)
{
    /* 1..100 in 4 parts: [1,25) [25,50) [50,75) [75,...] */
    CHECK(copy_range_bound(1, 100, 1, 4) == 25);
    CHECK(copy_range_bound(1, 100, 2, 4) == 50);
    CHECK(copy_range_bound(1, 100, 3, 4) == 75);
    /* i = 0 is min, i = n is max */
    CHECK(copy_range_bound(1, 100, 0, 4) == 1);
    CHECK(copy_range_bound(1, 100, 4, 4) == 100);
    /* negative keys */
    CHECK(copy_range_bound(-100, 100, 1, 2) == 0);
    /* one key, many parts: every bound is that key */
    CHECK(copy_range_bound(7, 7, 3, 9) == 7);

    /* the widest span there is: no overflow, and still in order */
    {
        int64_t prev = INT64_MIN;

        for (uint32_t i = 1; i < 64; i++)
        {
            int64_t b = copy_range_bound(INT64_MIN, INT64_MAX, i, 64);
            CHECK(b > prev);
            prev = b;
        }
        CHECK(copy_range_bound(INT64_MIN, INT64_MAX, 32, 64) == -1);
        CHECK(copy_range_bound(INT64_MIN, INT64_MAX, 64, 64) == INT64_MAX);
    }

    /* few keys, more parts than keys: bounds never go backwards */
    {
        int64_t prev = 10;

        for (uint32_t i = 1; i <= 16; i++)
        {
            int64_t b = copy_range_bound(10, 13, i, 16);
            CHECK(b >= prev && b <= 13);
            prev = b;
        }
    }
    return 0;
}
