/*
 * tests/unit/test_checkpointer.c
 *     The catalog's log copied back by the checkpoint thread: the thread
 *     copies the bulk, the writer's commit the last frames, and the log
 *     starts over, so that it stays at about STORE_CHECKPOINT_PAGES
 *     however much is written; every row is kept; once the thread is
 *     stopped, the writer checkpoints itself again.
 *
 * Writing while a round runs (the writer then copies the last frames
 * itself, or the log would never start over) depends on how fast each
 * side goes: that phase asserts the rows and the log's hard bound only.
 * coord_sim shows the log starting over under load (--coord-log-level
 * debug: a "checkpoint" line per round).
 */
#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "coord_fixture.h"
#include "common/strbuf.h"
#include "coordinator/checkpointer.h"
#include "coordinator/store.h"

/* rows of about a page each, per commit */
#define ROWS_PER_COMMIT 100
#define COMMITS 350
/* a log frame: its header and one page */
#define FRAME_BYTES (24 + 4096)
/* what the log may hold past STORE_CHECKPOINT_PAGES: the commit that
 * asked for a round, the one that copied its last frames, their index
 * pages */
#define SLACK_PAGES (4 * ROWS_PER_COMMIT)

static int64_t
s_file_size(const char *state_dir, const char *name)
{
    char *path = xasprintf("%s/%s", state_dir, name);
    struct stat st;
    int64_t size = stat(path, &st) == 0 ? (int64_t) st.st_size : -1;

    free(path);
    return size;
}

/* Writes commits of ROWS_PER_COMMIT rows of a page each; with cp and
 * wait, waits after each for the round it may have asked for, so that
 * what the thread and the writer each do is the same at every run. */
static void
s_write(store_t *store, checkpointer_t *cp, bool wait, int commits)
{
    for (int i = 0; i < commits; i++)
    {
        CHECK(store_begin(store) == 0);
        CHECK(store_exec(store,
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                         "SELECT i + 1 FROM n WHERE i < ?) "
                         "INSERT INTO filler (pad) "
                         "SELECT randomblob(3500) FROM n",
                         "i", (int64_t) ROWS_PER_COMMIT) == 0);
        CHECK(store_commit(store) == 0);
        while (cp != NULL && wait && !checkpointer_is_idle(cp))
        {
            zclock_sleep(1);
        }
    }
}

int
main(void)
{
    char dir[] = "/tmp/pgconvoy-test-checkpointer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *state = xasprintf("%s/state", dir);
    int64_t bound = 32 + (int64_t) (STORE_CHECKPOINT_PAGES + SLACK_PAGES) *
                             FRAME_BYTES;

    store_t *store = store_new(state);
    CHECK(store != NULL);
    CHECK(store_exec(store,
                     "CREATE TABLE filler (id INTEGER PRIMARY KEY, pad BLOB)",
                     NULL) == 0);

    checkpointer_t *cp = checkpointer_new(state, store);
    CHECK(cp != NULL);
    CHECK(checkpointer_is_idle(cp));
    CHECK_EQ_INT(checkpointer_pages_copied(cp), 0);

    /* 35,000 pages: three times the log's length */
    s_write(store, cp, true, COMMITS);
    int64_t copied = checkpointer_pages_copied(cp);
    if (copied < 2 * STORE_CHECKPOINT_PAGES)
    {
        fprintf(stderr, "the thread copied %" PRId64 " pages\n", copied);
    }
    CHECK(copied >= 2 * STORE_CHECKPOINT_PAGES);
    /* the log started over each time: its file never grew past one
     * log's length (it is reused, never shrunk) */
    int64_t wal = s_file_size(state, "pgconvoy.db-wal");
    if (wal > bound)
    {
        fprintf(stderr, "the log is %" PRId64 " bytes, over %" PRId64 "\n",
                wal, bound);
    }
    CHECK(wal > 0 && wal <= bound);

    /* every row is there, and the catalog is whole */
    CHECK_EQ_INT(store_int(store, -1, "SELECT count(*) FROM filler", NULL),
                 COMMITS * ROWS_PER_COMMIT);
    store_rows_t *rows = store_query(store, "PRAGMA integrity_check", NULL);
    CHECK(store_rows_next(rows));
    CHECK_EQ_STR(store_rows_text(rows, 0), "ok");
    store_rows_done(&rows);

    /* written while rounds run: whatever each side does, every row is
     * kept and the log stays under the bound at which the writer copies
     * it back itself anyway */
    s_write(store, cp, false, 2 * COMMITS);
    CHECK(s_file_size(state, "pgconvoy.db-wal") <=
          32 + (int64_t) (8 * STORE_CHECKPOINT_PAGES + SLACK_PAGES) *
                   FRAME_BYTES);
    CHECK_EQ_INT(store_int(store, -1, "SELECT count(*) FROM filler", NULL),
                 3 * COMMITS * ROWS_PER_COMMIT);

    /* stopped: the writer checkpoints itself; its log, started over,
     * stays bounded */
    checkpointer_destroy(&cp);
    CHECK(cp == NULL);
    s_write(store, NULL, false, COMMITS);
    CHECK_EQ_INT(store_int(store, -1, "SELECT count(*) FROM filler", NULL),
                 4 * COMMITS * ROWS_PER_COMMIT);
    rows = store_query(store, "PRAGMA integrity_check", NULL);
    CHECK(store_rows_next(rows));
    CHECK_EQ_STR(store_rows_text(rows, 0), "ok");
    store_rows_done(&rows);

    store_destroy(&store);
    coord_fixture_remove_catalog(state);
    CHECK(rmdir(dir) == 0);
    free(state);
    printf("checkpointer: ok\n");
    return 0;
}
