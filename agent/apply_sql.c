/*
 * agent/apply_sql.c
 *     The text of apply's statements, and their parameters.
 *
 * Invariants:
 * - Values only ever travel as parameters; identifiers are quoted once,
 *   when the Relation is cached (agent/apply_rel.c), never here.
 * - Nothing here knows of a connection or of apply's state: a statement
 *   is a function of the relation and the change alone.
 */
#include "agent/apply_sql.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

/* ------------------------------------------------------------------ */
/* Parameters */

void
apply_sql_params_init(apply_sql_params_t *p, int cap)
{
    p->n = 0;
    p->cap = cap > 0 ? cap : 1;
    p->values = xcalloc((size_t) p->cap, sizeof(*p->values));
    p->lengths = xcalloc((size_t) p->cap, sizeof(*p->lengths));
    p->formats = xcalloc((size_t) p->cap, sizeof(*p->formats));
    p->types = NULL; /* until a parameter's type is named */
}

void
apply_sql_params_free(apply_sql_params_t *p)
{
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->types);
    memset(p, 0, sizeof(*p));
}

int
apply_sql_params_add_typed(apply_sql_params_t *p, const pgoutput_value_t *v,
                           Oid type)
{
    assert(p->n < p->cap);
    assert(v->kind != PGOUTPUT_VALUE_UNCHANGED);
    int i = p->n++;

    if (type != 0 && p->types == NULL)
    {
        p->types = xcalloc((size_t) p->cap, sizeof(*p->types));
    }
    if (p->types != NULL)
    {
        p->types[i] = type;
    }
    if (v->kind == PGOUTPUT_VALUE_TEXT)
    {
        p->values[i] = v->data;
    }
    else if (v->kind == PGOUTPUT_VALUE_BINARY)
    {
        p->values[i] = v->data;
        p->lengths[i] = (int) v->len;
        p->formats[i] = 1;
    }
    return i + 1;
}

static int
s_params_add(apply_sql_params_t *p, const pgoutput_value_t *v)
{
    return apply_sql_params_add_typed(p, v, 0);
}

/* ------------------------------------------------------------------ */
/* Statements */

const char *
apply_sql_what(pgoutput_msg_type_t type)
{
    return type == PGOUTPUT_INSERT   ? "INSERT"
           : type == PGOUTPUT_UPDATE ? "UPDATE"
                                     : "DELETE";
}

/*
 * Built-in types whose values cannot be matched with '=': no default
 * btree or hash operator class (json, xml, jsonpath, pg_snapshot,
 * txid_snapshot, refcursor, gtsvector, the geometric types; an array of
 * one fails as its elements do), or an '=' that is not identity (box and
 * circle compare areas). A REPLICA IDENTITY FULL table's old row is
 * matched on every column: these are compared as text, which the
 * pinned session settings make exact. The list is PostgreSQL 15's,
 * from pg_opclass (see tests/unit/test_apply_sql.c).
 */
static bool
s_type_needs_text_compare(uint32_t type_oid)
{
    switch (type_oid)
    {
        case 114:  /* json */
        case 199:  /* json[] */
        case 142:  /* xml */
        case 143:  /* xml[] */
        case 600:  /* point */
        case 1017: /* point[] */
        case 601:  /* lseg */
        case 1018: /* lseg[] */
        case 602:  /* path */
        case 1019: /* path[] */
        case 603:  /* box: = compares areas */
        case 1020: /* box[] */
        case 604:  /* polygon */
        case 1027: /* polygon[] */
        case 628:  /* line */
        case 629:  /* line[] */
        case 718:  /* circle: = compares areas */
        case 719:  /* circle[] */
        case 1790: /* refcursor */
        case 2201: /* refcursor[] */
        case 2970: /* txid_snapshot */
        case 2949: /* txid_snapshot[] */
        case 3642: /* gtsvector */
        case 3644: /* gtsvector[] */
        case 4072: /* jsonpath */
        case 4073: /* jsonpath[] */
        case 5038: /* pg_snapshot */
        case 5039: /* pg_snapshot[] */
            return true;
        default:
            return false;
    }
}

/*
 * The reg* types (and their arrays) by name: they have no '=' of their
 * own but oid's, so an untyped parameter would be read as an oid, and
 * '-' or a name is no oid. Their parameter is cast to the column's type;
 * NULL for any other type.
 */
static const char *
s_reg_type_name(uint32_t type_oid)
{
    static const struct
    {
        uint32_t oid;
        uint32_t array_oid;
        const char *name;
        const char *array_name;
    } regs[] = {
        {24, 1008, "regproc", "regproc[]"},
        {2202, 2207, "regprocedure", "regprocedure[]"},
        {2203, 2208, "regoper", "regoper[]"},
        {2204, 2209, "regoperator", "regoperator[]"},
        {2205, 2210, "regclass", "regclass[]"},
        {2206, 2211, "regtype", "regtype[]"},
        {3734, 3735, "regconfig", "regconfig[]"},
        {3769, 3770, "regdictionary", "regdictionary[]"},
        {4089, 4090, "regnamespace", "regnamespace[]"},
        {4096, 4097, "regrole", "regrole[]"},
        {4191, 4192, "regcollation", "regcollation[]"},
    };

    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
    {
        if (regs[i].oid == type_oid)
        {
            return regs[i].name;
        }
        if (regs[i].array_oid == type_oid)
        {
            return regs[i].array_name;
        }
    }
    return NULL;
}

/* Appends " WHERE " (first) or " AND ", then that column i of rel holds
 * v: '=' so that an index is used, IS NULL for a null, as text for a
 * type without an equality of its own, the value cast for a reg* type. */
static void
s_append_condition(strbuf_t *sb, const apply_sql_rel_t *rel, int i,
                   const pgoutput_value_t *v, apply_sql_params_t *p, bool first)
{
    strbuf_append(sb, first ? " WHERE " : " AND ");
    if (v->kind == PGOUTPUT_VALUE_NULL)
    {
        strbuf_appendf(sb, "%s IS NULL", rel->quoted[i]);
    }
    else if (s_type_needs_text_compare(rel->types[i]))
    {
        strbuf_appendf(sb, "%s::text = $%d::text", rel->quoted[i],
                       s_params_add(p, v));
    }
    else if (s_reg_type_name(rel->types[i]) != NULL)
    {
        strbuf_appendf(sb, "%s = $%d::%s", rel->quoted[i], s_params_add(p, v),
                       s_reg_type_name(rel->types[i]));
    }
    else
    {
        strbuf_appendf(sb, "%s = $%d", rel->quoted[i], s_params_add(p, v));
    }
}

/* An Update's new values of the columns the target generates always,
 * which it cannot set: the row must hold them already (s_always_sql in
 * agent/apply_rel.c). An unchanged key (old_kind 0) is matched already;
 * an old key or row sent matched the old values, which must be the new
 * ones. */
static void
s_append_always(const apply_sql_rel_t *rel, char old_kind,
                const pgoutput_tuple_t *new_tuple, strbuf_t *where,
                apply_sql_params_t *p)
{
    for (int i = 0; i < rel->ncols && rel->has_always; i++)
    {
        const pgoutput_value_t *v = &new_tuple->values[i];

        if (rel->always[i] && v->kind != PGOUTPUT_VALUE_UNCHANGED &&
            (old_kind != 0 || (rel->flags[i] & PGOUTPUT_COLUMN_KEY) == 0))
        {
            s_append_condition(where, rel, i, v, p, false);
        }
    }
}

/*
 * Appends the WHERE condition finding the changed row and adds its
 * parameters. old_kind 'K' or 0: the key columns of tuple, with '=' so an
 * index is used. 'O' (replica identity full): every column sent, NULL-safe
 * (IS NULL for a null, '=' otherwise, which means IS NOT DISTINCT FROM but
 * can use an index), unchanged-TOAST columns left out. Returns 0, or -1
 * with *why set when the row cannot be identified.
 */
static int
s_append_identity(const apply_sql_rel_t *rel, char old_kind,
                  const pgoutput_tuple_t *tuple, strbuf_t *sb,
                  apply_sql_params_t *p, char **why)
{
    int nconds = 0;

    for (int i = 0; i < rel->ncols; i++)
    {
        const pgoutput_value_t *v = &tuple->values[i];

        if (old_kind != 'O' && (rel->flags[i] & PGOUTPUT_COLUMN_KEY) == 0)
        {
            continue;
        }
        if (v->kind == PGOUTPUT_VALUE_UNCHANGED)
        {
            if (old_kind == 'O')
            {
                continue;
            }
            *why = xasprintf(
                "key column \"%s\" was not sent (unchanged TOAST value)",
                rel->names[i]);
            return -1;
        }
        s_append_condition(sb, rel, i, v, p, nconds++ == 0);
    }
    if (nconds == 0)
    {
        *why = xstrdup("no replica identity column was sent");
        return -1;
    }
    return 0;
}

static char *
s_insert(const apply_sql_rel_t *rel, const pgoutput_change_t *c,
         apply_sql_params_t *p, char **why)
{
    char *sql = NULL;
    strbuf_t *sb = strbuf_new();

    apply_sql_params_init(p, rel->ncols);
    if (rel->ncols == 0)
    {
        strbuf_appendf(sb, "INSERT INTO %s DEFAULT VALUES", rel->qualname);
    }
    else
    {
        strbuf_appendf(sb, "INSERT INTO %s (", rel->qualname);
        for (int i = 0; i < rel->ncols; i++)
        {
            strbuf_appendf(sb, "%s%s", i > 0 ? ", " : "", rel->quoted[i]);
        }
        strbuf_append(sb, rel->has_always ? ") OVERRIDING SYSTEM VALUE VALUES ("
                                          : ") VALUES (");
        for (int i = 0; i < rel->ncols; i++)
        {
            if (c->new_tuple.values[i].kind == PGOUTPUT_VALUE_UNCHANGED)
            {
                *why = xasprintf("column \"%s\" was not sent", rel->names[i]);
                goto cleanup;
            }
            strbuf_appendf(sb, "%s$%d", i > 0 ? ", " : "",
                           s_params_add(p, &c->new_tuple.values[i]));
        }
        strbuf_append(sb, ")");
    }
    sql = strbuf_finish(&sb);

cleanup:
    strbuf_destroy(&sb); /* NULL-safe, and NULL once finished */
    return sql;
}

/*
 * Full identity may match several identical rows, of which the source
 * changed one: change exactly one, found by ctid (a Tid Scan).
 */
static void
s_append_one_row_prefix(strbuf_t *sb, const apply_sql_rel_t *rel)
{
    strbuf_appendf(sb, " WHERE ctid = (SELECT ctid FROM %s", rel->qualname);
}

/* Appends the WHERE clause: the identity match, narrowed to one row when
 * the identity is the whole row (REPLICA IDENTITY FULL: duplicates may
 * exist, and a change touches one of them). */
static void
s_append_match(strbuf_t *sb, const apply_sql_rel_t *rel, char old_kind,
               const strbuf_t *where)
{
    if (old_kind == 'O')
    {
        s_append_one_row_prefix(sb, rel);
        strbuf_appendf(sb, "%s LIMIT 1)", strbuf_data(where));
    }
    else
    {
        strbuf_append(sb, strbuf_data(where));
    }
}

/*
 * Ends an UPDATE's or a DELETE's text, *sb_p (taken: destroyed), with the
 * WHERE clause finding the row of ident (c's old row or key, or an
 * Update's new key when it did not change), adding its parameters after
 * those already in p. new_tuple: an Update's new values, whose columns
 * the target generates always must match too; NULL for a Delete. Returns
 * the text, or NULL with *why set.
 */
static char *
s_finish_where(strbuf_t **sb_p, const apply_sql_rel_t *rel, char old_kind,
               const pgoutput_tuple_t *ident, const pgoutput_tuple_t *new_tuple,
               apply_sql_params_t *p, char **why)
{
    char *sql = NULL;
    strbuf_t *where = strbuf_new();

    if (s_append_identity(rel, old_kind, ident, where, p, why) != 0)
    {
        goto cleanup;
    }
    if (new_tuple != NULL)
    {
        s_append_always(rel, old_kind, new_tuple, where, p);
    }
    s_append_match(*sb_p, rel, old_kind, where);
    sql = strbuf_finish(sb_p);

cleanup:
    strbuf_destroy(&where);
    strbuf_destroy(sb_p); /* NULL-safe, and NULL once finished */
    return sql;
}

static char *
s_update(const apply_sql_rel_t *rel, const pgoutput_change_t *c,
         apply_sql_params_t *p, char **why)
{
    strbuf_t *sb = strbuf_new();
    int nset = 0;
    const pgoutput_tuple_t *ident =
        c->old_kind != 0 ? &c->old_tuple : &c->new_tuple;

    apply_sql_params_init(p, 2 * rel->ncols);
    strbuf_appendf(sb, "UPDATE %s SET ", rel->qualname);
    for (int i = 0; i < rel->ncols; i++)
    {
        const pgoutput_value_t *v = &c->new_tuple.values[i];

        /* unchanged TOAST: the target already holds the value; nor is an
         * unchanged key set again (old_kind 0), or an identity column the
         * target generates always (s_always_sql) */
        if (v->kind == PGOUTPUT_VALUE_UNCHANGED ||
            (c->old_kind == 0 && (rel->flags[i] & PGOUTPUT_COLUMN_KEY) != 0) ||
            rel->always[i])
        {
            continue;
        }
        strbuf_appendf(sb, "%s%s = $%d", nset > 0 ? ", " : "", rel->quoted[i],
                       s_params_add(p, v));
        nset++;
    }
    if (nset == 0 && rel->ncols > 0)
    {
        /* nothing to set, but the row must still be found, or the
         * divergence would go unnoticed */
        int i = 0;

        while (i < rel->ncols - 1 && rel->always[i])
        {
            i++;
        }
        strbuf_appendf(sb, "%s = %s", rel->quoted[i], rel->quoted[i]);
    }
    return s_finish_where(&sb, rel, c->old_kind, ident, &c->new_tuple, p, why);
}

static char *
s_delete(const apply_sql_rel_t *rel, const pgoutput_change_t *c,
         apply_sql_params_t *p, char **why)
{
    strbuf_t *sb = NULL;

    apply_sql_params_init(p, rel->ncols);
    if (c->old_kind == 0)
    {
        *why = xstrdup("no old row was sent");
        return NULL;
    }
    sb = strbuf_new();
    strbuf_appendf(sb, "DELETE FROM %s", rel->qualname);
    return s_finish_where(&sb, rel, c->old_kind, &c->old_tuple, NULL, p, why);
}

char *
apply_sql_change(const apply_sql_rel_t *rel, pgoutput_msg_type_t type,
                 const pgoutput_change_t *c, apply_sql_params_t *p, char **why)
{
    switch (type)
    {
        case PGOUTPUT_INSERT:
            return s_insert(rel, c, p, why);
        case PGOUTPUT_UPDATE:
            return s_update(rel, c, p, why);
        default:
            return s_delete(rel, c, p, why);
    }
}

/* ------------------------------------------------------------------ */
/* Grouped statements */

int
apply_sql_group_width(const apply_sql_rel_t *rel, pgoutput_msg_type_t type)
{
    return type == PGOUTPUT_DELETE ? rel->nkeys : rel->ncols;
}

char *
apply_sql_group(const apply_sql_rel_t *rel, pgoutput_msg_type_t type, int rows)
{
    strbuf_t *sb = strbuf_new();
    int width = apply_sql_group_width(rel, type);
    int param = 1;
    bool first = true;

    if (type == PGOUTPUT_INSERT)
    {
        strbuf_appendf(sb, "INSERT INTO %s (", rel->qualname);
        for (int i = 0; i < rel->ncols; i++)
        {
            strbuf_appendf(sb, "%s%s", i > 0 ? ", " : "", rel->quoted[i]);
        }
        strbuf_append(sb, rel->has_always ? ") OVERRIDING SYSTEM VALUE VALUES "
                                          : ") VALUES ");
    }
    else if (type == PGOUTPUT_UPDATE)
    {
        /* the key is unchanged, and what the target generates always is
         * matched instead (s_always_sql) */
        strbuf_appendf(sb, "UPDATE %s AS pgconvoy_t SET ", rel->qualname);
        for (int i = 0; i < rel->ncols; i++)
        {
            if ((rel->flags[i] & PGOUTPUT_COLUMN_KEY) == 0 && !rel->always[i])
            {
                strbuf_appendf(sb, "%s%s = pgconvoy_v.%s", first ? "" : ", ",
                               rel->quoted[i], rel->quoted[i]);
                first = false;
            }
        }
        strbuf_append(sb, " FROM (VALUES ");
    }
    else
    {
        strbuf_appendf(sb, "DELETE FROM %s AS pgconvoy_t USING (VALUES ",
                       rel->qualname);
    }
    for (int r = 0; r < rows; r++)
    {
        strbuf_append(sb, r > 0 ? ", (" : "(");
        for (int i = 0; i < width; i++)
        {
            strbuf_appendf(sb, "%s$%d", i > 0 ? ", " : "", param++);
        }
        strbuf_append(sb, ")");
    }
    if (type != PGOUTPUT_INSERT)
    {
        strbuf_append(sb, ") AS pgconvoy_v (");
        first = true;
        for (int i = 0; i < rel->ncols; i++)
        {
            if (type == PGOUTPUT_UPDATE ||
                (rel->flags[i] & PGOUTPUT_COLUMN_KEY) != 0)
            {
                strbuf_appendf(sb, "%s%s", first ? "" : ", ", rel->quoted[i]);
                first = false;
            }
        }
        strbuf_append(sb, ")");
        first = true;
        for (int i = 0; i < rel->ncols; i++)
        {
            if ((rel->flags[i] & PGOUTPUT_COLUMN_KEY) != 0 ||
                (type == PGOUTPUT_UPDATE && rel->always[i]))
            {
                strbuf_appendf(sb, " %s pgconvoy_t.%s = pgconvoy_v.%s",
                               first ? "WHERE" : "AND", rel->quoted[i],
                               rel->quoted[i]);
                first = false;
            }
        }
    }
    return strbuf_finish(&sb);
}
