/*
 * agent/apply_sql.h
 *     The text of the statements apply (agent/apply.h) sends for a change,
 *     alone or in a run of changes grouped in one statement, and the
 *     parameters they take.
 *
 * Pure: no connection and no state, only a read-only description of the
 * relation, so that every statement can be pinned to the letter by a unit
 * test (tests/unit/test_apply_sql.c). Which changes may share a statement
 * is the queue's to decide (agent/apply_queue.c).
 */
#ifndef PGCONVOY_APPLY_SQL_H
#define PGCONVOY_APPLY_SQL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/pgoutput.h"

/* A relation as its statements see it: the relation cache
 * (agent/apply_rel.c) fills and owns it, this module only reads it. */
typedef struct
{
    char *qualname;  /* "schema"."table", quoted for SQL */
    uint16_t ncols;  /* columns as sent (no dropped, no generated) */
    char **names;    /* ncols names as sent */
    char **quoted;   /* ncols quoted names */
    uint8_t *flags;  /* ncols PGOUTPUT_COLUMN_* */
    uint32_t *types; /* ncols type oids */
    bool *always;    /* ncols: GENERATED ALWAYS AS IDENTITY on the target */
    bool has_always; /* one of them is */
    int nkeys;       /* key columns */
} apply_sql_rel_t;

/* Parameters of one statement, borrowed from queued changes (whose text
 * values are NUL-terminated, as libpq wants them); freed once sent. */
typedef struct
{
    int n;               /* parameters added so far */
    int cap;             /* room in each array */
    const char **values; /* NULL for SQL NULL */
    int *lengths;        /* binary values only */
    int *formats;        /* 0 text, 1 binary */
    Oid *types;          /* NULL, or the types grouped statements name */
} apply_sql_params_t;

/* Room for cap parameters; apply_sql_params_free() ends it. */
void apply_sql_params_init(apply_sql_params_t *p, int cap);
void apply_sql_params_free(apply_sql_params_t *p);
/* Adds v, of a queued change (not unchanged-TOAST: the callers leave
 * those out), as a parameter of type (0: to be inferred) and returns its
 * number, $n. Borrows v's data. */
int apply_sql_params_add_typed(apply_sql_params_t *p, const pgoutput_value_t *v,
                               Oid type);

/* The command of a change of type, as errors name it: "INSERT",
 * "UPDATE" or "DELETE". */
const char *apply_sql_what(pgoutput_msg_type_t type);

/*
 * The statement applying change c of type (an Insert, an Update or a
 * Delete, its tuples of rel->ncols values) to rel alone: owned text, its
 * values borrowed into p as $1, $2, ... p is initialised here, and is the
 * caller's to free whatever the outcome. NULL with *why set (owned, e.g.
 * "no old row was sent") if the change cannot be applied.
 */
char *apply_sql_change(const apply_sql_rel_t *rel, pgoutput_msg_type_t type,
                       const pgoutput_change_t *c, apply_sql_params_t *p,
                       char **why);

/* Parameters one change of rel takes in a grouped statement. */
int apply_sql_group_width(const apply_sql_rel_t *rel, pgoutput_msg_type_t type);
/* The text of the grouped statement for rows changes of type (owned): a
 * run of Inserts, or of Updates or Deletes found by key, each change's
 * apply_sql_group_width() values in column order, one change after the
 * other. */
char *apply_sql_group(const apply_sql_rel_t *rel, pgoutput_msg_type_t type,
                      int rows);

#endif
