/*
 * agent/lease.h
 *     The agent's lease from the coordinator: how long it may go on
 *     running units without hearing from it.
 *
 * The coordinator answers every Hello with a Lease that echoes the
 * Hello's send time. The lease runs from that time, on this process's
 * monotonic clock, so a Lease delayed by a slow network, or one of many
 * queued behind a cut link, is worth less, never more: the lease always
 * runs out before the coordinator, counting from the last Hello it
 * received, declares this agent lost and places its units elsewhere.
 * Pure logic, no clock of its own: the caller passes "now".
 */
#ifndef PGCONVOY_AGENT_LEASE_H
#define PGCONVOY_AGENT_LEASE_H

#include <stdbool.h>
#include <stdint.h>

/* A Lease longer than this is taken as this long: a coordinator's error
 * must not let an agent cut off run its units for hours. */
#define LEASE_MAX_MS 60000

typedef enum
{
    LEASE_NONE,   /* never granted: this agent just started */
    LEASE_HELD,   /* granted, not run out yet */
    LEASE_LAPSED, /* ran out: the units are to stop, or have stopped */
    LEASE_STATE_COUNT
} lease_state_t;

typedef struct lease_t lease_t;

lease_t *lease_new(void);
void lease_destroy(lease_t **self_p);

/*
 * A Lease for the Hello sent at hello_sent_ms, received at now (both on
 * the monotonic clock, ms). The lease lasts until hello_sent_ms +
 * lease_ms if that is later than what it holds already; a grant that ran
 * out before it arrived changes nothing. Returns 0, or -1 for a grant
 * that cannot be ours (a send time in the future, a zero length),
 * ignored.
 */
int lease_grant(lease_t *self, int64_t hello_sent_ms, uint32_t lease_ms,
                int64_t now);

/* True while the lease is held at now. */
bool lease_is_held(lease_t *self, int64_t now);

/* True once, at the first call at or after the held lease ran out: the
 * caller stops its units then. */
bool lease_has_lapsed(lease_t *self, int64_t now);

/* Where the lease stands at now. */
lease_state_t lease_state(lease_t *self, int64_t now);
const char *lease_state_name(lease_state_t state);

/* When the held lease runs out (monotonic ms), or INT64_MAX if none is
 * held: the caller wakes by then. */
int64_t lease_expires_at(const lease_t *self);

#endif
