/*
 * common/config.c
 *     Reading the seed's connection and database-options JSON with json-c.
 *
 * The files are the ones DMS users already have, comments included
 * (json-c accepts // and block comments). Unknown fields are refused: a
 * misspelt "selectedTable" must not silently migrate every table.
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

int
config_parse_endpoint(const char *label, const char *text,
                      config_endpoint_t *out, char **error)
{
    static const char *const fields[] = {
        "userName", "password", "serverName", "databaseName", "port", NULL};
    int rc = -1;
    json_object *root = s_parse_json(label, text, error);
    json_object *port = NULL;

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
                     error) != 0)
    {
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
    return rc;
}

int
config_parse_uri(const char *uri, config_endpoint_t *out, char **error)
{
    char *pqerr = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &pqerr);

    memset(out, 0, sizeof *out);
    out->port = 5432;
    if (opts == NULL)
    {
        /* never echo the URI itself: it may hold a password */
        *error = xasprintf("connection URI is malformed: %s",
                           pqerr ? pqerr : "out of memory");
        PQfreemem(pqerr);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
    {
        if (o->val == NULL || o->val[0] == '\0')
        {
            continue;
        }
        if (strcmp(o->keyword, "user") == 0)
        {
            out->user = xstrdup(o->val);
        }
        else if (strcmp(o->keyword, "password") == 0)
        {
            out->password = xstrdup(o->val);
        }
        else if (strcmp(o->keyword, "host") == 0 ||
                 (strcmp(o->keyword, "hostaddr") == 0 && out->host == NULL))
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
                PQconninfoFree(opts);
                config_endpoint_clear(out);
                return -1;
            }
            out->port = (int) port;
        }
    }
    PQconninfoFree(opts);
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
        config_endpoint_clear(out);
        return -1;
    }
    return 0;
}

int
config_parse_size(const char *text, int64_t *bytes, char **error)
{
    static const struct
    {
        const char *unit;
        int shift;
    } units[] = {{"", 0},    {"B", 0},   {"kB", 10},
                 {"MB", 20}, {"GB", 30}, {"TB", 40}};
    char *end = NULL;
    long long value = 0;

    errno = 0;
    value = strtoll(text, &end, 10);
    if (end != text && errno == 0 && value >= 0)
    {
        while (*end == ' ')
        {
            end++;
        }
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        {
            if (strcmp(end, units[i].unit) == 0 &&
                value <= (INT64_MAX >> units[i].shift))
            {
                *bytes = (int64_t) value << units[i].shift;
                return 0;
            }
        }
    }
    *error = xasprintf("value \"%s\" is not a size, expected a number "
                       "with an optional unit kB, MB, GB or TB (as 256MB)",
                       text);
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
