/*
 * tests/unit/test_config.c
 *     The seed's connection and database-options JSON: what is accepted,
 *     and that every refusal names the file, the field and the value.
 */
#include <stdlib.h>

#include "check.h"
#include "common/config.h"

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

int
main(void)
{
    s_test_size();
    s_test_endpoint_seed();
    s_test_endpoint_errors();
    s_test_options();
    s_test_options_errors();
    s_test_uri();
    puts("test_config: ok");
    return 0;
}
