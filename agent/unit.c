/*
 * agent/unit.c
 *     The life of one unit: its thread, its reporting socket, dispatching
 *     to the run function of its kind and sending the Result.
 *
 * The Result is the thread's last message; the main thread joins the
 * thread only after receiving it, so a unit is never freed while running.
 */
#include "agent/unit.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"

struct unit_t
{
    Pgconvoy__Envelope *env;    /* Assign or AssignBatch, owned */
    Pgconvoy__Assign **assigns; /* borrowed from env */
    size_t nassigns;            /* 1, or the batch's units */
    atomic_size_t current;      /* the one running, set by the
                                            * thread, read by both */
    size_t answered;            /* main thread only: the units whose Result
                                * it has passed on */
    char *results_endpoint;     /* inproc endpoint of the main thread */
    const char *agent_name;     /* borrowed from the agent */
    const char *pg_bin;         /* borrowed: where pg_dump lives */
    connpool_t *pool;           /* borrowed: the agent's idle sessions */
    zsock_t *push;              /* created and used by the thread only */
    pthread_t thread;           /* valid once started */
    bool started;               /* thread was created */
    atomic_bool released;       /* set by main thread, read by unit */
    atomic_bool fenced;         /* same: the lease ran out, released too */
    atomic_bool cutover;        /* same: a cdc unit is to cut over */
    atomic_bool validate;       /* with the cutover: compare tables */
    atomic_bool validated;      /* same: the tables compared equal */
};

unit_t *
unit_new(Pgconvoy__Envelope **env_p, const char *results_endpoint,
         const char *agent_name, const char *pg_bin, connpool_t *pool)
{
    unit_t *self = xcalloc(1, sizeof *self);

    self->env = *env_p;
    *env_p = NULL;
    if (self->env->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH)
    {
        self->assigns = self->env->assign_batch->units;
        self->nassigns = self->env->assign_batch->n_units;
    }
    else
    {
        self->assigns = &self->env->assign;
        self->nassigns = 1;
    }
    assert(self->nassigns > 0);
    atomic_init(&self->current, 0);
    self->results_endpoint = xstrdup(results_endpoint);
    self->agent_name = agent_name;
    self->pg_bin = pg_bin;
    self->pool = pool;
    atomic_init(&self->released, false);
    atomic_init(&self->fenced, false);
    atomic_init(&self->cutover, self->assigns[0]->cutover);
    atomic_init(&self->validate, self->assigns[0]->validate);
    atomic_init(&self->validated, false);
    return self;
}

void
unit_destroy(unit_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    unit_t *self = *self_p;
    envelope_free(&self->env);
    free(self->results_endpoint);
    free(self);
    *self_p = NULL;
}

uint64_t
unit_id(const unit_t *self)
{
    return unit_assign(self)->unit_id;
}

const Pgconvoy__Assign *
unit_assign(const unit_t *self)
{
    return self->assigns[atomic_load(&self->current)];
}

bool
unit_runs(const unit_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->nassigns; i++)
    {
        if (self->assigns[i]->unit_id == id)
        {
            return true;
        }
    }
    return false;
}

void
unit_note_result(unit_t *self, uint64_t id)
{
    /* Results come in the batch's order */
    while (self->answered < self->nassigns &&
           self->assigns[self->answered]->unit_id != id)
    {
        self->answered++;
    }
    if (self->answered < self->nassigns)
    {
        self->answered++;
    }
}

bool
unit_is_last(const unit_t *self, uint64_t id)
{
    return self->assigns[self->nassigns - 1]->unit_id == id;
}

size_t
unit_pending_ids(const unit_t *self, uint64_t *ids, size_t max)
{
    size_t n = 0;

    for (size_t i = self->answered; i < self->nassigns && n < max; i++)
    {
        ids[n++] = self->assigns[i]->unit_id;
    }
    return n;
}

const char *
unit_agent_name(const unit_t *self)
{
    return self->agent_name;
}

const char *
unit_pg_bin(const unit_t *self)
{
    return self->pg_bin;
}

connpool_t *
unit_pool(const unit_t *self)
{
    return self->pool;
}

void
unit_release(unit_t *self)
{
    atomic_store(&self->released, true);
}

bool
unit_is_released(const unit_t *self)
{
    return atomic_load(&self->released);
}

void
unit_fence(unit_t *self)
{
    /* fenced first: a unit that sees released asks why */
    atomic_store(&self->fenced, true);
    atomic_store(&self->released, true);
}

bool
unit_is_fenced(const unit_t *self)
{
    return atomic_load(&self->fenced);
}

void
unit_request_cutover(unit_t *self, bool validate)
{
    /* validate first: the unit reads it once it sees cutover */
    atomic_store(&self->validate, validate);
    atomic_store(&self->cutover, true);
}

bool
unit_cutover_requested(const unit_t *self, bool *validate)
{
    bool cutover = atomic_load(&self->cutover);

    *validate = atomic_load(&self->validate);
    return cutover;
}

void
unit_confirm_validated(unit_t *self)
{
    atomic_store(&self->validated, true);
}

bool
unit_is_validated(const unit_t *self)
{
    return atomic_load(&self->validated);
}

int
unit_fail(Pgconvoy__Result *res, char *error, bool retryable)
{
    res->error = error ? error : xstrdup("unknown error");
    res->retryable = retryable;
    res->ok = false;
    return -1;
}

/* Grows a protobuf repeated field by one, as unpack would allocate it. */
static void *
s_grow(void *array, size_t count, size_t elem_size)
{
    void *grown = realloc(array, (count + 1) * elem_size);
    if (grown == NULL)
    {
        abort(); /* as xcalloc: no recovery from out of memory */
    }
    return grown;
}

void
unit_add_problem(Pgconvoy__Result *res, char *problem)
{
    res->problems = s_grow(res->problems, res->n_problems, sizeof(char *));
    res->problems[res->n_problems++] = problem;
}

void
unit_add_notice(Pgconvoy__Result *res, char *notice)
{
    res->notices = s_grow(res->notices, res->n_notices, sizeof(char *));
    res->notices[res->n_notices++] = notice;
}

void
unit_add_table(Pgconvoy__Result *res, Pgconvoy__TableRef *table)
{
    res->tables = s_grow(res->tables, res->n_tables, sizeof table);
    res->tables[res->n_tables++] = table;
}

void
unit_add_item(Pgconvoy__Result *res, Pgconvoy__SchemaItem *item)
{
    res->items = s_grow(res->items, res->n_items, sizeof item);
    res->items[res->n_items++] = item;
}

static void
s_send_progress(unit_t *self, const Pgconvoy__Progress *progress)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;

    env.body_case = PGCONVOY__ENVELOPE__BODY_PROGRESS;
    env.progress = (Pgconvoy__Progress *) progress;
    (void) envelope_send(self->push, NULL, &env);
}

void
unit_report_progress_id(unit_t *self, uint64_t id, int64_t rows, int64_t bytes)
{
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;

    progress.unit_id = id;
    progress.rows = rows;
    progress.bytes = bytes;
    s_send_progress(self, &progress);
}

void
unit_report_progress(unit_t *self, int64_t rows, int64_t bytes,
                     const char *snapshot)
{
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;

    progress.unit_id = unit_id(self);
    progress.rows = rows;
    progress.bytes = bytes;
    if (snapshot != NULL)
    {
        progress.snapshot = (char *) snapshot;
    }
    s_send_progress(self, &progress);
}

void
unit_report_started(unit_t *self)
{
    unit_report_started_id(self, unit_id(self));
}

void
unit_report_started_id(unit_t *self, uint64_t id)
{
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;

    progress.unit_id = id;
    progress.started = true;
    s_send_progress(self, &progress);
}

void
unit_report_tables(unit_t *self, Pgconvoy__TableRef **tables, size_t n)
{
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;

    progress.unit_id = unit_id(self);
    progress.started = true;
    progress.tables = tables;
    progress.n_tables = n;
    s_send_progress(self, &progress);
}

void
unit_report_slot(unit_t *self, const char *snapshot, uint64_t lsn)
{
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;

    progress.unit_id = unit_id(self);
    progress.snapshot = (char *) snapshot;
    progress.lsn = lsn;
    s_send_progress(self, &progress);
}

void
unit_report_cdc(unit_t *self, Pgconvoy__CdcProgress *cdc)
{
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;

    progress.unit_id = unit_id(self);
    progress.cdc = cdc;
    s_send_progress(self, &progress);
}

void
unit_report_trouble(unit_t *self, const char *error, uint32_t retries,
                    uint64_t slot_wal_bytes)
{
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;

    progress.unit_id = unit_id(self);
    progress.trouble = (char *) error;
    progress.retries = retries;
    progress.slot_wal_bytes = slot_wal_bytes;
    s_send_progress(self, &progress);
}

static int
s_dispatch(unit_t *self, Pgconvoy__Result *res)
{
    switch (unit_assign(self)->kind)
    {
        case PGCONVOY__UNIT_KIND__UNIT_PREPARE:
            return unit_prepare_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_SNAPSHOT:
            return unit_snapshot_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_SCHEMA_PRE:
            return unit_schema_pre_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_COPY:
            return unit_copy_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST:
            return unit_schema_post_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_FINALIZE:
            return unit_finalize_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_ANALYZE:
            return unit_analyze_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_SLOT:
            return unit_slot_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_CDC:
            return unit_cdc_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_CLEANUP:
            return unit_cleanup_run(self, res);
        case PGCONVOY__UNIT_KIND__UNIT_VALIDATE:
            return unit_validate_run(self, res);
        default:
            return unit_fail(res,
                             xasprintf("cannot run unit of unknown kind %d",
                                       (int) unit_assign(self)->kind),
                             false);
    }
}

/* Runs the unit at current and sends its Result. */
static void
s_run_one(unit_t *self)
{
    Pgconvoy__Result *res = xcalloc(1, sizeof *res);
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;

    pgconvoy__result__init(res);
    res->unit_id = unit_id(self);
    if (atomic_load(&self->current) > 0 && unit_is_released(self))
    {
        /* a batch let go (its database was cancelled or failed): the
         * units not started are not run, but each still gets its Result */
        res->ok = unit_fail(res, xstrdup("released before it started: not run"),
                            true) == 0;
    }
    else
    {
        res->ok = s_dispatch(self, res) == 0;
    }
    env.body_case = PGCONVOY__ENVELOPE__BODY_RESULT;
    env.result = res;
    (void) envelope_send(self->push, NULL, &env);
    /* allocated with malloc field by field, as unpack would have done */
    pgconvoy__result__free_unpacked(res, NULL);
}

/* The group run function of a kind, or NULL if its units run alone. */
static unit_group_fn
s_group_fn(const Pgconvoy__Assign *a)
{
    switch (a->kind)
    {
        case PGCONVOY__UNIT_KIND__UNIT_COPY:
            /* a range shares its table: only whole tables go together */
            return a->table != NULL && a->table->parts <= 1 ? unit_copy_group
                                                            : NULL;
        case PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST:
            return unit_schema_post_group;
        case PGCONVOY__UNIT_KIND__UNIT_ANALYZE:
            return unit_analyze_group;
        default:
            return NULL;
    }
}

/* How many units from first on can run as one group (1: alone). */
static size_t
s_group_size(const unit_t *self, size_t first)
{
    const Pgconvoy__Assign *head = self->assigns[first];
    unit_group_fn fn = s_group_fn(head);
    size_t n = 1;

    if (fn == NULL || unit_is_released(self))
    {
        return 1;
    }
    while (first + n < self->nassigns && n < UNIT_GROUP_MAX)
    {
        const Pgconvoy__Assign *a = self->assigns[first + n];
        if (s_group_fn(a) != fn || strcmp(a->snapshot, head->snapshot) != 0 ||
            strcmp(a->task_key, head->task_key) != 0)
        {
            break;
        }
        n++;
    }
    return n;
}

/* The first error a group function set, for the log (NULL: it declined
 * the group without trying). */
static const char *
s_group_error(Pgconvoy__Result *const *res, size_t n)
{
    for (size_t k = 0; k < n; k++)
    {
        if (res[k]->error != NULL)
        {
            return res[k]->error;
        }
    }
    return NULL;
}

/*
 * Runs the n units from current on as one group and sends their Results;
 * returns -1, having sent nothing, if the group failed: its work was
 * undone (or may be redone), and the caller runs the units one by one,
 * which reports each unit's own error.
 */
static int
s_run_group(unit_t *self, size_t n)
{
    size_t first = atomic_load(&self->current);
    const Pgconvoy__Assign *const *assigns =
        (const Pgconvoy__Assign *const *) self->assigns + first;
    Pgconvoy__Result **res = xcalloc(n, sizeof *res);
    int rc = -1;

    for (size_t k = 0; k < n; k++)
    {
        res[k] = xcalloc(1, sizeof *res[k]);
        pgconvoy__result__init(res[k]);
        res[k]->unit_id = assigns[k]->unit_id;
        res[k]->ok = true;
    }
    rc = s_group_fn(assigns[0])(self, assigns, n, res);
    const ProtobufCEnumValue *kind = protobuf_c_enum_descriptor_get_value(
        &pgconvoy__unit_kind__descriptor, (int) assigns[0]->kind);
    if (rc == 0)
    {
        log_info("unit=%" PRIu64 " ran a group of %zu %s units",
                 assigns[0]->unit_id, n, kind ? kind->name : "?");
        for (size_t k = 0; k < n; k++)
        {
            Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;

            env.body_case = PGCONVOY__ENVELOPE__BODY_RESULT;
            env.result = res[k];
            (void) envelope_send(self->push, NULL, &env);
        }
    }
    else if (s_group_error(res, n) != NULL)
    {
        log_warn("unit=%" PRIu64 " a group of %zu %s units failed, running "
                 "them one by one: %s",
                 assigns[0]->unit_id, n, kind ? kind->name : "?",
                 s_group_error(res, n));
    }
    for (size_t k = 0; k < n; k++)
    {
        pgconvoy__result__free_unpacked(res[k], NULL);
    }
    free(res);
    return rc;
}

static void *
s_thread_main(void *arg)
{
    unit_t *self = arg;

    self->push = zsock_new_push(self->results_endpoint);
    if (self->push == NULL)
    {
        /* the main thread will see no Result: it is gone anyway */
        log_error("unit=%" PRIu64 " could not connect to %s", unit_id(self),
                  self->results_endpoint);
        return NULL;
    }
    /* a batch: one after the other, each with its own Result; the last
     * Result is the thread's last message */
    for (size_t i = 0; i < self->nassigns;)
    {
        atomic_store(&self->current, i);
        size_t n = s_group_size(self, i);
        if (n > 1 && s_run_group(self, n) == 0)
        {
            i += n;
            continue;
        }
        s_run_one(self);
        i++;
    }

    /* the Results must be delivered before the socket goes */
    zsock_set_linger(self->push, -1);
    zsock_destroy(&self->push);
    return NULL;
}

int
unit_start(unit_t *self)
{
    if (pthread_create(&self->thread, NULL, s_thread_main, self) != 0)
    {
        log_error("unit=%" PRIu64 " could not start a thread", unit_id(self));
        return -1;
    }
    self->started = true;
    return 0;
}

void
unit_join(unit_t *self)
{
    if (self->started)
    {
        (void) pthread_join(self->thread, NULL);
        self->started = false;
    }
}
