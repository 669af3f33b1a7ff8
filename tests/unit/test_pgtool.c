/*
 * tests/unit/test_pgtool.c
 *     Which pg_dump an agent takes and when it refuses one (issue 11):
 *     the newest major under a Debian-like root, the major a tool says
 *     it is, and tools older than the newest server refused by name.
 *     The tools are shell scripts that print a version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/pgtool.h"
#include "check.h"

static char s_root[] = "/tmp/pgconvoy-test-pgtool-XXXXXX";

/* root/dir/bin/tool, a script printing text (made executable) */
static void
s_tool(const char *dir, const char *tool, const char *text)
{
    char path[512];
    FILE *f = NULL;

    snprintf(path, sizeof path, "%s/%s", s_root, dir);
    (void) mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/bin", s_root, dir);
    (void) mkdir(path, 0755);
    if (tool == NULL)
    {
        return;
    }
    snprintf(path, sizeof path, "%s/%s/bin/%s", s_root, dir, tool);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "#!/bin/sh\necho '%s'\n", text);
    CHECK(fclose(f) == 0);
    CHECK(chmod(path, 0755) == 0);
}

static char *
s_bin(const char *dir)
{
    char *path = malloc(512);

    CHECK(path != NULL);
    snprintf(path, 512, "%s/%s/bin", s_root, dir);
    return path;
}

int
main(void)
{
    char *error = NULL;
    char *found = NULL;
    char *bin = NULL;
    char *problem = NULL;

    CHECK(mkdtemp(s_root) != NULL);
    /* nothing there yet */
    CHECK(pgtool_find_newest(s_root) == NULL);
    CHECK(pgtool_find_newest("/nonexistent/pgconvoy") == NULL);

    s_tool("13", "pg_dump",
           "pg_dump (PostgreSQL) 13.16 (Debian 13.16-0+deb11u1)");
    s_tool("13", "pg_restore", "pg_restore (PostgreSQL) 13.16");
    s_tool("9.6", "pg_dump", "pg_dump (PostgreSQL) 9.6.24");
    s_tool("17", "pg_dump", "pg_dump (PostgreSQL) 17.2");
    s_tool("17", "pg_restore", "pg_restore (PostgreSQL) 17.2");
    s_tool("20", NULL, NULL); /* a bin without pg_dump is no candidate */
    s_tool("17beta", "pg_dump", "pg_dump (PostgreSQL) 17beta1");
    s_tool("15", "pg_dump", "pg_dump (PostgreSQL) 15.18");
    s_tool("15", "pg_restore", "not a version");

    /* the newest major with a pg_dump: 17, not 20, 17beta or 9.6 */
    found = pgtool_find_newest(s_root);
    bin = s_bin("17");
    CHECK(found != NULL && strcmp(found, bin) == 0);
    free(found);

    CHECK(pgtool_major(bin, "pg_dump", &error) == 17);
    free(bin);
    bin = s_bin("9.6");
    CHECK(pgtool_major(bin, "pg_dump", &error) == 9);
    free(bin);
    bin = s_bin("15");
    CHECK(pgtool_major(bin, "pg_restore", &error) == -1);
    CHECK_CONTAINS(error, "not a version");
    free(error);
    error = NULL;
    CHECK(pgtool_major(bin, "pg_nothing", &error) == -1);
    CHECK(error != NULL);
    free(error);
    error = NULL;
    free(bin);

    /* 17's tools serve 13 -> 17, 13 -> 15 and 17 -> 17 */
    bin = s_bin("17");
    CHECK(pgtool_check_versions(bin, 130016, 170002) == NULL);
    CHECK(pgtool_check_versions(bin, 130016, 150018) == NULL);
    CHECK(pgtool_check_versions(bin, 170002, 170002) == NULL);
    free(bin);

    /* 13's do not serve a 15 target, nor a 17 source */
    bin = s_bin("13");
    CHECK(pgtool_check_versions(bin, 130016, 130016) == NULL);
    problem = pgtool_check_versions(bin, 130016, 150018);
    CHECK_CONTAINS(problem, "pg_dump in ");
    CHECK_CONTAINS(problem, "is PostgreSQL 13, older than the newest server "
                            "involved (PostgreSQL 15)");
    free(problem);
    problem = pgtool_check_versions(bin, 170002, 170002);
    CHECK_CONTAINS(problem, "older than the newest server involved "
                            "(PostgreSQL 17)");
    free(problem);
    free(bin);

    /* a pg_dump that fits is not enough: pg_restore must too */
    bin = s_bin("15");
    problem = pgtool_check_versions(bin, 130016, 150018);
    CHECK_CONTAINS(problem, "cannot run pg_restore from ");
    free(problem);
    free(bin);

    {
        char rm[600];

        snprintf(rm, sizeof rm, "rm -rf '%s'", s_root);
        CHECK(system(rm) == 0);
    }
    return 0;
}
