/*
 * agent/predata.c
 *     The pre-data section, cut into chunks that name their tables.
 *
 * pg_restore -l lists the entries in the order it prints them; the TABLE
 * entries' object ids name their tables on the source (one query for all
 * of them: the listing prints names unquoted, which spaces make
 * ambiguous). The script is cut where a chunk ends, by the same rules
 * that cut the post-data section into items (postdata.c).
 */
#include "agent/predata.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/pgtool.h"
#include "agent/postdata.h"
#include "agent/unit.h"
#include "common/log.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* The listing's entries: the object id of each that makes a table, or
 * attaches one as a partition (0 for others). */
typedef struct
{
    unsigned int *oids;
    bool *attaches;     /* the entry attaches oids[i] to its parent */
    const char **types; /* "TABLE public …": borrowed from the listing */
    size_t n;
} s_listing_t;

/*
 * Reads "id; tableoid oid TYPE schema tag owner" lines. A table is made
 * by a TABLE entry and, when a partition, attached by a TABLE ATTACH one
 * (whose oid is the partition's); TABLE DATA is no pre-data entry.
 */
static void
s_parse_listing(char *text, s_listing_t *l)
{
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
    {
        unsigned int oid = 0;
        int rest = 0;
        bool attach = false;
        const char *type = NULL;

        if (line[0] == ';' || line[0] == '\0')
        {
            continue;
        }
        if (sscanf(line, "%*d; %*u %u %n", &oid, &rest) < 1 || rest == 0)
        {
            oid = 0;
        }
        else
        {
            type = line + rest;
            /* the GRANTs are not in the script: they come after the load */
            if (strncmp(type, "ACL ", 4) == 0 ||
                strncmp(type, "DEFAULT ACL ", 12) == 0)
            {
                continue;
            }
            attach = strncmp(type, "TABLE ATTACH ", 13) == 0;
            if (!attach && (strncmp(type, "TABLE ", 6) != 0 ||
                            strncmp(type, "TABLE DATA ", 11) == 0))
            {
                oid = 0;
            }
        }
        l->oids = realloc(l->oids, (l->n + 1) * sizeof *l->oids);
        l->attaches = realloc(l->attaches, (l->n + 1) * sizeof *l->attaches);
        l->types = realloc(l->types, (l->n + 1) * sizeof *l->types);
        if (l->oids == NULL || l->attaches == NULL || l->types == NULL)
        {
            abort();
        }
        l->types[l->n] = type;
        l->attaches[l->n] = attach;
        l->oids[l->n++] = oid;
    }
}

/* A TABLE ATTACH entry: the partition's oid, and where it is listed. */
typedef struct
{
    unsigned int oid;
    size_t at;
} s_attach_t;

static int
s_attach_cmp(const void *a, const void *b)
{
    const s_attach_t *x = a;
    const s_attach_t *y = b;

    return x->oid < y->oid ? -1 : x->oid > y->oid ? 1 : 0;
}

/* The listing's TABLE ATTACH entries, sorted by oid. */
static s_attach_t *
s_attaches(const s_listing_t *l, size_t *n)
{
    s_attach_t *a = xcalloc(l->n + 1, sizeof *a);

    *n = 0;
    for (size_t i = 0; i < l->n; i++)
    {
        if (l->attaches[i])
        {
            a[*n].oid = l->oids[i];
            a[(*n)++].at = i;
        }
    }
    qsort(a, *n, sizeof *a, s_attach_cmp);
    return a;
}

/*
 * The entry after which table entry i's table is whole: its own, or the
 * TABLE ATTACH that makes it a partition. Loaded before it is attached,
 * a partition would be scanned by the ATTACH to check its bounds.
 */
static size_t
s_made_at(const s_listing_t *l, size_t i, const s_attach_t *attaches,
          size_t nattaches)
{
    s_attach_t key = {l->oids[i], 0};
    const s_attach_t *found =
        bsearch(&key, attaches, nattaches, sizeof key, s_attach_cmp);

    return found != NULL && found->at > i ? found->at : i;
}

/*
 * True if each table may be loaded as soon as its chunk commits: no entry
 * after the first table locks a table made before it. Loading takes a
 * table's strongest lock (TRUNCATE) until it commits, and a chunk
 * takes locks until it commits: a chunk that sets a column's default,
 * attaches a partition, makes a view, an identity, a child table or a
 * comment on a table already loading, while a load of several tables
 * waits for a table the chunk made, is a deadlock. So only sections
 * whose tables are plain, and whose entries after the first table make
 * only schemas, types, domains, collations and large objects, are loaded
 * early; any other is still made chunk by chunk, but its tables are
 * loaded once it is whole.
 * entries[i] is entry i's script.
 */
static bool
s_may_load_early(const s_listing_t *l, char *const *entries)
{
    /* a large object's entry makes it, empty, and sets its owner */
    static const char *const harmless[] = {
        "SCHEMA ", "TYPE ", "DOMAIN ", "COLLATION ", "BLOB ", NULL};
    bool tables = false;

    for (size_t i = 0; i < l->n; i++)
    {
        bool ok = false;

        if (l->oids[i] != 0 && !l->attaches[i])
        {
            /* a child locks its parent */
            if (strstr(entries[i], " INHERITS (") != NULL ||
                strstr(entries[i], " PARTITION OF ") != NULL)
            {
                return false;
            }
            tables = true;
            continue;
        }
        /* before the first table, nothing can lock one */
        if (!tables)
        {
            continue;
        }
        for (size_t k = 0; l->types[i] != NULL && harmless[k] != NULL; k++)
        {
            ok = ok ||
                 strncmp(l->types[i], harmless[k], strlen(harmless[k])) == 0;
        }
        if (!ok)
        {
            return false;
        }
    }
    return true;
}

/* Where each chunk ends: after first_tables tables, then every tables. */
static size_t *
s_chunk_ends(const s_listing_t *l, size_t first_tables, size_t tables,
             size_t *nchunks)
{
    size_t *ends = xcalloc(l->n + 1, sizeof *ends);
    size_t in_chunk = 0;
    size_t n = 0;

    for (size_t i = 0; i < l->n; i++)
    {
        in_chunk += l->oids[i] != 0 && !l->attaches[i] ? 1 : 0;
        if (in_chunk >= (n == 0 ? first_tables : tables) || i + 1 == l->n)
        {
            ends[n++] = i + 1;
            in_chunk = 0;
        }
    }
    *nchunks = n;
    return ends;
}

/* Names each chunk's tables, from one query on the source. */
static int
s_name_tables(PGconn *src, const s_listing_t *l, const size_t *ends,
              predata_chunk_t *chunks, char **error)
{
    strbuf_t *oids = strbuf_new();
    PGresult *r = NULL;
    int rc = -1;

    strbuf_append(oids, "{");
    for (size_t i = 0; i < l->n; i++)
    {
        if (l->oids[i] != 0 && !l->attaches[i])
        {
            strbuf_appendf(oids, "%s%u", strbuf_len(oids) > 1 ? "," : "",
                           l->oids[i]);
        }
    }
    strbuf_append(oids, "}");
    const char *params[1] = {strbuf_data(oids)};
    /* in the listing's order: one walk over both matches them; with
     * whether a column holds reg* values, which name objects that may
     * be made in a later chunk */
    r = pgconn_query(
        src,
        "SELECT x.oid, n.nspname, c.relname, "
        "       EXISTS (SELECT 1 FROM pg_attribute a "
        "                 JOIN pg_type t ON t.oid = a.atttypid "
        "                 LEFT JOIN pg_type e ON e.oid = t.typelem "
        "                WHERE a.attrelid = c.oid AND a.attnum > 0 "
        "                  AND NOT a.attisdropped "
        "                  AND (t.typname IN " UNIT_REG_TYPES
        "                       OR e.typname IN " UNIT_REG_TYPES ")) "
        "  FROM unnest($1::oid[]) WITH ORDINALITY AS x(oid, i) "
        "  JOIN pg_class c ON c.oid = x.oid "
        "  JOIN pg_namespace n ON n.oid = c.relnamespace "
        " ORDER BY x.i",
        1, params, error);
    if (r == NULL)
    {
        goto cleanup;
    }
    size_t nattaches = 0;
    s_attach_t *attaches = s_attaches(l, &nattaches);
    for (size_t i = 0, row = 0; i < l->n; i++)
    {
        if (l->oids[i] == 0 || l->attaches[i] || (int) row >= PQntuples(r) ||
            strtoul(PQgetvalue(r, (int) row, 0), NULL, 10) != l->oids[i])
        {
            continue; /* not a table, or gone from the source since */
        }
        /* a table holding reg* values is loaded once every object
         * exists: the text of each is read on the target as a name */
        size_t made = PQgetvalue(r, (int) row, 3)[0] == 't'
                          ? l->n - 1
                          : s_made_at(l, i, attaches, nattaches);
        size_t c = 0;
        while (made >= ends[c])
        {
            c++;
        }
        Pgconvoy__TableRef *t = xcalloc(1, sizeof *t);
        pgconvoy__table_ref__init(t);
        t->schema = xstrdup(PQgetvalue(r, (int) row, 1));
        t->name = xstrdup(PQgetvalue(r, (int) row, 2));
        row++;
        chunks[c].tables =
            realloc(chunks[c].tables,
                    (chunks[c].n_tables + 1) * sizeof *chunks[c].tables);
        if (chunks[c].tables == NULL)
        {
            abort();
        }
        chunks[c].tables[chunks[c].n_tables++] = t;
    }
    free(attaches);
    rc = 0;

cleanup:
    PQclear(r);
    strbuf_destroy(&oids);
    return rc;
}

int
predata_read_chunks(const char *pg_bin, PGconn *src, const char *dump,
                    bool no_owner, size_t first_tables, size_t tables,
                    predata_chunk_t **chunks_p, size_t *n, char **error)
{
    const char *list_argv[] = {"-l", dump, NULL};
    /* the GRANTs are read apart, as items for after the load (they
     * would lock tables being loaded); an archive keeps its owners
     * whatever pg_dump was told, so --no-owner is pg_restore's */
    const char *script_argv[] = {"--no-privileges",
                                 "-f",
                                 "-",
                                 dump,
                                 no_owner ? "--no-owner" : NULL,
                                 NULL};
    strbuf_t *listing = strbuf_new();
    strbuf_t *script = strbuf_new();
    s_listing_t l = {NULL, NULL, NULL, 0};
    const char **kinds = NULL;
    size_t *ends = NULL;
    size_t nchunks = 0;
    char **each = NULL;
    char **sqls = NULL;
    predata_chunk_t *chunks = NULL;
    bool early = false;
    int rc = -1;

    *chunks_p = NULL;
    *n = 0;
    /* from a file, not the source: quick, nothing to stop */
    if (pgtool_run(pg_bin, "pg_restore", list_argv, NULL, NULL, listing, NULL,
                   NULL, error) != 0 ||
        pgtool_run(pg_bin, "pg_restore", script_argv, NULL, NULL, script, NULL,
                   NULL, error) != 0)
    {
        goto cleanup;
    }
    pgtool_strip_meta(script);
    s_parse_listing((char *) strbuf_data(listing), &l);
    /* the types are the listing's, not the headers' words: any header */
    kinds = xcalloc(l.n + 1, sizeof *kinds);
    ends = s_chunk_ends(&l, first_tables, tables, &nchunks);
    each = l.n > 0 ? postdata_split(strbuf_data(script), l.n, kinds) : NULL;
    /*
     * Chunks also bound what one transaction locks: made in one, the
     * 10,000 tables of a database with partitions (a table, its TOAST
     * table and index: three locks each) outgrew the target's lock table
     * ("out of shared memory"), which pg_restore, a transaction per
     * entry, does not.
     */
    if (each != NULL)
    {
        sqls = postdata_split_groups(strbuf_data(script), l.n, kinds, ends,
                                     nchunks);
        early = s_may_load_early(&l, each);
        if (!early)
        {
            log_info("db=%s the pre-data section changes tables after "
                     "making them: its tables are loaded once it is whole",
                     PQdb(src));
        }
    }
    else if (l.n > 0)
    {
        log_info("db=%s the pre-data section does not match its table of "
                 "contents entry for entry: made in one piece, its tables "
                 "loaded once it is whole",
                 PQdb(src));
    }
    if (sqls == NULL)
    {
        /* made whole, as before the chunks: no table exists before */
        chunks = xcalloc(1, sizeof *chunks);
        chunks[0].sql = strbuf_finish(&script);
        *chunks_p = chunks;
        *n = 1;
        rc = 0;
        goto cleanup;
    }
    chunks = xcalloc(nchunks, sizeof *chunks);
    for (size_t c = 0; c < nchunks; c++)
    {
        chunks[c].sql = sqls[c];
    }
    /* no table named: every table exists once the last chunk commits */
    if (early && s_name_tables(src, &l, ends, chunks, error) != 0)
    {
        predata_free_chunks(&chunks, nchunks);
        goto cleanup;
    }
    *chunks_p = chunks;
    *n = nchunks;
    rc = 0;

cleanup:
    for (size_t i = 0; each != NULL && i < l.n; i++)
    {
        free(each[i]);
    }
    free(each);
    free(sqls);
    free(ends);
    free(kinds);
    free(l.oids);
    free(l.attaches);
    free(l.types);
    strbuf_destroy(&script);
    strbuf_destroy(&listing);
    return rc;
}

void
predata_free_chunks(predata_chunk_t **chunks_p, size_t n)
{
    predata_chunk_t *chunks = *chunks_p;

    for (size_t c = 0; chunks != NULL && c < n; c++)
    {
        free(chunks[c].sql);
        for (size_t i = 0; i < chunks[c].n_tables; i++)
        {
            pgconvoy__table_ref__free_unpacked(chunks[c].tables[i], NULL);
        }
        free(chunks[c].tables);
    }
    free(chunks);
    *chunks_p = NULL;
}
