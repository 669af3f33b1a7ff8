/*
 * agent/prepare_target.c
 *     What the prepare unit checks on the target database before a task
 *     is accepted. Nothing here writes.
 */
#include "agent/prepare_target.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/target_tables.h"
#include "agent/unit.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* Existing tables whose rows one statement looks for */
#define PREPARE_TARGET_ROWS_CHUNK 256

/*
 * Adds a problem for each table of chunk (indexes into res->tables) that
 * holds rows, found by one statement: SELECT k WHERE EXISTS (SELECT 1
 * FROM table k) UNION ALL ... Identifiers quoted, no value in the SQL.
 */
static void
s_check_rows(const char *target_db, PGconn *tgt, const size_t *chunk, size_t n,
             Pgconvoy__Result *res)
{
    strbuf_t *sql = strbuf_new();
    char *error = NULL;

    for (size_t k = 0; k < n; k++)
    {
        const Pgconvoy__TableRef *t = res->tables[chunk[k]];
        char *qualified = pgconn_quote_qualified(tgt, t->schema, t->name);
        strbuf_appendf(sql, "%sSELECT %zu WHERE EXISTS (SELECT 1 FROM %s)",
                       k > 0 ? " UNION ALL " : "", k, qualified);
        free(qualified);
    }
    PGresult *r = pgconn_query(tgt, strbuf_data(sql), 0, NULL, &error);
    if (r == NULL)
    {
        const Pgconvoy__TableRef *t = res->tables[chunk[0]];
        unit_add_problem(res, xasprintf("target database \"%s\": could not "
                                        "check whether table \"%s.%s\" or "
                                        "the %zu after it hold rows: %s",
                                        target_db, t->schema, t->name, n - 1,
                                        error));
    }
    for (int row = 0; r != NULL && row < PQntuples(r); row++)
    {
        size_t k = strtoull(PQgetvalue(r, row, 0), NULL, 10);
        const Pgconvoy__TableRef *t = res->tables[chunk[k < n ? k : 0]];
        unit_add_problem(res, xasprintf("target database \"%s\": table "
                                        "\"%s.%s\" already holds rows, "
                                        "expected an empty table",
                                        target_db, t->schema, t->name));
    }
    PQclear(r);
    free(error);
    strbuf_destroy(&sql);
}

/* None may hold rows; either all exist (the user created the schema, as
 * the seed does) or none do. */
void
prepare_target_check_tables(const Pgconvoy__Assign *a, PGconn *tgt,
                            Pgconvoy__Result *res)
{
    const char *target_db = a->target->dbname;
    bool *exists = xcalloc(res->n_tables ? res->n_tables : 1, sizeof *exists);
    strbuf_t *missing = strbuf_new();
    size_t *chunk = xcalloc(PREPARE_TARGET_ROWS_CHUNK, sizeof *chunk);
    size_t in_chunk = 0;
    size_t existing = 0;
    char *error = NULL;

    if (target_tables_find(tgt, res->tables, res->n_tables, exists, &error) !=
        0)
    {
        unit_add_problem(res, xasprintf("target database \"%s\": could not "
                                        "look for the %zu tables: %s",
                                        target_db, res->n_tables, error));
        goto cleanup;
    }
    for (size_t i = 0; i < res->n_tables; i++)
    {
        const Pgconvoy__TableRef *t = res->tables[i];

        if (!exists[i])
        {
            strbuf_appendf(missing, "%s\"%s.%s\"",
                           strbuf_len(missing) ? ", " : "", t->schema, t->name);
            continue;
        }
        existing++;
        chunk[in_chunk++] = i;
        if (in_chunk == PREPARE_TARGET_ROWS_CHUNK)
        {
            s_check_rows(target_db, tgt, chunk, in_chunk, res);
            in_chunk = 0;
        }
    }
    if (in_chunk > 0)
    {
        s_check_rows(target_db, tgt, chunk, in_chunk, res);
    }
    if (existing > 0 && existing < res->n_tables)
    {
        unit_add_problem(res,
                         xasprintf("target database \"%s\" has %zu of the %zu "
                                   "tables but not %s: expected all of them "
                                   "(schema created beforehand) or none",
                                   target_db, existing, res->n_tables,
                                   strbuf_data(missing)));
    }
    res->target_has_schema = existing > 0 && existing == res->n_tables;

cleanup:
    free(error);
    free(chunk);
    free(exists);
    strbuf_destroy(&missing);
}

void
prepare_target_check_privileges(const Pgconvoy__Assign *a, PGconn *tgt,
                                Pgconvoy__Result *res)
{
    const char *target_db = a->target->dbname;
    char *error = NULL;
    PGresult *r = pgconn_query(
        tgt,
        "SELECT has_database_privilege(current_database(), 'CREATE'), "
        "current_user",
        0, NULL, &error);

    if (r == NULL)
    {
        unit_add_problem(res, xasprintf("target database \"%s\": could "
                                        "not check privileges: %s",
                                        target_db, error));
        free(error);
        return;
    }
    if (PQgetvalue(r, 0, 0)[0] != 't')
    {
        unit_add_problem(res,
                         xasprintf("target database \"%s\": user \"%s\" "
                                   "cannot create schemas, expected CREATE "
                                   "privilege on the database",
                                   target_db, PQgetvalue(r, 0, 1)));
    }
    PQclear(r);
}

/*
 * The NOT VALID CHECK constraints of the task's tables, and of the
 * domains their columns have, on the source ($1 schemas, $2 names): the
 * table's or domain's name, quoted, the constraint's, and which it is.
 */
static const char *const s_not_valid_sql =
    "WITH t AS (SELECT to_regclass(format('%I.%I', u.s, u.n)) AS rel "
    "             FROM unnest($1::text[], $2::text[]) AS u(s, n)) "
    "SELECT format('%I.%I', n.nspname, c.relname), k.conname, 'table' "
    "  FROM pg_constraint k JOIN t ON t.rel = k.conrelid "
    "  JOIN pg_class c ON c.oid = k.conrelid "
    "  JOIN pg_namespace n ON n.oid = c.relnamespace "
    " WHERE k.contype = 'c' AND NOT k.convalidated "
    "UNION "
    "SELECT format('%I.%I', n.nspname, d.typname), k.conname, 'domain' "
    "  FROM pg_constraint k JOIN pg_type d ON d.oid = k.contypid "
    "  JOIN pg_namespace n ON n.oid = d.typnamespace "
    "  JOIN pg_attribute a ON a.atttypid = d.oid "
    "  JOIN t ON t.rel = a.attrelid "
    " WHERE k.contype = 'c' AND NOT k.convalidated "
    "   AND a.attnum > 0 AND NOT a.attisdropped "
    " ORDER BY 1, 2";

/* Which of them ($1 objects, $2 constraints) the target has, by their
 * place in the list, from 0. */
static const char *const s_target_has_sql =
    "SELECT u.i - 1 "
    "  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(obj, con, i) "
    " WHERE EXISTS (SELECT FROM pg_constraint k "
    "                WHERE k.contype = 'c' AND k.conname = u.con "
    "                  AND (k.conrelid = to_regclass(u.obj) "
    "                       OR k.contypid = to_regtype(u.obj)))";

void
prepare_target_check_not_valid(const Pgconvoy__Assign *a, PGconn *src,
                               PGconn *tgt, Pgconvoy__Result *res)
{
    strbuf_t *arrays[2] = {strbuf_new(), strbuf_new()};
    PGresult *found = NULL;
    PGresult *had = NULL;
    char *error = NULL;

    found = target_tables_query(src, res->tables, res->n_tables,
                                s_not_valid_sql, &error);
    if (found == NULL || PQntuples(found) == 0)
    {
        goto cleanup; /* a notice only: nothing to say if it cannot tell */
    }
    for (int i = 0; i < 2; i++)
    {
        strbuf_reset(arrays[i]);
        strbuf_append(arrays[i], "{");
    }
    for (int row = 0; row < PQntuples(found); row++)
    {
        strbuf_append_array_text(arrays[0], PQgetvalue(found, row, 0));
        strbuf_append_array_text(arrays[1], PQgetvalue(found, row, 1));
    }
    for (int i = 0; i < 2; i++)
    {
        strbuf_append(arrays[i], "}");
    }
    const char *params[2] = {strbuf_data(arrays[0]), strbuf_data(arrays[1])};
    had = pgconn_query(tgt, s_target_has_sql, 2, params, &error);
    for (int row = 0; had != NULL && row < PQntuples(had); row++)
    {
        int k = atoi(PQgetvalue(had, row, 0));

        if (k < 0 || k >= PQntuples(found))
        {
            continue;
        }
        unit_add_notice(
            res,
            xasprintf("target database \"%s\": CHECK constraint \"%s\" "
                      "of %s %s is NOT VALID on the source, whose rows may "
                      "break it, and the target checks every row "
                      "loaded: one that breaks it fails the load; drop "
                      "it on the target and add it back NOT VALID "
                      "after the migration",
                      a->target->dbname, PQgetvalue(found, k, 1),
                      PQgetvalue(found, k, 2), PQgetvalue(found, k, 0)));
    }

cleanup:
    PQclear(had);
    PQclear(found);
    free(error);
    strbuf_destroy(&arrays[1]);
    strbuf_destroy(&arrays[0]);
}

/* The replication origin functions the apply calls, which only a
 * superuser may run unless granted */
static const char *const s_origin_functions_sql =
    "SELECT string_agg(f, ', ' ORDER BY f) "
    "  FROM unnest(ARRAY['pg_replication_origin_create(text)', "
    "                    'pg_replication_origin_drop(text)', "
    "                    'pg_replication_origin_oid(text)', "
    "                    'pg_replication_origin_progress(text, boolean)', "
    "                    'pg_replication_origin_session_setup(text)', "
    "                    'pg_replication_origin_session_reset()', "
    "                    'pg_replication_origin_xact_setup(pg_lsn, "
    "timestamp with time zone)']) AS f "
    " WHERE NOT has_function_privilege(f, 'EXECUTE')";

/* The foreign keys of the task's tables, and their triggers that a
 * replica session would not fire ($1 schemas, $2 names) */
static const char *const s_keys_triggers_sql =
    "WITH t AS (SELECT to_regclass(format('%I.%I', u.s, u.n)) AS rel "
    "             FROM unnest($1::text[], $2::text[]) AS u(s, n)) "
    "SELECT (SELECT count(*) FROM pg_constraint k JOIN t ON t.rel = k.conrelid "
    "         WHERE k.contype = 'f'), "
    "       (SELECT count(*) FROM pg_trigger g JOIN t ON t.rel = g.tgrelid "
    "         WHERE NOT g.tgisinternal AND g.tgenabled = 'O')";

void
prepare_target_check_replica(const Pgconvoy__Assign *a, PGconn *tgt,
                             bool has_schema, Pgconvoy__Result *res)
{
    const char *db = a->target->dbname;
    const char *role = PQuser(tgt);
    PGresult *r = PQexec(tgt, "SET session_replication_role = replica");
    char *refused = NULL;
    char *error = NULL;

    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        refused = pgconn_error_text(tgt, r);
    }
    PQclear(r);
    PQclear(PQexec(tgt, "RESET session_replication_role"));
    if (a->online && refused != NULL)
    {
        unit_add_problem(
            res, xasprintf("target database \"%s\": role \"%s\" may not set "
                           "session_replication_role (%s), which applying "
                           "the changes needs: migrate as a superuser, or "
                           "GRANT SET ON PARAMETER session_replication_role "
                           "TO \"%s\" (PostgreSQL 15 or later)",
                           db, role, refused, role));
    }
    if (a->online)
    {
        r = pgconn_query(tgt, s_origin_functions_sql, 0, NULL, &error);
        if (r != NULL && !PQgetisnull(r, 0, 0))
        {
            unit_add_problem(
                res,
                xasprintf("target database \"%s\": role \"%s\" may not run "
                          "%s, with which the changes applied are recorded "
                          "(a replication origin): migrate as a superuser, "
                          "or GRANT EXECUTE ON those functions TO \"%s\"",
                          db, role, PQgetvalue(r, 0, 0), role));
        }
        PQclear(r);
    }
    else if (has_schema && refused != NULL)
    {
        /* offline, pgconvoy adds keys and triggers after the load; a
         * schema made beforehand has them while it loads */
        r = target_tables_query(tgt, res->tables, res->n_tables,
                                s_keys_triggers_sql, &error);
        if (r != NULL && strcmp(PQgetvalue(r, 0, 0), "0") != 0)
        {
            unit_add_problem(
                res,
                xasprintf("target database \"%s\": role \"%s\" may not set "
                          "session_replication_role (%s), so the %s foreign "
                          "keys the target has on the tables to load would "
                          "check every row as the tables load, in no set "
                          "order: drop them and add them back after the "
                          "migration, or migrate as a role that may set it",
                          db, role, refused, PQgetvalue(r, 0, 0)));
        }
        if (r != NULL && strcmp(PQgetvalue(r, 0, 1), "0") != 0)
        {
            unit_add_notice(
                res, xasprintf("target database \"%s\": role \"%s\" may not "
                               "set session_replication_role, so the %s "
                               "triggers the target has on the tables to "
                               "load fire for every row loaded",
                               db, role, PQgetvalue(r, 0, 1)));
        }
        PQclear(r);
    }
    free(error);
    free(refused);
}
