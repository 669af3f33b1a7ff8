/*
 * agent/apply_queue.c
 *     apply's queue: a batch's changes, held a moment to go out a table at
 *     a time, and sent as statements: one change alone, or a run of them
 *     in one grouped statement.
 *
 * Invariants:
 * - A table's changes go to the target in the order they came; those of
 *   different tables may not (why that is safe: below). What is held is
 *   bounded (S_QUEUE_BYTES), and dropped, never sent, after a failure.
 * - A grouped statement holds no key twice: an Update or a Delete joins
 *   each row once.
 */
#include "agent/apply_queue.h"

#include <stdlib.h>
#include <string.h>

#include "agent/apply_batch.h"
#include "agent/apply_internal.h"
#include "agent/apply_sql.h"
#include "common/lsn.h"
#include "common/strbuf.h"

/* Changes held in the queue before they are sent anyway. */
#define S_QUEUE_BYTES ((size_t) 1024 * 1024)
/* PostgreSQL's limit on a statement's parameters. */
#define S_MAX_PARAMS 65535

/*
 * Why changes of different tables may be reordered: in the target
 * transaction, with session_replication_role = replica, no foreign key is
 * checked and no trigger or rule fires, so a table's rows depend only on
 * that table's changes, in their order, which the queue keeps; and no
 * one sees the transaction before it commits. A trigger or rule that
 * fires for replicated rows (ENABLE ALWAYS or REPLICA) could see the
 * difference: then nothing is reordered or grouped (s_may_group() in
 * agent/apply.c).
 */

/* ------------------------------------------------------------------ */
/* Grouped statements */

/*
 * One statement for several changes of a table: a run of Inserts, or of
 * Updates (key unchanged, every column sent) or Deletes found by key, none
 * of whose keys repeats. A source transaction's statement costs the
 * target most of its time in starting and ending the executor, not in the
 * row; 64 rows in one statement cost about half as much as 64 statements
 * (pgbench's transactions: 1.9 times the rate).
 *
 * Updates and Deletes join the table with a VALUES list, whose parameters
 * need their types named: only built-in types have the same oid on both
 * servers, so only tables whose columns are all of them are grouped.
 *
 * The rows of a grouped UPDATE change in the join's order, not the
 * list's: a unique index other than the key's (or an exclusion
 * constraint), checked row by row, could then see two rows swap a value
 * in an order the source never had, and refuse. Such tables' Updates are
 * not grouped (s_in_order_sql, agent/apply_rel.c).
 */

/* The tuple holding a change's key. */
static const pgoutput_tuple_t *
s_key_tuple(const change_t *ch)
{
    return ch->type == PGOUTPUT_DELETE ? &ch->change.old_tuple
                                       : &ch->change.new_tuple;
}

/* Whether ch can share a statement with other changes of its kind. */
static bool
s_is_groupable(const apply_rel_t *rel, const change_t *ch)
{
    const pgoutput_tuple_t *key = s_key_tuple(ch);

    switch (ch->type)
    {
        case PGOUTPUT_INSERT:
            break;
        case PGOUTPUT_UPDATE:
            if (ch->change.old_kind != 0 || !rel->typed ||
                rel->desc.nkeys == 0 || rel->nsettable == 0 ||
                rel->updates_in_order)
            {
                return false;
            }
            break;
        case PGOUTPUT_DELETE:
            if (ch->change.old_kind != 'K' || !rel->typed ||
                rel->desc.nkeys == 0)
            {
                return false;
            }
            break;
        default:
            return false;
    }
    if (rel->desc.ncols == 0 || key->ncols != rel->desc.ncols)
    {
        return false;
    }
    for (int i = 0; i < rel->desc.ncols; i++)
    {
        pgoutput_value_kind_t kind = key->values[i].kind;
        bool is_key = (rel->desc.flags[i] & PGOUTPUT_COLUMN_KEY) != 0;

        /* an Update must set every column; a key must be there to join */
        if ((ch->type != PGOUTPUT_DELETE && kind == PGOUTPUT_VALUE_UNCHANGED) ||
            (ch->type != PGOUTPUT_INSERT && is_key &&
             (kind == PGOUTPUT_VALUE_NULL || kind == PGOUTPUT_VALUE_UNCHANGED)))
        {
            return false;
        }
    }
    return true;
}

/* The same key: the same bytes in each key column. A row's key prints
 * the same each time, and two rows of a unique key cannot be equal. */
static bool
s_same_key(const apply_rel_t *rel, const change_t *a, const change_t *b)
{
    const pgoutput_tuple_t *ka = s_key_tuple(a);
    const pgoutput_tuple_t *kb = s_key_tuple(b);

    for (int i = 0; i < rel->desc.ncols; i++)
    {
        const pgoutput_value_t *va = &ka->values[i];
        const pgoutput_value_t *vb = &kb->values[i];

        if ((rel->desc.flags[i] & PGOUTPUT_COLUMN_KEY) != 0 &&
            (va->len != vb->len || memcmp(va->data, vb->data, va->len) != 0))
        {
            return false;
        }
    }
    return true;
}

/*
 * How many changes from first on go in its statement, from 1 (alone) to
 * APPLY_REL_GROUP_MAX: of its kind, each groupable, no key twice (an
 * Update or a Delete joins each row once).
 */
static int
s_run_length(const apply_t *self, const apply_rel_t *rel, const change_t *first)
{
    int max =
        S_MAX_PARAMS / (apply_sql_group_width(&rel->desc, first->type) + 1);
    int n = 1;

    if (!self->grouping || !s_is_groupable(rel, first))
    {
        return 1;
    }
    max = max < APPLY_REL_GROUP_MAX ? max : APPLY_REL_GROUP_MAX;
    for (const change_t *ch = first->next; ch != NULL && n < max;
         ch = ch->next, n++)
    {
        if (ch->type != first->type || !s_is_groupable(rel, ch))
        {
            break;
        }
        if (ch->type != PGOUTPUT_INSERT)
        {
            /* the n before ch: stopping short of it, seen has its key */
            const change_t *seen = first;

            for (int i = 0; i < n && !s_same_key(rel, seen, ch); i++)
            {
                seen = seen->next;
            }
            if (seen != ch)
            {
                break;
            }
        }
    }
    return n;
}

/* Sends rows changes from first on (a run, rows a power of two from 2
 * to APPLY_REL_GROUP_MAX) as one statement. Returns 0, or -1 with the
 * error set. */
static int
s_apply_group(apply_t *self, apply_rel_t *rel, const change_t *first, int rows)
{
    bool key_only = first->type == PGOUTPUT_DELETE;
    const change_t *ch = first;
    apply_sql_params_t p;
    int rc = -1;

    apply_sql_params_init(
        &p, rows * apply_sql_group_width(&rel->desc, first->type));
    for (int r = 0; r < rows; r++, ch = ch->next)
    {
        const pgoutput_tuple_t *tuple = s_key_tuple(ch);

        for (int i = 0; i < rel->desc.ncols; i++)
        {
            if (!key_only || (rel->desc.flags[i] & PGOUTPUT_COLUMN_KEY) != 0)
            {
                (void) apply_sql_params_add_typed(
                    &p, &tuple->values[i],
                    first->type == PGOUTPUT_INSERT ? 0
                                                   : (Oid) rel->desc.types[i]);
            }
        }
    }
    if (apply_rel_run_group(self, rel, first->type, rows, &p) != 0)
    {
        goto cleanup;
    }
    apply_batch_count_sent(self, rel, first->type, (uint64_t) rows);
    rc = 0;

cleanup:
    apply_sql_params_free(&p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* One change alone */

/* Sends one queued change as its own statement. */
static int
s_apply_one(apply_t *self, apply_rel_t *rel, const change_t *ch)
{
    const pgoutput_change_t *c = &ch->change;
    const char *what = apply_sql_what(ch->type);
    apply_sql_params_t p = {0};
    char *why = NULL;
    char *sql = NULL;
    int rc = -1;

    /* what was sent must be of the columns apply knows (s_rel_get() in
     * agent/apply.c) */
    if ((ch->type != PGOUTPUT_DELETE &&
         c->new_tuple.ncols != rel->desc.ncols) ||
        (c->old_kind != 0 && c->old_tuple.ncols != rel->desc.ncols))
    {
        apply_set_error(self, false,
                        xasprintf("table=%s lsn=" LSN_FMT " cannot apply a "
                                  "change of %u columns to a table of %d",
                                  rel->label, LSN_ARGS(ch->lsn),
                                  (unsigned) (ch->type == PGOUTPUT_DELETE
                                                  ? c->old_tuple.ncols
                                                  : c->new_tuple.ncols),
                                  rel->desc.ncols));
        goto cleanup;
    }
    sql = apply_sql_change(&rel->desc, ch->type, c, &p, &why);
    if (sql == NULL)
    {
        apply_set_error(
            self, false,
            xasprintf("table=%s lsn=" LSN_FMT " cannot apply %s: %s",
                      rel->label, LSN_ARGS(self->stmt_lsn), what, why));
        goto cleanup;
    }
    /* an UPDATE or DELETE changes one row, or the target no longer holds
     * the row the source changed */
    if (apply_rel_run(self, rel, what, sql, &p,
                      ch->type == PGOUTPUT_INSERT ? PIPELINE_OK
                                                  : PIPELINE_ROWS) != 0)
    {
        goto cleanup;
    }
    apply_batch_count_sent(self, rel, ch->type, 1);
    rc = 0;

cleanup:
    apply_sql_params_free(&p); /* zeroed or initialised: safe either way */
    free(why);
    free(sql);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The queue */

/* Drops rel's queued changes. */
static void
s_queue_clear(apply_rel_t *rel)
{
    while (rel->queue != NULL)
    {
        change_t *ch = rel->queue;

        rel->queue = ch->next;
        change_destroy(&ch);
    }
    rel->queue_last = NULL;
}

/* Sends rel's queued changes, in their order, grouped where they can be. */
static int
s_queue_send_rel(apply_t *self, apply_rel_t *rel)
{
    const change_t *ch = rel->queue;

    while (ch != NULL)
    {
        int rows = s_run_length(self, rel, ch);

        /* the largest power of two in it: few statements to prepare */
        while ((rows & (rows - 1)) != 0)
        {
            rows &= rows - 1;
        }
        self->stmt_lsn = ch->lsn;
        if ((rows == 1 ? s_apply_one(self, rel, ch)
                       : s_apply_group(self, rel, ch, rows)) != 0)
        {
            return -1;
        }
        for (int i = 0; i < rows; i++)
        {
            ch = ch->next;
        }
    }
    return 0;
}

int
apply_queue_flush(apply_t *self, bool send)
{
    uint64_t stmt_lsn = self->stmt_lsn;
    int rc = 0;

    while (self->queued != NULL)
    {
        apply_rel_t *rel = self->queued;

        self->queued = rel->next_queued;
        rel->next_queued = NULL;
        if (send && rc == 0)
        {
            rc = s_queue_send_rel(self, rel);
        }
        s_queue_clear(rel);
    }
    self->queued_last = NULL;
    self->queued_bytes = 0;
    self->stmt_lsn = stmt_lsn;
    return rc;
}

int
apply_queue_change(apply_t *self, apply_rel_t *rel, pgoutput_msg_type_t type,
                   const pgoutput_change_t *c)
{
    change_t *ch = NULL;

    if (!self->grouping && self->queued != NULL && self->queued != rel &&
        apply_queue_flush(self, true) != 0)
    {
        return -1;
    }
    ch = change_new(type, c, self->xact_lsn);
    if (rel->queue == NULL)
    {
        rel->queue = ch;
        if (self->queued_last != NULL)
        {
            self->queued_last->next_queued = rel;
        }
        else
        {
            self->queued = rel;
        }
        self->queued_last = rel;
    }
    else
    {
        rel->queue_last->next = ch;
    }
    rel->queue_last = ch;
    self->queued_bytes += ch->size;
    return self->queued_bytes > S_QUEUE_BYTES ? apply_queue_flush(self, true)
                                              : 0;
}
