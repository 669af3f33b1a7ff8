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
#include <stdbool.h>
#include <stddef.h>

#include "pgconvoy.pb-c.h"

/* The target sessions a fan-out uses at most, tgt's included. */
#define SCHEMA_FANOUT_SESSIONS 4

/* Script i of a fan-out, for session conn (to quote with it), or NULL if
 * it cannot be made: freed by the fan-out. */
typedef char *(*schema_fanout_script_fn)(void *ctx, size_t i, PGconn *conn);

/*
 * Runs scripts 0..n-1 (but those skip marks, if skip is not NULL) at
 * once, each sent as one query string, on tgt and up to sessions - 1
 * more sessions of target, opened with purpose as their application's
 * name and closed at the end. Sets ok[i], if ok is not NULL, for each
 * script that ran through; one that failed, or was cut short by a lost
 * session, is left to the caller, out of any transaction. tgt is left
 * idle. Returns how many ran through.
 */
size_t schema_fanout_scripts(const Pgconvoy__Endpoint *target,
                             const char *purpose, PGconn *tgt, size_t n,
                             const bool *skip,
                             schema_fanout_script_fn script_of, void *ctx,
                             bool *ok, size_t sessions);

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
