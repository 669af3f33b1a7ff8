/*
 * common/config.c
 *     Reading the seed's connection and database-options JSON with json-c.
 *
 * The files are the ones DMS users already have, comments included
 * (json-c accepts // and block comments). Unknown fields are refused: a
 * misspelt "selectedTable" must not silently migrate every table.
 *
 * Every error leaves here on one line (s_one_line): they quote input,
 * and a key or value holding a line break, from a file or from a peer
 * over the network (config_check_option), must not split a log line or
 * forge a second one.
 */
#include "common/config.h"

#include <errno.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/qualname.h"
#include "common/strbuf.h"

#define CONFIG_MAX_FILE (16 * 1024 * 1024)

/* Rewrites *error, if set, on one line: control characters from the
 * input escaped, libpq's trailing newline dropped. */
static void
s_one_line(char **error)
{
    if (*error == NULL)
    {
        return;
    }
    size_t len = strlen(*error);
    while (len > 0 && ((*error)[len - 1] == '\n' || (*error)[len - 1] == ' '))
    {
        (*error)[--len] = '\0';
    }
    char *escaped = strbuf_escape_controls(*error);
    free(*error);
    *error = escaped;
}

/* Reads a whole file; NULL with *error set if it cannot. */
static char *
s_read_file(const char *path, char **error)
{
    FILE *file = fopen(path, "rb");
    strbuf_t *buf = NULL;
    char chunk[8192];
    size_t n = 0;

    if (file == NULL)
    {
        *error = xasprintf("%s: cannot open file: %s", path, strerror(errno));
        return NULL;
    }
    buf = strbuf_new();
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0)
    {
        strbuf_append_len(buf, chunk, n);
        if (strbuf_len(buf) > CONFIG_MAX_FILE)
        {
            *error = xasprintf("%s: file is larger than %d bytes", path,
                               CONFIG_MAX_FILE);
            strbuf_destroy(&buf);
            break;
        }
    }
    if (buf != NULL && ferror(file))
    {
        *error =
            xasprintf("%s: could not read file: %s", path, strerror(errno));
        strbuf_destroy(&buf);
    }
    fclose(file);
    return buf ? strbuf_finish(&buf) : NULL;
}

/* Parses text as JSON; on failure says where, by line and column. */
static json_object *
s_parse_json(const char *label, const char *text, char **error)
{
    json_tokener *tok = json_tokener_new();
    size_t len = strlen(text);
    json_object *root = json_tokener_parse_ex(tok, text, (int) len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t offset = json_tokener_get_parse_end(tok);

    if (root == NULL || jerr != json_tokener_success)
    {
        if (jerr == json_tokener_continue)
        {
            offset = len;
        }
        int line = 1;
        int column = 1;
        for (size_t i = 0; i < offset && i < len; i++)
        {
            line += text[i] == '\n';
            column = text[i] == '\n' ? 1 : column + 1;
        }
        *error = xasprintf(
            "%s: malformed JSON at line %d, column %d: %s", label, line, column,
            jerr == json_tokener_continue ? "unexpected end of file"
                                          : json_tokener_error_desc(jerr));
        json_object_put(root);
        root = NULL;
    }
    else if (offset < len && strspn(text + offset, " \t\r\n") != len - offset)
    {
        *error = xasprintf("%s: malformed JSON: unexpected text after the "
                           "top-level value",
                           label);
        json_object_put(root);
        root = NULL;
    }
    json_tokener_free(tok);
    return root;
}

static const char *
s_type_name(json_object *value)
{
    return value == NULL ? "null"
                         : json_type_to_name(json_object_get_type(value));
}

/* A short rendering of a value for messages. */
static char *
s_render(json_object *value)
{
    const char *text = json_object_to_json_string_ext(
        value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (strlen(text) > 60)
    {
        return xasprintf("%.57s...", text);
    }
    return xstrdup(text);
}

/*
 * Refuses any member of obj whose name is not in allowed (NULL-ended),
 * naming where (e.g. "[1]") in the message.
 */
static int
s_check_fields(const char *label, const char *where, json_object *obj,
               const char *const *allowed, char **error)
{
    json_object_object_foreach(obj, key, value)
    {
        (void) value;
        bool known = false;
        for (const char *const *a = allowed; *a != NULL; a++)
        {
            known = known || strcmp(key, *a) == 0;
        }
        if (!known)
        {
            strbuf_t *list = strbuf_new();
            for (const char *const *a = allowed; *a != NULL; a++)
            {
                strbuf_appendf(list, "%s%s", a == allowed ? "" : ", ", *a);
            }
            *error = xasprintf("%s: field \"%s%s\": unknown field, expected "
                               "one of %s",
                               label, where, key, strbuf_data(list));
            strbuf_destroy(&list);
            return -1;
        }
    }
    return 0;
}

/*
 * Reads an optional string member. Missing or null leaves *out NULL.
 * An empty string is refused when required_nonempty.
 */
static int
s_get_string(const char *label, const char *where, json_object *obj,
             const char *field, bool required, char **out, char **error)
{
    json_object *value = NULL;

    *out = NULL;
    if (!json_object_object_get_ex(obj, field, &value) || value == NULL)
    {
        if (required)
        {
            *error = xasprintf("%s: field \"%s%s\": missing, expected a "
                               "non-empty string",
                               label, where, field);
            return -1;
        }
        return 0;
    }
    if (!json_object_is_type(value, json_type_string))
    {
        char *shown = s_render(value);
        *error = xasprintf("%s: field \"%s%s\": value %s is a %s, expected "
                           "a string",
                           label, where, field, shown, s_type_name(value));
        free(shown);
        return -1;
    }
    if (required && json_object_get_string_len(value) == 0)
    {
        *error = xasprintf("%s: field \"%s%s\": value \"\" is empty, "
                           "expected a non-empty string",
                           label, where, field);
        return -1;
    }
    *out = xstrdup(json_object_get_string(value));
    return 0;
}

/* libpq's sslmode values (fe-connect.c connectOptions2) */
static const char *const s_sslmodes[] = {
    "disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL};

static bool
s_is_sslmode(const char *value)
{
    for (const char *const *m = s_sslmodes; *m != NULL; m++)
    {
        if (strcmp(value, *m) == 0)
        {
            return true;
        }
    }
    return false;
}

/* Appends one option to out; both strings are copied. */
static void
s_add_option(config_endpoint_t *out, const char *key, const char *value)
{
    config_option_t *grown =
        realloc(out->options, (out->noptions + 1) * sizeof *out->options);

    if (grown == NULL)
    {
        abort(); /* as xstrdup: no sane recovery */
    }
    out->options = grown;
    out->options[out->noptions].key = xstrdup(key);
    out->options[out->noptions].value = xstrdup(value);
    out->noptions++;
}

/*
 * pg_dump is handed the password in a password file, whose lines cannot
 * hold a line break: such a password is refused before anything runs.
 * The message never shows the password.
 */
static bool
s_password_breaks_line(const char *password)
{
    return password != NULL && strpbrk(password, "\r\n") != NULL;
}

#define CONFIG_PASSWORD_LINE_BREAK                                             \
    "holds a line break, which pg_dump cannot be given (a password file "      \
    "holds one per line), expected a password on one line"

/* Reads an optional boolean member: *out is -1 if it is missing or null,
 * else 0 or 1. */
static int
s_get_bool(const char *label, json_object *obj, const char *field, int *out,
           char **error)
{
    json_object *value = NULL;

    *out = -1;
    if (!json_object_object_get_ex(obj, field, &value) || value == NULL)
    {
        return 0;
    }
    if (!json_object_is_type(value, json_type_boolean))
    {
        char *shown = s_render(value);
        *error = xasprintf("%s: field \"%s\": value %s is a %s, expected "
                           "true or false",
                           label, field, shown, s_type_name(value));
        free(shown);
        return -1;
    }
    *out = json_object_get_boolean(value) ? 1 : 0;
    return 0;
}

/*
 * The TLS fields of a connection file, as libpq settings in out->options.
 * DMS names two booleans: encryptConnection (TLS or none) and
 * trustServerCertificate (TLS without checking the server's
 * certificate). sslMode says the same in libpq's words, so the two ways
 * are not mixed. The paths name files on the agents' hosts, where libpq
 * reads them.
 */
static int
s_parse_tls(const char *label, json_object *root, config_endpoint_t *out,
            char **error)
{
    static const struct
    {
        const char *field;
        const char *key;
    } paths[] = {{"sslRootCert", "sslrootcert"},
                 {"sslCert", "sslcert"},
                 {"sslKey", "sslkey"},
                 {"sslCrl", "sslcrl"}};
    int encrypt = -1;
    int trust = -1;
    char *mode = NULL;
    char *path = NULL;
    int rc = -1;

    if (s_get_bool(label, root, "encryptConnection", &encrypt, error) != 0 ||
        s_get_bool(label, root, "trustServerCertificate", &trust, error) != 0 ||
        s_get_string(label, "", root, "sslMode", false, &mode, error) != 0)
    {
        goto cleanup;
    }
    if (mode != NULL && (encrypt >= 0 || trust >= 0))
    {
        *error = xasprintf("%s: fields \"sslMode\" and \"%s\" are both "
                           "given, expected either sslMode or "
                           "encryptConnection and trustServerCertificate",
                           label,
                           encrypt >= 0 ? "encryptConnection"
                                        : "trustServerCertificate");
        goto cleanup;
    }
    if (trust == 1 && encrypt != 1)
    {
        *error = xasprintf("%s: field \"trustServerCertificate\": value true "
                           "applies only with \"encryptConnection\": true, "
                           "expected both true (TLS, certificate not "
                           "checked) or trustServerCertificate left out",
                           label);
        goto cleanup;
    }
    if (mode != NULL && !s_is_sslmode(mode))
    {
        *error = xasprintf("%s: field \"sslMode\": value \"%s\" is not an "
                           "sslmode, expected disable, allow, prefer, "
                           "require, verify-ca or verify-full",
                           label, mode);
        goto cleanup;
    }
    if (mode == NULL && encrypt >= 0)
    {
        mode = xstrdup(encrypt == 0 ? "disable"
                       : trust == 1 ? "require"
                                    : "verify-full");
    }
    if (mode != NULL)
    {
        s_add_option(out, "sslmode", mode);
    }
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    {
        if (s_get_string(label, "", root, paths[i].field, false, &path,
                         error) != 0)
        {
            goto cleanup;
        }
        if (path != NULL && path[0] == '\0')
        {
            *error = xasprintf("%s: field \"%s\": value \"\" is empty, "
                               "expected the path of a file on the agents' "
                               "hosts",
                               label, paths[i].field);
            goto cleanup;
        }
        if (path != NULL)
        {
            s_add_option(out, paths[i].key, path);
        }
        free(path);
        path = NULL;
    }
    rc = 0;

cleanup:
    free(mode);
    free(path);
    return rc;
}

int
config_parse_endpoint(const char *label, const char *text,
                      config_endpoint_t *out, char **error)
{
    static const char *const fields[] = {"userName",
                                         "password",
                                         "serverName",
                                         "databaseName",
                                         "port",
                                         "encryptConnection",
                                         "trustServerCertificate",
                                         "sslMode",
                                         "sslRootCert",
                                         "sslCert",
                                         "sslKey",
                                         "sslCrl",
                                         NULL};
    int rc = -1;
    json_object *root = s_parse_json(label, text, error);
    json_object *port = NULL;
    char *why = NULL;

    memset(out, 0, sizeof *out);
    out->port = 5432;
    if (root == NULL)
    {
        goto cleanup;
    }
    if (!json_object_is_type(root, json_type_object))
    {
        *error = xasprintf("%s: the top-level value is a %s, expected an "
                           "object with userName, password, serverName, "
                           "databaseName and port",
                           label, s_type_name(root));
        goto cleanup;
    }
    if (s_check_fields(label, "", root, fields, error) != 0 ||
        s_get_string(label, "", root, "serverName", true, &out->host, error) !=
            0 ||
        s_get_string(label, "", root, "userName", false, &out->user, error) !=
            0 ||
        s_get_string(label, "", root, "password", false, &out->password,
                     error) != 0 ||
        s_get_string(label, "", root, "databaseName", false, &out->dbname,
                     error) != 0 ||
        s_parse_tls(label, root, out, error) != 0)
    {
        goto cleanup;
    }
    if (s_password_breaks_line(out->password))
    {
        *error = xasprintf(
            "%s: field \"password\": the value " CONFIG_PASSWORD_LINE_BREAK,
            label);
        goto cleanup;
    }
    if (out->user == NULL && getenv("PGUSER") != NULL)
    {
        out->user = xstrdup(getenv("PGUSER"));
    }
    if (out->user == NULL || out->user[0] == '\0')
    {
        *error = xasprintf("%s: field \"userName\": missing, expected a "
                           "non-empty string (or set PGUSER)",
                           label);
        goto cleanup;
    }
    if (out->dbname == NULL)
    {
        out->dbname = xstrdup("postgres"); /* the seed's default */
    }
    /* a list of hosts is refused here as in a URI */
    if (config_check_option("host", out->host, &why) != 0)
    {
        *error = xasprintf("%s: field \"serverName\": %s", label, why);
        free(why);
        goto cleanup;
    }
    if (json_object_object_get_ex(root, "port", &port) && port != NULL)
    {
        int64_t value = json_object_get_int64(port);
        if (!json_object_is_type(port, json_type_int) || value < 1 ||
            value > 65535)
        {
            char *shown = s_render(port);
            *error = xasprintf(
                "%s: field \"port\": value %s %s, expected an integer from 1 "
                "to 65535",
                label, shown,
                json_object_is_type(port, json_type_int) ? "is out of range"
                                                         : "is not an integer");
            free(shown);
            goto cleanup;
        }
        out->port = (int) value;
    }
    rc = 0;

cleanup:
    json_object_put(root);
    if (rc != 0)
    {
        config_endpoint_clear(out);
        s_one_line(error);
    }
    return rc;
}

int
config_load_endpoint(const char *path, config_endpoint_t *out, char **error)
{
    char *text = s_read_file(path, error);
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (text != NULL)
    {
        rc = config_parse_endpoint(path, text, out, error);
    }
    free(text);
    if (rc != 0)
    {
        s_one_line(error); /* the path may hold anything */
    }
    return rc;
}

/* Reads one element of the options list into *db. */
static int
s_parse_database(const char *label, size_t index, json_object *item,
                 config_database_t *db, char **error)
{
    static const char *const fields[] = {"name", "target_database_name",
                                         "selectedTables", NULL};
    char where[32];
    json_object *tables = NULL;

    snprintf(where, sizeof where, "[%zu].", index);
    if (!json_object_is_type(item, json_type_object))
    {
        char *shown = s_render(item);
        *error = xasprintf("%s: field \"[%zu]\": value %s is a %s, expected "
                           "an object with name, target_database_name and "
                           "selectedTables",
                           label, index, shown, s_type_name(item));
        free(shown);
        return -1;
    }
    if (s_check_fields(label, where, item, fields, error) != 0 ||
        s_get_string(label, where, item, "name", true, &db->name, error) != 0 ||
        s_get_string(label, where, item, "target_database_name", false,
                     &db->target_name, error) != 0)
    {
        return -1;
    }
    if (db->target_name == NULL || db->target_name[0] == '\0')
    {
        free(db->target_name);
        db->target_name = xstrdup(db->name);
    }
    if (!json_object_object_get_ex(item, "selectedTables", &tables) ||
        tables == NULL)
    {
        return 0;
    }
    if (!json_object_is_type(tables, json_type_array))
    {
        char *shown = s_render(tables);
        *error = xasprintf("%s: field \"%sselectedTables\": value %s is a %s, "
                           "expected a list of \"schemaName.tableName\" "
                           "strings",
                           label, where, shown, s_type_name(tables));
        free(shown);
        return -1;
    }
    db->ntables = json_object_array_length(tables);
    db->tables = xcalloc(db->ntables, sizeof(char *));
    for (size_t i = 0; i < db->ntables; i++)
    {
        json_object *t = json_object_array_get_idx(tables, i);
        char *schema = NULL;
        char *table = NULL;
        char *why = NULL;

        if (!json_object_is_type(t, json_type_string))
        {
            char *shown = s_render(t);
            *error = xasprintf("%s: field \"%sselectedTables[%zu]\": value %s "
                               "is a %s, expected a \"schemaName.tableName\" "
                               "string",
                               label, where, i, shown, s_type_name(t));
            free(shown);
            return -1;
        }
        db->tables[i] = xstrdup(json_object_get_string(t));
        if (qualname_parse(db->tables[i], &schema, &table, &why) != 0)
        {
            *error = xasprintf("%s: field \"%sselectedTables[%zu]\": %s", label,
                               where, i, why);
            free(why);
            return -1;
        }
        free(schema);
        free(table);
    }
    return 0;
}

int
config_parse_databases(const char *label, const char *text,
                       config_databases_t *out, char **error)
{
    int rc = -1;
    json_object *root = s_parse_json(label, text, error);

    memset(out, 0, sizeof *out);
    if (root == NULL)
    {
        goto cleanup;
    }
    if (!json_object_is_type(root, json_type_array) ||
        json_object_array_length(root) == 0)
    {
        *error = xasprintf("%s: the top-level value is %s, expected a "
                           "non-empty list of {\"name\", "
                           "\"target_database_name\", \"selectedTables\"}",
                           label,
                           json_object_is_type(root, json_type_array)
                               ? "an empty list"
                               : s_type_name(root));
        goto cleanup;
    }
    out->count = json_object_array_length(root);
    out->items = xcalloc(out->count, sizeof *out->items);
    for (size_t i = 0; i < out->count; i++)
    {
        if (s_parse_database(label, i, json_object_array_get_idx(root, i),
                             &out->items[i], error) != 0)
        {
            goto cleanup;
        }
        for (size_t j = 0; j < i; j++)
        {
            if (strcmp(out->items[j].name, out->items[i].name) == 0)
            {
                *error = xasprintf("%s: field \"[%zu].name\": value \"%s\" "
                                   "is listed twice, expected each source "
                                   "database once",
                                   label, i, out->items[i].name);
                goto cleanup;
            }
        }
    }
    rc = 0;

cleanup:
    json_object_put(root);
    if (rc != 0)
    {
        config_databases_clear(out);
        s_one_line(error);
    }
    return rc;
}

int
config_load_databases(const char *path, config_databases_t *out, char **error)
{
    char *text = s_read_file(path, error);
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (text != NULL)
    {
        rc = config_parse_databases(path, text, out, error);
    }
    free(text);
    if (rc != 0)
    {
        s_one_line(error); /* the path may hold anything */
    }
    return rc;
}

/*
 * The libpq settings refused by name, and why: pgconvoy sets them itself
 * where its correctness depends on them, or cannot honour them from the
 * agents' hosts. Dropping one silently is what issue 9 was about.
 */
static const struct
{
    const char *key;
    const char *why;
} s_refused_options[] = {
    {"replication", "pgconvoy opens the replication connections it needs "
                    "itself, expected it left out"},
    {"client_encoding", "pgconvoy's sessions use UTF8, which holds every "
                        "server encoding's characters, expected it left out"},
    {"application_name", "pgconvoy names its sessions pgconvoy-<role>, as "
                         "pg_stat_activity shows them, expected it left out"},
    {"fallback_application_name", "pgconvoy names its sessions "
                                  "pgconvoy-<role>, as pg_stat_activity "
                                  "shows them, expected it left out"},
    {"service", "a service is looked up in pg_service.conf on each agent's "
                "host, beneath the host, port and user pgconvoy passes, "
                "expected the service's settings written out instead"},
    {"servicefile", "a service is looked up in pg_service.conf on each "
                    "agent's host, beneath the host, port and user pgconvoy "
                    "passes, expected the service's settings written out "
                    "instead"},
};

/* libpq's own flags for a keyword, copied: "*" a secret, "D" for
 * debugging; NULL for a keyword this libpq does not know. */
static char *
s_option_dispchar(const char *key)
{
    /* an empty conninfo lists every keyword, and unlike PQconndefaults()
     * reads no environment or service file that could make it fail */
    PQconninfoOption *all = PQconninfoParse("", NULL);
    char *dispchar = NULL;

    for (PQconninfoOption *o = all; o != NULL && o->keyword != NULL; o++)
    {
        if (strcmp(o->keyword, key) == 0)
        {
            dispchar = xstrdup(o->dispchar);
        }
    }
    PQconninfoFree(all);
    return dispchar;
}

static int
s_check_option(const char *key, const char *value, char **error)
{
    char *dispchar = NULL;
    int rc = -1;

    for (size_t i = 0;
         i < sizeof s_refused_options / sizeof s_refused_options[0]; i++)
    {
        if (strcmp(key, s_refused_options[i].key) == 0)
        {
            *error = xasprintf("option \"%s\" is not supported: %s", key,
                               s_refused_options[i].why);
            return -1;
        }
    }
    if ((strcmp(key, "host") == 0 || strcmp(key, "hostaddr") == 0 ||
         strcmp(key, "port") == 0) &&
        strchr(value, ',') != NULL)
    {
        *error =
            xasprintf("option \"%s\": value \"%s\" is a list, which is "
                      "not supported: a migration holds its snapshot "
                      "and replication slot on one server, expected "
                      "a single %s",
                      key, value, strcmp(key, "port") == 0 ? "port" : "host");
        return -1;
    }
    if (strcmp(key, "sslmode") == 0 && !s_is_sslmode(value))
    {
        *error = xasprintf("option \"sslmode\": value \"%s\" is not an "
                           "sslmode, expected disable, allow, prefer, "
                           "require, verify-ca or verify-full",
                           value);
        return -1;
    }
    if (strcmp(key, "password") == 0)
    {
        return 0; /* the caller keeps it apart, in its own field */
    }
    dispchar = s_option_dispchar(key);
    if (dispchar == NULL)
    {
        *error = xasprintf("option \"%s\" is not a libpq connection "
                           "setting, expected one of those listed in "
                           "PostgreSQL's \"Parameter Key Words\"",
                           key);
    }
    else if (dispchar[0] == '*')
    {
        /* the value is not named: it is the secret */
        *error = xasprintf("option \"%s\" is not supported: it is a secret, "
                           "and pgconvoy keeps only the password out of its "
                           "catalog, logs and command lines, expected a key "
                           "file that is not encrypted, readable by the "
                           "agents' user only",
                           key);
    }
    else if (dispchar[0] == 'D')
    {
        *error = xasprintf("option \"%s\" is not supported: it is a "
                           "debugging setting, expected it left out",
                           key);
    }
    else
    {
        rc = 0;
    }
    free(dispchar);
    return rc;
}

int
config_check_option(const char *key, const char *value, char **error)
{
    int rc = s_check_option(key, value, error);

    if (rc != 0)
    {
        s_one_line(error);
    }
    return rc;
}

int
config_parse_uri(const char *uri, config_endpoint_t *out, char **error)
{
    char *pqerr = NULL;
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &pqerr);
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->port = 5432;
    if (opts == NULL)
    {
        /* never echo the URI itself: it may hold a password */
        *error = xasprintf("connection URI is malformed: %s",
                           pqerr ? pqerr : "out of memory");
        PQfreemem(pqerr);
        s_one_line(error);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
    {
        if (o->val == NULL || o->val[0] == '\0')
        {
            continue; /* libpq too takes an empty value for none */
        }
        if (config_check_option(o->keyword, o->val, &why) != 0)
        {
            *error = xasprintf("connection URI: %s", why);
            free(why);
            goto cleanup;
        }
        if (strcmp(o->keyword, "user") == 0)
        {
            out->user = xstrdup(o->val);
        }
        else if (strcmp(o->keyword, "password") == 0)
        {
            out->password = xstrdup(o->val);
        }
        else if (strcmp(o->keyword, "host") == 0)
        {
            free(out->host);
            out->host = xstrdup(o->val);
        }
        else if (strcmp(o->keyword, "dbname") == 0)
        {
            out->dbname = xstrdup(o->val);
        }
        else if (strcmp(o->keyword, "port") == 0)
        {
            char *end = NULL;
            long port = strtol(o->val, &end, 10);
            if (*end != '\0' || port < 1 || port > 65535)
            {
                *error = xasprintf("connection URI: port \"%s\" is not an "
                                   "integer from 1 to 65535",
                                   o->val);
                goto cleanup;
            }
            out->port = (int) port;
        }
        else
        {
            /* hostaddr too: the server's address, while host stays the
             * name its certificate is checked against */
            s_add_option(out, o->keyword, o->val);
            if (strcmp(o->keyword, "hostaddr") == 0 && out->host == NULL)
            {
                out->host = xstrdup(o->val);
            }
        }
    }
    if (s_password_breaks_line(out->password))
    {
        *error =
            xstrdup("connection URI: the password " CONFIG_PASSWORD_LINE_BREAK);
        goto cleanup;
    }
    if (out->host == NULL)
    {
        out->host = xstrdup(getenv("PGHOST") ? getenv("PGHOST") : "localhost");
    }
    if (out->user == NULL)
    {
        out->user = xstrdup(getenv("PGUSER") ? getenv("PGUSER") : "postgres");
    }
    if (out->dbname == NULL)
    {
        *error = xstrdup("connection URI names no database, expected "
                         "postgresql://user@host:port/dbname");
        goto cleanup;
    }
    rc = 0;

cleanup:
    PQconninfoFree(opts);
    if (rc != 0)
    {
        config_endpoint_clear(out);
        s_one_line(error);
    }
    return rc;
}

/* A unit a number may carry, and what one of it is worth. */
typedef struct
{
    const char *unit;
    int64_t factor;
} s_unit_t;

/* Parses a non-negative integer followed (after spaces) by one of the n
 * units, into *out. Returns 0, or -1 if text is not of that form or the
 * result would not fit. */
static int
s_parse_scaled(const char *text, const s_unit_t *units, size_t n,
               int64_t *out)
{
    char *end = NULL;
    long long value = 0;

    errno = 0;
    value = strtoll(text, &end, 10);
    if (end == text || errno != 0 || value < 0)
    {
        return -1;
    }
    while (*end == ' ')
    {
        end++;
    }
    for (size_t i = 0; i < n; i++)
    {
        if (strcmp(end, units[i].unit) == 0 &&
            value <= INT64_MAX / units[i].factor)
        {
            *out = (int64_t) value * units[i].factor;
            return 0;
        }
    }
    return -1;
}

int
config_parse_size(const char *text, int64_t *bytes, char **error)
{
    static const s_unit_t units[] = {
        {"", 1},           {"B", 1},          {"kB", 1LL << 10},
        {"MB", 1LL << 20}, {"GB", 1LL << 30}, {"TB", 1LL << 40}};

    if (s_parse_scaled(text, units, sizeof units / sizeof units[0], bytes) ==
        0)
    {
        return 0;
    }
    *error = xasprintf("value \"%s\" is not a size, expected a number "
                       "with an optional unit kB, MB, GB or TB (as 256MB)",
                       text);
    s_one_line(error);
    return -1;
}

int
config_parse_duration(const char *text, int64_t *ms, char **error)
{
    static const s_unit_t units[] = {
        {"ms", 1}, {"s", 1000}, {"min", 60000}, {"h", 3600000}};

    if (s_parse_scaled(text, units, sizeof units / sizeof units[0], ms) == 0)
    {
        return 0;
    }
    *error = xasprintf("value \"%s\" is not a duration, expected a number "
                       "with a unit ms, s, min or h (as 20s)",
                       text);
    s_one_line(error);
    return -1;
}

void
config_endpoint_clear(config_endpoint_t *endpoint)
{
    free(endpoint->user);
    if (endpoint->password != NULL)
    {
        /* do not leave the secret lying in freed memory */
        memset(endpoint->password, 0, strlen(endpoint->password));
        free(endpoint->password);
    }
    free(endpoint->host);
    free(endpoint->dbname);
    for (size_t i = 0; i < endpoint->noptions; i++)
    {
        free(endpoint->options[i].key);
        free(endpoint->options[i].value);
    }
    free(endpoint->options);
    memset(endpoint, 0, sizeof *endpoint);
}

void
config_databases_clear(config_databases_t *databases)
{
    for (size_t i = 0; i < databases->count; i++)
    {
        config_database_t *db = &databases->items[i];
        free(db->name);
        free(db->target_name);
        for (size_t j = 0; j < db->ntables; j++)
        {
            free(db->tables[j]);
        }
        free(db->tables);
    }
    free(databases->items);
    memset(databases, 0, sizeof *databases);
}
