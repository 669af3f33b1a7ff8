/*
 * agent/pgtool.h
 *     Runs pg_dump and pg_restore as child processes.
 *
 * Connection settings reach the child as --dbname, the same as every
 * other connection of the agent's (pgconn_params_init), but for the
 * password: it is in a password file held in memory for that child only,
 * never in its argument list or environment, so it shows in no ps.
 */
#ifndef PGCONVOY_AGENT_PGTOOL_H
#define PGCONVOY_AGENT_PGTOOL_H

#include <stdbool.h>

#include "common/strbuf.h"
#include "pgconvoy.pb-c.h"

/* Asked while a tool runs: true when the tool's work is no longer wanted
 * (its unit was released or fenced). Called from the running thread. */
typedef bool (*pgtool_stop_fn)(const void *arg);

/*
 * Runs pg_bin/tool with argv (NULL-ended, without the program name),
 * connected to ep/dbname if ep is not NULL (then with --dbname and
 * --no-password ahead of argv). Its standard output is
 * appended to out (if not NULL). Returns 0 if it exited 0, else -1 with
 * *error set to what it printed on standard error.
 *
 * If stop is not NULL it is asked about four times a second; once it
 * says true the tool is terminated (SIGTERM, then SIGKILL if it lingers)
 * and -1 returned with *error saying so. A pg_dump left running would
 * hold its locks on the source's tables for nobody.
 */
int pgtool_run(const char *pg_bin, const char *tool, const char *const *argv,
               const Pgconvoy__Endpoint *ep, const char *dbname, strbuf_t *out,
               pgtool_stop_fn stop, const void *stop_arg, char **error);

/*
 * The bin directory of the newest PostgreSQL major under root (Debian's
 * layout: root/MAJOR/bin/pg_dump), or NULL if there is none. Allocated.
 */
char *pgtool_find_newest(const char *root);

/*
 * The major version of pg_bin/tool (17 for "pg_dump (PostgreSQL) 17.2",
 * 9 for any 9.x), from its --version. Returns it, or -1 with *error set
 * (it could not be run, or said something else).
 */
int pgtool_major(const char *pg_bin, const char *tool, char **error);

/*
 * Whether pg_dump and pg_restore in pg_bin may dump a server of
 * source_version for one of target_version (PQserverVersion numbers):
 * they must be of the newest major version involved, or later, since
 * pg_dump refuses a newer server and an older one may write what the
 * newer target does not take as meant. Returns NULL if they may, else
 * the problem, saying which tool, which version and which is needed
 * (allocated).
 */
char *pgtool_check_versions(const char *pg_bin, int source_version,
                            int target_version);

/* Removes psql meta-commands (\restrict, \unrestrict) from a script, which
 * pg_dump emits in plain output but the server cannot run. */
void pgtool_strip_meta(strbuf_t *script);

#endif
