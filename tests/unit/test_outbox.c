/*
 * tests/unit/test_outbox.c
 *     The coordinator's outbox: a flush to one socket sends that socket's
 *     messages in the order queued and keeps the others, in theirs, for
 *     the flush after it (server.c sends the agents' messages of a batch
 *     before its sync, the CLI's after); a discard sends nothing.
 */
#include <czmq.h>
#include <stdint.h>

#include "check.h"
#include "common/envelope.h"
#include "coordinator/outbox.h"

/* Queues, for sock, a reply whose code is n. */
static void
s_add(outbox_t *outbox, zsock_t *sock, int n)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Reply reply = PGCONVOY__REPLY__INIT;
    zmsg_t *route = zmsg_new();

    reply.code = n;
    env.body_case = PGCONVOY__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    CHECK(outbox_add(outbox, sock, route, &env) == 0);
    zmsg_destroy(&route);
}

/* The code of the next message on peer, or -1 if none is waiting. */
static int
s_next(zsock_t *peer)
{
    if ((zsock_events(peer) & ZMQ_POLLIN) == 0)
    {
        return -1;
    }
    zmsg_t *msg = zmsg_recv(peer);
    CHECK(msg != NULL && zmsg_size(msg) == 1);
    zframe_t *payload = zmsg_first(msg);
    Pgconvoy__Envelope *env = NULL;
    CHECK(envelope_decode(zframe_data(payload), zframe_size(payload), &env,
                          NULL) == ENVELOPE_OK);
    CHECK(env->body_case == PGCONVOY__ENVELOPE__BODY_REPLY);
    int code = env->reply->code;
    envelope_free(&env);
    zmsg_destroy(&msg);
    return code;
}

int
main(void)
{
    zsock_t *agents = zsock_new_pair("@inproc://outbox-agents");
    zsock_t *agents_peer = zsock_new_pair(">inproc://outbox-agents");
    zsock_t *cli = zsock_new_pair("@inproc://outbox-cli");
    zsock_t *cli_peer = zsock_new_pair(">inproc://outbox-cli");
    outbox_t *outbox = outbox_new();

    CHECK(agents && agents_peer && cli && cli_peer && outbox);

    /* interleaved, and more than the first allocation (16) holds */
    for (int n = 0; n < 40; n++)
    {
        s_add(outbox, n % 3 == 0 ? cli : agents, n);
    }
    CHECK(outbox_size(outbox) == 40);

    /* the agents' messages go, in order; the CLI's stay */
    outbox_flush_to(outbox, agents);
    CHECK(outbox_size(outbox) == 14);
    for (int n = 0; n < 40; n++)
    {
        if (n % 3 != 0)
        {
            CHECK_EQ_INT(s_next(agents_peer), n);
        }
    }
    CHECK_EQ_INT(s_next(agents_peer), -1);
    CHECK_EQ_INT(s_next(cli_peer), -1);

    /* one queued after the partial flush goes after the ones kept */
    s_add(outbox, cli, 100);
    outbox_flush_to(outbox, agents); /* none of its own: nothing moves */
    CHECK(outbox_size(outbox) == 15);
    outbox_flush(outbox);
    CHECK(outbox_size(outbox) == 0);
    for (int n = 0; n < 40; n += 3)
    {
        CHECK_EQ_INT(s_next(cli_peer), n);
    }
    CHECK_EQ_INT(s_next(cli_peer), 100);
    CHECK_EQ_INT(s_next(cli_peer), -1);

    /* a discard sends nothing; what is left is freed with the outbox
     * (the sanitizers' build checks that) */
    s_add(outbox, agents, 200);
    outbox_discard(outbox);
    CHECK(outbox_size(outbox) == 0);
    outbox_flush(outbox);
    CHECK_EQ_INT(s_next(agents_peer), -1);
    s_add(outbox, cli, 300);
    outbox_destroy(&outbox);
    CHECK(outbox == NULL);

    zsock_destroy(&cli_peer);
    zsock_destroy(&cli);
    zsock_destroy(&agents_peer);
    zsock_destroy(&agents);
    return 0;
}
