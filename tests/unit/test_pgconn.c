/*
 * tests/unit/test_pgconn.c
 *     The parameters of a connection (no server needed): the user's
 *     libpq settings reach libpq, pgconvoy's defaults give way to them,
 *     and what pgconvoy's correctness depends on gives way to nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* The value libpq ends up with for key: the last one given, as in
 * PQconnectdbParams (a later keyword replaces an earlier one). */
static const char *
s_effective(const pgconn_params_t *p, const char *key)
{
    const char *value = NULL;

    CHECK(p->keys[p->count] == NULL && p->values[p->count] == NULL);
    for (size_t i = 0; i < p->count; i++)
    {
        if (strcmp(p->keys[i], key) == 0)
        {
            value = p->values[i];
        }
    }
    return value;
}

/* The value of key in a conninfo string, as libpq parses it; allocated. */
static char *
s_parsed(const char *conninfo, const char *key)
{
    char *error = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &error);
    char *value = NULL;

    CHECK(opts != NULL);
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
    {
        if (strcmp(o->keyword, key) == 0 && o->val != NULL)
        {
            value = xstrdup(o->val);
        }
    }
    PQconninfoFree(opts);
    return value;
}

static void
s_test_params(void)
{
    Pgconvoy__ConnOption opts[] = {
        PGCONVOY__CONN_OPTION__INIT, PGCONVOY__CONN_OPTION__INIT,
        PGCONVOY__CONN_OPTION__INIT, PGCONVOY__CONN_OPTION__INIT,
        PGCONVOY__CONN_OPTION__INIT};
    Pgconvoy__ConnOption *ptrs[5];
    Pgconvoy__Endpoint ep = PGCONVOY__ENDPOINT__INIT;
    pgconn_params_t p;

    opts[0].key = "sslmode";
    opts[0].value = "verify-full";
    opts[1].key = "sslrootcert";
    opts[1].value = "/etc/ca's dir\\ca.crt";
    opts[2].key = "keepalives_idle";
    opts[2].value = "99";
    opts[3].key = "options";
    opts[3].value = "-c work_mem=64MB -c DateStyle=German";
    opts[4].key = "connect_timeout";
    opts[4].value = "3";
    for (size_t i = 0; i < 5; i++)
    {
        ptrs[i] = &opts[i];
    }
    ep.host = "db.example.com";
    ep.port = 6543;
    ep.user = "alice";
    ep.password = "s3cret";
    ep.dbname = "shop";
    ep.options = ptrs;
    ep.n_options = 5;

    pgconn_params_init(&p, &ep, NULL, "copy", NULL, true);
    /* the user's settings */
    CHECK(strcmp(s_effective(&p, "sslmode"), "verify-full") == 0);
    CHECK(strcmp(s_effective(&p, "sslrootcert"), opts[1].value) == 0);
    /* pgconvoy's defaults, replaced where the user set them */
    CHECK(strcmp(s_effective(&p, "keepalives_idle"), "99") == 0);
    CHECK(strcmp(s_effective(&p, "connect_timeout"), "3") == 0);
    CHECK(strcmp(s_effective(&p, "keepalives"), "1") == 0);
    CHECK(strcmp(s_effective(&p, "keepalives_interval"), "10") == 0);
    CHECK(strcmp(s_effective(&p, "keepalives_count"), "3") == 0);
    /* the server's keepalives, then the user's -c, the pinned ones
     * after: a later -c wins */
    CHECK(strcmp(s_effective(&p, "options"),
                 PGCONN_SERVER_KEEPALIVES " -c work_mem=64MB -c "
                                          "DateStyle=German " PGCONN_PINNED_OPTIONS) == 0);
    CHECK(strcmp(s_effective(&p, "client_encoding"), "UTF8") == 0);
    CHECK(strcmp(s_effective(&p, "application_name"), "pgconvoy-copy") == 0);
    CHECK(strcmp(s_effective(&p, "host"), "db.example.com") == 0);
    CHECK(strcmp(s_effective(&p, "port"), "6543") == 0);
    CHECK(strcmp(s_effective(&p, "dbname"), "shop") == 0);
    CHECK(strcmp(s_effective(&p, "password"), "s3cret") == 0);
    CHECK(s_effective(&p, "replication") == NULL);

    /* a child's command line: every setting, quoted, but no password */
    char *conninfo = pgconn_params_conninfo(&p);
    CHECK(strstr(conninfo, "s3cret") == NULL);
    char *value = s_parsed(conninfo, "sslrootcert");
    CHECK(strcmp(value, opts[1].value) == 0);
    free(value);
    value = s_parsed(conninfo, "sslmode");
    CHECK(strcmp(value, "verify-full") == 0);
    free(value);
    CHECK(s_parsed(conninfo, "password") == NULL);
    free(conninfo);
    pgconn_params_clear(&p);

    /* another database, a replication connection, nothing pinned (a tool
     * such as pg_dump pins its own): the keepalives and the user's
     * options */
    pgconn_params_init(&p, &ep, "other", "cdc", "database", false);
    CHECK(strcmp(s_effective(&p, "dbname"), "other") == 0);
    CHECK(strcmp(s_effective(&p, "replication"), "database") == 0);
    char *expected = xasprintf("%s %s", PGCONN_SERVER_KEEPALIVES, opts[3].value);
    CHECK(strcmp(s_effective(&p, "options"), expected) == 0);
    free(expected);
    CHECK(s_effective(&p, "client_encoding") == NULL);
    pgconn_params_clear(&p);
}

/* Options that only a client other than the CLI could send (the CLI
 * refuses them): pgconvoy's own still win. */
static void
s_test_params_override(void)
{
    static const char *const rogue[][2] = {
        {"host", "elsewhere"},       {"dbname", "postgres"},
        {"replication", "false"},    {"client_encoding", "LATIN1"},
        {"application_name", "app"}, {"port", "1"},
    };
    Pgconvoy__ConnOption opts[6];
    Pgconvoy__ConnOption *ptrs[6];
    Pgconvoy__Endpoint ep = PGCONVOY__ENDPOINT__INIT;
    pgconn_params_t p;

    for (size_t i = 0; i < 6; i++)
    {
        pgconvoy__conn_option__init(&opts[i]);
        opts[i].key = (char *) rogue[i][0];
        opts[i].value = (char *) rogue[i][1];
        ptrs[i] = &opts[i];
    }
    ep.host = "h";
    ep.port = 5432;
    ep.user = "u";
    ep.dbname = "db";
    ep.options = ptrs;
    ep.n_options = 6;
    pgconn_params_init(&p, &ep, NULL, "slot", "database", true);
    CHECK(strcmp(s_effective(&p, "host"), "h") == 0);
    CHECK(strcmp(s_effective(&p, "dbname"), "db") == 0);
    CHECK(strcmp(s_effective(&p, "port"), "5432") == 0);
    CHECK(strcmp(s_effective(&p, "replication"), "database") == 0);
    CHECK(strcmp(s_effective(&p, "client_encoding"), "UTF8") == 0);
    CHECK(strcmp(s_effective(&p, "application_name"), "pgconvoy-slot") == 0);
    CHECK(s_effective(&p, "password") == NULL); /* none: libpq finds it */
    pgconn_params_clear(&p);
}

/* The catalog keeps the options as a conninfo string and gives them back
 * as they were. */
static void
s_test_options_roundtrip(void)
{
    Pgconvoy__ConnOption opts[2] = {PGCONVOY__CONN_OPTION__INIT,
                                    PGCONVOY__CONN_OPTION__INIT};
    Pgconvoy__ConnOption *ptrs[2] = {&opts[0], &opts[1]};
    Pgconvoy__Endpoint ep = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__Endpoint back = PGCONVOY__ENDPOINT__INIT;
    char *error = NULL;

    opts[0].key = "sslmode";
    opts[0].value = "require";
    opts[1].key = "options";
    opts[1].value = "-c search_path='a b' -c x=\\y";
    ep.options = ptrs;
    ep.n_options = 2;

    char *text = pgconn_options_conninfo(&ep);
    CHECK(pgconn_options_parse(&back, text, &error) == 0);
    CHECK(back.n_options == 2);
    for (size_t i = 0; i < 2; i++)
    {
        bool found = false;
        for (size_t j = 0; j < back.n_options; j++)
        {
            found =
                found || (strcmp(back.options[j]->key, opts[i].key) == 0 &&
                          strcmp(back.options[j]->value, opts[i].value) == 0);
        }
        CHECK(found);
    }
    for (size_t j = 0; j < back.n_options; j++)
    {
        pgconvoy__conn_option__free_unpacked(back.options[j], NULL);
    }
    free(back.options);
    free(text);

    /* none: an empty string, and nothing back */
    ep.n_options = 0;
    text = pgconn_options_conninfo(&ep);
    CHECK(strcmp(text, "") == 0);
    Pgconvoy__Endpoint none = PGCONVOY__ENDPOINT__INIT;
    CHECK(pgconn_options_parse(&none, text, &error) == 0);
    CHECK(none.n_options == 0 && none.options == NULL);
    free(text);

    CHECK(pgconn_options_parse(&none, "sslmode='unterminated", &error) == -1);
    CHECK_CONTAINS(error, "malformed");
    free(error);
}

int
main(void)
{
    s_test_params();
    s_test_params_override();
    s_test_options_roundtrip();
    puts("test_pgconn: ok");
    return 0;
}
