/*
 * cli/cli.h
 *     The pgferry command line: the coordinator's client (client.c),
 *     how it shows status (render.c) and the embedded mode that runs
 *     a coordinator and agents itself (migrate.c).
 *
 * Exit codes: 0 done, 1 the migration (or the coordinator) failed, 2 bad
 * usage or bad input.
 */
#ifndef PGFERRY_CLI_CLI_H
#define PGFERRY_CLI_CLI_H

#include <json-c/json.h>
#include <stdbool.h>

#include "common/config.h"
#include "pgferry.pb-c.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2

/* Points ep's fields at cfg's (borrows them): what a request carries. */
void cli_fill_endpoint(Pgferry__Endpoint *ep, const config_endpoint_t *cfg);

/* Prints "pgferry: error: ..." on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Sends req to the coordinator at endpoint and waits up to timeout_ms for
 * the reply. Returns the reply's code (0/1/2), with *reply_p set (free it
 * with pgferry__reply__free_unpacked via cli_reply_free), or 1 with the
 * reason printed when there is no usable reply.
 */
int cli_call(const char *endpoint, Pgferry__Request *req, int timeout_ms,
             Pgferry__Envelope **reply_p);

/* The task's status JSON (expanded; with every table's output unless
 * summary), or NULL with the error printed and *code set. */
json_object *cli_fetch_status(const char *endpoint, const char *project,
                              const char *task, bool summary, int *code);

/* Prints a status as a person reads it. */
void cli_render_table(json_object *status, FILE *out);
/* One progress line: state, tables done, bytes, throughput. */
void cli_render_progress(json_object *status, FILE *out);
/* The same, as a log: printed only when it differs from *last (owned,
 * free() it at the end, NULL at first). */
void cli_log_progress(json_object *status, FILE *out, char **last);
/* The task's state ("Running", "Succeeded", ...), borrowed. */
const char *cli_task_state(json_object *status);
bool cli_state_is_final(const char *state);
/* The migrationState of one database (NULL: the first), borrowed, and
 * its errorMessage in *error ("-" if none); "" if there is no such
 * database. */
const char *cli_database_state(json_object *status, const char *database,
                               const char **error);
/* pgferry task cutover: asks for it, then waits until the database is
 * COMPLETED (0) or FAILED (1), printing progress. */
int cli_cutover(const char *endpoint, const char *project, const char *task,
                const char *database, bool validate);

/* pgferry migrate ... (embedded mode) */
int cli_migrate(int argc, char **argv);
/* pgferry task watch: redraws until the task ends. */
int cli_watch(const char *endpoint, const char *project, const char *task,
              bool quiet);

#endif
