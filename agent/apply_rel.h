/*
 * agent/apply_rel.h
 *     apply's relation cache: what the Relation messages said of each
 *     table, by the source's relid, the catalog facts of the target that
 *     go with it, and the statements prepared for it on the target.
 *
 * Private to apply (agent/apply*.c): the functions take the apply_t of
 * agent/apply_internal.h. The record is visible because apply's other
 * files keep their own state in it; each field says which file writes it,
 * and the others only read it.
 */
#ifndef PGCONVOY_APPLY_REL_H
#define PGCONVOY_APPLY_REL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/apply.h"
#include "agent/apply_sql.h"
#include "agent/change.h"
#include "agent/pipeline.h"

#define APPLY_REL_NBUCKETS 256
/* Rows of one grouped statement: 2, 4, ... APPLY_REL_GROUP_MAX
 * (APPLY_REL_GROUP_SIZES powers of two), so that a table has few
 * statements to prepare. */
#define APPLY_REL_GROUP_MAX 64
#define APPLY_REL_GROUP_SIZES 6

/* A statement prepared for one relation (apply_rel.c's). */
typedef struct apply_rel_stmt_t apply_rel_stmt_t;
/* A sorted set of tables or columns of the target (apply_rel.c's). */
typedef struct apply_rel_names_t apply_rel_names_t;

typedef struct apply_rel_t apply_rel_t;

struct apply_rel_t
{
    /* apply_rel.c's: what the Relation said, and the statements */
    uint32_t relid;          /* the source's oid, the cache key */
    char *nspname;           /* as sent, to see whether a re-sent Relation */
    char *relname;           /* differs from the cached one */
    apply_sql_rel_t desc;    /* names, columns: as statements see it, owned */
    char *label;             /* schema.table, for messages */
    char replident;          /* as sent: 'd', 'n', 'f', 'i' */
    apply_rel_stmt_t *stmts; /* prepared statements of this relation */
    int nstmts;              /* length of stmts */
    bool typed;              /* every column's type is built in */
    bool updates_in_order;   /* its Updates are never grouped */
    int nsettable;           /* columns an Update with the key unchanged sets */
    /* prepared grouped statements (apply_rel_run_group()): insert,
     * update, delete, by size; NULL until prepared, owned */
    char *group_names[3][APPLY_REL_GROUP_SIZES];
    uint64_t group_used; /* when it last sent one (apply_t's group_tick) */
    apply_rel_t *next;   /* hash bucket chain */

    /* apply_queue.c's: */
    change_t *queue;          /* changes waiting to be sent, owned */
    change_t *queue_last;     /* the newest of them */
    apply_rel_t *next_queued; /* the apply_t's queued list */

    /* apply_batch.c's: */
    apply_counters_t applied;     /* committed on the target */
    apply_counters_t pending[2];  /* per apply_batch_t, not committed yet */
    uint64_t must_update;         /* rows the open batch's UPDATEs and */
    uint64_t must_delete;         /* DELETEs changed since its baseline */
    bool touched[2];              /* on that batch's touched list */
    apply_rel_t *next_touched[2]; /* that batch's touched list */
};

/*
 * Reads what the target's catalog says of its tables, once per session:
 * those whose Updates must go in order, and the columns GENERATED ALWAYS
 * AS IDENTITY. Returns 0, or -1 with *error set (free() it).
 */
int apply_rel_load_facts(apply_t *self, char **error);
/* Frees every relation, their statements (first DEALLOCATEd on the
 * target if deallocate) and the facts. */
void apply_rel_free_all(apply_t *self, bool deallocate);

/* The cached relation of relid; NULL if no Relation described it. */
apply_rel_t *apply_rel_find(const apply_t *self, uint32_t relid);
/* True if r describes rel as it is cached: same names, same columns. */
bool apply_rel_is_same(const apply_rel_t *rel, const pgoutput_relation_t *r);
/*
 * The cached relation for r, created or brought up to date. A Relation is
 * re-sent after every schema change and at every new stream; only a real
 * difference drops the prepared statements, whose column lists would be
 * wrong. Counters survive.
 */
apply_rel_t *apply_rel_sync(apply_t *self, const pgoutput_relation_t *r);
/* Sums the counters of what every relation has applied. */
void apply_rel_totals(const apply_t *self, apply_counters_t *counters);

/*
 * Sends sql with p into the transaction's pipeline, prepared once per
 * relation and text; expect says what its result must be. Returns 0, or
 * -1 with the error set (this statement's or an earlier one's).
 */
int apply_rel_run(apply_t *self, apply_rel_t *rel, const char *what,
                  const char *sql, const apply_sql_params_t *p,
                  pipeline_expect_t expect);
/* Sends the grouped statement of rows changes of type (rows a power of
 * two from 2 to APPLY_REL_GROUP_MAX) with p, prepared once per relation
 * and shape. Returns 0, or -1 with the error set. */
int apply_rel_run_group(apply_t *self, apply_rel_t *rel,
                        pgoutput_msg_type_t type, int rows,
                        const apply_sql_params_t *p);
/* Forgets every prepared statement and DEALLOCATEs them all on the
 * target: after a failure that may have aborted a Parse. */
void apply_rel_forget_statements(apply_t *self);

#endif
