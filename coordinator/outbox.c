/*
 * coordinator/outbox.c
 *     Messages held until the catalog transaction that made them commits.
 */
#include "coordinator/outbox.h"

#include <assert.h>
#include <stdlib.h>

#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"

typedef struct
{
    zsock_t *sock; /* borrowed: the coordinator's socket */
    zmsg_t *msg;   /* routing frames and payload, owned */
} outbox_msg_t;

struct outbox_t
{
    outbox_msg_t *msgs; /* owned, in the order queued */
    size_t count;
    size_t size; /* allocated */
};

outbox_t *
outbox_new(void)
{
    return xcalloc(1, sizeof(outbox_t));
}

void
outbox_destroy(outbox_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    outbox_discard(*self_p);
    free((*self_p)->msgs);
    free(*self_p);
    *self_p = NULL;
}

int
outbox_add(outbox_t *self, zsock_t *sock, zmsg_t *route,
           Pgconvoy__Envelope *env)
{
    zmsg_t *msg = envelope_pack(route, env);

    if (msg == NULL)
    {
        return -1;
    }
    if (self->count == self->size)
    {
        size_t size = self->size ? 2 * self->size : 16;
        outbox_msg_t *grown = realloc(self->msgs, size * sizeof *grown);
        if (grown == NULL)
        {
            abort();
        }
        self->msgs = grown;
        self->size = size;
    }
    self->msgs[self->count].sock = sock;
    self->msgs[self->count].msg = msg;
    self->count++;
    return 0;
}

static void
s_send(outbox_msg_t *m)
{
    if (zmsg_send(&m->msg, m->sock) != 0)
    {
        /* a peer gone: the agent's next heartbeat, or the CLI's next
         * request, settles what it missed */
        log_warn("could not send a message: %s", zmq_strerror(zmq_errno()));
        zmsg_destroy(&m->msg);
    }
}

void
outbox_flush(outbox_t *self)
{
    for (size_t i = 0; i < self->count; i++)
    {
        s_send(&self->msgs[i]);
    }
    self->count = 0;
}

void
outbox_flush_to(outbox_t *self, const zsock_t *sock)
{
    size_t kept = 0;

    for (size_t i = 0; i < self->count; i++)
    {
        if (self->msgs[i].sock == sock)
        {
            s_send(&self->msgs[i]);
        }
        else
        {
            self->msgs[kept++] = self->msgs[i];
        }
    }
    self->count = kept;
}

void
outbox_discard(outbox_t *self)
{
    for (size_t i = 0; i < self->count; i++)
    {
        zmsg_destroy(&self->msgs[i].msg);
    }
    self->count = 0;
}

size_t
outbox_size(const outbox_t *self)
{
    return self->count;
}
