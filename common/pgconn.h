/*
 * common/pgconn.h
 *     libpq helpers written once: connecting from an Endpoint, running a
 *     statement and turning its failure into one line, quoting.
 *
 * Failures come back as allocated strings (free() them) rather than log
 * lines, because an agent reports them to the coordinator, which shows
 * them to the user against the database, table or unit concerned.
 */
#ifndef PGCONVOY_PGCONN_H
#define PGCONVOY_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pgconvoy.pb-c.h"

/* The session settings every connection pins in its startup packet,
 * whatever the database or role set: how values are written as text
 * (lc_monetary: money's symbol and separators). search_path too: a reg*
 * value is written as the object's name, schema qualified only when the
 * schema is not in the path, and read back on the target through the
 * target's path (pg_dump and PostgreSQL's own apply worker empty it
 * likewise). */
#define PGCONN_PINNED_OPTIONS                                                  \
    "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 "      \
    "-c bytea_output=hex -c lc_monetary=C -c search_path=pg_catalog"

/* The server's side of the keepalives (the user's own "options" come
 * after, so theirs win): a backend whose agent was cut off mid-copy or
 * mid-stream holds its locks, its fence row or its replication origin,
 * and would keep them for the operating system's default of two hours
 * before it learns that its client is gone; the unit placed again waits
 * on them. */
#define PGCONN_SERVER_KEEPALIVES                                               \
    "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 "               \
    "-c tcp_keepalives_count=3"

/*
 * The parameters of one connection to an Endpoint, in the order libpq
 * applies them, a later one replacing an earlier one of the same keyword:
 *   1. pgconvoy's defaults, which the user's options replace:
 *      connect_timeout and TCP keepalives, on both sides
 *      (PGCONN_SERVER_KEEPALIVES at the start of "options");
 *   2. the user's options (ep->options: sslmode, sslrootcert, ...);
 *   3. what pgconvoy's correctness depends on, which nothing replaces:
 *      host, port, dbname, user, the password, replication,
 *      application_name=pgconvoy-<role> and, for a session of ours (pin),
 *      PGCONN_PINNED_OPTIONS after the user's own "options" (a later -c
 *      wins) and client_encoding UTF8.
 * Borrows ep (and its strings) until cleared.
 */
typedef struct
{
    const char **keys;   /* owned array, NULL-ended; strings borrowed */
    const char **values; /* owned array, beside keys */
    size_t count;        /* entries before the NULL */
    char port[16];       /* ep->port as text */
    char app[64];        /* pgconvoy-<role> */
    char *options;       /* owned: the user's "options", then ours */
} pgconn_params_t;

void pgconn_params_init(pgconn_params_t *self, const Pgconvoy__Endpoint *ep,
                        const char *dbname, const char *role,
                        const char *replication, bool pin);
void pgconn_params_clear(pgconn_params_t *self);

/*
 * The parameters as one conninfo string ("host='h' port='5432' ..."),
 * for a child's --dbname: the password is left out, since a command
 * line shows in ps. Allocated.
 */
char *pgconn_params_conninfo(const pgconn_params_t *self);

/*
 * ep's options as a conninfo string, "" if none: how the coordinator's
 * catalog keeps them (they hold no secret). Allocated.
 */
char *pgconn_options_conninfo(const Pgconvoy__Endpoint *ep);

/*
 * Fills ep->options from a conninfo string pgconn_options_conninfo()
 * made; they are allocated, to be freed with ep's message. Returns 0, or
 * -1 with *error set.
 */
int pgconn_options_parse(Pgconvoy__Endpoint *ep, const char *conninfo,
                         char **error);

/*
 * Connects to ep, to database dbname if not NULL (else ep->dbname), with
 * the parameters of pgconn_params_init() (pinned). The password goes to
 * libpq as a parameter, never through a conninfo string that could be
 * logged. side ("source"/"target") names the server in the error.
 */
PGconn *pgconn_connect(const Pgconvoy__Endpoint *ep, const char *dbname,
                       const char *side, const char *role, char **error);

/*
 * A logical replication connection (replication=database) to ep's
 * database on the source: replication commands and SQL both work on it.
 */
PGconn *pgconn_connect_replication(const Pgconvoy__Endpoint *ep,
                                   const char *role, char **error);

/*
 * Runs sql (simple protocol, may hold several statements) and checks it
 * succeeded. Returns 0, or -1 with *error set.
 */
int pgconn_command(PGconn *conn, const char *sql, char **error);

/*
 * Runs sql with text parameters and returns its rows, or NULL with *error
 * set. The caller PQclear()s the result.
 */
PGresult *pgconn_query(PGconn *conn, const char *sql, int nparams,
                       const char *const *params, char **error);

/* One line for res's error (or the connection's), without the newline. */
char *pgconn_error_text(PGconn *conn, const PGresult *res);

/* True if the failure is worth another try: lost connection (class 08),
 * serialization failure, deadlock, too many connections, a server
 * shutting down or starting up, an object in use (a replication slot
 * whose walsender has not gone yet). */
bool pgconn_is_transient(PGconn *conn, const PGresult *res);

/* Quoted identifier, allocated with malloc (free() it). */
char *pgconn_quote_ident(PGconn *conn, const char *ident);
/* "schema"."table", allocated. */
char *pgconn_quote_qualified(PGconn *conn, const char *schema,
                             const char *table);

/* "host:port" for messages; no user, no password. */
char *pgconn_describe(const Pgconvoy__Endpoint *ep);

#endif
