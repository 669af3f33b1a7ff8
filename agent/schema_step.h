/*
 * agent/schema_step.h
 *     Schema steps: a script and its pgconvoy.step_done row, committed
 *     together on the target, so that a step is done once whatever the
 *     attempts.
 */
#ifndef PGCONVOY_AGENT_SCHEMA_STEP_H
#define PGCONVOY_AGENT_SCHEMA_STEP_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgconvoy.pb-c.h"

/* Makes the pgconvoy schema and its tables on tgt, if missing. Returns 0,
 * or -1 with *error set. */
int schema_step_make_bookkeeping(PGconn *tgt, char **error);

/*
 * Online, as a slot unit takes a snapshot for the copies: records it as
 * the one copies read under (pgconvoy.load_snapshot, which a copy checks,
 * row locked, in its transaction: one under another snapshot stops).
 * With a->truncate_target (the load starts over) it also forgets which
 * were copied, in that same transaction, then empties the tables (in
 * chunks of transactions of their own, target_tables.h). Returns
 * 0, or with *error set SCHEMA_STEP_TRANSIENT (worth another try: a lock
 * not granted in time, a connection lost) or -1.
 */
int schema_step_start_load(PGconn *tgt, const Pgconvoy__Assign *a,
                           const char *snapshot, char **error);

/*
 * Runs one step's script. Returns 0; -1 with *error set, or -2 (the same,
 * but a deadlock, a serialization failure or a lost connection: trying
 * again may succeed); or 1 if it failed only because its object exists
 * already and may_exist: the user's own schema (or that of an earlier
 * task on these tables) has it.
 */
#define SCHEMA_STEP_TRANSIENT (-2)
int schema_step_exec(PGconn *tgt, const char *script, bool may_exist,
                     char **error);

/* The script of a step: sql and its step_done row in one transaction;
 * NULL if tgt cannot quote (a lost connection). */
char *schema_step_script(PGconn *tgt, const char *task_key, const char *step,
                         const char *sql);

/* Runs sql and its step_done row in one target transaction, unless the
 * step is done already. Returns 0, or as schema_step_exec() on failure. */
int schema_step_run(PGconn *tgt, const char *task_key, const char *step,
                    const char *sql, bool may_exist, char **error);

/*
 * Orders items[0..n) as several in one transaction must run: by table
 * (schema, then name), and on each table the strongest lock first
 * (constraints, then extended statistics, then indexes), then as given.
 * Transactions that take their locks so cannot deadlock on each other.
 */
void schema_step_lock_order(const Pgconvoy__SchemaItem **items, size_t n);

/* The step name of an item, as its step_done row has it. */
void schema_step_item_name(const Pgconvoy__SchemaItem *item, char *step,
                           size_t size);

/* Runs a's items in order, each as its own step. Returns 0, or as
 * unit_fail() with res's error set. */
int schema_step_run_items(const Pgconvoy__Assign *a, PGconn *tgt,
                          Pgconvoy__Result *res);

#endif
