/*
 * tests/bench/sim_cli.c
 *     One REQ socket, one request in flight, replies timed.
 */
#include "sim_cli.h"

#include <assert.h>
#include <stdlib.h>

#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"

struct sim_cli_t
{
    zsock_t *req;    /* REQ to the coordinator's CLI endpoint, owned */
    int64_t sent_at; /* zclock_usecs() of the request in flight, or 0 */
};

sim_cli_t *
sim_cli_new(const char *endpoint)
{
    sim_cli_t *self = xcalloc(1, sizeof *self);

    self->req = zsock_new(ZMQ_REQ);
    if (self->req == NULL || zsock_connect(self->req, "%s", endpoint) != 0)
    {
        log_error("endpoint=%s could not connect the CLI socket", endpoint);
        sim_cli_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->req, 0);
    return self;
}

void
sim_cli_destroy(sim_cli_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    zsock_destroy(&(*self_p)->req);
    free(*self_p);
    *self_p = NULL;
}

zsock_t *
sim_cli_socket(sim_cli_t *self)
{
    return self->req;
}

bool
sim_cli_is_busy(const sim_cli_t *self)
{
    return self->sent_at != 0;
}

int64_t
sim_cli_sent_at(const sim_cli_t *self)
{
    return self->sent_at;
}

int
sim_cli_send(sim_cli_t *self, Pgconvoy__Request *req)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;

    if (sim_cli_is_busy(self))
    {
        return -1;
    }
    env.body_case = PGCONVOY__ENVELOPE__BODY_REQUEST;
    env.request = req;
    self->sent_at = zclock_usecs();
    if (envelope_send(self->req, NULL, &env) != 0)
    {
        self->sent_at = 0;
        return -1;
    }
    return 0;
}

Pgconvoy__Envelope *
sim_cli_recv(sim_cli_t *self, int64_t *round_trip_us)
{
    Pgconvoy__Envelope *env = NULL;
    envelope_status_t status = envelope_recv(self->req, NULL, &env, NULL);

    *round_trip_us = zclock_usecs() - self->sent_at;
    self->sent_at = 0;
    if (status != ENVELOPE_OK ||
        env->body_case != PGCONVOY__ENVELOPE__BODY_REPLY)
    {
        log_error("status=%d the coordinator's answer is not a Reply",
                  (int) status);
        envelope_free(&env);
        return NULL;
    }
    return env;
}
