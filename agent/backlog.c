/*
 * agent/backlog.c
 *     Assigns waiting for a job slot, first come first started.
 */
#include "agent/backlog.h"

#include <assert.h>
#include <czmq.h>

#include "common/envelope.h"

struct backlog_t
{
    zlist_t *envs; /* of Pgconvoy__Envelope *, owned, oldest first */
};

backlog_t *
backlog_new(void)
{
    backlog_t *self = zmalloc(sizeof *self);

    self->envs = zlist_new();
    return self;
}

void
backlog_destroy(backlog_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    backlog_t *self = *self_p;
    Pgconvoy__Envelope *env = NULL;

    while ((env = backlog_pop(self)) != NULL)
    {
        envelope_free(&env);
    }
    zlist_destroy(&self->envs);
    free(self);
    *self_p = NULL;
}

bool
backlog_kind_takes_slot(Pgconvoy__UnitKind kind)
{
    return kind != PGCONVOY__UNIT_KIND__UNIT_SNAPSHOT &&
           kind != PGCONVOY__UNIT_KIND__UNIT_SLOT &&
           kind != PGCONVOY__UNIT_KIND__UNIT_CDC;
}

/* The Assigns of env: one, or a batch's; *n_p says how many. */
static Pgconvoy__Assign *const *
s_assigns(const Pgconvoy__Envelope *env, size_t *n_p)
{
    if (env->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH)
    {
        *n_p = env->assign_batch->n_units;
        return env->assign_batch->units;
    }
    assert(env->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN);
    *n_p = 1;
    return &env->assign;
}

bool
backlog_takes_slot(const Pgconvoy__Envelope *env)
{
    size_t n = 0;
    Pgconvoy__Assign *const *assigns = s_assigns(env, &n);

    return n > 0 && backlog_kind_takes_slot(assigns[0]->kind);
}

void
backlog_push(backlog_t *self, Pgconvoy__Envelope **env_p)
{
    assert(env_p != NULL && *env_p != NULL);
    (void) zlist_append(self->envs, *env_p);
    *env_p = NULL;
}

Pgconvoy__Envelope *
backlog_pop(backlog_t *self)
{
    return zlist_pop(self->envs);
}

size_t
backlog_size(const backlog_t *self)
{
    return zlist_size(self->envs);
}

size_t
backlog_ids(const backlog_t *self, uint64_t *ids, size_t max)
{
    size_t count = 0;

    for (Pgconvoy__Envelope *env = zlist_first(self->envs);
         env != NULL && count < max; env = zlist_next(self->envs))
    {
        size_t n = 0;
        Pgconvoy__Assign *const *assigns = s_assigns(env, &n);

        for (size_t i = 0; i < n && count < max; i++)
        {
            ids[count++] = assigns[i]->unit_id;
        }
    }
    return count;
}

/* The envelope kept here that holds unit_id, or NULL; the list's cursor
 * is left on it. */
static Pgconvoy__Envelope *
s_find(const backlog_t *self, uint64_t unit_id)
{
    /* zlist's cursor is the list's own: moved here and in backlog_ids() */
    for (Pgconvoy__Envelope *env = zlist_first(self->envs); env != NULL;
         env = zlist_next(self->envs))
    {
        size_t n = 0;
        Pgconvoy__Assign *const *assigns = s_assigns(env, &n);

        for (size_t i = 0; i < n; i++)
        {
            if (assigns[i]->unit_id == unit_id)
            {
                return env;
            }
        }
    }
    return NULL;
}

Pgconvoy__Envelope *
backlog_take(backlog_t *self, uint64_t unit_id)
{
    Pgconvoy__Envelope *env = s_find(self, unit_id);

    if (env != NULL)
    {
        zlist_remove(self->envs, env);
    }
    return env;
}

bool
backlog_holds(const backlog_t *self, uint64_t unit_id)
{
    return s_find(self, unit_id) != NULL;
}
