/*
 * coordinator/checkpointer.c
 *     The catalog's checkpoints, on a thread of its own (a CZMQ actor).
 *
 * The log starts over (its next frame written at its start, not at its
 * end) only at a write transaction that begins with every frame copied
 * back. The thread's checkpoint copies what was committed when it
 * began, while the writer commits more: it never finds the log whole.
 * So the thread copies the bulk, round after round, each shorter than
 * the one before, and the writer's own commit copies the last few
 * hundred frames itself (a few milliseconds), between two of its
 * transactions, once the thread's last round left no more than
 * CHECKPOINTER_LAST_PAGES: its next transaction then starts the log
 * over.
 *
 * The writer's commit that finds the log long asks for a round by a
 * signal on the actor's pipe, once: `asked` stays set until that round
 * is over, so that the commits made meanwhile (hundreds a second) do
 * not queue more.
 */
#include "coordinator/checkpointer.h"

#include <assert.h>
#include <czmq.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/strbuf.h"

/* what the writer copies back itself: about 2 MB, a few ms of fsync */
#define CHECKPOINTER_LAST_PAGES 500
/* the writer checkpoints itself, whatever the thread does, past this:
 * the log stays bounded (320 MB) if the thread is stuck */
#define CHECKPOINTER_MAX_PAGES (8 * STORE_CHECKPOINT_PAGES)

struct checkpointer_t
{
    zactor_t *actor;    /* owned: the thread, and the pipe to it */
    store_t *store;     /* owned by the thread from its start on */
    store_t *writer;    /* borrowed: whose log this is */
    atomic_bool asked;  /* a round is asked for and not over */
    atomic_int copied;  /* the log's pages the last round left copied */
    atomic_llong total; /* pages copied by every round, all told */
    bool warned;        /* the writer's: CHECKPOINTER_MAX_PAGES was hit */
};

/* The actor: a round per signal, until $TERM. */
static void
s_actor(zsock_t *pipe, void *args)
{
    checkpointer_t *self = args;

    (void) zsock_signal(pipe, 0);
    for (;;)
    {
        zmsg_t *msg = zmsg_recv(pipe);
        if (msg == NULL)
        {
            break; /* interrupted */
        }
        zframe_t *first = zmsg_first(msg);
        bool term = first != NULL && zframe_streq(first, "$TERM");
        zmsg_destroy(&msg);
        if (term)
        {
            break;
        }
        int before = atomic_load(&self->copied);
        int copied = store_checkpoint(self->store);
        copied = copied > 0 ? copied : 0;
        /* a round copies on from where the last one of the same log
         * stopped; a log started over starts from 0 */
        atomic_fetch_add(&self->total,
                         copied >= before ? copied - before : copied);
        /* before asked is cleared: the writer reads both */
        atomic_store(&self->copied, copied);
        atomic_store(&self->asked, false);
    }
    store_destroy(&self->store);
}

/* store_watch_log()'s callback, on the writer's thread after each of
 * its commits: true for the writer to checkpoint now, itself. */
static bool
s_on_commit(void *arg, int pages)
{
    checkpointer_t *self = arg;

    if (pages < STORE_CHECKPOINT_PAGES)
    {
        return false;
    }
    if (pages >= CHECKPOINTER_MAX_PAGES)
    {
        if (!self->warned)
        {
            log_warn("pages=%d the catalog's log is not copied back by its "
                     "thread: the coordinator's loop does it",
                     pages);
            self->warned = true;
        }
        return true;
    }
    if (atomic_load(&self->asked))
    {
        return false; /* a round is under way */
    }
    int copied = atomic_load(&self->copied);
    if (copied > 0 && pages - copied <= CHECKPOINTER_LAST_PAGES)
    {
        /* the last frames: copied here, the log starts over */
        atomic_store(&self->copied, 0);
        return true;
    }
    atomic_store(&self->asked, true);
    if (zsock_signal(zactor_sock(self->actor), 0) != 0)
    {
        atomic_store(&self->asked, false);
    }
    return false;
}

checkpointer_t *
checkpointer_new(const char *state_dir, store_t *writer)
{
    checkpointer_t *self = xcalloc(1, sizeof *self);

    atomic_init(&self->asked, false);
    atomic_init(&self->copied, 0);
    atomic_init(&self->total, 0);
    /* opened here, to fail here: the thread takes it over */
    self->store = store_new_checkpointer(state_dir);
    if (self->store == NULL)
    {
        free(self);
        return NULL;
    }
    self->actor = zactor_new(s_actor, self);
    if (self->actor == NULL)
    {
        log_error("state_dir=%s could not start the checkpoint thread",
                  state_dir);
        store_destroy(&self->store);
        free(self);
        return NULL;
    }
    self->writer = writer;
    store_watch_log(writer, s_on_commit, self);
    return self;
}

void
checkpointer_destroy(checkpointer_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    /* the writer's commits no longer call on it */
    store_watch_log((*self_p)->writer, NULL, NULL);
    zactor_destroy(&(*self_p)->actor);
    free(*self_p);
    *self_p = NULL;
}

bool
checkpointer_is_idle(checkpointer_t *self)
{
    return !atomic_load(&self->asked);
}

int64_t
checkpointer_pages_copied(checkpointer_t *self)
{
    return (int64_t) atomic_load(&self->total);
}
