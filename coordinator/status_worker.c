/*
 * coordinator/status_worker.c
 *     task show, answered on a thread of its own (a CZMQ actor).
 *
 * A question is the route's frames, then one frame holding a
 * status_question_t; an answer is the route's frames, then the Reply's
 * envelope, ready for the CLI socket.
 */
#include "coordinator/status_worker.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/coord.h"
#include "coordinator/store.h"

struct status_worker_t
{
    zactor_t *actor; /* owned: the thread, and the pipe to it */
};

typedef struct
{
    int64_t task_id;
    bool expand;
    bool summary;
} status_question_t;

/* Answers one question read from pipe. */
static void
s_answer(store_t *store, zsock_t *pipe, zmsg_t **question_p)
{
    zmsg_t *route = *question_p;
    zframe_t *last = zmsg_last(route);
    status_question_t q;
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Reply reply = PGCONVOY__REPLY__INIT;
    char *json = NULL;
    zmsg_t *answer = NULL;

    *question_p = NULL;
    if (last == NULL || zframe_size(last) != sizeof q)
    {
        log_error("the status worker got a malformed question: ignored");
        zmsg_destroy(&route);
        return;
    }
    memcpy(&q, zframe_data(last), sizeof q);
    zmsg_remove(route, last);
    zframe_destroy(&last);
    json = status_task_json(store, q.task_id, q.expand, q.summary);
    reply.code = 0;
    reply.message = "";
    reply.json = json;
    env.body_case = PGCONVOY__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    answer = envelope_pack(route, &env);
    if (answer != NULL && zmsg_send(&answer, pipe) != 0)
    {
        zmsg_destroy(&answer);
    }
    free(json);
    zmsg_destroy(&route);
}

/* The actor: questions until $TERM, read through store (args), which
 * the actor owns from its start on. */
static void
s_actor(zsock_t *pipe, void *args)
{
    store_t *store = args;

    (void) zsock_signal(pipe, 0);
    for (;;)
    {
        zmsg_t *msg = zmsg_recv(pipe);
        if (msg == NULL)
        {
            break; /* interrupted */
        }
        zframe_t *first = zmsg_first(msg);
        if (first != NULL && zframe_streq(first, "$TERM"))
        {
            zmsg_destroy(&msg);
            break;
        }
        s_answer(store, pipe, &msg);
    }
    store_destroy(&store);
}

status_worker_t *
status_worker_new(const char *state_dir)
{
    /* opened here, to fail here: a connection may change threads, as
     * long as one thread uses it at a time */
    store_t *store = store_new_reader(state_dir);
    status_worker_t *self = NULL;

    if (store == NULL)
    {
        return NULL;
    }
    self = xcalloc(1, sizeof *self);
    self->actor = zactor_new(s_actor, store);
    if (self->actor == NULL)
    {
        log_error("state_dir=%s could not start the status worker", state_dir);
        store_destroy(&store);
        free(self);
        return NULL;
    }
    return self;
}

void
status_worker_destroy(status_worker_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    zactor_destroy(&(*self_p)->actor);
    free(*self_p);
    *self_p = NULL;
}

int
status_worker_ask(status_worker_t *self, zmsg_t *route, int64_t task_id,
                  bool expand, bool summary)
{
    status_question_t q = {task_id, expand, summary};
    zmsg_t *msg = zmsg_dup(route);

    if (msg == NULL || zmsg_addmem(msg, &q, sizeof q) != 0 ||
        zmsg_send(&msg, self->actor) != 0)
    {
        zmsg_destroy(&msg);
        return -1;
    }
    return 0;
}

zsock_t *
status_worker_sock(status_worker_t *self)
{
    return zactor_sock(self->actor);
}

zmsg_t *
status_worker_answer(status_worker_t *self)
{
    return zmsg_recv(self->actor);
}
