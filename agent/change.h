/*
 * agent/change.h
 *     A decoded Insert, Update or Delete copied out of its message, so that
 *     it outlives it: apply holds a batch's changes a moment, to send those
 *     of one table together (agent/apply_queue.c).
 *
 * One allocation per change: the header, both tuples' values and their
 * bytes. Text values are NUL-terminated in the copy (len does not count
 * the NUL), so that they can go to libpq as parameters as they are.
 */
#ifndef PGCONVOY_CHANGE_H
#define PGCONVOY_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/pgoutput.h"

typedef struct change_t change_t;

struct change_t
{
    change_t *next;           /* the queue it is on; the queue's owner's */
    pgoutput_msg_type_t type; /* PGOUTPUT_INSERT, _UPDATE or _DELETE */
    uint64_t lsn;             /* its transaction's, to name it in errors */
    pgoutput_change_t change; /* relation NULL; values point into this */
    size_t size;              /* bytes allocated, for a memory budget */
};

/* Copies c (borrowed; its relation is not kept). */
change_t *change_new(pgoutput_msg_type_t type, const pgoutput_change_t *c,
                     uint64_t lsn);
/* NULL-safe; nulls the caller's pointer. */
void change_destroy(change_t **self_p);

#endif
