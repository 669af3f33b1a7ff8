/*
 * coordinator/inbox.c
 *     A ring of agents' messages, read and not handled yet.
 */
#include "coordinator/inbox.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

struct inbox_t
{
    inbox_msg_t *ring; /* owned: count messages from head on, wrapping */
    size_t head;
    size_t count;
    size_t size; /* allocated */
};

inbox_t *
inbox_new(void)
{
    return xcalloc(1, sizeof(inbox_t));
}

void
inbox_destroy(inbox_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    inbox_t *self = *self_p;
    inbox_msg_t msg;

    while (inbox_pop(self, &msg))
    {
        inbox_msg_clear(&msg);
    }
    free(self->ring);
    free(self);
    *self_p = NULL;
}

void
inbox_push(inbox_t *self, inbox_msg_t *msg)
{
    if (self->count == self->size)
    {
        /* unwrapped into a ring twice the size */
        size_t size = self->size ? 2 * self->size : 64;
        inbox_msg_t *grown = xcalloc(size, sizeof *grown);

        for (size_t i = 0; i < self->count; i++)
        {
            grown[i] = self->ring[(self->head + i) % self->size];
        }
        free(self->ring);
        self->ring = grown;
        self->head = 0;
        self->size = size;
    }
    self->ring[(self->head + self->count) % self->size] = *msg;
    self->count++;
    memset(msg, 0, sizeof *msg);
}

bool
inbox_pop(inbox_t *self, inbox_msg_t *msg)
{
    if (self->count == 0)
    {
        return false;
    }
    *msg = self->ring[self->head];
    self->head = (self->head + 1) % self->size;
    self->count--;
    return true;
}

void
inbox_msg_clear(inbox_msg_t *msg)
{
    envelope_free(&msg->env);
    zmsg_destroy(&msg->route);
}

size_t
inbox_size(const inbox_t *self)
{
    return self->count;
}
