/*
 * coordinator/pending.c
 *     The CLIs waiting for their task's checks.
 */
#include "coordinator/pending.h"

#include <assert.h>
#include <stdlib.h>

#include "common/strbuf.h"

typedef struct
{
    int64_t task_id;
    zmsg_t *route;      /* the waiting CLI, owned */
    strbuf_t *problems; /* every problem prepare found, one per line */
    strbuf_t *notices;  /* and every notice */
} pending_task_t;

struct pending_t
{
    zsock_t *cli;          /* borrowed: where the answers go */
    outbox_t *out;         /* borrowed: answers wait for the commit */
    pending_task_t *tasks; /* owned */
    size_t count;
};

pending_t *
pending_new(zsock_t *cli, outbox_t *out)
{
    pending_t *self = xcalloc(1, sizeof *self);

    self->cli = cli;
    self->out = out;
    return self;
}

static void
s_forget(pending_t *self, size_t i)
{
    zmsg_destroy(&self->tasks[i].route);
    strbuf_destroy(&self->tasks[i].problems);
    strbuf_destroy(&self->tasks[i].notices);
    self->tasks[i] = self->tasks[--self->count];
}

void
pending_destroy(pending_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    pending_t *self = *self_p;
    while (self->count > 0)
    {
        s_forget(self, 0);
    }
    free(self->tasks);
    free(self);
    *self_p = NULL;
}

static pending_task_t *
s_find(const pending_t *self, int64_t task_id)
{
    for (size_t i = 0; i < self->count; i++)
    {
        if (self->tasks[i].task_id == task_id)
        {
            return &self->tasks[i];
        }
    }
    return NULL;
}

void
pending_add(pending_t *self, int64_t task_id, zmsg_t **route_p)
{
    pending_task_t *grown =
        realloc(self->tasks, (self->count + 1) * sizeof *grown);

    if (grown == NULL)
    {
        abort();
    }
    self->tasks = grown;
    self->tasks[self->count].task_id = task_id;
    self->tasks[self->count].route = *route_p;
    self->tasks[self->count].problems = strbuf_new();
    self->tasks[self->count].notices = strbuf_new();
    self->count++;
    *route_p = NULL;
}

bool
pending_has(const pending_t *self, int64_t task_id)
{
    return s_find(self, task_id) != NULL;
}

void
pending_add_problem(pending_t *self, int64_t task_id, const char *problem)
{
    pending_task_t *t = s_find(self, task_id);

    if (t != NULL)
    {
        strbuf_appendf(t->problems, "%s\n", problem);
    }
}

const char *
pending_problems(const pending_t *self, int64_t task_id)
{
    const pending_task_t *t = s_find(self, task_id);
    return t ? strbuf_data(t->problems) : "";
}

void
pending_add_notice(pending_t *self, int64_t task_id, const char *notice)
{
    pending_task_t *t = s_find(self, task_id);

    if (t != NULL)
    {
        strbuf_appendf(t->notices, "%s\n", notice);
    }
}

const char *
pending_notices(const pending_t *self, int64_t task_id)
{
    const pending_task_t *t = s_find(self, task_id);
    return t ? strbuf_data(t->notices) : "";
}

void
pending_answer(pending_t *self, int64_t task_id, int code, const char *message)
{
    pending_task_t *t = s_find(self, task_id);
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Reply reply = PGCONVOY__REPLY__INIT;

    if (t == NULL)
    {
        return;
    }
    reply.code = code;
    reply.message = (char *) message;
    reply.json = "";
    env.body_case = PGCONVOY__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    (void) outbox_add(self->out, self->cli, t->route, &env);
    s_forget(self, (size_t) (t - self->tasks));
}
