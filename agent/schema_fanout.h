/*
 * agent/schema_fanout.h
 *     Schema steps that need not run one after the other, run at once,
 *     each on a target session of its own, as pg_restore --jobs runs
 *     them: a database's foreign keys, each of which scans its two
 *     tables to validate itself, and its materialized views' data, a
 *     level of them at a time (matviews.h).
 */
#ifndef PGCONVOY_AGENT_SCHEMA_FANOUT_H
#define PGCONVOY_AGENT_SCHEMA_FANOUT_H

#include <libpq-fe.h>
#include <stddef.h>

#include "pgconvoy.pb-c.h"

/* The target sessions a fan-out uses at most, tgt's included. */
#define SCHEMA_FANOUT_SESSIONS 4

/*
 * Runs the steps of items[0..n) that are not done yet, at once, on tgt
 * and up to sessions - 1 more sessions of a's target. Best effort: a
 * step that fails here (two keys that deadlock on each other's tables,
 * a session that could not be opened or was lost) is left as it was, for
 * the caller to run again on its own and report. tgt is left idle, out
 * of any transaction. Returns how many steps it committed.
 */
size_t schema_fanout_run(const Pgconvoy__Assign *a, PGconn *tgt,
                         Pgconvoy__SchemaItem *const *items, size_t n,
                         size_t sessions);

#endif
