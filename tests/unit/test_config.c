/*
 * tests/unit/test_config.c
 *     The seed's connection and database-options JSON: what is accepted,
 *     and that every refusal names the file, the field and the value.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/config.h"
#include "common/strbuf.h"

static char *
s_endpoint_error(const char *json)
{
    config_endpoint_t ep;
    char *error = NULL;

    CHECK(config_parse_endpoint("s.json", json, &ep, &error) == -1);
    CHECK(ep.host == NULL && ep.user == NULL); /* nothing half-filled */
    CHECK_CONTAINS(error, "s.json");
    return error;
}

static char *
s_options_error(const char *json)
{
    config_databases_t dbs;
    char *error = NULL;

    CHECK(config_parse_databases("o.json", json, &dbs, &error) == -1);
    CHECK(dbs.count == 0 && dbs.items == NULL);
    CHECK_CONTAINS(error, "o.json");
    return error;
}

static void
s_test_endpoint_seed(void)
{
    /* the seed's own example, comments included */
    const char *json =
        "{\n"
        "    // if this is missing or null, you will be prompted\n"
        "    \"userName\": \"postgres\",\n"
        "    \"password\": null,\n"
        "    \"serverName\": \"13.51.14.222\",\n"
        "    \"databaseName\": \"dvdrental\",\n"
        "    \"port\": 5433\n"
        "}\n";
    config_endpoint_t ep;
    char *error = NULL;

    CHECK(config_parse_endpoint("s.json", json, &ep, &error) == 0);
    CHECK(strcmp(ep.user, "postgres") == 0);
    CHECK(ep.password == NULL);
    CHECK(strcmp(ep.host, "13.51.14.222") == 0);
    CHECK(strcmp(ep.dbname, "dvdrental") == 0);
    CHECK(ep.port == 5433);
    config_endpoint_clear(&ep);

    /* defaults: database postgres, port 5432 */
    CHECK(config_parse_endpoint("s.json",
                                "{\"userName\": \"u\", \"serverName\": \"h\"}",
                                &ep, &error) == 0);
    CHECK(strcmp(ep.dbname, "postgres") == 0 && ep.port == 5432);
    config_endpoint_clear(&ep);
}

static void
s_test_endpoint_errors(void)
{
    char *e = NULL;

    e = s_endpoint_error("{\"userName\": \"u\", \"port\": 5432}");
    CHECK_CONTAINS(e, "field \"serverName\": missing");
    free(e);

    e = s_endpoint_error(
        "{\"userName\": \"u\", \"serverName\": \"h\", \"port\": \"abc\"}");
    CHECK_CONTAINS(e, "field \"port\": value \"abc\" is not an integer");
    CHECK_CONTAINS(e, "expected an integer from 1 to 65535");
    free(e);

    e = s_endpoint_error(
        "{\"userName\": \"u\", \"serverName\": \"h\", \"port\": 70000}");
    CHECK_CONTAINS(e, "field \"port\": value 70000 is out of range");
    free(e);

    e = s_endpoint_error("{\"userName\": \"u\", \"serverName\": 5}");
    CHECK_CONTAINS(e, "field \"serverName\": value 5 is a int");
    free(e);

    e = s_endpoint_error(
        "{\"userName\": \"u\", \"serverName\": \"h\", \"hostName\": \"x\"}");
    CHECK_CONTAINS(e, "field \"hostName\": unknown field");
    free(e);

    e = s_endpoint_error("{\"userName\": \"u\",\n \"serverName\": }");
    CHECK_CONTAINS(e, "malformed JSON at line 2");
    free(e);

    e = s_endpoint_error("{\"userName\": \"u\"");
    CHECK_CONTAINS(e, "unexpected end of file");
    free(e);

    e = s_endpoint_error("[1, 2]");
    CHECK_CONTAINS(e, "expected an object");
    free(e);

    e = s_endpoint_error("{} trailing");
    CHECK_CONTAINS(e, "unexpected text");
    free(e);
}

static void
s_test_options(void)
{
    const char *json =
        "[\n"
        "  {\"name\": \"dvdrental\", \"target_database_name\": \"dvd2\",\n"
        "   \"selectedTables\": [\"public.actor\", \"\\\"Sales Dept\\\".x\"]},\n"
        "  {\"name\": \"inventory\"}\n"
        "]";
    config_databases_t dbs;
    char *error = NULL;

    CHECK(config_parse_databases("o.json", json, &dbs, &error) == 0);
    CHECK(dbs.count == 2);
    CHECK(strcmp(dbs.items[0].name, "dvdrental") == 0);
    CHECK(strcmp(dbs.items[0].target_name, "dvd2") == 0);
    CHECK(dbs.items[0].ntables == 2);
    CHECK(strcmp(dbs.items[0].tables[1], "\"Sales Dept\".x") == 0);
    CHECK(strcmp(dbs.items[1].target_name, "inventory") == 0);
    CHECK(dbs.items[1].ntables == 0); /* empty: every table */
    config_databases_clear(&dbs);
}

static void
s_test_options_errors(void)
{
    char *e = NULL;

    e = s_options_error("[]");
    CHECK_CONTAINS(e, "an empty list");
    free(e);

    e = s_options_error("{\"name\": \"x\"}");
    CHECK_CONTAINS(e, "expected a non-empty list");
    free(e);

    e = s_options_error("[{\"target_database_name\": \"x\"}]");
    CHECK_CONTAINS(e, "field \"[0].name\": missing");
    free(e);

    e = s_options_error("[{\"name\": \"a\", \"selectedTables\": \"t\"}]");
    CHECK_CONTAINS(e, "field \"[0].selectedTables\": value \"t\" is a string");
    free(e);

    e = s_options_error(
        "[{\"name\": \"a\"}, {\"name\": \"b\", \"selectedTables\": [\"t\"]}]");
    CHECK_CONTAINS(e, "field \"[1].selectedTables[0]\": \"t\" is not a table "
                      "name");
    free(e);

    e = s_options_error(
        "[{\"name\": \"a\", \"selectedTables\": [\"s.t\", 3]}]");
    CHECK_CONTAINS(e, "field \"[0].selectedTables[1]\": value 3 is a int");
    free(e);

    e = s_options_error("[{\"name\": \"a\", \"selectedTable\": []}]");
    CHECK_CONTAINS(e, "field \"[0].selectedTable\": unknown field");
    free(e);

    e = s_options_error("[{\"name\": \"a\"}, {\"name\": \"a\"}]");
    CHECK_CONTAINS(e, "field \"[1].name\": value \"a\" is listed twice");
    free(e);
}

static void
s_test_uri(void)
{
    config_endpoint_t ep;
    char *error = NULL;

    CHECK(config_parse_uri("postgresql://alice:secret@db1:6543/shop", &ep,
                           &error) == 0);
    CHECK(strcmp(ep.user, "alice") == 0 && strcmp(ep.password, "secret") == 0);
    CHECK(strcmp(ep.host, "db1") == 0 && ep.port == 6543);
    CHECK(strcmp(ep.dbname, "shop") == 0);
    config_endpoint_clear(&ep);

    CHECK(config_parse_uri("host=h port=99999 dbname=x", &ep, &error) == -1);
    CHECK_CONTAINS(error, "port \"99999\"");
    free(error);
    error = NULL;

    CHECK(config_parse_uri("postgresql://u:pw@h/", &ep, &error) == -1);
    CHECK_CONTAINS(error, "names no database");
    CHECK(strstr(error, "pw") == NULL); /* never echo a password */
    free(error);
}

/* The value of option key in ep, or NULL. */
static const char *
s_option(const config_endpoint_t *ep, const char *key)
{
    for (size_t i = 0; i < ep->noptions; i++)
    {
        if (strcmp(ep->options[i].key, key) == 0)
        {
            return ep->options[i].value;
        }
    }
    return NULL;
}

static char *
s_uri_error(const char *uri)
{
    config_endpoint_t ep;
    char *error = NULL;

    CHECK(config_parse_uri(uri, &ep, &error) == -1);
    CHECK(ep.host == NULL && ep.options == NULL && ep.noptions == 0);
    CHECK_CONTAINS(error, "connection URI");
    return error;
}

/* Issue 9: every libpq setting of a URI is kept, none dropped. */
static void
s_test_uri_options(void)
{
    config_endpoint_t ep;
    char *error = NULL;
    char *e = NULL;

    CHECK(config_parse_uri(
              "postgresql://alice:pw@db.example.com:6543/shop?"
              "sslmode=verify-full&sslrootcert=/etc/ca.crt&connect_timeout=5"
              "&keepalives_idle=60&options=-c%20statement_timeout%3D0"
              "&hostaddr=10.0.0.7&target_session_attrs=read-write",
              &ep, &error) == 0);
    CHECK(strcmp(ep.host, "db.example.com") == 0 && ep.port == 6543);
    CHECK(strcmp(ep.password, "pw") == 0);
    CHECK(ep.noptions == 7);
    CHECK(strcmp(s_option(&ep, "sslmode"), "verify-full") == 0);
    CHECK(strcmp(s_option(&ep, "sslrootcert"), "/etc/ca.crt") == 0);
    CHECK(strcmp(s_option(&ep, "connect_timeout"), "5") == 0);
    CHECK(strcmp(s_option(&ep, "keepalives_idle"), "60") == 0);
    CHECK(strcmp(s_option(&ep, "options"), "-c statement_timeout=0") == 0);
    CHECK(strcmp(s_option(&ep, "hostaddr"), "10.0.0.7") == 0);
    CHECK(strcmp(s_option(&ep, "target_session_attrs"), "read-write") == 0);
    /* the five fields are fields, never options; the password neither */
    for (const char *k = "user\0password\0host\0port\0dbname\0"; *k;
         k += strlen(k) + 1)
    {
        CHECK(s_option(&ep, k) == NULL);
    }
    config_endpoint_clear(&ep);
    CHECK(ep.options == NULL && ep.noptions == 0);

    /* the keyword=value form too; hostaddr alone names the host */
    CHECK(config_parse_uri("hostaddr=10.1.2.3 dbname=x sslmode=require "
                           "passfile=/srv/pgpass",
                           &ep, &error) == 0);
    CHECK(strcmp(ep.host, "10.1.2.3") == 0);
    CHECK(strcmp(s_option(&ep, "sslmode"), "require") == 0);
    CHECK(strcmp(s_option(&ep, "passfile"), "/srv/pgpass") == 0);
    config_endpoint_clear(&ep);

    /* no options: none kept */
    CHECK(config_parse_uri("postgresql://h/db", &ep, &error) == 0);
    CHECK(ep.noptions == 0 && ep.options == NULL);
    config_endpoint_clear(&ep);

    /* each refusal names the option and what was expected; a secret's
     * value is never shown */
    static const struct
    {
        const char *uri;
        const char *says;
        const char *says_too;
        const char *never;
    } refused[] = {
        {"postgresql://h/db?sslmode=strict",
         "option \"sslmode\": value \"strict\" is not an sslmode",
         "expected disable, allow, prefer, require, verify-ca or verify-full",
         NULL},
        /* libpq's own refusal: invalid URI query parameter */
        {"postgresql://h/db?sslmod=require", "\"sslmod\"", "", NULL},
        /* what pgconvoy decides itself */
        {"postgresql://h/db?replication=database",
         "option \"replication\" is not supported", "expected it left out",
         NULL},
        {"postgresql://h/db?client_encoding=LATIN1",
         "option \"client_encoding\" is not supported", "UTF8", NULL},
        {"postgresql://h/db?application_name=app",
         "option \"application_name\" is not supported", "pgconvoy-<role>",
         NULL},
        {"postgresql://h/db?fallback_application_name=app",
         "option \"fallback_application_name\" is not supported",
         "pgconvoy-<role>", NULL},
        /* what an agent could not honour as meant */
        {"service=prod dbname=x", "option \"service\" is not supported",
         "pg_service.conf", NULL},
        {"postgresql://h1,h2/db", "option \"host\": value \"h1,h2\" is a list",
         "expected a single host", NULL},
        {"host=h dbname=x port=5432,5433", "option \"port\"",
         "expected a single port", NULL},
        {"hostaddr=1.2.3.4,5.6.7.8 dbname=x", "option \"hostaddr\"",
         "expected a single host", NULL},
        /* a secret other than the password */
        {"postgresql://h/db?sslpassword=hunter2",
         "option \"sslpassword\" is not supported: it is a secret",
         "expected a key file that is not encrypted", "hunter2"},
        /* a password pg_dump's password file could not hold */
        {"host=h dbname=x password='a\nb'", "the password holds a line break",
         "expected a password on one line", "a\nb"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
        e = s_uri_error(refused[i].uri);
        CHECK_CONTAINS(e, refused[i].says);
        CHECK_CONTAINS(e, refused[i].says_too);
        CHECK(refused[i].never == NULL || strstr(e, refused[i].never) == NULL);
        free(e);
    }
}

static void
s_test_check_option(void)
{
    char *e = NULL;

    CHECK(config_check_option("sslmode", "verify-ca", &e) == 0);
    CHECK(config_check_option("keepalives", "0", &e) == 0);
    CHECK(config_check_option("gssencmode", "disable", &e) == 0);
    CHECK(config_check_option("nonsense", "1", &e) == -1);
    CHECK_CONTAINS(e, "option \"nonsense\" is not a libpq connection "
                      "setting");
    free(e);
}

static void
s_test_endpoint_tls(void)
{
    config_endpoint_t ep;
    char *error = NULL;

    /* DMS's booleans: TLS with the server's certificate checked */
    CHECK(config_parse_endpoint("s.json",
                                "{\"userName\": \"u\", \"serverName\": "
                                "\"h\", \"encryptConnection\": true, "
                                "\"sslRootCert\": \"/etc/pgconvoy/ca.crt\"}",
                                &ep, &error) == 0);
    CHECK(ep.noptions == 2);
    CHECK(strcmp(s_option(&ep, "sslmode"), "verify-full") == 0);
    CHECK(strcmp(s_option(&ep, "sslrootcert"), "/etc/pgconvoy/ca.crt") == 0);
    config_endpoint_clear(&ep);

    /* ... or not checked */
    CHECK(config_parse_endpoint(
              "s.json",
              "{\"userName\": \"u\", \"serverName\": \"h\", "
              "\"encryptConnection\": true, \"trustServerCertificate\": "
              "true}",
              &ep, &error) == 0);
    CHECK(strcmp(s_option(&ep, "sslmode"), "require") == 0);
    config_endpoint_clear(&ep);

    /* ... or no TLS, as a DMS file with both false says */
    CHECK(config_parse_endpoint(
              "s.json",
              "{\"userName\": \"u\", \"serverName\": \"h\", "
              "\"encryptConnection\": false, \"trustServerCertificate\": "
              "false}",
              &ep, &error) == 0);
    CHECK(strcmp(s_option(&ep, "sslmode"), "disable") == 0);
    config_endpoint_clear(&ep);

    /* libpq's words, client certificate and key, revocation list */
    CHECK(config_parse_endpoint(
              "s.json",
              "{\"userName\": \"u\", \"serverName\": \"h\", "
              "\"sslMode\": \"verify-ca\", \"sslCert\": \"/c.crt\", "
              "\"sslKey\": \"/c.key\", \"sslCrl\": \"/crl.pem\"}",
              &ep, &error) == 0);
    CHECK(ep.noptions == 4);
    CHECK(strcmp(s_option(&ep, "sslmode"), "verify-ca") == 0);
    CHECK(strcmp(s_option(&ep, "sslcert"), "/c.crt") == 0);
    CHECK(strcmp(s_option(&ep, "sslkey"), "/c.key") == 0);
    CHECK(strcmp(s_option(&ep, "sslcrl"), "/crl.pem") == 0);
    config_endpoint_clear(&ep);

    /* none of them: libpq's default, as before */
    CHECK(config_parse_endpoint("s.json",
                                "{\"userName\": \"u\", \"serverName\": "
                                "\"h\"}",
                                &ep, &error) == 0);
    CHECK(ep.noptions == 0);
    config_endpoint_clear(&ep);
}

static void
s_test_endpoint_tls_errors(void)
{
    /* the fields after {"userName": "u", "serverName": "h", and what the
     * refusal says */
    static const struct
    {
        const char *fields;
        const char *says;
        const char *says_too;
    } refused[] = {
        {"\"sslMode\": \"strict\"",
         "field \"sslMode\": value \"strict\" is not an sslmode",
         "expected disable, allow, prefer, require, verify-ca or verify-full"},
        {"\"encryptConnection\": \"yes\"",
         "field \"encryptConnection\": value \"yes\" is a string",
         "expected true or false"},
        {"\"trustServerCertificate\": 1",
         "field \"trustServerCertificate\": value 1 is a int",
         "expected true or false"},
        {"\"trustServerCertificate\": true",
         "field \"trustServerCertificate\": value true applies only with "
         "\"encryptConnection\": true",
         "expected both true"},
        {"\"sslMode\": \"require\", \"encryptConnection\": true",
         "fields \"sslMode\" and \"encryptConnection\" are both given",
         "expected either sslMode or encryptConnection"},
        {"\"sslRootCert\": \"\"", "field \"sslRootCert\": value \"\" is empty",
         "expected the path of a file"},
        {"\"sslKey\": [\"/k\"]", "field \"sslKey\": value [\"/k\"] is a array",
         "expected a string"},
        {"\"sslmode\": \"require\"", "field \"sslmode\": unknown field",
         "sslMode"},
        /* json-c keeps the later of two members of one name */
        {"\"serverName\": \"h1,h2\"",
         "field \"serverName\": option \"host\": value \"h1,h2\" is a list",
         "expected a single host"},
        /* the password itself is never shown */
        {"\"password\": \"a\\nb\"",
         "field \"password\": the value holds a line break",
         "expected a password on one line"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
        char *json = xasprintf("{\"userName\": \"u\", \"serverName\": \"h\", "
                               "%s}",
                               refused[i].fields);
        char *e = s_endpoint_error(json);
        CHECK_CONTAINS(e, refused[i].says);
        CHECK_CONTAINS(e, refused[i].says_too);
        CHECK(strstr(e, "a\nb") == NULL);
        free(e);
        free(json);
    }
}

static void
s_test_size(void)
{
    int64_t bytes = 0;
    char *error = NULL;

    CHECK(config_parse_size("256MB", &bytes, &error) == 0);
    CHECK(bytes == 256LL * 1024 * 1024);
    CHECK(config_parse_size("1 GB", &bytes, &error) == 0);
    CHECK(bytes == 1024LL * 1024 * 1024);
    CHECK(config_parse_size("12345", &bytes, &error) == 0 && bytes == 12345);
    CHECK(config_parse_size("0", &bytes, &error) == 0 && bytes == 0);
    CHECK(config_parse_size("2kB", &bytes, &error) == 0 && bytes == 2048);
    CHECK(config_parse_size("10mb", &bytes, &error) == -1);
    CHECK_CONTAINS(error, "\"10mb\" is not a size");
    free(error);
    error = NULL;
    CHECK(config_parse_size("-1MB", &bytes, &error) == -1);
    free(error);
    error = NULL;
    CHECK(config_parse_size("MB", &bytes, &error) == -1);
    free(error);
    error = NULL;
    CHECK(config_parse_size("99999999TB", &bytes, &error) == -1);
    free(error);
}

static void
s_test_duration(void)
{
    int64_t ms = 0;
    char *error = NULL;

    CHECK(config_parse_duration("20s", &ms, &error) == 0 && ms == 20000);
    CHECK(config_parse_duration("1500ms", &ms, &error) == 0 && ms == 1500);
    CHECK(config_parse_duration("2 min", &ms, &error) == 0 && ms == 120000);
    CHECK(config_parse_duration("1h", &ms, &error) == 0 && ms == 3600000);
    /* a bare number says nothing of its unit */
    CHECK(config_parse_duration("20", &ms, &error) == -1);
    CHECK_CONTAINS(error, "\"20\" is not a duration");
    free(error);
    error = NULL;
    CHECK(config_parse_duration("-1s", &ms, &error) == -1);
    free(error);
    error = NULL;
    CHECK(config_parse_duration("9223372036854775807h", &ms, &error) == -1);
    free(error);
}

/* Issue 9: input quoted in an error never breaks its line. */
static void
s_test_one_line(void)
{
    char *e = NULL;

    e = s_endpoint_error("{\"userName\": \"u\", \"serverName\": \"h\", "
                         "\"a\\nE forged line\": 1}");
    CHECK_CONTAINS(e, "field \"a\\nE forged line\": unknown field");
    CHECK(strchr(e, '\n') == NULL);
    free(e);

    e = s_options_error("[{\"name\": \"d\\u001b[31m\"}, "
                        "{\"name\": \"d\\u001b[31m\"}]");
    CHECK_CONTAINS(e, "value \"d\\x1b[31m\" is listed twice");
    free(e);

    e = NULL;
    CHECK(config_check_option("sslmode", "require\r\nx", &e) == -1);
    CHECK_CONTAINS(e, "value \"require\\r\\nx\" is not an sslmode");
    free(e);

    e = NULL;
    CHECK(config_parse_uri("postgresql://h/d?nonsense=1",
                           &(config_endpoint_t){0}, &e) == -1);
    free(e);
    e = NULL;
    CHECK(config_parse_uri("host='unterminated", &(config_endpoint_t){0}, &e) ==
          -1);
    CHECK(strchr(e, '\n') == NULL); /* libpq's message ends in one */
    free(e);
}

int
main(void)
{
    s_test_one_line();
    s_test_size();
    s_test_duration();
    s_test_endpoint_seed();
    s_test_endpoint_errors();
    s_test_options();
    s_test_options_errors();
    s_test_uri();
    s_test_uri_options();
    s_test_check_option();
    s_test_endpoint_tls();
    s_test_endpoint_tls_errors();
    puts("test_config: ok");
    return 0;
}
