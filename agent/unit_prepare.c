/*
 * agent/unit_prepare.c
 *     The prepare unit: every check that can refuse a task before anything
 *     is written, and the list of tables to migrate with their sizes.
 *
 * Nothing here writes, on either server, with two exceptions that run
 * only once every check has passed, each in one transaction, so a
 * refused task still leaves nothing behind: --roles makes the roles the
 * target lacks (prepare_roles.c), and an online task asked to fix replica
 * identities sets REPLICA IDENTITY FULL on the source tables that need
 * it.
 * Every problem found is reported, not only the first, so that a user
 * fixes them all in one go.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/pgtool.h"
#include "agent/prepare_roles.h"
#include "agent/prepare_server.h"
#include "agent/prepare_target.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/qualname.h"
#include "common/strbuf.h"

/* server_version_num of the oldest source: pgoutput and publications */
#define PREPARE_OLDEST_SOURCE 100000

/*
 * The tables to copy: ordinary tables and leaf partitions (a partitioned
 * parent holds no rows of its own), outside system schemas and
 * extensions, largest first so that the longest copies start first.
 * A table's size is what a copy reads: its heap and its TOAST table's
 * heap, each one file size away. pg_table_size() adds the free space and
 * visibility maps and the TOAST index, which nobody copies, and took
 * twice as long: 0.8-1.2 s against 0.4-0.5 s for 10,000 tables.
 * Binary COPY only when every column has a built-in type: array and
 * composite values carry their element types' OIDs, which differ between
 * servers for user-defined types.
 */
/*
 * Whether type T (an alias of pg_type) cannot travel in binary COPY: it
 * has no binary form (aclitem, gtsvector); its binary form is an object's
 * OID, which names another object, or none, on the target (the reg*
 * types; their text is the object's name); or its receive function
 * refuses what its send function sends: an empty int2vector, oidvector
 * or tsquery ("invalid int2vector data", "malformed tsquery"). Arrays of
 * these neither.
 */
#define PREPARE_NO_BINARY(T)                                                   \
    "(" T ".typsend = 0 OR " T ".typreceive = 0 OR " T                          \
    ".typname IN " UNIT_REG_TYPES " OR " T ".typname IN "                       \
    "('int2vector', 'oidvector', 'tsquery'))"

/* clang-format off */
/* copy_analyze.h: whether a table's copy may analyze it, nothing built
 * after the load changing what ANALYZE gathers */
#define PREPARE_ANALYZE_EARLY                                                  \
    "(NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid "         \
    "                AND x.indexprs IS NOT NULL) "                             \
    " AND NOT EXISTS (SELECT 1 FROM pg_statistic_ext e "                       \
    "                  WHERE e.stxrelid = c.oid) "                             \
    " AND NOT EXISTS (SELECT 1 FROM pg_inherits h "                            \
    "                  WHERE h.inhparent = c.oid))"
/* NOT_GENERATED leaves the generated columns out of the column list (not
 * clang-formatted: it would break the SQL apart) */
#define PREPARE_TABLES_SQL(NOT_GENERATED)                                     \
    "SELECT n.nspname, c.relname, z.heap + z.toast, "                          \
    "       greatest(c.reltuples, 0)::bigint, "                                \
    "       NOT EXISTS (SELECT 1 FROM pg_attribute a "                         \
    "                     JOIN pg_type t ON t.oid = a.atttypid "               \
    "                     LEFT JOIN pg_type e ON e.oid = t.typelem "           \
    "                                        AND t.typcategory = 'A' "         \
    "                   WHERE a.attrelid = c.oid AND a.attnum > 0 "            \
    "                     AND NOT a.attisdropped "                             \
    "                     AND (a.atttypid >= 16384 "                           \
    "                          OR " PREPARE_NO_BINARY("t") " "                 \
    "                          OR " PREPARE_NO_BINARY("e") ")), "              \
    "       (SELECT string_agg(quote_ident(a.attname), ', ' "                  \
    "                          ORDER BY a.attnum) "                            \
    "          FROM pg_attribute a "                                           \
    "         WHERE a.attrelid = c.oid AND a.attnum > 0 "                      \
    "           AND NOT a.attisdropped " NOT_GENERATED "), "                   \
    "       has_table_privilege(c.oid, 'SELECT'), "                            \
    "       z.heap / current_setting('block_size')::int, "                     \
    "       c.oid, " PREPARE_ANALYZE_EARLY " "                                 \
    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "        \
    "       LATERAL (SELECT pg_relation_size(c.oid) AS heap, "                 \
    "                       coalesce(pg_relation_size("                        \
    "                                  nullif(c.reltoastrelid, 0::oid)), "     \
    "                                0) AS toast) z "                          \
    " WHERE c.relkind = 'r' "                                                  \
    "   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgconvoy') " \
    "   AND n.nspname NOT LIKE 'pg\\_%' "                                      \
    "   AND NOT EXISTS (SELECT 1 FROM pg_depend d "                            \
    "                   WHERE d.classid = 'pg_class'::regclass "               \
    "                     AND d.objid = c.oid AND d.deptype = 'e') "           \
    "   AND ($1::oid[] IS NULL OR c.oid = ANY ($1::oid[])) "                   \
    " ORDER BY 3 DESC, n.nspname, c.relname"
/* clang-format on */

static const char *const s_tables_sql =
    PREPARE_TABLES_SQL("AND a.attgenerated = ''");
/* before 12: no generated columns, and no pg_attribute.attgenerated */
static const char *const s_tables_sql_11 = PREPARE_TABLES_SQL("");

/* A selected name's table, or its leaf partitions when partitioned, or
 * the partitioned table itself when it has none: nothing to copy, but
 * there (pg_partition_tree() lists nothing for a table outside a tree). */
static const char *const s_lookup_sql =
    "SELECT coalesce(t.relid::oid, c.oid) FROM pg_class c "
    "  JOIN pg_namespace n ON n.oid = c.relnamespace "
    "  LEFT JOIN LATERAL (SELECT relid FROM pg_partition_tree(c.oid) "
    "                      WHERE isleaf) t ON true "
    " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";
/* The same before 12, which has no pg_partition_tree(): the tree walked
 * down pg_inherits, where a partitioned table has only partitions. */
static const char *const s_lookup_sql_11 =
    "WITH RECURSIVE named AS (SELECT c.oid, c.relkind FROM pg_class c "
    "                           JOIN pg_namespace n "
    "                             ON n.oid = c.relnamespace "
    "                          WHERE n.nspname = $1 AND c.relname = $2 "
    "                            AND c.relkind IN ('r', 'p')), "
    "tree AS (SELECT oid AS relid FROM named WHERE relkind = 'p' "
    "         UNION ALL "
    "         SELECT i.inhrelid FROM pg_inherits i "
    "           JOIN tree t ON i.inhparent = t.relid), "
    "leaf AS (SELECT t.relid FROM tree t JOIN pg_class l ON l.oid = t.relid "
    "          WHERE l.relkind <> 'p') "
    "SELECT relid FROM leaf "
    "UNION ALL "
    "SELECT oid FROM named WHERE NOT EXISTS (SELECT 1 FROM leaf)";

/*
 * Online: per table to migrate ($1 lists their OIDs in res->tables order,
 * so pos - 1 indexes res->tables), whether its updates and deletes can be
 * replicated, whether it is logged at all, and whether we may add it to a
 * publication (ownership, which superusers and members of the owning role
 * have too).
 */
/* An index serves as replica identity only if it is valid, unique, not
 * deferrable and not partial (relcache.c, RelationGetIndexList): the
 * server ignores any other, and a published table without one makes
 * every UPDATE and DELETE of the application fail. */
#define PREPARE_IDENTITY_INDEX_OK                                              \
    "i.indisvalid AND i.indisunique AND i.indimmediate AND i.indpred IS NULL"

static const char *const s_online_tables_sql =
    "SELECT t.pos, c.relreplident, "
    "       EXISTS (SELECT 1 FROM pg_index i "
    "               WHERE i.indrelid = c.oid AND i.indisprimary "
    "                 AND " PREPARE_IDENTITY_INDEX_OK "), "
    "       EXISTS (SELECT 1 FROM pg_index i "
    "               WHERE i.indrelid = c.oid AND i.indisreplident "
    "                 AND " PREPARE_IDENTITY_INDEX_OK "), "
    "       c.relpersistence = 'u', "
    "       pg_has_role(c.relowner, 'USAGE'), "
    "       EXISTS (SELECT 1 FROM pg_index i "
    "               WHERE i.indrelid = c.oid AND i.indisprimary "
    "                 AND NOT i.indimmediate) "
    "  FROM unnest($1::oid[]) WITH ORDINALITY AS t(oid, pos) "
    "  JOIN pg_class c ON c.oid = t.oid "
    " ORDER BY t.pos";

/* Tables not owned that one problem names before "and N more". */
#define PREPARE_MAX_NAMED 10

/* How long the fix may wait for a table's lock: it queues ahead of every
 * later query on that table, on a source in production. */
#define PREPARE_LOCK_TIMEOUT "5s"

typedef struct
{
    const Pgconvoy__Assign *assign; /* borrowed */
    const char *source_db;         /* borrowed */
    const char *target_db;         /* borrowed */
    Pgconvoy__Result *res;          /* borrowed: where problems go */
    strbuf_t *table_oids;          /* owned: "oid,oid,..." of res->tables */
    size_t *fix_identity;          /* owned: indexes in res->tables that get
                                      REPLICA IDENTITY FULL once all passed */
    size_t n_fix_identity;
} prepare_t;

/* Builds the "{oid,oid}" filter of the selected tables; NULL for all. */
static char *
s_selected_oids(prepare_t *p, PGconn *src)
{
    const Pgconvoy__Assign *a = p->assign;
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
        res = pgconn_query(src,
                           PQserverVersion(src) >= 120000 ? s_lookup_sql
                                                          : s_lookup_sql_11,
                           2, params, &error);
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
    res = pgconn_query(
        src, PQserverVersion(src) >= 120000 ? s_tables_sql : s_tables_sql_11, 1,
        params, &error);
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
        Pgconvoy__TableRef *t = xcalloc(1, sizeof *t);
        pgconvoy__table_ref__init(t);
        t->schema = xstrdup(PQgetvalue(res, r, 0));
        t->name = xstrdup(PQgetvalue(res, r, 1));
        t->bytes = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        t->rows = strtoll(PQgetvalue(res, r, 3), NULL, 10);
        t->binary = PQgetvalue(res, r, 4)[0] == 't';
        t->columns = xstrdup(PQgetvalue(res, r, 5));
        t->pages = strtoll(PQgetvalue(res, r, 7), NULL, 10);
        t->analyze_early = PQgetvalue(res, r, 9)[0] == 't';
        strbuf_appendf(p->table_oids, "%s%s", r > 0 ? "," : "",
                       PQgetvalue(res, r, 8));
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
 * Online: a table's replica identity problem, or NULL if its updates and
 * deletes can be replicated. Without a primary key, DEFAULT is no identity
 * at all; USING INDEX whose index was dropped is none either.
 */
static char *
s_identity_problem(prepare_t *p, const Pgconvoy__TableRef *t, char ident,
                   bool has_pkey, bool has_ident_index, bool deferrable_pkey)
{
    const char *what = NULL;
    const char *fix = NULL;

    if (ident == 'f' || (ident == 'd' && has_pkey) ||
        (ident == 'i' && has_ident_index))
    {
        return NULL;
    }
    /* what to do about it: with a usable primary key, use it */
    fix = has_pkey ? "set REPLICA IDENTITY DEFAULT"
                   : "add a primary key and set REPLICA IDENTITY DEFAULT";
    if (ident == 'd' && deferrable_pkey)
    {
        what = "has a DEFERRABLE primary key, which PostgreSQL cannot use "
               "as its replica identity";
        fix = "make the key NOT DEFERRABLE, or give the table a unique index "
              "that is not and set REPLICA IDENTITY USING INDEX";
    }
    else if (ident == 'd')
    {
        what = "has no primary key and no replica identity";
        fix = "add a primary key";
    }
    else if (ident == 'n')
    {
        what = "has REPLICA IDENTITY NOTHING";
    }
    else
    {
        what = "has REPLICA IDENTITY USING INDEX but no such index";
    }
    return xasprintf("source database \"%s\": table \"%s.%s\" %s: updates "
                     "and deletes cannot be replicated (%s, or rerun with "
                     "--fix-replica-identity to set REPLICA IDENTITY FULL)",
                     p->source_db, t->schema, t->name, what, fix);
}

/*
 * Online: each table must be logged, have a replica identity (or get one
 * from the fix, noted in p->fix_identity) and be ours to publish.
 */
static void
s_check_online_tables(prepare_t *p, PGconn *src)
{
    Pgconvoy__Result *res = p->res;
    char *oids = xasprintf("{%s}", strbuf_data(p->table_oids));
    const char *params[1] = {oids};
    char *error = NULL;
    PGresult *r = NULL;
    strbuf_t *not_owned = strbuf_new();
    size_t n_not_owned = 0;

    if (res->n_tables == 0)
    {
        goto cleanup; /* s_list_tables said why */
    }
    r = pgconn_query(src, s_online_tables_sql, 1, params, &error);
    if (r == NULL)
    {
        unit_add_problem(res, xasprintf("source database \"%s\": could not "
                                        "check the tables' replica "
                                        "identities: %s",
                                        p->source_db, error));
        free(error);
        goto cleanup;
    }
    p->fix_identity = xcalloc(res->n_tables, sizeof *p->fix_identity);
    for (int row = 0; row < PQntuples(r); row++)
    {
        long pos = strtol(PQgetvalue(r, row, 0), NULL, 10);
        if (pos < 1 || (size_t) pos > res->n_tables)
        {
            continue; /* cannot happen: pos comes from our own array */
        }
        size_t i = (size_t) pos - 1;
        const Pgconvoy__TableRef *t = res->tables[i];
        char ident = PQgetvalue(r, row, 1)[0];
        bool has_pkey = PQgetvalue(r, row, 2)[0] == 't';
        bool has_ident_index = PQgetvalue(r, row, 3)[0] == 't';
        bool unlogged = PQgetvalue(r, row, 4)[0] == 't';
        bool owned = PQgetvalue(r, row, 5)[0] == 't';
        bool deferrable_pkey = PQgetvalue(r, row, 6)[0] == 't';
        char *problem = NULL;

        if (unlogged)
        {
            unit_add_problem(res,
                             xasprintf("source database \"%s\": table "
                                       "\"%s.%s\" is unlogged: its changes "
                                       "are not written to the WAL and "
                                       "cannot be replicated (ALTER TABLE "
                                       "... SET LOGGED, or leave it out of "
                                       "selectedTables)",
                                       p->source_db, t->schema, t->name));
        }
        else if ((problem = s_identity_problem(p, t, ident, has_pkey,
                                               has_ident_index,
                                               deferrable_pkey)) != NULL)
        {
            if (p->assign->fix_replica_identity)
            {
                free(problem);
                p->fix_identity[p->n_fix_identity++] = i;
            }
            else
            {
                unit_add_problem(res, problem);
            }
        }
        if (!owned)
        {
            if (n_not_owned < PREPARE_MAX_NAMED)
            {
                strbuf_appendf(not_owned, "%s\"%s.%s\"",
                               n_not_owned > 0 ? ", " : "", t->schema, t->name);
            }
            n_not_owned++;
        }
    }
    if (n_not_owned > PREPARE_MAX_NAMED)
    {
        strbuf_appendf(not_owned, " and %zu more",
                       n_not_owned - PREPARE_MAX_NAMED);
    }
    if (n_not_owned > 0)
    {
        unit_add_problem(res,
                         xasprintf("source database \"%s\": user \"%s\" "
                                   "cannot add %zu table%s to a publication "
                                   "because it does not own %s: %s "
                                   "(expected the tables' owner, or a "
                                   "superuser)",
                                   p->source_db, p->assign->source->user,
                                   n_not_owned, n_not_owned == 1 ? "" : "s",
                                   n_not_owned == 1 ? "it" : "them",
                                   strbuf_data(not_owned)));
    }

cleanup:
    PQclear(r);
    strbuf_destroy(&not_owned);
    free(oids);
}

/*
 * --fix-replica-identity, once every check has passed: REPLICA IDENTITY
 * FULL on the tables noted, all or none (one transaction), each waiting
 * at most PREPARE_LOCK_TIMEOUT for its lock.
 */
/* Takes error. */
static void
s_fix_failed(prepare_t *p, char *error)
{
    unit_add_problem(p->res, xasprintf("source database \"%s\": could not "
                                       "set REPLICA IDENTITY FULL: %s",
                                       p->source_db, error));
    free(error);
}

static void
s_fix_replica_identity(prepare_t *p, PGconn *src)
{
    char *error = NULL;
    size_t done = 0;

    if (pgconn_command(src,
                       "BEGIN; SET LOCAL lock_timeout = "
                       "'" PREPARE_LOCK_TIMEOUT "'",
                       &error) != 0)
    {
        s_fix_failed(p, error);
        return;
    }
    for (; done < p->n_fix_identity; done++)
    {
        const Pgconvoy__TableRef *t = p->res->tables[p->fix_identity[done]];
        char *quoted = pgconn_quote_qualified(src, t->schema, t->name);
        char *sql = xasprintf("ALTER TABLE %s REPLICA IDENTITY FULL", quoted);
        int rc = pgconn_command(src, sql, &error);

        free(sql);
        free(quoted);
        if (rc != 0)
        {
            unit_add_problem(
                p->res, xasprintf("source database \"%s\": could not "
                                  "set REPLICA IDENTITY FULL on table "
                                  "\"%s.%s\": %s",
                                  p->source_db, t->schema, t->name, error));
            free(error);
            error = NULL;
            break;
        }
    }
    if (done == p->n_fix_identity && pgconn_command(src, "COMMIT", &error) != 0)
    {
        s_fix_failed(p, error);
        return;
    }
    if (done < p->n_fix_identity)
    {
        (void) pgconn_command(src, "ROLLBACK", &error);
        free(error);
        return;
    }
    for (size_t i = 0; i < p->n_fix_identity; i++)
    {
        const Pgconvoy__TableRef *t = p->res->tables[p->fix_identity[i]];
        log_info("database=%s table=%s.%s set REPLICA IDENTITY FULL on the "
                 "source, which has no primary key",
                 p->source_db, t->schema, t->name);
    }
}

/*
 * Values travel in UTF8 (pgconn.c) and the target converts them to its
 * own encoding: it must hold every character the source can, so it has
 * the source's encoding, or UTF8, which holds them all.
 */
static void
s_check_encodings(prepare_t *p, PGconn *src, PGconn *tgt)
{
    const char *from = PQparameterStatus(src, "server_encoding");
    const char *to = PQparameterStatus(tgt, "server_encoding");

    if (from != NULL && to != NULL && strcmp(from, to) != 0 &&
        strcmp(to, "UTF8") != 0)
    {
        bool from_utf8 = strcmp(from, "UTF8") == 0;
        unit_add_problem(p->res,
                         xasprintf("target database \"%s\" is encoded in %s, "
                                   "which cannot hold every character of "
                                   "the source database \"%s\" in %s: "
                                   "expected %s%s",
                                   p->target_db, to, p->source_db, from,
                                   from_utf8 ? "" : from,
                                   from_utf8 ? "UTF8" : " or UTF8"));
    }
}

/*
 * Online: what logical decoding does not carry, and how the cutover makes
 * up for it. Notices, not problems: the user should know that the
 * cutover takes longer with large objects and materialized views.
 */
static void
s_note_online_limits(prepare_t *p, PGconn *src)
{
    static const char *const sql =
        "SELECT (SELECT count(*) FROM pg_largeobject_metadata), "
        "       (SELECT count(*) FROM pg_class c "
        "          JOIN pg_namespace n ON n.oid = c.relnamespace "
        "         WHERE c.relkind = 'm' AND c.relispopulated "
        "           AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "           AND NOT EXISTS (SELECT 1 FROM pg_depend d "
        "                            WHERE d.classid = 'pg_class'::regclass "
        "                              AND d.objid = c.oid AND d.deptype = 'e'))";
    char *error = NULL;
    PGresult *r = NULL;

    if (!p->assign->large_objects)
    {
        return; /* a selection of tables: neither is migrated */
    }
    r = pgconn_query(src, sql, 0, NULL, &error);
    if (r == NULL)
    {
        unit_add_problem(p->res, xasprintf("source database \"%s\": could not "
                                           "count the large objects and "
                                           "materialized views: %s",
                                           p->source_db, error));
        free(error);
        return;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "0") != 0)
    {
        unit_add_notice(p->res,
                        xasprintf("source database \"%s\": %s large "
                                  "object(s): logical decoding does not carry "
                                  "them, so what changes in them during "
                                  "change data capture is copied at the "
                                  "cutover",
                                  p->source_db, PQgetvalue(r, 0, 0)));
    }
    if (strcmp(PQgetvalue(r, 0, 1), "0") != 0)
    {
        unit_add_notice(p->res,
                        xasprintf("source database \"%s\": %s materialized "
                                  "view(s): refreshed on the target after the "
                                  "full load and again at the cutover, from "
                                  "the data as they are then",
                                  p->source_db, PQgetvalue(r, 0, 1)));
    }
    PQclear(r);
}

/*
 * The servers' versions: a source from 10 on (the first with pgoutput and
 * publications), a target of its major version or a later one, and the
 * tools of the newest of the two. Then, as notices, the mechanisms this
 * pair of versions gets where pgconvoy chooses by version.
 */
static void
s_check_versions(prepare_t *p, const char *pg_bin, int src_version,
                 int tgt_version)
{
    const Pgconvoy__Assign *a = p->assign;
    Pgconvoy__Result *res = p->res;
    char *problem = NULL;

    if (src_version < PREPARE_OLDEST_SOURCE)
    {
        return; /* said in unit_prepare_run() */
    }
    if (tgt_version / 10000 < src_version / 10000)
    {
        unit_add_problem(res,
                         xasprintf("target server %s:%u runs %s, older "
                                   "than the source's %s: expected the "
                                   "same major version or a later one",
                                   a->target->host, a->target->port,
                                   res->target_version, res->source_version));
        return;
    }
    problem = pgtool_check_versions(pg_bin, src_version, tgt_version);
    if (problem != NULL)
    {
        unit_add_problem(res, problem);
        return;
    }
    unit_add_notice(
        res, xasprintf("source database \"%s\": %s: tables are copied %s",
                       p->source_db, res->source_version,
                       src_version >= 140000
                           ? "in block ranges when large (TID range scans)"
                           : "in ranges of an integer primary key when "
                             "large, else in one scan (TID range scans "
                             "exist from PostgreSQL 14 on)"));
    if (a->online)
    {
        unit_add_notice(
            res, xasprintf(
                     "source database \"%s\": %s: replication slot made with "
                     "%s; the cutover ends at %s%s",
                     p->source_db, res->source_version,
                     src_version >= 150000 ? "(SNAPSHOT 'export')"
                                           : "EXPORT_SNAPSHOT",
                     src_version >= 140000
                         ? "a logical decoding message in the stream"
                         : "the WAL position of a marker transaction (pgoutput "
                           "carries messages from PostgreSQL 14 on)",
                     src_version >= 130000
                         ? ""
                         : "; partitions are published one by one "
                           "(partitioned tables from PostgreSQL 13 on)"));
    }
}

int
unit_prepare_run(unit_t *self, Pgconvoy__Result *res)
{
    const Pgconvoy__Assign *a = unit_assign(self);
    prepare_t p = {a, a->source->dbname, a->target->dbname, res, NULL, NULL, 0};
    char *error = NULL;
    PGconn *src = pgconn_connect(a->source, NULL, "source", "prepare", &error);
    PGconn *tgt = NULL;
    prepare_roles_t *roles = NULL;
    int src_version = 0;

    p.table_oids = strbuf_new();
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
        if (src_version < PREPARE_OLDEST_SOURCE)
        {
            /* no table list: its queries need a newer catalog */
            unit_add_problem(
                res,
                xasprintf("source server %s:%u runs %s: expected PostgreSQL "
                          "10 or later (the first with logical replication "
                          "by pgoutput)",
                          a->source->host, a->source->port,
                          res->source_version));
        }
        else
        {
            s_list_tables(&p, src);
            prepare_server_check_locks(a, src, res->n_tables, res);
        }
        if (a->online && src_version >= PREPARE_OLDEST_SOURCE)
        {
            prepare_server_check_online(a, src, res);
            s_check_online_tables(&p, src);
            s_note_online_limits(&p, src);
        }
    }
    if (tgt != NULL)
    {
        int tgt_version = s_server_version(tgt, &res->target_version);
        if (src != NULL)
        {
            s_check_encodings(&p, src, tgt);
        }
        s_check_versions(&p, unit_pg_bin(self), src_version, tgt_version);
        prepare_target_check_tables(a, tgt, res);
        if (res->target_has_schema && src != NULL)
        {
            prepare_target_check_not_valid(a, src, tgt, res);
        }
        prepare_target_check_replica(a, tgt, res->target_has_schema, res);
        if (!res->target_has_schema)
        {
            prepare_target_check_privileges(a, tgt, res);
            if (src != NULL)
            {
                roles = prepare_roles_check(a, src, tgt, res);
            }
        }
    }
    /* the only writes, and only for a task about to be accepted */
    if (res->n_problems == 0 && roles != NULL)
    {
        (void) prepare_roles_create(roles, tgt, res);
    }
    if (res->n_problems == 0 && p.n_fix_identity > 0)
    {
        s_fix_replica_identity(&p, src);
    }
    prepare_roles_destroy(&roles);
    PQfinish(src);
    PQfinish(tgt);
    strbuf_destroy(&p.table_oids);
    free(p.fix_identity);
    if (res->n_problems > 0)
    {
        return unit_fail(res,
                         xasprintf("%zu problem%s found", res->n_problems,
                                   res->n_problems == 1 ? "" : "s"),
                         false);
    }
    return 0;
}
