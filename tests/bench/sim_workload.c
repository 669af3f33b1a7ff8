/*
 * tests/bench/sim_workload.c
 *     The simulated database and the model of the coordinator's queue.
 *
 * The model follows coordinator/plan.c as documented there: copies are
 * queued when schema-pre reports the tables exist; a table's items once
 * it is loaded and the items are known; its ANALYZE once its items are
 * built; finalize once every table is analyzed. It runs ahead of the
 * coordinator by whatever the coordinator has not processed yet, which
 * is the point: work the coordinator was told about and has not placed
 * is work that remained.
 */
#include "sim_workload.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/strbuf.h"

#define SIM_BLOCK_SIZE 8192
#define SIM_MAX_PARTS 256 /* as PLAN_MAX_PARTS */

typedef struct
{
    int parts;      /* copy units of the table */
    int parts_done; /* of them, answered */
    int items_done; /* phase-1 items answered */
    bool analyzed;  /* its ANALYZE answered */
} sim_table_t;

struct sim_workload_t
{
    sim_workload_options_t opts;
    sim_table_t *tables;              /* opts.tables of them, owned */
    Pgconvoy__TableRef *refs;         /* what prepare reports, owned */
    Pgconvoy__TableRef **ref_ptrs;    /* into refs */
    Pgconvoy__SchemaItem *items;      /* what schema-pre reports, owned */
    Pgconvoy__SchemaItem **item_ptrs; /* into items */
    int64_t nitems;                   /* phase 1 and phase 2 */
    int64_t copy_units;               /* sum of the tables' parts */
    bool tables_created;              /* copies queued */
    bool items_sent;                  /* schema-pre's Result sent */
    int64_t tables_loaded;            /* every part answered */
    int64_t tables_analyzed;
    int64_t queueable; /* units the coordinator could have queued so far */
    int64_t assigned;  /* of the same kinds, received */
};

static int64_t
s_table_bytes(const sim_workload_t *self, int i)
{
    if (i < self->opts.huge)
    {
        return SIM_WORKLOAD_HUGE_BYTES;
    }
    if (i < self->opts.huge + self->opts.big)
    {
        return SIM_WORKLOAD_BIG_BYTES;
    }
    /* 16 kB to about 2 MB, the same every run */
    return 16384 + (int64_t) (((uint32_t) i * 2654435761u) % 2048) * 1024;
}

static int
s_table_parts(const sim_workload_t *self, int64_t pages)
{
    int64_t size = pages * SIM_BLOCK_SIZE;
    int64_t split = self->opts.split_bytes;
    int64_t parts = 1;

    if (split > 0 && size > split)
    {
        parts = (size + split - 1) / split;
        parts = parts < SIM_MAX_PARTS ? parts : SIM_MAX_PARTS;
    }
    return (int) parts;
}

static void
s_build_tables(sim_workload_t *self)
{
    int n = self->opts.tables;

    self->tables = xcalloc((size_t) n, sizeof *self->tables);
    self->refs = xcalloc((size_t) n, sizeof *self->refs);
    self->ref_ptrs = xcalloc((size_t) n, sizeof(Pgconvoy__TableRef *));
    for (int i = 0; i < n; i++)
    {
        Pgconvoy__TableRef *t = &self->refs[i];
        int64_t bytes = s_table_bytes(self, i);

        pgconvoy__table_ref__init(t);
        t->schema = xstrdup("public");
        t->name = xasprintf("t%06d", i);
        t->bytes = bytes;
        t->rows = bytes / 64;
        t->binary = true;
        t->columns = xstrdup("id, c1, c2, payload");
        t->pages = bytes / SIM_BLOCK_SIZE;
        self->ref_ptrs[i] = t;
        self->tables[i].parts = s_table_parts(self, t->pages);
        self->copy_units += self->tables[i].parts;
    }
}

static void
s_build_items(sim_workload_t *self)
{
    int n = self->opts.tables;
    int per = self->opts.items_per_table;
    int64_t k = 0;

    self->nitems = (int64_t) n * per + self->opts.fk_items;
    self->items = xcalloc((size_t) self->nitems, sizeof *self->items);
    self->item_ptrs =
        xcalloc((size_t) self->nitems, sizeof(Pgconvoy__SchemaItem *));
    for (int i = 0; i < n; i++)
    {
        for (int j = 0; j < per; j++, k++)
        {
            Pgconvoy__SchemaItem *item = &self->items[k];
            const char *table = self->refs[i].name;

            pgconvoy__schema_item__init(item);
            item->phase = 1;
            item->table_schema = xstrdup("public");
            item->table_name = xstrdup(table);
            if (j == 0)
            {
                item->kind = xstrdup("CONSTRAINT");
                item->tag = xasprintf("%s %s_pkey", table, table);
                item->sql = xasprintf("ALTER TABLE ONLY public.%s ADD "
                                      "CONSTRAINT %s_pkey PRIMARY KEY (id);",
                                      table, table);
            }
            else
            {
                item->kind = xstrdup("INDEX");
                item->tag = xasprintf("%s_i%d", table, j);
                item->sql = xasprintf("CREATE INDEX %s_i%d ON public.%s "
                                      "USING btree (c%d);",
                                      table, j, table, j);
            }
            self->item_ptrs[k] = item;
        }
    }
    for (int f = 0; f < self->opts.fk_items; f++, k++)
    {
        Pgconvoy__SchemaItem *item = &self->items[k];
        const char *table = self->refs[f % n].name;
        const char *parent = self->refs[(f + 1) % n].name;

        pgconvoy__schema_item__init(item);
        item->phase = 2;
        item->kind = xstrdup("FK CONSTRAINT");
        item->table_schema = xstrdup("public");
        item->table_name = xstrdup(table);
        item->tag = xasprintf("%s %s_fk%d", table, table, f);
        item->sql = xasprintf("ALTER TABLE ONLY public.%s ADD CONSTRAINT "
                              "%s_fk%d FOREIGN KEY (c1) REFERENCES "
                              "public.%s(id);",
                              table, table, f, parent);
        self->item_ptrs[k] = item;
    }
}

sim_workload_t *
sim_workload_new(const sim_workload_options_t *opts)
{
    sim_workload_t *self = xcalloc(1, sizeof *self);

    assert(opts->tables > 0);
    self->opts = *opts;
    s_build_tables(self);
    s_build_items(self);
    return self;
}

void
sim_workload_destroy(sim_workload_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    sim_workload_t *self = *self_p;

    for (int i = 0; i < self->opts.tables; i++)
    {
        free(self->refs[i].schema);
        free(self->refs[i].name);
        free(self->refs[i].columns);
    }
    for (int64_t k = 0; k < self->nitems; k++)
    {
        free(self->items[k].kind);
        free(self->items[k].tag);
        free(self->items[k].sql);
        free(self->items[k].table_schema);
        free(self->items[k].table_name);
    }
    free(self->tables);
    free(self->refs);
    free(self->ref_ptrs);
    free(self->items);
    free(self->item_ptrs);
    free(self);
    *self_p = NULL;
}

void
sim_workload_fill_prepare(sim_workload_t *self, Pgconvoy__Result *res)
{
    res->n_tables = (size_t) self->opts.tables;
    res->tables = self->ref_ptrs;
    res->source_version = "15.8";
    res->target_version = "15.8";
}

void
sim_workload_fill_schema_pre(sim_workload_t *self, Pgconvoy__Result *res)
{
    res->n_items = (size_t) self->nitems;
    res->items = self->item_ptrs;
}

int64_t
sim_workload_item_count(const sim_workload_t *self)
{
    return self->nitems;
}

int64_t
sim_workload_copy_units(const sim_workload_t *self)
{
    return self->copy_units;
}

int64_t
sim_workload_total_units(const sim_workload_t *self)
{
    return 3 + self->copy_units +
           (int64_t) self->opts.tables * self->opts.items_per_table +
           self->opts.tables + 1;
}

/* The table a unit names: its TableRef (copy, analyze) or its item's tag
 * (schema-post); -1 if none of ours. */
static int
s_table_of(const sim_workload_t *self, const Pgconvoy__Assign *a)
{
    const char *name = NULL;
    char *end = NULL;
    long index = -1;

    if (a->table != NULL)
    {
        name = a->table->name;
    }
    else if (a->n_items > 0)
    {
        name = a->items[0]->tag;
    }
    /* "t000123", then a tag's suffix if any */
    if (name == NULL || name[0] != 't')
    {
        return -1;
    }
    index = strtol(name + 1, &end, 10);
    if (end != name + 7 || index < 0 || index >= self->opts.tables)
    {
        return -1;
    }
    return (int) index;
}

/* A table is loaded: its items can be queued once known, and, without
 * items, its ANALYZE. */
static void
s_queue_after_load(sim_workload_t *self)
{
    if (self->items_sent)
    {
        self->queueable +=
            self->opts.items_per_table > 0 ? self->opts.items_per_table : 1;
    }
}

void
sim_workload_on_tables_created(sim_workload_t *self)
{
    if (!self->tables_created)
    {
        self->tables_created = true;
        self->queueable += self->copy_units;
    }
}

void
sim_workload_on_items_sent(sim_workload_t *self)
{
    if (!self->items_sent)
    {
        self->items_sent = true;
        self->queueable +=
            self->tables_loaded *
            (self->opts.items_per_table > 0 ? self->opts.items_per_table : 1);
    }
}

void
sim_workload_on_assigned(sim_workload_t *self, const Pgconvoy__Assign *a)
{
    switch (a->kind)
    {
        case PGCONVOY__UNIT_KIND__UNIT_COPY:
        case PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST:
        case PGCONVOY__UNIT_KIND__UNIT_ANALYZE:
        case PGCONVOY__UNIT_KIND__UNIT_FINALIZE:
            self->assigned++;
            break;
        default:
            break;
    }
}

void
sim_workload_on_done(sim_workload_t *self, const Pgconvoy__Assign *a)
{
    int i = s_table_of(self, a);
    sim_table_t *t = i >= 0 ? &self->tables[i] : NULL;

    switch (a->kind)
    {
        case PGCONVOY__UNIT_KIND__UNIT_COPY:
            if (t != NULL && ++t->parts_done == t->parts)
            {
                self->tables_loaded++;
                s_queue_after_load(self);
            }
            break;
        case PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST:
            if (t != NULL && ++t->items_done == self->opts.items_per_table)
            {
                self->queueable++; /* its ANALYZE */
            }
            break;
        case PGCONVOY__UNIT_KIND__UNIT_ANALYZE:
            if (t != NULL && !t->analyzed)
            {
                t->analyzed = true;
                if (++self->tables_analyzed == self->opts.tables)
                {
                    self->queueable++; /* finalize */
                }
            }
            break;
        default:
            break;
    }
}

int64_t
sim_workload_queued(const sim_workload_t *self)
{
    int64_t queued = self->queueable - self->assigned;

    return queued > 0 ? queued : 0;
}
