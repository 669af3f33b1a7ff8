/*
 * tests/unit/test_lease.c
 *     The agent's lease: it runs from the answered Hello's send time, a
 *     late grant never lengthens it, and a lapse is reported once, even
 *     when a grant renewed the lease before anyone asked.
 */
#include <stdint.h>

#include "agent/lease.h"
#include "check.h"

int
main(void)
{
    lease_t *lease = lease_new();

    /* a new agent holds nothing, and has nothing to stop */
    CHECK(lease_state(lease, 1000) == LEASE_NONE);
    CHECK(!lease_is_held(lease, 1000));
    CHECK(!lease_has_lapsed(lease, 100000));
    CHECK(lease_expires_at(lease) == INT64_MAX);

    /* Hello sent at 1000, answered at 1900: held until 1000 + 4000 */
    CHECK(lease_grant(lease, 1000, 4000, 1900) == 0);
    CHECK(lease_is_held(lease, 1900));
    CHECK(lease_expires_at(lease) == 5000);
    CHECK(lease_is_held(lease, 4999));

    /* an older Hello's answer, arriving late, does not shorten it */
    CHECK(lease_grant(lease, 500, 4000, 2000) == 0);
    CHECK(lease_expires_at(lease) == 5000);
    /* a newer one lengthens it */
    CHECK(lease_grant(lease, 2000, 4000, 2100) == 0);
    CHECK(lease_expires_at(lease) == 6000);

    /* not ours: sent in the future, never sent, or worth nothing */
    CHECK(lease_grant(lease, 9000, 4000, 2200) == -1);
    CHECK(lease_grant(lease, 0, 4000, 2200) == -1);
    CHECK(lease_grant(lease, 2100, 0, 2200) == -1);
    CHECK(lease_expires_at(lease) == 6000);
    CHECK(!lease_has_lapsed(lease, 5999));

    /* runs out at its end, reported once */
    CHECK(!lease_is_held(lease, 6000));
    CHECK(lease_state(lease, 6000) == LEASE_LAPSED);
    CHECK(lease_has_lapsed(lease, 6001));
    CHECK(!lease_has_lapsed(lease, 6002));
    CHECK(lease_expires_at(lease) == INT64_MAX);

    /* a link restored delivers the answers to Hellos queued while it was
     * cut: each is measured from its own send time, so all are late */
    for (int64_t sent = 3000; sent <= 9000; sent += 1000)
    {
        CHECK(lease_grant(lease, sent, 4000, 40000) == 0);
        CHECK(!lease_is_held(lease, 40000));
    }
    /* the answer to a fresh Hello brings it back */
    CHECK(lease_grant(lease, 40500, 4000, 40600) == 0);
    CHECK(lease_is_held(lease, 40600));
    CHECK(!lease_has_lapsed(lease, 40600));

    /* run out and renewed by a grant before the lapse was asked for:
     * still reported, since units may have been placed elsewhere */
    CHECK(lease_grant(lease, 50000, 4000, 50100) == 0);
    CHECK(lease_is_held(lease, 50100));
    CHECK(lease_has_lapsed(lease, 50200));
    CHECK(lease_is_held(lease, 50200));
    CHECK(!lease_has_lapsed(lease, 50300));

    /* a grant far too long is cut to LEASE_MAX_MS */
    CHECK(lease_grant(lease, 60000, UINT32_MAX, 60001) == 0);
    CHECK(lease_expires_at(lease) == 60000 + LEASE_MAX_MS);
    CHECK_CONTAINS(lease_state_name(LEASE_LAPSED), "lapsed");

    lease_destroy(&lease);
    CHECK(lease == NULL);
    lease_destroy(&lease);
    return 0;
}
