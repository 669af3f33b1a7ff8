/*
 * coordinator/secrets.c
 *     Tasks' passwords in memory, wiped when forgotten.
 */
#include "coordinator/secrets.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

typedef struct
{
    int64_t task_id;
    char *source_password; /* owned, may be NULL */
    char *target_password; /* owned, may be NULL */
} secrets_task_t;

struct secrets_t
{
    secrets_task_t *tasks; /* owned; a task appears at most once */
    size_t count;
};

secrets_t *
secrets_new(void)
{
    return xcalloc(1, sizeof(secrets_t));
}

static void
s_wipe(char **secret)
{
    if (*secret != NULL)
    {
        memset(*secret, 0, strlen(*secret));
        free(*secret);
        *secret = NULL;
    }
}

void
secrets_destroy(secrets_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    secrets_t *self = *self_p;
    while (self->count > 0)
    {
        secrets_forget(self, self->tasks[0].task_id);
    }
    free(self->tasks);
    free(self);
    *self_p = NULL;
}

static secrets_task_t *
s_find(const secrets_t *self, int64_t task_id)
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
secrets_put(secrets_t *self, int64_t task_id, const char *source_password,
            const char *target_password)
{
    secrets_task_t *grown = NULL;

    secrets_forget(self, task_id);
    grown = realloc(self->tasks, (self->count + 1) * sizeof *grown);
    if (grown == NULL)
    {
        abort();
    }
    self->tasks = grown;
    self->tasks[self->count].task_id = task_id;
    self->tasks[self->count].source_password =
        source_password && source_password[0] ? xstrdup(source_password) : NULL;
    self->tasks[self->count].target_password =
        target_password && target_password[0] ? xstrdup(target_password) : NULL;
    self->count++;
}

const char *
secrets_source(const secrets_t *self, int64_t task_id)
{
    const secrets_task_t *t = s_find(self, task_id);
    return t ? t->source_password : NULL;
}

const char *
secrets_target(const secrets_t *self, int64_t task_id)
{
    const secrets_task_t *t = s_find(self, task_id);
    return t ? t->target_password : NULL;
}

void
secrets_forget(secrets_t *self, int64_t task_id)
{
    secrets_task_t *t = s_find(self, task_id);

    if (t != NULL)
    {
        s_wipe(&t->source_password);
        s_wipe(&t->target_password);
        *t = self->tasks[--self->count];
    }
}
