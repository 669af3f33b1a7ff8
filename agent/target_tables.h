/*
 * agent/target_tables.h
 *     A task's tables on the target: which of them exist, and emptying
 *     them all (a new task that wants them there and empty, a failed
 *     database given back, a full load started over).
 *
 * Why in chunks: TRUNCATE locks each table, its TOAST table and index and
 * each of its indexes until the transaction ends, in the lock table that
 * every session of the server shares; with the server's defaults that
 * holds about 7,800 locks, fewer than 10,000 tables need. So the tables
 * are emptied TARGET_TABLES_CHUNK at a time, a transaction each. Tables
 * linked by foreign keys go in one statement, since PostgreSQL refuses to
 * truncate a table that a key of a table left out points to (pgconvoy
 * adds the keys only after the load, but a schema made beforehand has
 * them); such a group larger than a chunk is a statement of its own.
 */
#ifndef PGCONVOY_AGENT_TARGET_TABLES_H
#define PGCONVOY_AGENT_TARGET_TABLES_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "pgconvoy.pb-c.h"

/* Tables a TRUNCATE statement names at most, foreign keys permitting */
#define TARGET_TABLES_CHUNK 200

/* Runs sql on conn (either server) with the tables as its $1 schemas and
 * $2 names, two text arrays in the tables' order. Returns its result, or
 * NULL with *error set. */
PGresult *target_tables_query(PGconn *conn, Pgconvoy__TableRef *const *tables,
                              size_t n, const char *sql, char **error);

/* Sets exists[i] for each of the n tables: whether tgt's database has it
 * (one statement for all). Returns 0, or -1 with *error set. */
int target_tables_find(PGconn *tgt, Pgconvoy__TableRef *const *tables, size_t n,
                       bool *exists, char **error);

/*
 * Empties those of the n tables that exist on tgt, in chunks, each in a
 * transaction of its own that waits at most 10 s for its locks; tgt must
 * not be in a transaction. Idempotent: a run cut short is run again.
 * Returns the number of statements run (0 if no table exists), or -1
 * with *error set and *transient saying whether to try again (a lock not
 * granted in time, a connection lost).
 */
int target_tables_empty(PGconn *tgt, Pgconvoy__TableRef *const *tables,
                        size_t n, bool *transient, char **error);

#endif
