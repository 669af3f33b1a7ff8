/*
 * coordinator/store.h
 *     The coordinator's SQLite catalog: opening it (WAL mode, foreign
 *     keys), its schema, transactions, statements with bindings, and the
 *     rows of a query read through a cursor (store_rows_t). SQLite itself
 *     stays behind this header: no other file calls sqlite3_*.
 *
 * Bindings are given by a type string, one letter per parameter:
 * 's' text (NULL binds NULL), 'i' int64_t, 'd' double, 'b' a blob given
 * as two arguments (const void *, size_t). Every state change
 * the coordinator makes runs inside store_begin()/store_commit(), so a
 * crash leaves the catalog as of the last whole change.
 *
 * Statements are prepared once and kept, found again by their SQL text
 * (built with xasprintf() or not), so that running one again costs its
 * bindings and its steps only.
 */
#ifndef PGCONVOY_COORDINATOR_STORE_H
#define PGCONVOY_COORDINATOR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The catalog's layout version, in PRAGMA user_version. A catalog of
 * another layout is refused rather than half understood. Here and not in
 * store.c because --version prints it.
 */
#define STORE_VERSION 16
#define STORE_VERSION_TEXT "16"

typedef struct store_t store_t;

/* The rows of one query, read one at a time; see store_query(). */
typedef struct store_rows_t store_rows_t;

/* Opens (creating if needed) DIR/pgconvoy.db. Logs why on failure. */
store_t *store_new(const char *state_dir);
/* Opens the catalog store_new() made, read only, for another thread
 * (each thread its own store_t): with WAL it reads the last committed
 * state while the writer goes on. NULL (logged) on failure. */
store_t *store_new_reader(const char *state_dir);
/* Opens it read-write for store_checkpoint() on another thread. NULL
 * (logged) on failure. */
store_t *store_new_checkpointer(const char *state_dir);
void store_destroy(store_t **self_p);

/*
 * Pages of write-ahead log (4 kB each) after which they are copied back
 * into the catalog. SQLite's 1,000 meant a checkpoint, with its fsyncs
 * and the same hot pages (the queue's and counters' B-trees) written
 * again, about ten times a second under load; at 10,000 (a log of up to
 * 40 MB) coord_sim answered 9% more units a second on average (4 runs
 * each, noisy) and its median placement wait fell from 62-70 to 43-57 ms.
 */
#define STORE_CHECKPOINT_PAGES 10000

/*
 * Who checkpoints. By default the commit that leaves the log longer than
 * STORE_CHECKPOINT_PAGES copies it back itself, as SQLite does. Once
 * this is called, each commit calls fn(arg, pages) instead, with the
 * log's length (on the writer's thread, from the commit: fn decides, it
 * does no work), and checkpoints itself only if fn returns true;
 * another connection may copy the log meanwhile (store_checkpoint()).
 * With fn NULL, the default again.
 */
void store_watch_log(store_t *self, bool (*fn)(void *arg, int pages),
                     void *arg);
/* Copies what it can of the log back into the catalog, waiting for no
 * one: what a reader or the writer still holds is left for the next
 * time. Returns the log's pages copied back so far (0 if none), or -1
 * on an error (logged). */
int store_checkpoint(store_t *self);

/*
 * How durable a commit is. Durable (the default): each commit is synced
 * to disk. Not durable: a commit is safe from a crash of the process, but
 * a power loss may undo the latest ones (SQLite's synchronous = NORMAL in
 * WAL mode), and costs no fsync. Set outside a transaction; returns 0 or
 * -1 (logged).
 */
int store_set_durable(store_t *self, bool durable);
/* Makes every commit so far durable, whatever the setting: one small
 * synced commit. Outside a transaction; returns 0 or -1 (logged). */
int store_sync(store_t *self);

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
 * Binds a query and opens a cursor on its rows, before the first one:
 *
 *     store_rows_t *rows = store_query(store, "SELECT ...", "i", id);
 *     while (store_rows_next(rows))
 *     {
 *         ... store_rows_int(rows, 0) ...
 *     }
 *     store_rows_done(&rows);
 *
 * Returns NULL (logged) on error; store_rows_next() and store_rows_done()
 * accept NULL, so the loop above needs no check. Every cursor must be
 * done, also when it is left before its last row: until then it holds a
 * read transaction open (and the checkpoints of the WAL wait for it).
 * Cursors may nest, on the same SQL text too. The cursor borrows self,
 * and must be done before store_destroy().
 */
store_rows_t *store_query(store_t *self, const char *sql, const char *types,
                          ...);

/*
 * Moves to the next row: true if there is one, false at the end or on
 * an error (logged), and on every call after that, or for NULL.
 */
bool store_rows_next(store_rows_t *rows);

/*
 * The current row's column col (from 0), after store_rows_next() gave
 * true; SQLite's conversions apply, NULL reads as 0, 0.0 or "". A text is
 * borrowed from the cursor until its next store_rows_next() or
 * store_rows_done().
 */
int64_t store_rows_int(const store_rows_t *rows, int col);
double store_rows_double(const store_rows_t *rows, int col);
const char *store_rows_text(const store_rows_t *rows, int col);
bool store_rows_is_null(const store_rows_t *rows, int col);
/* A blob, borrowed as a text is, and its size in *size (NULL: 0). */
const void *store_rows_blob(const store_rows_t *rows, int col, size_t *size);

/* Ends the query (NULL-safe) and nulls the caller's pointer. */
void store_rows_done(store_rows_t **rows_p);

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
/* Rows changed since the catalog opened, by every statement and trigger:
 * two readings apart tell whether anything was written between them. */
int64_t store_total_changes(store_t *self);

/*
 * Statements self has prepared since it opened: a query found in its
 * cache prepares none (for the tests of that cache).
 */
int64_t store_prepared_count(const store_t *self);

/* Current UTC time as ISO 8601 with microseconds, e.g. for startedOn:
 * the catalog's spelling of a time, which sorts as text. */
void store_now(char *buf, size_t size);
/* when (seconds since the epoch) spelt as store_now() spells it. */
void store_format_time(double when, char *buf, size_t size);
/* Seconds since the epoch of a time spelt so; 0 if it is not. */
double store_parse_time(const char *text);

#endif
