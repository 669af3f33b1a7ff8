/*
 * common/pgconn.c
 *     Connecting, running and quoting with libpq.
 */
#include "common/pgconn.h"

#include <assert.h>
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
pgconn_describe(const Pgconvoy__Endpoint *ep)
{
    return xasprintf("%s:%u", ep->host, ep->port);
}

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

/*
 * TCP keepalives unless the user set them: the connection holding an
 * exported snapshot stays silent through the whole full load, as a slot's
 * does while the source is quiet, and a NAT or firewall that drops idle
 * flows would end it unseen. Idle 30 s, then 3 probes 10 s apart: a dead
 * peer is known within a minute. connect_timeout: an agent must not wait
 * on a server that does not answer (libpq's default is forever).
 */
static const char *const s_default_params[][2] = {
    {"connect_timeout", "10"}, {"keepalives", "1"},
    {"keepalives_idle", "30"}, {"keepalives_interval", "10"},
    {"keepalives_count", "3"},
};
#define PGCONN_DEFAULT_PARAMS                                                  \
    (sizeof s_default_params / sizeof s_default_params[0])

static void
s_param(pgconn_params_t *self, const char *key, const char *value)
{
    self->keys[self->count] = key;
    self->values[self->count++] = value;
}

void
pgconn_params_init(pgconn_params_t *self, const Pgconvoy__Endpoint *ep,
                   const char *dbname, const char *role,
                   const char *replication, bool pin)
{
    /* the defaults, the user's options, at most 9 of ours, the NULL */
    size_t room = PGCONN_DEFAULT_PARAMS + ep->n_options + 10;
    const char *user_options = NULL;

    memset(self, 0, sizeof *self);
    self->keys = xcalloc(room, sizeof *self->keys);
    self->values = xcalloc(room, sizeof *self->values);
    snprintf(self->port, sizeof self->port, "%u", ep->port);
    snprintf(self->app, sizeof self->app, "pgconvoy-%s", role);
    for (size_t i = 0; i < PGCONN_DEFAULT_PARAMS; i++)
    {
        s_param(self, s_default_params[i][0], s_default_params[i][1]);
    }
    for (size_t i = 0; i < ep->n_options; i++)
    {
        if (strcmp(ep->options[i]->key, "options") == 0)
        {
            user_options = ep->options[i]->value; /* merged below */
            continue;
        }
        s_param(self, ep->options[i]->key, ep->options[i]->value);
    }
    s_param(self, "host", ep->host);
    s_param(self, "port", self->port);
    s_param(self, "dbname", dbname ? dbname : ep->dbname);
    s_param(self, "user", ep->user);
    if (ep->password != NULL && ep->password[0] != '\0')
    {
        s_param(self, "password", ep->password);
    }
    if (replication != NULL)
    {
        s_param(self, "replication", replication);
    }
    s_param(self, "application_name", self->app);
    /* Values travel as text (COPY in text format, pgoutput, parameters):
     * a database or role that sets another DateStyle, IntervalStyle or
     * extra_float_digits would change how they are written on one side
     * and read on the other. The startup packet outranks those settings
     * and survives DISCARD ALL; of two -c of one setting in it, the later
     * wins, so the user's own come first. UTF8 holds every server
     * encoding's characters, so each side converts once, to or from it. */
    self->options = xasprintf("%s%s%s%s%s", PGCONN_SERVER_KEEPALIVES,
                              user_options ? " " : "",
                              user_options ? user_options : "",
                              pin ? " " : "", pin ? PGCONN_PINNED_OPTIONS : "");
    if (pin)
    {
        s_param(self, "client_encoding", "UTF8");
    }
    s_param(self, "options", self->options);
    assert(self->count < room);
}

void
pgconn_params_clear(pgconn_params_t *self)
{
    free(self->keys);
    free(self->values);
    free(self->options);
    memset(self, 0, sizeof *self);
}

/* Appends key='value' to a conninfo string, quoted as libpq reads it. */
static void
s_append_conninfo(strbuf_t *buf, const char *key, const char *value)
{
    strbuf_appendf(buf, "%s%s='", strbuf_len(buf) > 0 ? " " : "", key);
    for (const char *c = value; *c != '\0'; c++)
    {
        if (*c == '\'' || *c == '\\')
        {
            strbuf_append_len(buf, "\\", 1);
        }
        strbuf_append_len(buf, c, 1);
    }
    strbuf_append_len(buf, "'", 1);
}

char *
pgconn_params_conninfo(const pgconn_params_t *self)
{
    strbuf_t *buf = strbuf_new();

    for (size_t i = 0; i < self->count; i++)
    {
        if (strcmp(self->keys[i], "password") != 0)
        {
            s_append_conninfo(buf, self->keys[i], self->values[i]);
        }
    }
    return strbuf_finish(&buf);
}

char *
pgconn_options_conninfo(const Pgconvoy__Endpoint *ep)
{
    strbuf_t *buf = strbuf_new();

    for (size_t i = 0; i < ep->n_options; i++)
    {
        s_append_conninfo(buf, ep->options[i]->key, ep->options[i]->value);
    }
    return strbuf_finish(&buf);
}

int
pgconn_options_parse(Pgconvoy__Endpoint *ep, const char *conninfo, char **error)
{
    char *pqerr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &pqerr);

    if (opts == NULL)
    {
        *error = xasprintf("connection options \"%s\" are malformed: %s",
                           conninfo, pqerr ? pqerr : "out of memory");
        PQfreemem(pqerr);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
    {
        if (o->val == NULL || o->val[0] == '\0')
        {
            continue;
        }
        Pgconvoy__ConnOption *opt = xcalloc(1, sizeof *opt);
        pgconvoy__conn_option__init(opt);
        opt->key = xstrdup(o->keyword);
        opt->value = xstrdup(o->val);
        ep->options =
            realloc(ep->options, (ep->n_options + 1) * sizeof *ep->options);
        if (ep->options == NULL)
        {
            abort(); /* as xcalloc */
        }
        ep->options[ep->n_options++] = opt;
    }
    PQconninfoFree(opts);
    return 0;
}

static PGconn *
s_connect(const Pgconvoy__Endpoint *ep, const char *dbname, const char *side,
          const char *role, const char *replication, char **error)
{
    pgconn_params_t params;
    PGconn *conn = NULL;

    pgconn_params_init(&params, ep, dbname, role, replication, true);
    /* expand_dbname=0: a database name is never parsed as a conninfo */
    conn = PQconnectdbParams(params.keys, params.values, 0);
    pgconn_params_clear(&params);
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
pgconn_connect(const Pgconvoy__Endpoint *ep, const char *dbname,
               const char *side, const char *role, char **error)
{
    return s_connect(ep, dbname, side, role, NULL, error);
}

PGconn *
pgconn_connect_replication(const Pgconvoy__Endpoint *ep, const char *role,
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
