/*
 * agent/large_objects.h
 *     Large objects: the target's made equal to the source's, contents
 *     and all.
 *
 * pg_dump's pre-data section makes each large object that existed when
 * it ran, empty, with its owner, comment and privileges. The contents
 * are data, and logical decoding never carries them (they live in a
 * catalog): like the sequences' values they are synced when a database's
 * load is finalized, and again at an online migration's cutover. A sync
 * compares each object's size and checksum, which each server computes
 * over its own copy, and copies only what differs: the cutover's moves
 * what changed during CDC, not every object again.
 */
#ifndef PGCONVOY_AGENT_LARGE_OBJECTS_H
#define PGCONVOY_AGENT_LARGE_OBJECTS_H

#include <libpq-fe.h>

#include "pgconvoy.pb-c.h"

/*
 * Makes tgt's large objects those of src: each missing one is created
 * (owned as on the source unless a->no_owner), each that differs is
 * rewritten, each the source no longer has is unlinked. Returns 0, or
 * -1 with res->error set.
 */
int large_objects_sync(const Pgconvoy__Assign *a, PGconn *src, PGconn *tgt,
                       Pgconvoy__Result *res);

#endif
