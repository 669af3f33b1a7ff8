/*
 * agent/apply_internal.h
 *     struct apply_t, shared by the files apply is split into (apply.c
 *     and the apply_*.c modules) and by no one else: everyone else
 *     includes agent/apply.h, where apply_t is opaque.
 *
 * Why one struct: one change goes through the relation cache, the queue,
 * the statements and the batch's counters in one call, and each of them
 * needs the pipeline, the LSN that errors name and the error slot. Each
 * field says which file writes it; the others only read it.
 */
#ifndef PGCONVOY_APPLY_INTERNAL_H
#define PGCONVOY_APPLY_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/apply.h"
#include "agent/apply_batch.h"
#include "agent/apply_rel.h"
#include "agent/pipeline.h"

struct apply_t
{
    /* apply.c's: the session, the transactions, the error */
    PGconn *target;         /* borrowed */
    pipeline_t *pipe;       /* a transaction's statements, owned */
    char *origin_name;      /* owned */
    bool grouping;          /* a table's changes go out together */
    unsigned int open;      /* 0 or 1 */
    bool committing;        /* batch[open ^ 1]'s COMMIT is unanswered */
    bool in_xact;           /* a BEGIN is open on the target */
    bool skipping;          /* the open source transaction is already applied */
    uint64_t origin_lsn;    /* commits before it are on the target already */
    uint64_t xact_lsn;      /* final (commit) LSN of the open transaction */
    uint64_t stmt_lsn;      /* that of the statement's transaction, which
                             * errors name: a queued one's, or xact_lsn */
    uint64_t committed_lsn; /* end LSN of the last commit (or skip) */
    uint64_t xacts_committed; /* source transactions committed here */
    uint64_t xacts_skipped;   /* and skipped as already applied */
    char *error;              /* last failure, owned; NULL if none */
    bool error_transient;     /* that failure is worth a retry */
    bool keep_counts;         /* counters go to pgconvoy.cdc_counts too */
    bool server_check;        /* pg_temp.pgconvoy_expect_rows() exists */
    unsigned int batch_max;   /* source transactions per target one */
    /* the open batch's COMMIT waits for more, or for apply_flush() */
    bool deferred;

    /* apply_rel.c's: the relations and their prepared statements */
    apply_rel_t *buckets[APPLY_REL_NBUCKETS]; /* relations by relid, owned */
    apply_rel_names_t *in_order;  /* tables with updates_in_order, owned */
    apply_rel_names_t *always;    /* columns GENERATED ALWAYS AS IDENTITY */
    unsigned int stmt_seq;        /* names prepared statements uniquely */
    unsigned int ngroup_stmts;    /* grouped statements prepared */
    unsigned int max_group_stmts; /* at most, S_MAX_GROUP_STMTS */
    uint64_t group_tick;          /* counts grouped statements sent */

    /* apply_queue.c's: the queue (which also sets stmt_lsn while it
     * sends) */
    apply_rel_t *queued;      /* relations with changes queued, in order */
    apply_rel_t *queued_last; /* the last of them */
    size_t queued_bytes;      /* held in their queues */

    /* apply_batch.c's: the batches and their bookkeeping statements
     * (apply.c moves open and committing; apply_batch_settle() advances
     * xacts_committed, committed_lsn and origin_lsn above) */
    apply_batch_t batch[2]; /* [open]: the open one; the other: committing */
    unsigned int fixed_prepared; /* bit per s_fixed_sql[] prepared; cleared
                                  * by apply_rel_forget_statements() */
};

/* Takes ownership of text, the one line apply_error() will say. Callers
 * format with xasprintf(): a variadic helper here trips clang-analyzer's
 * valist check (a false positive). */
void apply_set_error(apply_t *self, bool transient, char *text);
/* The pipeline failed: its first failure becomes ours. Returns -1. */
int apply_pipe_failed(apply_t *self);

#endif
