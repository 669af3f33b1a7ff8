/*
 * agent/apply_rel.c
 *     apply's relation cache: the Relations sent, by relid, the target's
 *     catalog facts they are cached with, and the statements prepared for
 *     each relation on the target.
 *
 * Invariants:
 * - Identifiers are quoted once, when the Relation is cached, and the
 *   statements' text is built from that (agent/apply_sql.c).
 * - The cache names only statements the target has: whatever may have
 *   aborted a Parse forgets them all, and DEALLOCATEs the rest
 *   (apply_rel_forget_statements()); a Relation that really changed
 *   drops its own.
 * - At most max_group_stmts grouped statements are prepared at a time,
 *   over all relations: they hold the target backend's memory.
 */
#include "agent/apply_rel.h"

#include <stdlib.h>
#include <string.h>

#include "agent/apply_internal.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* Statement shapes prepared per relation: Insert is one, Update and Delete
 * vary with unchanged-TOAST columns and NULLs in a full old row. Past this
 * many, the rare extra shapes run unprepared. */
#define S_MAX_STMTS 32
/* Type oids below this are built in, the same on every server. */
#define S_FIRST_NORMAL_OID 16384

struct apply_rel_stmt_t
{
    char *sql;  /* the statement's text: the cache key, owned */
    char *name; /* its prepared name on the target, owned */
    struct apply_rel_stmt_t *next; /* next statement of the same relation */
};

/* Tables, or columns of tables, of the target, as a catalog query named
 * them: a sorted set (s_names_load()). */
typedef struct
{
    char *nsp; /* owned, all three */
    char *rel;
    char *col; /* "" for a table */
} s_name_t;

struct apply_rel_names_t
{
    s_name_t *names;
    size_t n;
};

/* ------------------------------------------------------------------ */
/* Relations */

/* Forgets prepared statement name (owned: freed), and first drops it on
 * the target if deallocate. */
static void
s_stmt_forget(apply_t *self, const apply_rel_t *rel, char *name,
              bool deallocate)
{
    if (deallocate)
    {
        /* the name is ours, pgconvoy_apply_N: no quoting needed */
        char *sql = xasprintf("DEALLOCATE %s", name);

        if (pipeline_is_open(self->pipe))
        {
            /* a failure shows with the transaction's next statement */
            (void) pipeline_send(self->pipe, NULL, sql, 0, NULL, NULL, NULL,
                                 PIPELINE_OK, 0, "DEALLOCATE", rel->label,
                                 self->stmt_lsn);
        }
        else
        {
            PQclear(PQexec(self->target, sql));
        }
        free(sql);
    }
    free(name);
}

/* Forgets rel's grouped statements, as s_stmt_forget(). */
static void
s_stmt_forget_groups(apply_t *self, apply_rel_t *rel, bool deallocate)
{
    for (int k = 0; k < 3; k++)
    {
        for (int i = 0; i < APPLY_REL_GROUP_SIZES; i++)
        {
            if (rel->group_names[k][i] != NULL)
            {
                s_stmt_forget(self, rel, rel->group_names[k][i], deallocate);
                rel->group_names[k][i] = NULL;
                self->ngroup_stmts--;
            }
        }
    }
    rel->group_used = 0;
}

static void
s_stmts_free(apply_t *self, apply_rel_t *rel, bool deallocate)
{
    while (rel->stmts != NULL)
    {
        apply_rel_stmt_t *stmt = rel->stmts;

        rel->stmts = stmt->next;
        s_stmt_forget(self, rel, stmt->name, deallocate);
        free(stmt->sql);
        free(stmt);
    }
    rel->nstmts = 0;
    s_stmt_forget_groups(self, rel, deallocate);
}

/* After DEALLOCATE ALL, or a failure that may have aborted a Parse. */
void
apply_rel_forget_statements(apply_t *self)
{
    for (int b = 0; b < APPLY_REL_NBUCKETS; b++)
    {
        for (apply_rel_t *rel = self->buckets[b]; rel != NULL; rel = rel->next)
        {
            s_stmts_free(self, rel, false);
        }
    }
    self->fixed_prepared = 0;
    PQclear(PQexec(self->target, "DEALLOCATE ALL"));
}

static void
s_rel_free_columns(apply_rel_t *rel)
{
    for (int i = 0; i < rel->desc.ncols; i++)
    {
        free(rel->desc.names[i]);
        free(rel->desc.quoted[i]);
    }
    free(rel->desc.names);
    free(rel->desc.quoted);
    free(rel->desc.flags);
    free(rel->desc.types);
    free(rel->desc.always);
    rel->desc.always = NULL;
    free(rel->nspname);
    free(rel->relname);
    free(rel->desc.qualname);
    free(rel->label);
    rel->desc.names = rel->desc.quoted = NULL;
    rel->desc.flags = NULL;
    rel->desc.types = NULL;
    rel->nspname = rel->relname = rel->desc.qualname = rel->label = NULL;
    rel->desc.ncols = 0;
}

bool
apply_rel_is_same(const apply_rel_t *rel, const pgoutput_relation_t *r)
{
    if (rel->desc.ncols != r->ncols || rel->replident != r->replident ||
        strcmp(rel->nspname, r->nspname) != 0 ||
        strcmp(rel->relname, r->relname) != 0)
    {
        return false;
    }
    for (int i = 0; i < r->ncols; i++)
    {
        if (rel->desc.flags[i] != r->columns[i].flags ||
            rel->desc.types[i] != r->columns[i].type_oid ||
            strcmp(rel->desc.names[i], r->columns[i].name) != 0)
        {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Catalog facts of the target, read once per session */

static int
s_names_compare(const void *a, const void *b)
{
    const s_name_t *x = a;
    const s_name_t *y = b;
    int c = strcmp(x->nsp, y->nsp);

    if (c == 0)
    {
        c = strcmp(x->rel, y->rel);
    }
    return c != 0 ? c : strcmp(x->col, y->col);
}

/* Runs sql, whose rows are (schema, table, column or ""), into a new
 * set, *set_p. Returns 0, or -1 with *error set. */
static int
s_names_load(PGconn *target, const char *sql, apply_rel_names_t **set_p,
             char **error)
{
    PGresult *res = pgconn_query(target, sql, 0, NULL, error);
    apply_rel_names_t *set = NULL;

    if (res == NULL)
    {
        return -1;
    }
    set = xcalloc(1, sizeof(*set));
    set->n = (size_t) PQntuples(res);
    set->names = xcalloc(set->n + 1, sizeof(*set->names));
    for (size_t i = 0; i < set->n; i++)
    {
        set->names[i].nsp = xstrdup(PQgetvalue(res, (int) i, 0));
        set->names[i].rel = xstrdup(PQgetvalue(res, (int) i, 1));
        set->names[i].col = xstrdup(PQgetvalue(res, (int) i, 2));
    }
    qsort(set->names, set->n, sizeof(*set->names), s_names_compare);
    PQclear(res);
    *set_p = set;
    return 0;
}

/* NULL (not loaded) is the empty set. */
static bool
s_names_has(const apply_rel_names_t *set, const char *nsp, const char *rel,
            const char *col)
{
    s_name_t key = {(char *) nsp, (char *) rel, (char *) col};

    return set != NULL && set->n > 0 &&
           bsearch(&key, set->names, set->n, sizeof(*set->names),
                   s_names_compare) != NULL;
}

/* NULL-safe; nulls the caller's pointer. */
static void
s_names_free(apply_rel_names_t **set_p)
{
    apply_rel_names_t *set = *set_p;

    if (set == NULL)
    {
        return;
    }
    for (size_t i = 0; i < set->n; i++)
    {
        free(set->names[i].nsp);
        free(set->names[i].rel);
        free(set->names[i].col);
    }
    free(set->names);
    free(set);
    *set_p = NULL;
}

/* The tables whose Updates are not grouped: more than one unique index
 * or exclusion constraint (see Grouped statements,
 * agent/apply_queue.c). */
static const char s_in_order_sql[] =
    "SELECT n.nspname, c.relname, '' FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE i.indisunique OR i.indisexclusion "
    "GROUP BY n.nspname, c.relname HAVING count(*) > 1";

/*
 * The columns GENERATED ALWAYS AS IDENTITY: PostgreSQL takes a value for
 * them only with INSERT ... OVERRIDING SYSTEM VALUE, and an UPDATE can set
 * them only to DEFAULT. So Inserts override, and Updates leave them out
 * of SET and find the row by them too: one the source changed (SET ...
 * = DEFAULT is the only way) then matches no row, and fails as a
 * divergence instead of being lost.
 */
static const char s_always_sql[] =
    "SELECT n.nspname, c.relname, a.attname FROM pg_attribute a "
    "JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE a.attidentity = 'a' AND NOT a.attisdropped";

int
apply_rel_load_facts(apply_t *self, char **error)
{
    int rc = s_names_load(self->target, s_in_order_sql, &self->in_order, error);

    if (rc == 0)
    {
        rc = s_names_load(self->target, s_always_sql, &self->always, error);
    }
    return rc;
}

apply_rel_t *
apply_rel_find(const apply_t *self, uint32_t relid)
{
    apply_rel_t *rel = self->buckets[relid % APPLY_REL_NBUCKETS];

    while (rel != NULL && rel->relid != relid)
    {
        rel = rel->next;
    }
    return rel;
}

apply_rel_t *
apply_rel_sync(apply_t *self, const pgoutput_relation_t *r)
{
    apply_rel_t *rel = apply_rel_find(self, r->relid);

    if (rel != NULL && apply_rel_is_same(rel, r))
    {
        return rel;
    }
    if (rel == NULL)
    {
        rel = xcalloc(1, sizeof(*rel));
        rel->relid = r->relid;
        rel->next = self->buckets[r->relid % APPLY_REL_NBUCKETS];
        self->buckets[r->relid % APPLY_REL_NBUCKETS] = rel;
    }
    else
    {
        s_stmts_free(self, rel, true);
        s_rel_free_columns(rel);
    }
    /* pg_catalog is sent as "" */
    const char *nsp = r->nspname[0] != '\0' ? r->nspname : "pg_catalog";

    rel->nspname = xstrdup(r->nspname);
    rel->relname = xstrdup(r->relname);
    rel->desc.qualname = pgconn_quote_qualified(self->target, nsp, r->relname);
    rel->label = xasprintf("%s.%s", nsp, r->relname);
    rel->replident = r->replident;
    rel->desc.ncols = r->ncols;
    rel->desc.names = xcalloc(r->ncols + 1u, sizeof(*rel->desc.names));
    rel->desc.quoted = xcalloc(r->ncols + 1u, sizeof(*rel->desc.quoted));
    rel->desc.flags = xcalloc(r->ncols + 1u, sizeof(*rel->desc.flags));
    rel->desc.types = xcalloc(r->ncols + 1u, sizeof(*rel->desc.types));
    rel->desc.always = xcalloc(r->ncols + 1u, sizeof(*rel->desc.always));
    rel->typed = true;
    rel->updates_in_order = s_names_has(self->in_order, nsp, r->relname, "");
    rel->desc.has_always = false;
    rel->desc.nkeys = 0;
    rel->nsettable = 0;
    for (int i = 0; i < r->ncols; i++)
    {
        rel->desc.names[i] = xstrdup(r->columns[i].name);
        rel->desc.quoted[i] =
            pgconn_quote_ident(self->target, r->columns[i].name);
        rel->desc.flags[i] = r->columns[i].flags;
        rel->desc.types[i] = r->columns[i].type_oid;
        rel->desc.always[i] =
            s_names_has(self->always, nsp, r->relname, r->columns[i].name);
        rel->typed = rel->typed && rel->desc.types[i] < S_FIRST_NORMAL_OID;
        rel->desc.has_always = rel->desc.has_always || rel->desc.always[i];
        if ((rel->desc.flags[i] & PGOUTPUT_COLUMN_KEY) != 0)
        {
            rel->desc.nkeys++;
        }
        else if (!rel->desc.always[i])
        {
            rel->nsettable++;
        }
    }
    return rel;
}

/* ------------------------------------------------------------------ */
/* Statements */

int
apply_rel_run(apply_t *self, apply_rel_t *rel, const char *what,
              const char *sql, const apply_sql_params_t *p,
              pipeline_expect_t expect)
{
    const char *name = NULL;

    for (apply_rel_stmt_t *stmt = rel->stmts; stmt != NULL; stmt = stmt->next)
    {
        if (strcmp(stmt->sql, sql) == 0)
        {
            name = stmt->name;
            break;
        }
    }
    if (name == NULL && rel->nstmts < S_MAX_STMTS)
    {
        apply_rel_stmt_t *stmt = xcalloc(1, sizeof(*stmt));

        stmt->name = xasprintf("pgconvoy_apply_%u", ++self->stmt_seq);
        stmt->sql = xstrdup(sql);
        stmt->next = rel->stmts;
        rel->stmts = stmt;
        rel->nstmts++;
        name = stmt->name;
        if (pipeline_prepare(self->pipe, name, sql, p->n, NULL, what,
                             rel->label, self->stmt_lsn) != 0)
        {
            return apply_pipe_failed(self);
        }
    }
    if (pipeline_send(self->pipe, name, sql, p->n, p->values, p->lengths,
                      p->formats, expect, 1, what, rel->label,
                      self->stmt_lsn) != 0)
    {
        return apply_pipe_failed(self);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Grouped statements */

/* Drops the grouped statements of the table that used one least recently
 * (never the one using one now: it was just marked). */
static void
s_evict_group_stmts(apply_t *self)
{
    apply_rel_t *victim = NULL;

    for (int b = 0; b < APPLY_REL_NBUCKETS; b++)
    {
        for (apply_rel_t *rel = self->buckets[b]; rel != NULL; rel = rel->next)
        {
            if (rel->group_used > 0 &&
                (victim == NULL || rel->group_used < victim->group_used))
            {
                victim = rel;
            }
        }
    }
    if (victim != NULL && victim->group_used < self->group_tick)
    {
        s_stmt_forget_groups(self, victim, true);
    }
}

/* 0 for Insert, 1 Update, 2 Delete: an index of group_names. */
static int
s_kind_index(pgoutput_msg_type_t type)
{
    return type == PGOUTPUT_INSERT ? 0 : type == PGOUTPUT_UPDATE ? 1 : 2;
}

int
apply_rel_run_group(apply_t *self, apply_rel_t *rel, pgoutput_msg_type_t type,
                    int rows, const apply_sql_params_t *p)
{
    const char *what = apply_sql_what(type);
    int kind = s_kind_index(type);
    int size = 0;

    while ((2 << size) < rows)
    {
        size++;
    }
    rel->group_used = ++self->group_tick;
    if (rel->group_names[kind][size] == NULL)
    {
        char *sql = NULL;
        int rc;

        if (self->ngroup_stmts >= self->max_group_stmts)
        {
            s_evict_group_stmts(self);
        }
        sql = apply_sql_group(&rel->desc, type, rows);
        self->ngroup_stmts++;
        rel->group_names[kind][size] =
            xasprintf("pgconvoy_apply_%u", ++self->stmt_seq);
        rc = pipeline_prepare(self->pipe, rel->group_names[kind][size], sql,
                              p->n, p->types, what, rel->label, self->stmt_lsn);
        free(sql);
        if (rc != 0)
        {
            return apply_pipe_failed(self);
        }
    }
    if (pipeline_send(self->pipe, rel->group_names[kind][size], NULL, p->n,
                      p->values, p->lengths, p->formats,
                      type == PGOUTPUT_INSERT ? PIPELINE_OK : PIPELINE_ROWS,
                      rows, what, rel->label, self->stmt_lsn) != 0)
    {
        return apply_pipe_failed(self);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* All relations */

void
apply_rel_totals(const apply_t *self, apply_counters_t *counters)
{
    memset(counters, 0, sizeof(*counters));
    for (int b = 0; b < APPLY_REL_NBUCKETS; b++)
    {
        for (const apply_rel_t *rel = self->buckets[b]; rel != NULL;
             rel = rel->next)
        {
            counters->inserts += rel->applied.inserts;
            counters->updates += rel->applied.updates;
            counters->deletes += rel->applied.deletes;
            counters->truncates += rel->applied.truncates;
        }
    }
}

void
apply_rel_free_all(apply_t *self, bool deallocate)
{
    for (int b = 0; b < APPLY_REL_NBUCKETS; b++)
    {
        while (self->buckets[b] != NULL)
        {
            apply_rel_t *rel = self->buckets[b];

            self->buckets[b] = rel->next;
            s_stmts_free(self, rel, deallocate);
            s_rel_free_columns(rel);
            free(rel);
        }
    }
    s_names_free(&self->in_order);
    s_names_free(&self->always);
}
