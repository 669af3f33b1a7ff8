/*
 * coordinator/store.h
 *     The coordinator's SQLite catalog: opening it (WAL mode, foreign
 *     keys), its schema, transactions, and statements with bindings.
 *
 * Bindings are given by a type string, one letter per parameter:
 * 's' text (NULL binds NULL), 'i' int64_t, 'd' double. Every state change
 * the coordinator makes runs inside store_begin()/store_commit(), so a
 * crash leaves the catalog as of the last whole change.
 */
#ifndef PGFERRY_COORDINATOR_STORE_H
#define PGFERRY_COORDINATOR_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_t store_t;

/* Opens (creating if needed) DIR/pgferry.db. Logs why on failure. */
store_t *store_new(const char *state_dir);
void store_destroy(store_t **self_p);

/*
 * Transactions nest: the outermost store_begin() starts one, each inner
 * level is a savepoint, and only the outermost store_commit() commits.
 * The coordinator's loop opens the outermost one around a batch of
 * messages, so that a batch costs one commit, not one per message.
 * store_rollback() undoes its own level only (an error in the outermost
 * one undoes everything).
 */
int store_begin(store_t *self);
int store_commit(store_t *self);
void store_rollback(store_t *self);
bool store_in_transaction(const store_t *self);

/* Runs a statement that returns no rows. Returns 0 or -1 (logged). */
int store_exec(store_t *self, const char *sql, const char *types, ...);

/*
 * Prepares and binds a query; step it with sqlite3_step() and finalize it
 * with sqlite3_finalize(). Returns NULL (logged) on error.
 */
sqlite3_stmt *store_query(store_t *self, const char *sql, const char *types,
                          ...);

/* First column of the first row as an integer, or dflt if no row. */
int64_t store_int(store_t *self, int64_t dflt, const char *sql,
                  const char *types, ...);

/* First column of the first row as text, into buf (cut to size; "" for
 * NULL or no row). Returns 0 if there was a row, -1 if not. */
int store_string(store_t *self, char *buf, size_t size, const char *sql,
                 const char *types, ...);

int64_t store_last_id(store_t *self);
/* Rows the last INSERT, UPDATE or DELETE changed (not its triggers'). */
int64_t store_changes(store_t *self);

/* Column text as a C string, "" for NULL (borrowed from the statement). */
const char *store_text(sqlite3_stmt *stmt, int column);

/* Current UTC time as ISO 8601 with microseconds, e.g. for startedOn. */
void store_now(char *buf, size_t size);

#endif
