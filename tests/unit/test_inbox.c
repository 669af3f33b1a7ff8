/*
 * tests/unit/test_inbox.c
 *     The coordinator's inbox: messages come out in the order they went
 *     in, across the ring's wrap and its growth, each with what reading it
 *     found; and what is left is freed with the inbox (the sanitizers'
 *     build checks that).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "coordinator/inbox.h"

/* A message whose route's one frame holds i, as read off the socket. */
static void
s_push(inbox_t *inbox, uint32_t i)
{
    inbox_msg_t msg = {0};

    msg.route = zmsg_new();
    zmsg_addmem(msg.route, &i, sizeof i);
    msg.status = ENVELOPE_MALFORMED;
    msg.version = i;
    msg.leased = i % 2 == 0;
    inbox_push(inbox, &msg);
    CHECK(msg.route == NULL); /* taken */
}

/* Pops one message and checks it is number i. */
static void
s_pop(inbox_t *inbox, uint32_t i)
{
    inbox_msg_t msg;
    uint32_t got = UINT32_MAX;

    CHECK(inbox_pop(inbox, &msg));
    zframe_t *frame = zmsg_first(msg.route);
    CHECK(frame != NULL && zframe_size(frame) == sizeof got);
    if (frame != NULL && zframe_size(frame) == sizeof got)
    {
        memcpy(&got, zframe_data(frame), sizeof got);
    }
    CHECK(got == i);
    CHECK(msg.version == i);
    CHECK(msg.leased == (i % 2 == 0));
    CHECK(msg.status == ENVELOPE_MALFORMED);
    inbox_msg_clear(&msg);
    CHECK(msg.route == NULL);
}

int
main(void)
{
    inbox_t *inbox = inbox_new();
    inbox_msg_t none;
    uint32_t next_in = 0;
    uint32_t next_out = 0;

    CHECK(inbox_size(inbox) == 0);
    CHECK(!inbox_pop(inbox, &none));

    /* in and out in steps that make the ring wrap, then grow while
     * wrapped: 50 in, 30 out, 100 in (past the first 64 slots), ... */
    for (int round = 0; round < 20; round++)
    {
        for (int k = 0; k < 50 + round * 7; k++)
        {
            s_push(inbox, next_in++);
        }
        CHECK(inbox_size(inbox) == next_in - next_out);
        for (int k = 0; k < 30 + round * 5; k++)
        {
            s_pop(inbox, next_out++);
        }
        CHECK(inbox_size(inbox) == next_in - next_out);
    }
    /* half of what is left out; the rest freed with the inbox */
    uint32_t half = next_out + (next_in - next_out) / 2;
    while (next_out < half)
    {
        s_pop(inbox, next_out++);
    }
    CHECK(inbox_size(inbox) > 0);
    inbox_destroy(&inbox);
    CHECK(inbox == NULL);
    inbox_destroy(&inbox); /* a second time: nothing */
    return 0;
}
