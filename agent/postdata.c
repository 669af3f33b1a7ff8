/*
 * agent/postdata.c
 *     Turns the post-data section of a pg_dump archive into schema items,
 *     one per TOC entry, so that the coordinator can spread index builds
 *     over agents.
 *
 * pg_restore prints every entry behind a header of its own ("--", then
 * "-- Name: …; Type: …; Schema: …; Owner: …", then "--"), after the
 * session settings it changes for that entry: default_tablespace and
 * default_table_access_method, each printed only when it changes. An
 * item is run on a session of its own, so it carries the settings in
 * force for its entry, exactly as a pg_restore of that one entry would
 * print them. The header layout follows _printTocEntry() in pg_dump's
 * pg_backup_archiver.c.
 */
#include "agent/postdata.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/pgtool.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* pg_dump's post-data TOC types, longest first where one prefixes another */
static const char *const s_toc_types[] = {"FK CONSTRAINT",
                                          "INDEX ATTACH",
                                          "MATERIALIZED VIEW DATA",
                                          "EVENT TRIGGER",
                                          "PUBLICATION TABLES IN SCHEMA",
                                          "PUBLICATION TABLE",
                                          "PUBLICATION",
                                          "SUBSCRIPTION",
                                          "DEFAULT ACL",
                                          "SECURITY LABEL",
                                          "ROW SECURITY",
                                          "STATISTICS",
                                          "CONSTRAINT",
                                          "TRIGGER",
                                          "INDEX",
                                          "RULE",
                                          "POLICY",
                                          "COMMENT",
                                          "ACL",
                                          NULL};

/* The settings pg_restore changes between entries (and nothing else). */
static const char *const s_entry_settings[] = {
    "SET default_tablespace = ", "SET default_table_access_method = ", NULL};
#define POSTDATA_NSETTINGS 2

/* One TOC line of pg_restore -l: "id; tableoid oid TYPE schema tag owner" */
typedef struct
{
    const char *line; /* borrowed from the listing */
    const char *kind; /* one of s_toc_types, or NULL: not one we know */
    const char *tag;  /* what follows the type on the line */
    postdata_pass_t pass;
    size_t at; /* its place in the listing */
} postdata_entry_t;

static const char *
s_toc_type(const char *rest, const char **tag)
{
    for (size_t i = 0; s_toc_types[i] != NULL; i++)
    {
        size_t len = strlen(s_toc_types[i]);
        if (strncmp(rest, s_toc_types[i], len) == 0 && rest[len] == ' ')
        {
            *tag = rest + len + 1;
            return s_toc_types[i];
        }
    }
    *tag = rest;
    return NULL;
}

postdata_pass_t
postdata_pass(const char *kind, const char *tag)
{
    if (kind == NULL)
    {
        return POSTDATA_PASS_MAIN;
    }
    if (strcmp(kind, "ACL") == 0 || strcmp(kind, "DEFAULT ACL") == 0)
    {
        return POSTDATA_PASS_ACL;
    }
    /* a comment goes with its object; an event trigger's tag is
     * "- EVENT TRIGGER name owner" (it has no schema) */
    if (strcmp(kind, "MATERIALIZED VIEW DATA") == 0 ||
        strcmp(kind, "EVENT TRIGGER") == 0 ||
        (strcmp(kind, "COMMENT") == 0 && tag != NULL &&
         strncmp(tag, "- EVENT TRIGGER ", 16) == 0))
    {
        return POSTDATA_PASS_POST_ACL;
    }
    return POSTDATA_PASS_MAIN;
}

static int
s_item_pass_cmp(const void *a, const void *b)
{
    const Pgconvoy__SchemaItem *x = *(Pgconvoy__SchemaItem *const *) a;
    const Pgconvoy__SchemaItem *y = *(Pgconvoy__SchemaItem *const *) b;
    postdata_pass_t px = postdata_pass(x->kind, x->tag);
    postdata_pass_t py = postdata_pass(y->kind, y->tag);

    return px != py ? (px < py ? -1 : 1) : 0;
}

void
postdata_order_items(Pgconvoy__SchemaItem **items, size_t n)
{
    /* stable: insertion sort on the pass, as few items move */
    for (size_t i = 1; i < n; i++)
    {
        Pgconvoy__SchemaItem *item = items[i];
        size_t j = i;
        while (j > 0 && s_item_pass_cmp(&items[j - 1], &item) > 0)
        {
            items[j] = items[j - 1];
            j--;
        }
        items[j] = item;
    }
}

static void
s_parse_entry(const char *line, postdata_entry_t *e)
{
    const char *rest = strchr(line, ';');

    /* skip "; " and the two OIDs to reach the type */
    rest = rest ? rest + 1 : line;
    for (int field = 0; field < 3 && rest; field++)
    {
        while (*rest == ' ')
        {
            rest++;
        }
        rest = field < 2 ? strchr(rest, ' ') : rest;
    }
    e->line = line;
    e->kind = s_toc_type(rest ? rest : "", &e->tag);
    e->pass = postdata_pass(e->kind, e->tag);
    e->at = 0;
}

/* By pass, then as listed: the order of pg_restore's script. */
static int
s_entry_cmp(const void *a, const void *b)
{
    const postdata_entry_t *x = a;
    const postdata_entry_t *y = b;

    if (x->pass != y->pass)
    {
        return x->pass < y->pass ? -1 : 1;
    }
    return x->at < y->at ? -1 : x->at > y->at ? 1 : 0;
}

/*
 * The table each index, constraint and extended statistics object
 * belongs to, so that its build can start as soon as that table is
 * loaded: one query for all of them, the items' (kind, tag) pairs given
 * as two arrays. pg_restore -l prints the entry as "schema name owner"
 * (an index, statistics) or "schema table name owner" (a constraint),
 * unquoted: compare whole strings built the same way rather than split on
 * spaces, which names may contain.
 */
static const char *const s_item_tables_sql =
    "WITH tags AS ("
    "  SELECT 'INDEX' AS kind, s.nspname || ' ' || ic.relname || ' ' || "
    "         pg_get_userbyid(ic.relowner) AS tag, i.indrelid AS relid "
    "    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
    "    JOIN pg_namespace s ON s.oid = ic.relnamespace "
    "  UNION ALL "
    "  SELECT 'CONSTRAINT', s.nspname || ' ' || kc.relname || ' ' || "
    "         k.conname || ' ' || pg_get_userbyid(kc.relowner), k.conrelid "
    "    FROM pg_constraint k JOIN pg_class kc ON kc.oid = k.conrelid "
    "    JOIN pg_namespace s ON s.oid = kc.relnamespace "
    "  UNION ALL "
    "  SELECT 'STATISTICS', s.nspname || ' ' || e.stxname || ' ' || "
    "         pg_get_userbyid(e.stxowner), e.stxrelid "
    "    FROM pg_statistic_ext e "
    "    JOIN pg_namespace s ON s.oid = e.stxnamespace) "
    "SELECT x.i, n.nspname, c.relname "
    "  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(kind, tag, i) "
    "  JOIN tags t ON t.kind = x.kind AND t.tag = x.tag "
    "  JOIN pg_class c ON c.oid = t.relid "
    "  JOIN pg_namespace n ON n.oid = c.relnamespace";

/*
 * Sets table_schema and table_name of the phase-1 items among items[0..n).
 * An item whose table is not found waits for the whole load, which is
 * still right; so does every item if the query fails.
 */
static void
s_find_item_tables(PGconn *src, Pgconvoy__SchemaItem **items, size_t n)
{
    strbuf_t *kinds = strbuf_new();
    strbuf_t *tags = strbuf_new();
    char *error = NULL;
    PGresult *r = NULL;

    strbuf_append(kinds, "{");
    strbuf_append(tags, "{");
    for (size_t i = 0; i < n; i++)
    {
        /* one element per item, so that ordinality is the item's index */
        strbuf_append_array_text(kinds,
                                 items[i]->phase == 1 ? items[i]->kind : "");
        strbuf_append_array_text(tags, items[i]->tag);
    }
    strbuf_append(kinds, "}");
    strbuf_append(tags, "}");
    const char *params[2] = {strbuf_data(kinds), strbuf_data(tags)};
    r = pgconn_query(src, s_item_tables_sql, 2, params, &error);
    for (int row = 0; r != NULL && row < PQntuples(r); row++)
    {
        long i = strtol(PQgetvalue(r, row, 0), NULL, 10) - 1;
        /* a tag twice (never, but names are the user's) keeps the first */
        if (i >= 0 && (size_t) i < n && items[i]->table_schema[0] == '\0')
        {
            items[i]->table_schema = xstrdup(PQgetvalue(r, row, 1));
            items[i]->table_name = xstrdup(PQgetvalue(r, row, 2));
        }
    }
    if (r == NULL)
    {
        log_warn("db=%s could not find the tables of the indexes and "
                 "constraints, which will be built after the whole load: %s",
                 PQdb(src), error);
    }
    free(error);
    PQclear(r);
    strbuf_destroy(&kinds);
    strbuf_destroy(&tags);
}

/*
 * True if name (within a tag) starts with the name of an online
 * migration's publication: "pgconvoy_", the task key's 32 hex digits, "_",
 * the database's number, then a space.
 */
static bool
s_is_migration_publication(const char *name)
{
    static const char prefix[] = "pgconvoy_";
    const char *p = name + sizeof prefix - 1;

    if (strncmp(name, prefix, sizeof prefix - 1) != 0 ||
        strspn(p, "0123456789abcdef") != 32)
    {
        return false;
    }
    p += 32;
    if (*p++ != '_' || strspn(p, "0123456789") == 0)
    {
        return false;
    }
    return p[strspn(p, "0123456789")] == ' ';
}

/*
 * True for the publication of an online migration of this database (this
 * one's, made before the dump, or another's) and its tables: they belong
 * to those migrations, not to the schema. The tags are "- NAME owner"
 * and "SCHEMA NAME table owner" (any schema, spaces and all).
 */
static bool
s_skipped_publication(const postdata_entry_t *e)
{
    if (e->kind == NULL || strncmp(e->kind, "PUBLICATION", 11) != 0)
    {
        return false;
    }
    if (strncmp(e->tag, "- ", 2) == 0 && s_is_migration_publication(e->tag + 2))
    {
        return true;
    }
    for (const char *p = strstr(e->tag, " pgconvoy_"); p != NULL;
         p = strstr(p + 1, " pgconvoy_"))
    {
        if (s_is_migration_publication(p + 1))
        {
            return true;
        }
    }
    return false;
}

/* True if the filter drops this foreign key (its target is left out). */
static bool
s_skipped_fk(const postdata_entry_t *e, char *const *skip_fks, size_t n)
{
    for (size_t i = 0;
         e->kind != NULL && strcmp(e->kind, "FK CONSTRAINT") == 0 && i < n; i++)
    {
        size_t len = strlen(skip_fks[i]);
        if (strncmp(e->tag, skip_fks[i], len) == 0 && e->tag[len] == ' ')
        {
            return true;
        }
    }
    return false;
}

/* Adds entry e, whose script is sql (taken), to res as an item. */
static void
s_add_item(const postdata_entry_t *e, char **sql_p, Pgconvoy__Result *res)
{
    Pgconvoy__SchemaItem *item = xcalloc(1, sizeof *item);
    const char *kind = e->kind != NULL ? e->kind : "OTHER";

    pgconvoy__schema_item__init(item);
    item->kind = xstrdup(kind);
    item->tag = xstrdup(e->tag);
    /* phase 1: built with its table's indexes, before its ANALYZE, which
     * fills extended statistics only if they exist by then (run with
     * finalize, they were left empty until autovacuum came by) */
    item->phase = strcmp(kind, "INDEX") == 0 ||
                          strcmp(kind, "CONSTRAINT") == 0 ||
                          strcmp(kind, "STATISTICS") == 0
                      ? 1
                      : 2;
    item->sql = *sql_p;
    *sql_p = NULL;
    unit_add_item(res, item);
}

/* Writes the list file naming entries[0..n) to path. */
static int
s_write_list(const char *path, const postdata_entry_t *entries, size_t n,
             char **error)
{
    FILE *list = fopen(path, "w");

    if (list == NULL)
    {
        *error = xasprintf("could not write %s", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
    {
        fprintf(list, "%s\n", entries[i].line);
    }
    if (fclose(list) != 0)
    {
        *error = xasprintf("could not write %s", path);
        return -1;
    }
    return 0;
}

/* pg_restore's script for entries[0..n): 0, or -1 with *error set. */
static int
s_restore_script(const char *pg_bin, const char *dir, const char *dump,
                 const postdata_entry_t *entries, size_t n, bool no_owner,
                 strbuf_t *sql, char **error)
{
    char *list_path = xasprintf("%s/items.list", dir);
    const char *argv[] = {
        "-L", list_path, "-f", "-", dump, no_owner ? "--no-owner" : NULL, NULL};
    int rc = s_write_list(list_path, entries, n, error);

    if (rc == 0)
    {
        rc = pgtool_run(pg_bin, "pg_restore", argv, NULL, NULL, sql, NULL, NULL,
                        error);
    }
    if (rc == 0)
    {
        pgtool_strip_meta(sql);
    }
    free(list_path);
    return rc;
}

/* ----- cutting one script into items ----- */

/* Start of the line after the one at p (or the end of the text). */
static const char *
s_next_line(const char *p)
{
    const char *eol = strchr(p, '\n');
    return eol ? eol + 1 : p + strlen(p);
}

/* Index into s_entry_settings of the line at p, or -1. */
static int
s_entry_setting(const char *p)
{
    for (int i = 0; s_entry_settings[i] != NULL; i++)
    {
        if (strncmp(p, s_entry_settings[i], strlen(s_entry_settings[i])) == 0)
        {
            return i;
        }
    }
    return -1;
}

/* True if a header starts at p: "--\n-- Name: …; Type: ". */
static bool
s_is_header(const char *p, const char **type)
{
    static const char start[] = "--\n-- Name: ";
    const char *eol = NULL;
    const char *t = NULL;

    if (strncmp(p, start, sizeof start - 1) != 0)
    {
        return false;
    }
    eol = strchr(p + 3, '\n');
    t = strstr(p + 3, "; Type: ");
    if (eol == NULL || t == NULL || t > eol)
    {
        return false;
    }
    *type = t + strlen("; Type: ");
    return true;
}

/* True if the header's type (up to "; Schema: ") is kind. */
static bool
s_type_is(const char *type, const char *kind)
{
    size_t len = strlen(kind);
    return strncmp(type, kind, len) == 0 &&
           strncmp(type + len, "; Schema: ", 10) == 0;
}

/*
 * Where the entry that starts at header ends: at the settings block
 * (blank lines and entry settings only) that stands before the next
 * header, or before the closing comment.
 */
static const char *
s_entry_end(const char *body, const char *next)
{
    const char *end = next;
    const char *p = body;
    const char *block = NULL; /* start of the trailing settings block */

    while (p < next)
    {
        bool setting = *p == '\n' || s_entry_setting(p) >= 0;
        if (setting && block == NULL)
        {
            block = p;
        }
        else if (!setting)
        {
            block = NULL;
        }
        p = s_next_line(p);
    }
    if (block != NULL)
    {
        end = block;
    }
    return end;
}

char **
postdata_split_groups(const char *script, size_t n, const char *const *kinds,
                      const size_t *ends, size_t ngroups)
{
    const char **heads = xcalloc(n + 1, sizeof *heads);
    char *settings[POSTDATA_NSETTINGS] = {NULL};
    char **groups = NULL;
    const char *preamble_end = NULL;
    const char *footer = NULL;
    size_t found = 0;
    bool ok = true;

    /* headers start lines; the closing comment is no entry's */
    for (const char *p = script; *p != '\0' && ok; p = s_next_line(p))
    {
        const char *type = NULL;
        if (strncmp(p, "--\n-- PostgreSQL database dump complete", 39) == 0)
        {
            footer = p;
            break;
        }
        if (!s_is_header(p, &type))
        {
            continue;
        }
        ok = found < n &&
             (kinds[found] == NULL || s_type_is(type, kinds[found]));
        heads[found++] = p;
        p = s_next_line(p); /* past "--": the next line is no header */
    }
    if (!ok || found != n || ngroups == 0 || ends[ngroups - 1] != n)
    {
        free(heads);
        return NULL;
    }
    heads[n] = footer != NULL ? footer : script + strlen(script);
    preamble_end = n > 0 ? heads[0] : heads[n];
    groups = xcalloc(ngroups + 1, sizeof *groups);
    strbuf_t *sql = NULL;
    for (size_t i = 0, g = 0; i < n; i++)
    {
        const char *end = s_entry_end(heads[i], heads[i + 1]);
        bool last = i + 1 == ends[g];

        if (sql == NULL)
        {
            /* a group runs alone: the preamble and the settings in force */
            sql = strbuf_new();
            strbuf_append_len(sql, script, (size_t) (preamble_end - script));
            for (int s = 0; s < POSTDATA_NSETTINGS; s++)
            {
                if (settings[s] != NULL)
                {
                    strbuf_append(sql, settings[s]);
                }
            }
        }
        /* within a group, the settings between its entries are its own */
        strbuf_append_len(sql, heads[i],
                          (size_t) ((last ? end : heads[i + 1]) - heads[i]));
        if (last)
        {
            groups[g++] = strbuf_finish(&sql);
        }
        /* what the block after this entry sets holds from the next on */
        for (const char *p = end; p < heads[i + 1]; p = s_next_line(p))
        {
            int s = s_entry_setting(p);
            if (s >= 0)
            {
                free(settings[s]);
                settings[s] = strndup(p, (size_t) (s_next_line(p) - p));
            }
        }
    }
    for (int s = 0; s < POSTDATA_NSETTINGS; s++)
    {
        free(settings[s]);
    }
    free(heads);
    return groups;
}

char **
postdata_split(const char *script, size_t n, const char *const *kinds)
{
    size_t *ends = xcalloc(n > 0 ? n : 1, sizeof *ends);
    char **items = NULL;

    for (size_t i = 0; i < n; i++)
    {
        ends[i] = i + 1;
    }
    items = n > 0 ? postdata_split_groups(script, n, kinds, ends, n)
                  : xcalloc(1, sizeof *items);
    free(ends);
    return items;
}

/* ----- reading the items ----- */

/* One pg_restore per entry: exact whatever the script holds, but slow. */
static int
s_read_one_by_one(const char *pg_bin, const char *dir, const char *dump,
                  const postdata_entry_t *entries, size_t n, bool no_owner,
                  Pgconvoy__Result *res, char **error)
{
    for (size_t i = 0; i < n; i++)
    {
        strbuf_t *sql = strbuf_new();
        char *text = NULL;

        if (s_restore_script(pg_bin, dir, dump, &entries[i], 1, no_owner, sql,
                             error) != 0)
        {
            strbuf_destroy(&sql);
            return -1;
        }
        text = strbuf_finish(&sql);
        s_add_item(&entries[i], &text, res);
    }
    return 0;
}

int
postdata_read_items(const char *pg_bin, PGconn *src, const char *dir,
                    const char *dump, const postdata_options_t *opts,
                    Pgconvoy__Result *res, char **error)
{
    const char *list_argv[] = {"-l", dump, NULL};
    strbuf_t *toc = strbuf_new();
    strbuf_t *sql = strbuf_new();
    postdata_entry_t *entries = NULL;
    const char **kinds = NULL;
    char **items = NULL;
    size_t n = 0;
    size_t first = res->n_items; /* ours are those added from here */
    int rc = -1;

    if (pgtool_run(pg_bin, "pg_restore", list_argv, NULL, NULL, toc, NULL, NULL,
                   error) != 0)
    {
        goto cleanup;
    }
    char *save = NULL;
    char *lines = (char *) strbuf_data(toc); /* ours to cut up */
    for (char *line = strtok_r(lines, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
    {
        postdata_entry_t e;
        if (line[0] == ';' || line[0] == '\0')
        {
            continue;
        }
        s_parse_entry(line, &e);
        if (s_skipped_fk(&e, opts->skip_fks, opts->nskip_fks) ||
            s_skipped_publication(&e) ||
            (opts->acl_only && e.pass != POSTDATA_PASS_ACL))
        {
            continue;
        }
        entries = realloc(entries, (n + 1) * sizeof *entries);
        if (entries == NULL)
        {
            abort();
        }
        e.at = n;
        entries[n++] = e;
    }
    if (n == 0)
    {
        rc = 0;
        goto cleanup;
    }
    /* pg_restore prints every GRANT after every object, and the
     * materialized views' data and the event triggers after those, each
     * pass in the list's order: listed so, the script is in list order */
    qsort(entries, n, sizeof *entries, s_entry_cmp);
    kinds = xcalloc(n, sizeof *kinds);
    for (size_t i = 0; i < n; i++)
    {
        kinds[i] = entries[i].kind;
    }
    if (s_restore_script(pg_bin, dir, dump, entries, n, opts->no_owner, sql,
                         error) != 0)
    {
        goto cleanup;
    }
    items = postdata_split(strbuf_data(sql), n, kinds);
    if (items == NULL)
    {
        log_warn("db=%s the post-data script does not match its table of "
                 "contents entry for entry: reading its %zu entries one by one",
                 PQdb(src), n);
        rc = s_read_one_by_one(pg_bin, dir, dump, entries, n, opts->no_owner,
                               res, error);
    }
    else
    {
        for (size_t i = 0; i < n; i++)
        {
            s_add_item(&entries[i], &items[i], res);
        }
        rc = 0;
    }
    if (rc == 0)
    {
        s_find_item_tables(src, res->items + first, res->n_items - first);
    }

cleanup:
    free(items);
    free(kinds);
    free(entries);
    strbuf_destroy(&sql);
    strbuf_destroy(&toc);
    return rc;
}
