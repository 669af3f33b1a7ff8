/*
 * agent/target_tables.c
 *     Which of a task's tables exist on the target, and emptying them in
 *     chunks of tables that foreign keys do not tie to others.
 *
 * The chunks: the tables that foreign keys link, in either direction,
 * form groups (union-find over the keys among the tables); groups are
 * packed in the tables' order into chunks of TARGET_TABLES_CHUNK tables
 * at most, a group never split.
 */
#include "agent/target_tables.h"

#include <stdlib.h>

#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

PGresult *
target_tables_query(PGconn *conn, Pgconvoy__TableRef *const *tables, size_t n,
                    const char *sql, char **error)
{
    strbuf_t *schemas = strbuf_new();
    strbuf_t *names = strbuf_new();

    strbuf_append(schemas, "{");
    strbuf_append(names, "{");
    for (size_t i = 0; i < n; i++)
    {
        strbuf_append_array_text(schemas, tables[i]->schema);
        strbuf_append_array_text(names, tables[i]->name);
    }
    strbuf_append(schemas, "}");
    strbuf_append(names, "}");
    const char *params[2] = {strbuf_data(schemas), strbuf_data(names)};
    PGresult *r = pgconn_query(conn, sql, 2, params, error);
    strbuf_destroy(&names);
    strbuf_destroy(&schemas);
    return r;
}

int
target_tables_find(PGconn *tgt, Pgconvoy__TableRef *const *tables, size_t n,
                   bool *exists, char **error)
{
    /* one statement for all, not one each (10,000 tables took 2.3 s of
     * round trips) */
    PGresult *r = target_tables_query(
        tgt, tables, n,
        "SELECT to_regclass(format('%I.%I', u.s, u.n)) IS NOT NULL "
        "  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(s, n, i) "
        " ORDER BY u.i",
        error);
    int rc = -1;

    if (r == NULL)
    {
        goto cleanup;
    }
    if ((size_t) PQntuples(r) != n)
    {
        *error = xasprintf("%d rows for %zu tables", PQntuples(r), n);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
    {
        exists[i] = PQgetvalue(r, (int) i, 0)[0] == 't';
    }
    rc = 0;

cleanup:
    PQclear(r);
    return rc;
}

/* The group's representative, halving the path on the way. */
static size_t
s_find(size_t *parent, size_t i)
{
    while (parent[i] != i)
    {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* Joins the groups of the tables that a foreign key among them links
 * (one statement). Returns 0, or -1 with *error set. */
static int
s_join_linked(PGconn *tgt, Pgconvoy__TableRef *const *tables, size_t n,
              size_t *parent, char **error)
{
    PGresult *r = target_tables_query(
        tgt, tables, n,
        "WITH t AS (SELECT u.i, to_regclass(format('%I.%I', u.s, u.n)) AS rel "
        "             FROM unnest($1::text[], $2::text[]) "
        "                  WITH ORDINALITY AS u(s, n, i)) "
        "SELECT a.i - 1, b.i - 1 FROM pg_catalog.pg_constraint f "
        "  JOIN t a ON a.rel = f.conrelid JOIN t b ON b.rel = f.confrelid "
        " WHERE f.contype = 'f' AND a.i <> b.i",
        error);

    if (r == NULL)
    {
        return -1;
    }
    for (int row = 0; row < PQntuples(r); row++)
    {
        size_t a = (size_t) strtoull(PQgetvalue(r, row, 0), NULL, 10);
        size_t b = (size_t) strtoull(PQgetvalue(r, row, 1), NULL, 10);

        if (a < n && b < n)
        {
            parent[s_find(parent, a)] = s_find(parent, b);
        }
    }
    PQclear(r);
    return 0;
}

/* Runs one chunk's TRUNCATE in a transaction of its own. Returns 0, or -1
 * with *error and *transient set. */
static int
s_truncate(PGconn *tgt, const strbuf_t *list, bool *transient, char **error)
{
    char *sql = xasprintf("BEGIN; SET LOCAL lock_timeout = '10s'; "
                          "TRUNCATE %s; COMMIT",
                          strbuf_data(list));
    PGresult *r = PQexec(tgt, sql);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        char *ignored = NULL;

        *error = pgconn_error_text(tgt, r);
        *transient = pgconn_is_transient(tgt, r);
        (void) pgconn_command(tgt, "ROLLBACK", &ignored);
        free(ignored);
        rc = -1;
    }
    PQclear(r);
    free(sql);
    return rc;
}

int
target_tables_empty(PGconn *tgt, Pgconvoy__TableRef *const *tables, size_t n,
                    bool *transient, char **error)
{
    size_t alloc = n > 0 ? n : 1;
    bool *exists = xcalloc(alloc, sizeof *exists);
    size_t *parent = xcalloc(alloc, sizeof *parent);
    size_t *size = xcalloc(alloc, sizeof *size);   /* by representative */
    size_t *first = xcalloc(alloc, sizeof *first); /* its first member, +1 */
    size_t *next = xcalloc(alloc, sizeof *next);   /* next member, +1 */
    size_t *last = xcalloc(alloc, sizeof *last);   /* its last member */
    bool *placed = xcalloc(alloc, sizeof *placed); /* by representative */
    strbuf_t *list = strbuf_new();
    size_t in_chunk = 0;
    size_t emptied = 0;
    int statements = 0;
    int rc = -1;

    *transient = false;
    for (size_t i = 0; i < n; i++)
    {
        parent[i] = i;
    }
    if (target_tables_find(tgt, tables, n, exists, error) != 0 ||
        s_join_linked(tgt, tables, n, parent, error) != 0)
    {
        *transient = pgconn_is_transient(tgt, NULL);
        goto cleanup;
    }
    /* each group's members, in the tables' order */
    for (size_t i = 0; i < n; i++)
    {
        size_t g = s_find(parent, i);

        if (!exists[i])
        {
            continue;
        }
        if (first[g] == 0)
        {
            first[g] = i + 1;
        }
        else
        {
            next[last[g]] = i + 1;
        }
        last[g] = i;
        size[g]++;
    }
    for (size_t i = 0; i < n; i++)
    {
        size_t g = s_find(parent, i);

        if (!exists[i] || placed[g])
        {
            continue;
        }
        placed[g] = true;
        if (in_chunk > 0 && in_chunk + size[g] > TARGET_TABLES_CHUNK)
        {
            if (s_truncate(tgt, list, transient, error) != 0)
            {
                goto cleanup;
            }
            statements++;
            strbuf_reset(list);
            in_chunk = 0;
        }
        for (size_t m = first[g]; m != 0; m = next[m - 1])
        {
            char *q = pgconn_quote_qualified(tgt, tables[m - 1]->schema,
                                             tables[m - 1]->name);

            strbuf_appendf(list, "%s%s", in_chunk > 0 ? ", " : "", q);
            free(q);
            in_chunk++;
            emptied++;
        }
    }
    if (in_chunk > 0)
    {
        if (s_truncate(tgt, list, transient, error) != 0)
        {
            goto cleanup;
        }
        statements++;
    }
    log_info("db=%s %zu tables emptied in %d statement(s)", PQdb(tgt), emptied,
             statements);
    rc = statements;

cleanup:
    strbuf_destroy(&list);
    free(placed);
    free(last);
    free(next);
    free(first);
    free(size);
    free(parent);
    free(exists);
    return rc;
}
