/*
 * agent/apply_batch.c
 *     apply's batches: their counters, their bookkeeping statements and
 *     the server-side row-count check before each COMMIT.
 *
 * Invariants:
 * - The origin's progress is set (pg_replication_origin_xact_setup) in the
 *   same target transaction as the rows, never in a separate one, and so
 *   are the counters kept in pgconvoy.cdc_counts.
 * - Counters move from pending to applied only once COMMIT succeeded
 *   (apply_batch_settle()), so they count what the target holds, not
 *   what was attempted.
 * - The server's check compares counts from a baseline noted before a
 *   table's first change in the batch (and again after a TRUNCATE): what
 *   the batch must have changed is counted from the same point.
 */
#include "agent/apply_batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/apply_internal.h"
#include "common/pgconn.h"
#include "common/strbuf.h"

/* ------------------------------------------------------------------ */
/* Parameters: array literals */

/* Appends one element to an integer array literal. */
static void
s_append_array_int(strbuf_t *sb, uint64_t value)
{
    strbuf_appendf(sb, "%s%" PRIu64, strbuf_len(sb) > 1 ? "," : "", value);
}

/* n array literals, opened ("{"); s_arrays_close() ends them into
 * params, s_arrays_destroy() frees them. */
static void
s_arrays_open(strbuf_t **arrays, int n)
{
    for (int i = 0; i < n; i++)
    {
        arrays[i] = strbuf_new();
        strbuf_append(arrays[i], "{");
    }
}

static void
s_arrays_close(strbuf_t **arrays, int n, const char **params)
{
    for (int i = 0; i < n; i++)
    {
        strbuf_append(arrays[i], "}");
        params[i] = strbuf_data(arrays[i]);
    }
}

static void
s_arrays_destroy(strbuf_t **arrays, int n)
{
    for (int i = 0; i < n; i++)
    {
        strbuf_destroy(&arrays[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Bookkeeping statements */

/* The statements of pgconvoy's own bookkeeping, prepared once: what every
 * commit runs first (the origin's progress alone, or with the counters),
 * and the rows changed per table, noted and checked (s_send_baseline(),
 * apply_batch_send_check()). */
enum
{
    S_FIXED_PROGRESS,
    S_FIXED_COUNTS,
    S_FIXED_BASELINE,
    S_FIXED_CHECK
};
static const char *const s_fixed_sql[] = {
    "SELECT pg_replication_origin_xact_setup($1::pg_lsn, $2::timestamptz)",
    "WITH counted AS ("
    "  INSERT INTO pgconvoy.cdc_counts AS c (origin, schema_name, "
    "    table_name, inserts, updates, deletes) "
    "  SELECT $3, * FROM unnest($4::text[], $5::text[], $6::int8[], "
    "    $7::int8[], $8::int8[]) "
    "  ON CONFLICT (origin, schema_name, table_name) DO UPDATE SET "
    "    inserts = c.inserts + excluded.inserts, "
    "    updates = c.updates + excluded.updates, "
    "    deletes = c.deletes + excluded.deletes) "
    "SELECT pg_replication_origin_xact_setup($1::pg_lsn, $2::timestamptz)",
    "SELECT set_config('pgconvoy.base_' || $1::regclass::oid, "
    "  pg_temp.pgconvoy_changed($1::regclass)::text, true)",
    "SELECT pg_temp.pgconvoy_expect_rows($1::regclass[], $2::int8[], "
    "  $3::int8[])"};

/* Sends s_fixed_sql[which], prepared the first time in this session:
 * parsing and planning it for every commit cost more than running it.
 * what and label name it in an error. */
static int
s_send_fixed(apply_t *self, unsigned int which, int nparams,
             const char *const *params, const char *what, const char *label)
{
    char name[32];

    snprintf(name, sizeof name, "pgconvoy_fixed_%u", which);
    if ((self->fixed_prepared & (1u << which)) == 0)
    {
        if (pipeline_prepare(self->pipe, name, s_fixed_sql[which], nparams,
                             NULL, what, label, self->xact_lsn) != 0)
        {
            return -1;
        }
        self->fixed_prepared |= 1u << which;
    }
    return pipeline_send(self->pipe, name, NULL, nparams, params, NULL, NULL,
                         PIPELINE_TUPLES, 0, what, label, self->xact_lsn);
}

/* ------------------------------------------------------------------ */
/* The server-side row-count check */

/*
 * Why the server checks row counts: an UPDATE or DELETE that matches no
 * row on the target (a target that diverged) is no error to PostgreSQL,
 * and we only see its count when its result comes back, after the
 * batch's COMMIT has been sent. So before the COMMIT, the server compares
 * what each table's statements changed in the transaction (the counters
 * behind pg_stat_xact_user_tables, from a baseline noted before the
 * table's first change in the batch) with what they should have, and
 * fails the transaction if they differ. Our own check of each statement
 * then names the statement. A session that cannot have these functions
 * (no TEMP privilege, track_counts off) waits for every result before
 * each COMMIT instead. The counts are a table's and its partitions' (a
 * target partitioned where the source is not has its rows there).
 */
static const char s_expect_rows_sql[] =
    "CREATE FUNCTION pg_temp.pgconvoy_changed(r regclass) RETURNS bigint[] "
    "LANGUAGE sql AS $$ "
    "  SELECT ARRAY[sum(pg_stat_get_xact_tuples_updated(t)), "
    "               sum(pg_stat_get_xact_tuples_deleted(t))]::bigint[] "
    "  FROM (SELECT r AS t UNION ALL "
    "        SELECT relid FROM pg_partition_tree(r) WHERE relid <> r) s $$; "
    "CREATE FUNCTION pg_temp.pgconvoy_expect_rows(rels regclass[], "
    "  updated bigint[], deleted bigint[]) RETURNS void "
    "LANGUAGE plpgsql AS $$ "
    "DECLARE base bigint[]; cur bigint[]; u bigint; d bigint; "
    "BEGIN "
    "  FOR i IN 1 .. coalesce(array_length(rels, 1), 0) LOOP "
    "    base := current_setting('pgconvoy.base_' || rels[i]::oid)::bigint[]; "
    "    cur := pg_temp.pgconvoy_changed(rels[i]); "
    "    u := cur[1] - base[1]; "
    "    d := cur[2] - base[2]; "
    "    IF u <> updated[i] OR d <> deleted[i] THEN "
    "      RAISE EXCEPTION 'table %: % of % rows updated and % of % deleted', "
    "        rels[i], u, updated[i], d, deleted[i] USING ERRCODE = 'P0002', "
    "        HINT = 'The target has diverged from the source.'; "
    "    END IF; "
    "  END LOOP; "
    "END $$";

int
apply_batch_setup_check(PGconn *target)
{
    char *text = NULL;
    PGresult *res = pgconn_query(
        target, "SELECT current_setting('track_counts')::bool", 0, NULL, &text);
    bool ok = res != NULL && PQntuples(res) == 1 &&
              strcmp(PQgetvalue(res, 0, 0), "t") == 0 &&
              pgconn_command(target, s_expect_rows_sql, &text) == 0;

    PQclear(res);
    free(text);
    return ok ? 0 : -1;
}

void
apply_batch_drop_check(PGconn *target)
{
    PQclear(PQexec(target,
                   "DROP FUNCTION pg_temp.pgconvoy_expect_rows(regclass[], "
                   "bigint[], bigint[]); "
                   "DROP FUNCTION pg_temp.pgconvoy_changed(regclass)"));
}

void
apply_batch_deallocate_fixed(apply_t *self)
{
    for (unsigned int i = 0; i < sizeof s_fixed_sql / sizeof s_fixed_sql[0];
         i++)
    {
        if ((self->fixed_prepared & (1u << i)) != 0)
        {
            char *sql = xasprintf("DEALLOCATE pgconvoy_fixed_%u", i);
            PQclear(PQexec(self->target, sql));
            free(sql);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Counting */

/* The server notes what the transaction changed in rel so far. */
static int
s_send_baseline(apply_t *self, apply_rel_t *rel)
{
    const char *params[1] = {rel->desc.qualname};

    rel->must_update = 0;
    rel->must_delete = 0;
    if (self->server_check && s_send_fixed(self, S_FIXED_BASELINE, 1, params,
                                           "BEGIN", rel->label) != 0)
    {
        return apply_pipe_failed(self);
    }
    return 0;
}

int
apply_batch_enter(apply_t *self, apply_rel_t *rel, bool again)
{
    unsigned int b = self->open;

    if (rel->touched[b] && !again)
    {
        return 0;
    }
    if (!rel->touched[b])
    {
        rel->touched[b] = true;
        rel->next_touched[b] = self->batch[b].touched;
        self->batch[b].touched = rel;
    }
    return s_send_baseline(self, rel);
}

apply_counters_t *
apply_batch_pending(apply_t *self, apply_rel_t *rel)
{
    return &rel->pending[self->open];
}

void
apply_batch_count_sent(apply_t *self, apply_rel_t *rel,
                       pgoutput_msg_type_t type, uint64_t rows)
{
    apply_counters_t *n = apply_batch_pending(self, rel);

    if (type == PGOUTPUT_INSERT)
    {
        n->inserts += rows;
    }
    else if (type == PGOUTPUT_UPDATE)
    {
        n->updates += rows;
        rel->must_update += rows;
    }
    else
    {
        n->deletes += rows;
        rel->must_delete += rows;
    }
}

/* ------------------------------------------------------------------ */
/* Before COMMIT */

/* The server fails the transaction unless the counts agree
 * (s_expect_rows_sql). */
int
apply_batch_send_check(apply_t *self)
{
    strbuf_t *arrays[3];
    const char *params[3];
    int rc = 0;

    s_arrays_open(arrays, 3);
    for (const apply_rel_t *rel = self->batch[self->open].touched; rel != NULL;
         rel = rel->next_touched[self->open])
    {
        if (rel->must_update + rel->must_delete == 0)
        {
            continue;
        }
        strbuf_append_array_text(arrays[0], rel->desc.qualname);
        s_append_array_int(arrays[1], rel->must_update);
        s_append_array_int(arrays[2], rel->must_delete);
    }
    s_arrays_close(arrays, 3, params);
    if (strbuf_len(arrays[0]) > 2)
    {
        rc = s_send_fixed(self, S_FIXED_CHECK, 3, params, "COMMIT", "");
    }
    s_arrays_destroy(arrays, 3);
    return rc;
}

/*
 * The origin's progress and this transaction's counters, in one
 * statement: the counters commit with the rows, so a replayed transaction
 * (skipped) is never counted twice, and a restarted stream reads the
 * counters back from the target.
 */
static int
s_send_setup_with_counts(apply_t *self, unsigned int which,
                         const char *const *lsn_and_time)
{
    strbuf_t *arrays[5];
    const char *params[8];
    int rc;

    s_arrays_open(arrays, 5);
    for (const apply_rel_t *rel = self->batch[which].touched; rel != NULL;
         rel = rel->next_touched[which])
    {
        const apply_counters_t *n = &rel->pending[which];

        strbuf_append_array_text(arrays[0], rel->nspname);
        strbuf_append_array_text(arrays[1], rel->relname);
        s_append_array_int(arrays[2], n->inserts);
        s_append_array_int(arrays[3], n->updates);
        s_append_array_int(arrays[4], n->deletes);
    }
    params[0] = lsn_and_time[0];
    params[1] = lsn_and_time[1];
    params[2] = self->origin_name;
    s_arrays_close(arrays, 5, &params[3]);
    rc = s_send_fixed(self, S_FIXED_COUNTS, 8, params, "COMMIT", "");
    s_arrays_destroy(arrays, 5);
    return rc;
}

int
apply_batch_send_progress(apply_t *self, const char *const *lsn_and_time)
{
    return self->keep_counts && self->batch[self->open].touched != NULL
               ? s_send_setup_with_counts(self, self->open, lsn_and_time)
               : s_send_fixed(self, S_FIXED_PROGRESS, 2, lsn_and_time, "COMMIT",
                              "");
}

/* ------------------------------------------------------------------ */
/* Settling */

void
apply_batch_settle(apply_t *self, unsigned int which, bool committed)
{
    apply_batch_t *batch = &self->batch[which];

    while (batch->touched != NULL)
    {
        apply_rel_t *rel = batch->touched;
        apply_counters_t *n = &rel->pending[which];

        batch->touched = rel->next_touched[which];
        if (committed)
        {
            rel->applied.inserts += n->inserts;
            rel->applied.updates += n->updates;
            rel->applied.deletes += n->deletes;
            rel->applied.truncates += n->truncates;
        }
        memset(n, 0, sizeof(*n));
        rel->touched[which] = false;
        rel->next_touched[which] = NULL;
    }
    if (committed && batch->xacts > 0)
    {
        self->xacts_committed += batch->xacts;
        if (batch->end_lsn > self->committed_lsn)
        {
            self->committed_lsn = batch->end_lsn;
        }
        /* a stream restarted without a new apply_t skips what we
         * committed */
        if (batch->end_lsn > self->origin_lsn)
        {
            self->origin_lsn = batch->end_lsn;
        }
    }
    memset(batch, 0, sizeof(*batch));
}

void
apply_batch_reap(apply_t *self)
{
    unsigned int which = self->open ^ 1;

    if (self->committing &&
        pipeline_committed_lsn(self->pipe) >= self->batch[which].end_lsn)
    {
        apply_batch_settle(self, which, true);
        self->committing = false;
    }
}
