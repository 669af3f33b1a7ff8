/*
 * tests/unit/test_pgtool_stop.c
 *     pgtool_run with a stop function: a tool whose unit is released is
 *     terminated, one that ignores SIGTERM is killed, and one left alone
 *     runs to its end with its output whole. Ordinary programs stand in
 *     for pg_dump; the function runs any program of a directory.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "agent/pgtool.h"
#include "check.h"
#include "common/strbuf.h"

static int s_asked;

static bool
s_never(const void *arg)
{
    (void) arg;
    s_asked++;
    return false;
}

/* released after the tool has run a little: the unit let go mid-dump */
static bool
s_after_two(const void *arg)
{
    (void) arg;
    return ++s_asked > 2;
}

static void
s_check_stopped(const char *const *argv, const char *tool)
{
    strbuf_t *out = strbuf_new();
    char *error = NULL;

    s_asked = 0;
    CHECK(pgtool_run("/bin", tool, argv, NULL, NULL, out, s_after_two, NULL,
                     &error) == -1);
    CHECK(error != NULL);
    if (error != NULL)
    {
        CHECK_CONTAINS(error, "stopped: its unit was released");
    }
    /* it printed before the stop: still read, the pipes drained */
    CHECK_EQ_STR(strbuf_data(out), "started\n");
    free(error);
    strbuf_destroy(&out);
}

int
main(void)
{
    strbuf_t *out = strbuf_new();
    char *error = NULL;

    /* asked, never told to stop: runs to its end, output whole */
    {
        const char *argv[] = {"-c", "sleep 1; echo done", NULL};
        CHECK(pgtool_run("/bin", "sh", argv, NULL, NULL, out, s_never, NULL,
                         &error) == 0);
        CHECK(error == NULL);
        CHECK_EQ_STR(strbuf_data(out), "done\n");
        CHECK(s_asked > 0);
    }

    /* released: SIGTERM ends it long before its 600 s */
    {
        const char *argv[] = {"-c", "echo started; exec sleep 600", NULL};
        s_check_stopped(argv, "sh");
    }

    /* deaf to SIGTERM: SIGKILL after the grace time */
    {
        const char *argv[] = {
            "-c", "trap '' TERM; echo started; exec sleep 600", NULL};
        s_check_stopped(argv, "sh");
    }

    /* its own failure is still its own, not a stop */
    {
        const char *argv[] = {"-c", "echo oops >&2; exit 3", NULL};
        CHECK(pgtool_run("/bin", "sh", argv, NULL, NULL, NULL, s_never, NULL,
                         &error) == -1);
        CHECK(error != NULL);
        if (error != NULL)
        {
            CHECK_CONTAINS(error, "sh failed (exit code 3): oops");
        }
        free(error);
    }

    strbuf_destroy(&out);
    return 0;
}
