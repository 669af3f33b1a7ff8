/*
 * agent/unit_prepare.c
 *     The prepare unit: every check that can refuse a task before anything
 *     is written, and the list of tables to migrate with their sizes.
 *
 * Nothing here writes, on either server. Every problem found is reported,
 * not only the first, so that a user fixes them all in one go.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/unit.h"
#include "common/pgconn.h"
#include "common/qualname.h"
#include "common/strbuf.h"

/*
 * The tables to copy: ordinary tables and leaf partitions (a partitioned
 * parent holds no rows of its own), outside system schemas and
 * extensions, largest first so that the longest copies start first.
 * Binary COPY only when every column has a built-in type: array and
 * composite values carry their element types' OIDs, which differ between
 * servers for user-defined types.
 */
static const char *const s_tables_sql =
    "SELECT n.nspname, c.relname, pg_table_size(c.oid), "
    "       greatest(c.reltuples, 0)::bigint, "
    "       NOT EXISTS (SELECT 1 FROM pg_attribute a "
    "                   WHERE a.attrelid = c.oid AND a.attnum > 0 "
    "                     AND NOT a.attisdropped AND a.atttypid >= 16384), "
    "       (SELECT string_agg(quote_ident(a.attname), ', ' "
    "                          ORDER BY a.attnum) "
    "          FROM pg_attribute a "
    "         WHERE a.attrelid = c.oid AND a.attnum > 0 "
    "           AND NOT a.attisdropped AND a.attgenerated = ''), "
    "       has_table_privilege(c.oid, 'SELECT'), "
    "       pg_relation_size(c.oid) / current_setting('block_size')::int "
    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    " WHERE c.relkind = 'r' "
    "   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgferry') "
    "   AND n.nspname NOT LIKE 'pg\\_%' "
    "   AND NOT EXISTS (SELECT 1 FROM pg_depend d "
    "                   WHERE d.classid = 'pg_class'::regclass "
    "                     AND d.objid = c.oid AND d.deptype = 'e') "
    "   AND ($1::oid[] IS NULL OR c.oid = ANY ($1::oid[])) "
    " ORDER BY pg_table_size(c.oid) DESC, n.nspname, c.relname";

/* A selected name's table, or its leaf partitions when partitioned
 * (pg_partition_tree() lists nothing for a table outside any tree). */
static const char *const s_lookup_sql =
    "SELECT coalesce(t.relid::oid, c.oid) FROM pg_class c "
    "  JOIN pg_namespace n ON n.oid = c.relnamespace "
    "  LEFT JOIN LATERAL pg_partition_tree(c.oid) t ON true "
    " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') "
    "   AND (t.relid IS NULL OR t.isleaf)";

typedef struct
{
    const Pgferry__Assign *assign; /* borrowed */
    const char *source_db;         /* borrowed */
    const char *target_db;         /* borrowed */
    Pgferry__Result *res;          /* borrowed: where problems go */
} prepare_t;

/* Builds the "{oid,oid}" filter of the selected tables; NULL for all. */
static char *
s_selected_oids(prepare_t *p, PGconn *src)
{
    const Pgferry__Assign *a = p->assign;
    strbuf_t *oids = NULL;

    if (a->n_selected_tables == 0)
    {
        return NULL;
    }
    oids = strbuf_new();
    strbuf_append(oids, "{");
    for (size_t i = 0; i < a->n_selected_tables; i++)
    {
        char *schema = NULL;
        char *table = NULL;
        char *error = NULL;
        PGresult *res = NULL;

        if (qualname_parse(a->selected_tables[i], &schema, &table, &error) != 0)
        {
            unit_add_problem(p->res, xasprintf("source database \"%s\": %s",
                                               p->source_db, error));
            free(error);
            continue;
        }
        const char *params[2] = {schema, table};
        res = pgconn_query(src, s_lookup_sql, 2, params, &error);
        if (res == NULL)
        {
            unit_add_problem(
                p->res, xasprintf("source database \"%s\": could not "
                                  "look up table \"%s\": %s",
                                  p->source_db, a->selected_tables[i], error));
            free(error);
        }
        else if (PQntuples(res) == 0)
        {
            unit_add_problem(p->res,
                             xasprintf("source database \"%s\": selected "
                                       "table %s does not exist",
                                       p->source_db, a->selected_tables[i]));
        }
        for (int r = 0; res != NULL && r < PQntuples(res); r++)
        {
            strbuf_appendf(oids, "%s%s", strbuf_len(oids) > 1 ? "," : "",
                           PQgetvalue(res, r, 0));
        }
        PQclear(res);
        free(schema);
        free(table);
    }
    strbuf_append(oids, "}");
    return strbuf_finish(&oids);
}

/* Returns the server_version_num and sets *version for the status. */
static int
s_server_version(PGconn *conn, char **version)
{
    const char *text = PQparameterStatus(conn, "server_version");

    *version = xasprintf("PostgreSQL %s", text ? text : "?");
    return PQserverVersion(conn);
}

/* Lists the source's tables into p->res->tables. */
static void
s_list_tables(prepare_t *p, PGconn *src)
{
    char *oids = s_selected_oids(p, src);
    const char *params[1] = {oids};
    char *error = NULL;
    PGresult *res = NULL;

    if (p->assign->n_selected_tables > 0 && strcmp(oids, "{}") == 0)
    {
        free(oids);
        return; /* every selected table was refused above */
    }
    res = pgconn_query(src, s_tables_sql, 1, params, &error);
    if (res == NULL)
    {
        unit_add_problem(p->res, xasprintf("source database \"%s\": could "
                                           "not list tables: %s",
                                           p->source_db, error));
        free(error);
        free(oids);
        return;
    }
    for (int r = 0; r < PQntuples(res); r++)
    {
        Pgferry__TableRef *t = xcalloc(1, sizeof *t);
        pgferry__table_ref__init(t);
        t->schema = xstrdup(PQgetvalue(res, r, 0));
        t->name = xstrdup(PQgetvalue(res, r, 1));
        t->bytes = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        t->rows = strtoll(PQgetvalue(res, r, 3), NULL, 10);
        t->binary = PQgetvalue(res, r, 4)[0] == 't';
        t->columns = xstrdup(PQgetvalue(res, r, 5));
        t->pages = strtoll(PQgetvalue(res, r, 7), NULL, 10);
        if (PQgetvalue(res, r, 6)[0] != 't')
        {
            unit_add_problem(p->res,
                             xasprintf("source database \"%s\": user \"%s\" "
                                       "cannot read table \"%s.%s\", "
                                       "expected SELECT privilege",
                                       p->source_db, p->assign->source->user,
                                       t->schema, t->name));
        }
        unit_add_table(p->res, t);
    }
    if (PQntuples(res) == 0)
    {
        unit_add_problem(p->res, xasprintf("source database \"%s\" has no "
                                           "table to migrate",
                                           p->source_db));
    }
    PQclear(res);
    free(oids);
}

/*
 * Checks each table on the target: none may hold rows; either all exist
 * (the user created the schema, as the seed does) or none do.
 */
static void
s_check_target_tables(prepare_t *p, PGconn *tgt)
{
    Pgferry__Result *res = p->res;
    size_t existing = 0;
    strbuf_t *missing = strbuf_new();

    for (size_t i = 0; i < res->n_tables; i++)
    {
        Pgferry__TableRef *t = res->tables[i];
        char *qualified = pgconn_quote_qualified(tgt, t->schema, t->name);
        const char *params[1] = {qualified};
        char *error = NULL;
        PGresult *r = pgconn_query(tgt, "SELECT to_regclass($1) IS NOT NULL", 1,
                                   params, &error);

        if (r != NULL && PQgetvalue(r, 0, 0)[0] == 't')
        {
            char *sql =
                xasprintf("SELECT EXISTS (SELECT 1 FROM %s)", qualified);
            PGresult *rows = pgconn_query(tgt, sql, 0, NULL, &error);
            existing++;
            if (rows != NULL && PQgetvalue(rows, 0, 0)[0] == 't')
            {
                unit_add_problem(res,
                                 xasprintf("target database \"%s\": table "
                                           "\"%s.%s\" already holds rows, "
                                           "expected an empty table",
                                           p->target_db, t->schema, t->name));
            }
            PQclear(rows);
            free(sql);
        }
        else if (r != NULL)
        {
            strbuf_appendf(missing, "%s\"%s.%s\"",
                           strbuf_len(missing) ? ", " : "", t->schema, t->name);
        }
        if (error != NULL)
        {
            unit_add_problem(res, xasprintf("target database \"%s\": could "
                                            "not check table \"%s.%s\": %s",
                                            p->target_db, t->schema, t->name,
                                            error));
            free(error);
        }
        PQclear(r);
        free(qualified);
    }
    if (existing > 0 && existing < res->n_tables)
    {
        unit_add_problem(res,
                         xasprintf("target database \"%s\" has %zu of the %zu "
                                   "tables but not %s: expected all of them "
                                   "(schema created beforehand) or none",
                                   p->target_db, existing, res->n_tables,
                                   strbuf_data(missing)));
    }
    res->target_has_schema = existing > 0 && existing == res->n_tables;
    strbuf_destroy(&missing);
}

static void
s_check_target_privileges(prepare_t *p, PGconn *tgt)
{
    char *error = NULL;
    PGresult *r = pgconn_query(
        tgt,
        "SELECT has_database_privilege(current_database(), 'CREATE'), "
        "current_user",
        0, NULL, &error);

    if (r == NULL)
    {
        unit_add_problem(p->res, xasprintf("target database \"%s\": could "
                                           "not check privileges: %s",
                                           p->target_db, error));
        free(error);
        return;
    }
    if (PQgetvalue(r, 0, 0)[0] != 't')
    {
        unit_add_problem(p->res,
                         xasprintf("target database \"%s\": user \"%s\" "
                                   "cannot create schemas, expected CREATE "
                                   "privilege on the database",
                                   p->target_db, PQgetvalue(r, 0, 1)));
    }
    PQclear(r);
}

int
unit_prepare_run(unit_t *self, Pgferry__Result *res)
{
    const Pgferry__Assign *a = unit_assign(self);
    prepare_t p = {a, a->source->dbname, a->target->dbname, res};
    char *error = NULL;
    PGconn *src = pgconn_connect(a->source, NULL, "source", "prepare", &error);
    PGconn *tgt = NULL;
    int src_version = 0;

    if (src == NULL)
    {
        unit_add_problem(res, error);
        error = NULL;
    }
    tgt = pgconn_connect(a->target, NULL, "target", "prepare", &error);
    if (tgt == NULL)
    {
        unit_add_problem(res, error);
        error = NULL;
    }
    if (src != NULL)
    {
        src_version = s_server_version(src, &res->source_version);
        s_list_tables(&p, src);
    }
    if (tgt != NULL)
    {
        int tgt_version = s_server_version(tgt, &res->target_version);
        if (src != NULL && tgt_version / 10000 < src_version / 10000)
        {
            unit_add_problem(
                res, xasprintf("target server %s:%u runs %s, older "
                               "than the source's %s: expected the "
                               "same major version or a later one",
                               a->target->host, a->target->port,
                               res->target_version, res->source_version));
        }
        s_check_target_tables(&p, tgt);
        if (!res->target_has_schema)
        {
            s_check_target_privileges(&p, tgt);
        }
    }
    PQfinish(src);
    PQfinish(tgt);
    if (res->n_problems > 0)
    {
        return unit_fail(res,
                         xasprintf("%zu problem%s found", res->n_problems,
                                   res->n_problems == 1 ? "" : "s"),
                         false);
    }
    return 0;
}
