/*
 * coordinator/checkpointer.h
 *     Copies the catalog's write-ahead log back into the catalog on a
 *     thread of its own, through a connection of its own.
 *
 * Under load the log reaches its 40 MB every second or two, and the
 * checkpoint that copies it back (two fsyncs of tens of megabytes) took
 * about 100 ms. Made by the commit that found the log full, that was
 * 100 ms in which no result was taken and no unit placed: the tail of
 * coord_sim's placement waits. With WAL, a checkpoint and the writer run
 * side by side.
 */
#ifndef PGCONVOY_COORDINATOR_CHECKPOINTER_H
#define PGCONVOY_COORDINATOR_CHECKPOINTER_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/store.h"

typedef struct checkpointer_t checkpointer_t;

/*
 * Starts the thread on the catalog in state_dir, and hands writer's
 * checkpoints off to it (store_watch_log()). NULL, logged, if
 * it could not start: writer then checkpoints itself, as before.
 */
checkpointer_t *checkpointer_new(const char *state_dir, store_t *writer);
/* Stops the thread; before writer is destroyed. */
void checkpointer_destroy(checkpointer_t **self_p);

/* True if no round is asked for or under way. */
bool checkpointer_is_idle(checkpointer_t *self);
/* Pages of log the thread's rounds have copied back, all told. */
int64_t checkpointer_pages_copied(checkpointer_t *self);

#endif
