/*
 * cli/cli.h
 *     The pgconvoy command line: the coordinator's client (client.c),
 *     how it shows status (render.c) and the embedded mode that runs
 *     a coordinator and agents itself (migrate.c).
 *
 * Exit codes: 0 done, 1 the migration (or the coordinator) failed, 2 bad
 * usage or bad input.
 */
#ifndef PGCONVOY_CLI_CLI_H
#define PGCONVOY_CLI_CLI_H

#include <json-c/json.h>
#include <stdbool.h>

#include "cli/verbs.h"
#include "common/config.h"
#include "pgconvoy.pb-c.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2

/* the coordinator without --coordinator or $PGCONVOY_COORDINATOR */
#define CLI_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"

/* Points ep's fields at cfg's (borrows them): what a request carries.
 * The options' array is allocated: cli_endpoint_clear() frees it. */
void cli_fill_endpoint(Pgconvoy__Endpoint *ep, const config_endpoint_t *cfg);
void cli_endpoint_clear(Pgconvoy__Endpoint *ep);

/* Prints "pgconvoy: error: ..." on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Sends req to the coordinator at endpoint and waits up to timeout_ms for
 * the reply. Returns the reply's code (0/1/2), with *reply_p set (free it
 * with pgconvoy__reply__free_unpacked via cli_reply_free), or 1 with the
 * reason printed when there is no usable reply.
 */
/* Every call of this process uses CURVE: secret_file is the CLI's key
 * pair, server_public_file the coordinator's certificate (both NULL:
 * plain). Both borrowed for the process's life. */
void cli_use_curve(const char *secret_file, const char *server_public_file);

int cli_call(const char *endpoint, Pgconvoy__Request *req, int timeout_ms,
             Pgconvoy__Envelope **reply_p);

/* How much of a task's status to ask for: the task's state and errors
 * only (cheap at any size), with each database's totals, or with every
 * table's output too. */
typedef enum
{
    CLI_STATUS_TASK,
    CLI_STATUS_SUMMARY,
    CLI_STATUS_FULL,
} cli_status_depth_t;

/* The task's status JSON, or NULL with the error printed and *code set. */
json_object *cli_fetch_status(const char *endpoint, const char *project,
                              const char *task, cli_status_depth_t depth,
                              int *code);

/* The agent list's JSON, or NULL with the error printed and *code set. */
json_object *cli_fetch_agents(const char *endpoint, int *code);

/* obj's key as text ("-" when absent or null), borrowed; as an integer
 * (0 when absent). */
const char *cli_json_str(json_object *obj, const char *key);
int64_t cli_json_int(json_object *obj, const char *key);
/* A status's output array (NULL without one), borrowed. */
json_object *cli_status_output(json_object *status);
/* "1.2 MB": bytes in powers of 1000, as the progress lines show them. */
void cli_format_bytes(int64_t bytes, char *buf, size_t size);

/* Prints a status as a person reads it. */
void cli_render_table(json_object *status, FILE *out);
/* pgconvoy agent list -o table: a line per agent, its units indented
 * under it. */
void cli_render_agents(json_object *list, FILE *out);
/* One progress line per database: state, tables done, bytes, throughput;
 * rates[k] is the k-th database's, for k < n_rates (past them, and with
 * rates NULL, the coordinator's own figure). */
void cli_render_progress(json_object *status, const int64_t *rates,
                         size_t n_rates, FILE *out);
/* The bytes each database has copied, in the status's order; at most max
 * of them, returns how many. */
size_t cli_database_bytes(json_object *status, int64_t *bytes, size_t max);
/* The task's state and each database's, as one string (owned): what a
 * progress log always shows at once when it changes. */
char *cli_states(json_object *status);
/* The task's state ("Running", "Succeeded", ...), borrowed. */
const char *cli_task_state(json_object *status);
bool cli_state_is_final(const char *state);
/* The migrationState of one database (NULL: the first), borrowed, and
 * its errorMessage in *error ("-" if none); "" if there is no such
 * database. */
const char *cli_database_state(json_object *status, const char *database,
                               const char **error);
/* pgconvoy task cutover: asks for it, then waits until the database is
 * COMPLETED (0) or FAILED (1), printing progress. */
int cli_cutover(const char *endpoint, const char *project, const char *task,
                const char *database, bool validate);

/* pgconvoy migrate ... (embedded mode): argv[0] is "migrate", verb its
 * row of the commands' table (verbs.h), whose options it takes. */
int cli_migrate(const cli_verb_t *verb, int argc, char **argv);
/*
 * Progress lines for a log (progress.c): a line per table whose state
 * changed (when the status has its tables), and the databases' lines as
 * soon as a state changes, else at most every every_ms and only if
 * something moved; the throughput shown is what was copied since the
 * line before.
 */
typedef struct cli_progress_t cli_progress_t;
cli_progress_t *cli_progress_new(int64_t every_ms);
void cli_progress_destroy(cli_progress_t **self_p);
void cli_progress_log(cli_progress_t *self, json_object *status, FILE *out);

/* pgconvoy task watch: until the task ends, a live view redrawn in place
 * on a terminal (view.c, term.c); quiet or without one, progress lines
 * (a watch's: with a line per table that changes state). Returns 0 if the
 * task succeeded, 1 if it failed or was cancelled, the coordinator could
 * not be asked, or the watch was stopped (Ctrl-C). */
int cli_watch(const char *endpoint, const char *project, const char *task,
              bool quiet);

#endif
