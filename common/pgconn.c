/*
 * common/pgconn.c
 *     Connecting, running and quoting with libpq.
 */
#include "common/pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"

/* Trims the trailing newline libpq puts on messages and folds the rest. */
static char *
s_one_line(const char *text)
{
    char *line = xstrdup(text && text[0] ? text : "unknown error");
    size_t len = strlen(line);

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
    {
        line[--len] = '\0';
    }
    for (size_t i = 0; i < len; i++)
    {
        if (line[i] == '\n' || line[i] == '\t')
        {
            line[i] = ' ';
        }
    }
    return line;
}

char *
pgconn_describe(const Pgferry__Endpoint *ep)
{
    return xasprintf("%s:%u", ep->host, ep->port);
}

/*
 * One place builds connection parameters: the password goes to libpq as a
 * parameter, never in a conninfo string that could be logged; replication
 * is NULL or "database" (a logical walsender that also runs SQL).
 */
/* The server's notices ("schema already exists, skipping", "drop
 * cascades to ...") are noise in an agent's log; its warnings are not. */
static void
s_notice(void *arg, const PGresult *res)
{
    const char *severity =
        PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char *text = NULL;

    (void) arg;
    if (severity == NULL || strcmp(severity, "WARNING") != 0)
    {
        return;
    }
    text = s_one_line(PQresultErrorMessage(res));
    log_warn("server warning: %s", text);
    free(text);
}

static PGconn *
s_connect(const Pgferry__Endpoint *ep, const char *dbname, const char *side,
          const char *role, const char *replication, char **error)
{
    char port[16];
    char app[64];
    const char *keys[12];
    const char *values[12];
    int n = 0;
    PGconn *conn = NULL;

    snprintf(port, sizeof port, "%u", ep->port);
    snprintf(app, sizeof app, "pgferry-%s", role);
    keys[n] = "host";
    values[n++] = ep->host;
    keys[n] = "port";
    values[n++] = port;
    keys[n] = "dbname";
    values[n++] = dbname ? dbname : ep->dbname;
    keys[n] = "user";
    values[n++] = ep->user;
    if (ep->password != NULL && ep->password[0] != '\0')
    {
        keys[n] = "password";
        values[n++] = ep->password;
    }
    if (replication != NULL)
    {
        keys[n] = "replication";
        values[n++] = replication;
    }
    keys[n] = "application_name";
    values[n++] = app;
    /* Values travel as text (COPY in text format, pgoutput, parameters):
     * a database or role that sets another DateStyle, IntervalStyle or
     * extra_float_digits would change how they are written on one side
     * and read on the other. The startup packet outranks those settings
     * and survives DISCARD ALL. UTF8 holds every server encoding's
     * characters, so each side converts once, to or from it. */
    keys[n] = "options";
    values[n++] = PGCONN_PINNED_OPTIONS;
    keys[n] = "client_encoding";
    values[n++] = "UTF8";
    keys[n] = "connect_timeout";
    values[n++] = "10";
    keys[n] = NULL;
    values[n] = NULL;

    /* expand_dbname=0: a database name is never parsed as a conninfo */
    conn = PQconnectdbParams(keys, values, 0);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
    {
        char *why = s_one_line(conn ? PQerrorMessage(conn) : "out of memory");
        *error =
            xasprintf("could not %sconnect to %s server %s:%u database "
                      "\"%s\" as user \"%s\": %s",
                      replication ? "open a replication " : "", side, ep->host,
                      ep->port, dbname ? dbname : ep->dbname, ep->user, why);
        free(why);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn, s_notice, NULL);
    return conn;
}

PGconn *
pgconn_connect(const Pgferry__Endpoint *ep, const char *dbname,
               const char *side, const char *role, char **error)
{
    return s_connect(ep, dbname, side, role, NULL, error);
}

PGconn *
pgconn_connect_replication(const Pgferry__Endpoint *ep, const char *role,
                           char **error)
{
    return s_connect(ep, NULL, "source", role, "database", error);
}

char *
pgconn_error_text(PGconn *conn, const PGresult *res)
{
    const char *text = res ? PQresultErrorMessage(res) : NULL;

    if (text == NULL || text[0] == '\0')
    {
        text = PQerrorMessage(conn);
    }
    /* libpq prefixes "ERROR:  "; the context is ours to give */
    if (strncmp(text, "ERROR:  ", 8) == 0)
    {
        text += 8;
    }
    return s_one_line(text);
}

bool
pgconn_is_transient(PGconn *conn, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(conn) != CONNECTION_OK)
    {
        return true;
    }
    if (state == NULL)
    {
        return false;
    }
    /* connection exceptions, serialization failures and deadlocks, too
     * many connections, a server shutting down or starting up, an
     * object in use (a replication slot whose walsender has not ended),
     * a lock not granted in time (lock_timeout) */
    return strncmp(state, "08", 2) == 0 || strcmp(state, "40001") == 0 ||
           strcmp(state, "40P01") == 0 || strcmp(state, "53300") == 0 ||
           strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
           strcmp(state, "57P03") == 0 || strcmp(state, "55006") == 0 ||
           strcmp(state, "55P03") == 0;
}

int
pgconn_command(PGconn *conn, const char *sql, char **error)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    int rc = 0;

    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    {
        *error = pgconn_error_text(conn, res);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

PGresult *
pgconn_query(PGconn *conn, const char *sql, int nparams,
             const char *const *params, char **error)
{
    PGresult *res =
        PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK &&
        PQresultStatus(res) != PGRES_COMMAND_OK)
    {
        *error = pgconn_error_text(conn, res);
        PQclear(res);
        return NULL;
    }
    return res;
}

char *
pgconn_quote_ident(PGconn *conn, const char *ident)
{
    char *quoted = PQescapeIdentifier(conn, ident, strlen(ident));
    char *copy = xstrdup(quoted ? quoted : "\"\"");

    PQfreemem(quoted);
    return copy;
}

char *
pgconn_quote_qualified(PGconn *conn, const char *schema, const char *table)
{
    char *s = pgconn_quote_ident(conn, schema);
    char *t = pgconn_quote_ident(conn, table);
    char *both = xasprintf("%s.%s", s, t);

    free(s);
    free(t);
    return both;
}
