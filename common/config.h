/*
 * common/config.h
 *     The seed's JSON inputs: a connection file (userName, password,
 *     serverName, databaseName, port) and a database-options file (a list
 *     of {name, target_database_name, selectedTables}).
 *
 * Every error names the file, the field and the value, and says what was
 * expected, in one line fit for "pgconvoy: error: <line>".
 */
#ifndef PGCONVOY_CONFIG_H
#define PGCONVOY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* One libpq connection setting beyond an endpoint's five fields
 * (sslmode, sslrootcert, keepalives_idle, ...), as the user gave it. */
typedef struct
{
    char *key;   /* owned: a libpq keyword, checked by config_check_option */
    char *value; /* owned */
} config_option_t;

typedef struct
{
    char *user;     /* owned */
    char *password; /* owned; NULL: let libpq find it (PGPASSWORD, .pgpass) */
    char *host;     /* owned */
    char *dbname;   /* owned */
    int port;
    /* owned: every other setting the user gave, never a secret: the
     * password travels only in its own field, which is never stored */
    config_option_t *options;
    size_t noptions;
} config_endpoint_t;

typedef struct
{
    char *name;        /* source database, owned */
    char *target_name; /* target database, owned */
    char **tables;     /* "schema.table" as written, owned; may be empty */
    size_t ntables;
} config_database_t;

typedef struct
{
    config_database_t *items; /* owned */
    size_t count;
} config_databases_t;

/*
 * Loads a connection file. Returns 0, or -1 with *error set to an
 * allocated message (free() it). *out is cleared first.
 */
int config_load_endpoint(const char *path, config_endpoint_t *out,
                         char **error);
/* Same as config_load_endpoint(), from text already read; label names it. */
int config_parse_endpoint(const char *label, const char *text,
                          config_endpoint_t *out, char **error);
int config_load_databases(const char *path, config_databases_t *out,
                          char **error);
int config_parse_databases(const char *label, const char *text,
                           config_databases_t *out, char **error);

/*
 * Fills *out from a libpq URI or conninfo string ("postgresql://u@h:p/db",
 * "host=h dbname=db sslmode=verify-full"). A password in it is kept in
 * memory only; every other setting goes to out->options, once
 * config_check_option() accepts it.
 */
int config_parse_uri(const char *uri, config_endpoint_t *out, char **error);

/*
 * Whether a libpq setting may be carried to the agents as an option:
 * 0, or -1 with *error set to "option \"KEY\" ...: why, expected what"
 * (the value is named, but never a secret's). Refused: the settings
 * pgconvoy decides itself (replication, client_encoding, application
 * names), those it cannot honour from another host (service), secrets
 * other than the password, host lists, and an sslmode libpq lacks.
 */
int config_check_option(const char *key, const char *value, char **error);

/*
 * Parses a size as PostgreSQL writes them: an integer with an optional
 * unit B, kB, MB, GB or TB (powers of 1024). Returns 0, or -1 with *error
 * set to what was expected.
 */
int config_parse_size(const char *text, int64_t *bytes, char **error);

/* Parses a duration as PostgreSQL writes them: an integer and a unit ms,
 * s, min or h, into milliseconds. Returns 0, or -1 with *error set. */
int config_parse_duration(const char *text, int64_t *ms, char **error);

void config_endpoint_clear(config_endpoint_t *endpoint);
void config_databases_clear(config_databases_t *databases);

#endif
