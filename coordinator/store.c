/*
 * coordinator/store.c
 *     SQLite plumbing for the catalog (whose layout is layout.c's), and
 *     its cache of prepared statements.
 *
 * Preparing every statement anew took about 39% of the coordinator's CPU
 * under load (100 agents, 100,000 units), so statements are prepared once
 * and kept, keyed by their SQL text. A kept statement is reset, and its
 * bindings cleared, whenever its cursor is done: one left mid-rows would
 * hold a read transaction open. A statement serves one cursor at a time;
 * a query of a text whose statement is being read gets one of its own.
 */
#include "coordinator/store.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/layout.h"

/*
 * The cache's bound: the coordinator has fewer distinct statement texts
 * than this, so in its steady state nothing is evicted. Past it, the
 * least recently used statement not being read goes.
 */
#define STORE_CACHE_MAX 256
/* chains of the cache's hash table; a power of two */
#define STORE_CACHE_BUCKETS 512

/*
 * A statement's journal (an UPDATE of several rows inside a savepoint),
 * a sort or a DISTINCT that does not fit its cache: in memory, not in a
 * file made and unlinked in /var/tmp each time, about 150 times a second
 * at 100 agents. They are as small as a statement's changes.
 */
#define STORE_TEMP_IN_MEMORY "PRAGMA temp_store = MEMORY;"

/*
 * A cursor, and the cache entry of its statement too: a kept statement
 * serves one cursor at a time, so that a query allocates nothing. A
 * cursor on a statement of its own (not kept) is freed when done.
 */
struct store_rows_t
{
    store_t *store;     /* borrowed: the store it reads */
    sqlite3_stmt *stmt; /* owned */
    char *sql;          /* owned copy: the cache's key, and for errors */
    uint64_t hash;      /* of sql */
    uint64_t used;      /* store->ticks at its last query: eviction order */
    store_rows_t *next; /* the next entry in its chain of the cache */
    bool kept;          /* in the cache, else freed when done */
    bool busy;          /* a cursor is open on it */
    bool on_row;        /* store_rows_next() gave a row, columns readable */
    bool ended;         /* store_rows_next() gave false: it stays false */
};

struct store_t
{
    sqlite3 *db; /* owned; used by the coordinator's one thread only */
    int depth;   /* store_begin()s not yet committed or rolled back */
    store_rows_t *cache[STORE_CACHE_BUCKETS]; /* owned chains, by hash */
    size_t kept;                              /* statements in the cache */
    size_t open;      /* cursors not done yet: none at store_destroy() */
    uint64_t ticks;   /* queries run: the cache's clock */
    int64_t prepared; /* statements prepared (store_prepared_count()) */
    bool durable;     /* synchronous = FULL (store_set_durable()) */
    bool (*log_fn)(void *arg, int pages); /* store_watch_log() */
    void *log_arg;
};

/* The catalog's one spelling of a time: UTC, to the microsecond. */
static void
s_format_time(time_t secs, long micros, char *buf, size_t size)
{
    struct tm tm;
    char base[32];

    gmtime_r(&secs, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%06ld+00:00", base, micros);
}

void
store_now(char *buf, size_t size)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    s_format_time(now.tv_sec, now.tv_nsec / 1000, buf, size);
}

void
store_format_time(double when, char *buf, size_t size)
{
    time_t secs = (time_t) when;

    s_format_time(secs, (long) ((when - (double) secs) * 1e6), buf, size);
}

double
store_parse_time(const char *text)
{
    struct tm tm;
    long micros = 0;

    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL)
    {
        return 0;
    }
    if (*rest == '.')
    {
        micros = strtol(rest + 1, NULL, 10);
    }
    return (double) timegm(&tm) + (double) micros / 1e6;
}

store_t *
store_new(const char *state_dir)
{
    store_t *self = NULL;
    char *path = NULL;
    char *errmsg = NULL;
    sqlite3 *db = NULL;

    if (mkdir(state_dir, 0700) != 0 && access(state_dir, W_OK) != 0)
    {
        log_error("state_dir=%s cannot use the state directory", state_dir);
        return NULL;
    }
    path = xasprintf("%s/pgconvoy.db", state_dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
    {
        log_error("file=%s could not open the catalog: %s", path,
                  db ? sqlite3_errmsg(db) : "out of memory");
        goto failed;
    }
    sqlite3_busy_timeout(db, 5000);
    /* WAL: a crash mid-write never corrupts; FULL: a change the CLI was
     * told about survives a power loss too (store_set_durable()) */
    if (layout_check_version(db, path) != 0)
    {
        goto failed;
    }
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                     "PRAGMA foreign_keys = ON; " STORE_TEMP_IN_MEMORY,
                     NULL, NULL, &errmsg) != SQLITE_OK ||
        layout_apply(db, &errmsg) != 0)
    {
        log_error("file=%s could not set up the catalog: %s", path,
                  errmsg ? errmsg : sqlite3_errmsg(db));
        sqlite3_free(errmsg);
        goto failed;
    }
    (void) sqlite3_wal_autocheckpoint(db, STORE_CHECKPOINT_PAGES);
    self = xcalloc(1, sizeof *self);
    self->db = db;
    self->durable = true;
    free(path);
    return self;

failed:
    sqlite3_close(db);
    free(path);
    return NULL;
}

/* Another connection to the catalog store_new() made, for another
 * thread: opened with flags, never set up. NULL, logged, on failure. */
static store_t *
s_open_other(const char *state_dir, int flags, const char *what)
{
    char *path = xasprintf("%s/pgconvoy.db", state_dir);
    sqlite3 *db = NULL;
    store_t *self = NULL;

    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
    {
        log_error("file=%s could not open the catalog %s: %s", path, what,
                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
    }
    else
    {
        sqlite3_busy_timeout(db, 5000);
        (void) sqlite3_exec(db, STORE_TEMP_IN_MEMORY, NULL, NULL, NULL);
        self = xcalloc(1, sizeof *self);
        self->db = db;
    }
    free(path);
    return self;
}

store_t *
store_new_reader(const char *state_dir)
{
    return s_open_other(state_dir, SQLITE_OPEN_READONLY, "to read");
}

store_t *
store_new_checkpointer(const char *state_dir)
{
    /* a checkpoint writes the catalog's file: read-write, never created */
    store_t *self =
        s_open_other(state_dir, SQLITE_OPEN_READWRITE, "to checkpoint it");

    /* a connection learns that the catalog is in WAL mode by reading it:
     * before that, a checkpoint is a no-op */
    if (self != NULL &&
        sqlite3_exec(self->db, "SELECT count(*) FROM sqlite_master", NULL,
                     NULL, NULL) != SQLITE_OK)
    {
        log_error("state_dir=%s could not read the catalog to checkpoint "
                  "it: %s",
                  state_dir, sqlite3_errmsg(self->db));
        store_destroy(&self);
    }
    return self;
}

/*
 * The writer's WAL hook, called after each of its commits with the
 * log's length in pages (frames not yet copied back included). It
 * replaces SQLite's automatic checkpoint.
 */
static int
s_on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    store_t *self = arg;

    if (self->log_fn(self->log_arg, pages))
    {
        (void) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
                                         NULL, NULL);
    }
    return SQLITE_OK;
}

void
store_watch_log(store_t *self, bool (*fn)(void *arg, int pages), void *arg)
{
    self->log_fn = fn;
    self->log_arg = arg;
    if (fn != NULL)
    {
        (void) sqlite3_wal_hook(self->db, s_on_wal_commit, self);
    }
    else
    {
        /* SQLite's own hook again */
        (void) sqlite3_wal_autocheckpoint(self->db, STORE_CHECKPOINT_PAGES);
    }
}

int
store_checkpoint(store_t *self)
{
    int pages = 0;
    int copied = 0;
    /* PASSIVE: it never waits for, nor blocks, the writer or a reader;
     * what they hold is copied by the next one */
    int rc = sqlite3_wal_checkpoint_v2(self->db, NULL,
                                       SQLITE_CHECKPOINT_PASSIVE, &pages,
                                       &copied);

    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    {
        log_error("could not checkpoint the catalog: %s",
                  sqlite3_errmsg(self->db));
        return -1;
    }
    log_debug("pages=%d copied=%d checkpoint", pages, copied);
    return copied > 0 ? copied : 0;
}

/* Finalizes and frees one cursor, kept or not. */
static void
s_rows_free(store_rows_t *rows)
{
    (void) sqlite3_finalize(rows->stmt); /* NULL-safe */
    free(rows->sql);
    free(rows);
}

void
store_destroy(store_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    store_t *self = *self_p;

    /* an open cursor would keep the connection from closing */
    assert(self->open == 0);
    for (size_t i = 0; i < STORE_CACHE_BUCKETS; i++)
    {
        while (self->cache[i] != NULL)
        {
            store_rows_t *rows = self->cache[i];
            self->cache[i] = rows->next;
            s_rows_free(rows);
        }
    }
    sqlite3_close(self->db);
    free(self);
    *self_p = NULL;
}

/* FNV-1a: short statement texts, one thread, no adversary. */
static uint64_t
s_hash(const char *text)
{
    uint64_t hash = 14695981039346656037ULL;

    for (const unsigned char *c = (const unsigned char *) text; *c != '\0'; c++)
    {
        hash = (hash ^ *c) * 1099511628211ULL;
    }
    return hash;
}

/* The kept statement of sql, busy or not; NULL if none is kept. */
static store_rows_t *
s_cache_find(store_t *self, const char *sql, uint64_t hash)
{
    for (store_rows_t *rows = self->cache[hash % STORE_CACHE_BUCKETS];
         rows != NULL; rows = rows->next)
    {
        if (rows->hash == hash && strcmp(rows->sql, sql) == 0)
        {
            return rows;
        }
    }
    return NULL;
}

/*
 * Makes room for one more statement: evicts the least recently used one
 * not being read. Returns 0, or -1 if every kept statement is being read.
 */
static int
s_cache_make_room(store_t *self)
{
    store_rows_t **oldest = NULL; /* the link that points to it */

    if (self->kept < STORE_CACHE_MAX)
    {
        return 0;
    }
    /* a scan, but only when a text beyond the bound comes */
    for (size_t i = 0; i < STORE_CACHE_BUCKETS; i++)
    {
        for (store_rows_t **link = &self->cache[i]; *link != NULL;
             link = &(*link)->next)
        {
            if (!(*link)->busy &&
                (oldest == NULL || (*link)->used < (*oldest)->used))
            {
                oldest = link;
            }
        }
    }
    if (oldest == NULL)
    {
        return -1;
    }
    store_rows_t *victim = *oldest;
    *oldest = victim->next;
    s_rows_free(victim);
    self->kept--;
    return 0;
}

/*
 * A cursor for sql, not busy: its kept statement if it is idle, else a
 * new one, kept if the cache has room and sql is not being read already.
 * NULL (logged) if sql does not prepare.
 */
static store_rows_t *
s_rows_get(store_t *self, const char *sql)
{
    uint64_t hash = s_hash(sql);
    store_rows_t *rows = s_cache_find(self, sql, hash);
    bool keep = false;
    sqlite3_stmt *stmt = NULL;

    if (rows != NULL && !rows->busy)
    {
        return rows;
    }
    /* a nested query of a text being read gets a statement of its own */
    keep = rows == NULL && s_cache_make_room(self) == 0;
    int rc = sqlite3_prepare_v3(
        self->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, NULL);
    if (rc != SQLITE_OK || stmt == NULL)
    {
        /* SQLITE_OK and no statement: a text of blanks or comments */
        log_error("could not prepare catalog statement: %s: %s",
                  rc != SQLITE_OK ? sqlite3_errmsg(self->db) : "no statement",
                  sql);
        return NULL; /* stmt is NULL on every error */
    }
    self->prepared++;
    rows = xcalloc(1, sizeof *rows);
    rows->store = self;
    rows->stmt = stmt;
    rows->sql = xstrdup(sql);
    rows->hash = hash;
    rows->kept = keep;
    if (keep)
    {
        store_rows_t **chain = &self->cache[hash % STORE_CACHE_BUCKETS];
        rows->next = *chain;
        *chain = rows;
        self->kept++;
    }
    return rows;
}

/* Takes a cursor for sql and binds its parameters; NULL (logged) if not. */
static store_rows_t *
s_rows_open(store_t *self, const char *sql, const char *types, va_list ap)
{
    store_rows_t *rows = s_rows_get(self, sql);

    if (rows == NULL)
    {
        return NULL;
    }
    rows->busy = true;
    rows->on_row = false;
    rows->ended = false;
    rows->used = ++self->ticks;
    self->open++;
    /* checked before any va_arg(): one type too many or too few shifts
     * every argument after it, and reading an integer as a string
     * crashes */
    int given = types != NULL ? (int) strlen(types) : 0;
    if (given != sqlite3_bind_parameter_count(rows->stmt))
    {
        log_error("%d parameter types given for %d placeholders: %s", given,
                  sqlite3_bind_parameter_count(rows->stmt), sql);
        assert(!"parameter types do not match the placeholders");
        store_rows_done(&rows);
        return NULL;
    }
    for (int i = 0; types != NULL && types[i] != '\0'; i++)
    {
        int rc = SQLITE_OK;
        switch (types[i])
        {
            case 's':
            {
                const char *text = va_arg(ap, const char *);
                rc = text ? sqlite3_bind_text(rows->stmt, i + 1, text, -1,
                                              SQLITE_TRANSIENT)
                          : sqlite3_bind_null(rows->stmt, i + 1);
                break;
            }
            case 'i':
                rc = sqlite3_bind_int64(rows->stmt, i + 1, va_arg(ap, int64_t));
                break;
            case 'd':
                rc = sqlite3_bind_double(rows->stmt, i + 1, va_arg(ap, double));
                break;
            case 'b':
            {
                /* one parameter, two arguments: read in this order */
                const void *data = va_arg(ap, const void *);
                size_t size = va_arg(ap, size_t);
                rc = sqlite3_bind_blob64(rows->stmt, i + 1, data, size,
                                         SQLITE_TRANSIENT);
                break;
            }
            default:
                assert(!"unknown binding type");
        }
        if (rc != SQLITE_OK)
        {
            log_error("could not bind parameter %d: %s: %s", i + 1,
                      sqlite3_errmsg(self->db), sql);
            store_rows_done(&rows);
            return NULL;
        }
    }
    return rows;
}

store_rows_t *
store_query(store_t *self, const char *sql, const char *types, ...)
{
    va_list ap;

    va_start(ap, types);
    store_rows_t *rows = s_rows_open(self, sql, types, ap);
    va_end(ap);
    return rows;
}

bool
store_rows_next(store_rows_t *rows)
{
    if (rows == NULL || rows->ended)
    {
        return false;
    }
    /* never step again past the end: SQLite would start over */
    int step = sqlite3_step(rows->stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
    {
        log_error("catalog statement failed: %s: %s",
                  sqlite3_errmsg(rows->store->db), rows->sql);
    }
    rows->on_row = step == SQLITE_ROW;
    rows->ended = !rows->on_row;
    return rows->on_row;
}

/* Reading a column off a row, or past the columns, is a caller's bug. */
static void
s_check_column(const store_rows_t *rows, int col)
{
    assert(rows != NULL && rows->on_row);
    assert(col >= 0 && col < sqlite3_column_count(rows->stmt));
    (void) rows;
    (void) col;
}

int64_t
store_rows_int(const store_rows_t *rows, int col)
{
    s_check_column(rows, col);
    return sqlite3_column_int64(rows->stmt, col);
}

double
store_rows_double(const store_rows_t *rows, int col)
{
    s_check_column(rows, col);
    return sqlite3_column_double(rows->stmt, col);
}

const char *
store_rows_text(const store_rows_t *rows, int col)
{
    s_check_column(rows, col);
    const unsigned char *text = sqlite3_column_text(rows->stmt, col);
    return text ? (const char *) text : "";
}

const void *
store_rows_blob(const store_rows_t *rows, int col, size_t *size)
{
    s_check_column(rows, col);
    /* the blob first, then its size, as SQLite asks */
    const void *data = sqlite3_column_blob(rows->stmt, col);
    *size = (size_t) sqlite3_column_bytes(rows->stmt, col);
    return data;
}

bool
store_rows_is_null(const store_rows_t *rows, int col)
{
    s_check_column(rows, col);
    return sqlite3_column_type(rows->stmt, col) == SQLITE_NULL;
}

void
store_rows_done(store_rows_t **rows_p)
{
    assert(rows_p != NULL);
    if (*rows_p == NULL)
    {
        return;
    }
    store_rows_t *rows = *rows_p;

    rows->store->open--;
    if (rows->kept)
    {
        /* reset: a statement left mid-rows holds its read transaction;
         * its error, if any, was logged by the step that met it */
        (void) sqlite3_reset(rows->stmt);
        (void) sqlite3_clear_bindings(rows->stmt);
        rows->busy = false;
        rows->on_row = false;
        rows->ended = false;
    }
    else
    {
        s_rows_free(rows);
    }
    *rows_p = NULL;
}

int
store_exec(store_t *self, const char *sql, const char *types, ...)
{
    va_list ap;
    int rc = -1;

    va_start(ap, types);
    store_rows_t *rows = s_rows_open(self, sql, types, ap);
    va_end(ap);
    if (rows == NULL)
    {
        return -1;
    }
    /* not store_rows_next(): a statement that returns no rows is done */
    int step = sqlite3_step(rows->stmt);
    if (step == SQLITE_DONE || step == SQLITE_ROW)
    {
        rc = 0;
    }
    else
    {
        log_error("catalog statement failed: %s: %s", sqlite3_errmsg(self->db),
                  sql);
    }
    store_rows_done(&rows);
    return rc;
}

int64_t
store_int(store_t *self, int64_t dflt, const char *sql, const char *types, ...)
{
    va_list ap;
    int64_t value = dflt;

    va_start(ap, types);
    store_rows_t *rows = s_rows_open(self, sql, types, ap);
    va_end(ap);
    if (store_rows_next(rows) && !store_rows_is_null(rows, 0))
    {
        value = store_rows_int(rows, 0);
    }
    store_rows_done(&rows);
    return value;
}

int
store_string(store_t *self, char *buf, size_t size, const char *sql,
             const char *types, ...)
{
    va_list ap;
    int rc = -1;

    va_start(ap, types);
    store_rows_t *rows = s_rows_open(self, sql, types, ap);
    va_end(ap);
    buf[0] = '\0';
    if (store_rows_next(rows))
    {
        snprintf(buf, size, "%s", store_rows_text(rows, 0));
        rc = 0;
    }
    store_rows_done(&rows);
    return rc;
}

int64_t
store_last_id(store_t *self)
{
    return sqlite3_last_insert_rowid(self->db);
}

int64_t
store_changes(store_t *self)
{
    return sqlite3_changes64(self->db);
}

int64_t
store_total_changes(store_t *self)
{
    return sqlite3_total_changes64(self->db);
}

int64_t
store_prepared_count(const store_t *self)
{
    return self->prepared;
}

int
store_begin(store_t *self)
{
    char sql[32];

    if (self->depth == 0 && store_exec(self, "BEGIN IMMEDIATE", NULL) != 0)
    {
        return -1;
    }
    /* every level is a savepoint, the outermost too: a rollback then
     * undoes only its own level's changes */
    snprintf(sql, sizeof sql, "SAVEPOINT s%d", self->depth);
    if (store_exec(self, sql, NULL) != 0)
    {
        if (self->depth == 0)
        {
            (void) store_exec(self, "ROLLBACK", NULL);
        }
        return -1;
    }
    self->depth++;
    return 0;
}

int
store_set_durable(store_t *self, bool durable)
{
    assert(self->depth == 0);
    if (self->durable == durable)
    {
        return 0;
    }
    if (store_exec(self,
                   durable ? "PRAGMA synchronous = FULL"
                           : "PRAGMA synchronous = NORMAL",
                   NULL) != 0)
    {
        return -1;
    }
    self->durable = durable;
    return 0;
}

int
store_sync(store_t *self)
{
    bool was = self->durable;
    int rc = -1;

    /* a commit that writes a page (the header's user_version, set to what
     * it is) with synchronous = FULL syncs the write-ahead log, and with
     * it every commit before */
    if (store_set_durable(self, true) == 0 && store_begin(self) == 0)
    {
        if (store_exec(self, "PRAGMA user_version = " STORE_VERSION_TEXT,
                       NULL) == 0)
        {
            rc = store_commit(self);
        }
        if (rc != 0)
        {
            store_rollback(self);
        }
    }
    (void) store_set_durable(self, was);
    return rc;
}

int
store_commit(store_t *self)
{
    char sql[32];

    assert(self->depth > 0);
    self->depth--;
    snprintf(sql, sizeof sql, "RELEASE s%d", self->depth);
    if (store_exec(self, sql, NULL) != 0)
    {
        self->depth++;
        return -1;
    }
    return self->depth == 0 ? store_exec(self, "COMMIT", NULL) : 0;
}

void
store_rollback(store_t *self)
{
    char sql[64];

    if (self->depth == 0)
    {
        /* a failed outermost COMMIT leaves its transaction open */
        if (!sqlite3_get_autocommit(self->db))
        {
            (void) store_exec(self, "ROLLBACK", NULL);
        }
        return;
    }
    self->depth--;
    snprintf(sql, sizeof sql, "ROLLBACK TO s%d; RELEASE s%d", self->depth,
             self->depth);
    if (sqlite3_exec(self->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        self->depth == 0)
    {
        /* the outermost level, or a savepoint gone: undo it all */
        if (!sqlite3_get_autocommit(self->db))
        {
            (void) store_exec(self, "ROLLBACK", NULL);
        }
        self->depth = 0;
    }
}

bool
store_in_transaction(const store_t *self)
{
    return self->depth > 0;
}
