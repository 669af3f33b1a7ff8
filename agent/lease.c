/*
 * agent/lease.c
 *     The agent's lease: granted by the coordinator's answers to its
 *     Hellos, measured on this process's monotonic clock.
 *
 * A lease that ran out stays reported until the caller has heard of it
 * (lease_has_lapsed), even if a grant renews it meanwhile: units must
 * stop whenever there was a moment without a lease, since the
 * coordinator may have placed them elsewhere in that moment.
 */
#include "agent/lease.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/strbuf.h"

#define BIT(s) (1u << (s))

struct lease_t
{
    lease_state_t state; /* moved by s_move() alone */
    int64_t expires_at;  /* monotonic ms, while held */
    bool lapse_unheard;  /* ran out, and lease_has_lapsed() not told yet */
};

/* allowed[from] is a bit set of the states it may move to */
static const uint32_t s_allowed[LEASE_STATE_COUNT] = {
    [LEASE_NONE] = BIT(LEASE_HELD),
    [LEASE_HELD] = BIT(LEASE_HELD) | BIT(LEASE_LAPSED),
    [LEASE_LAPSED] = BIT(LEASE_HELD),
};

static const char *const s_names[LEASE_STATE_COUNT] = {
    [LEASE_NONE] = "none",
    [LEASE_HELD] = "held",
    [LEASE_LAPSED] = "lapsed",
};

static void
s_move(lease_t *self, lease_state_t to)
{
    /* every caller checks the move first: a refused one is our bug */
    assert((s_allowed[self->state] & BIT(to)) != 0);
    if (self->state == LEASE_HELD && to == LEASE_LAPSED)
    {
        self->lapse_unheard = true;
    }
    self->state = to;
}

/* Time passes: a held lease whose end is now or before runs out. */
static void
s_settle(lease_t *self, int64_t now)
{
    if (self->state == LEASE_HELD && now >= self->expires_at)
    {
        s_move(self, LEASE_LAPSED);
    }
}

lease_t *
lease_new(void)
{
    lease_t *self = xcalloc(1, sizeof *self);

    self->state = LEASE_NONE;
    return self;
}

void
lease_destroy(lease_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    free(*self_p);
    *self_p = NULL;
}

int
lease_grant(lease_t *self, int64_t hello_sent_ms, uint32_t lease_ms,
            int64_t now)
{
    if (hello_sent_ms > now || hello_sent_ms <= 0 || lease_ms == 0)
    {
        log_warn("sent_ms=%" PRId64 " lease_ms=%u now=%" PRId64
                 " ignoring a lease for a heartbeat this agent did not send",
                 hello_sent_ms, lease_ms, now);
        return -1;
    }
    if (lease_ms > LEASE_MAX_MS)
    {
        lease_ms = LEASE_MAX_MS;
    }
    /* first what ran out before this grant came, so it is not missed */
    s_settle(self, now);
    int64_t until = hello_sent_ms + (int64_t) lease_ms;
    if (until <= now)
    {
        return 0; /* late: worth nothing now */
    }
    if (self->state != LEASE_HELD || until > self->expires_at)
    {
        self->expires_at = until;
    }
    s_move(self, LEASE_HELD);
    return 0;
}

bool
lease_is_held(lease_t *self, int64_t now)
{
    s_settle(self, now);
    return self->state == LEASE_HELD;
}

bool
lease_has_lapsed(lease_t *self, int64_t now)
{
    bool lapsed = false;

    s_settle(self, now);
    lapsed = self->lapse_unheard;
    self->lapse_unheard = false;
    return lapsed;
}

lease_state_t
lease_state(lease_t *self, int64_t now)
{
    s_settle(self, now);
    return self->state;
}

const char *
lease_state_name(lease_state_t state)
{
    return state < LEASE_STATE_COUNT ? s_names[state] : "?";
}

int64_t
lease_expires_at(const lease_t *self)
{
    return self->state == LEASE_HELD ? self->expires_at : INT64_MAX;
}
