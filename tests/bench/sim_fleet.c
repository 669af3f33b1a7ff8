/*
 * tests/bench/sim_fleet.c
 *     Fake agents over real ZeroMQ, running units in no time (or in
 *     unit_us each) and timing the coordinator's answers.
 *
 * Invariants: an agent's Hello lists every unit it holds (the snapshot,
 * schema-pre) and every unit of its placements not answered yet, as
 * agent/main.c does, or the coordinator would place them again after its
 * grace. A placement's units run one after the other, as an agent runs an
 * AssignBatch. Messages of one agent leave on its one socket, in order: a
 * copy's Progress before its Result.
 */
#include "sim_fleet.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/units.h" /* the unit kinds, K_COPY... */


/* what a snapshot unit exports, in pg_export_snapshot()'s shape */
#define SIM_SNAPSHOT_NAME "00000003-0000000B-1"
/* the most messages read from one socket before the others get a turn */
#define SIM_FAIR_SHARE 32
/* schema-pre sends its items when the first copy is placed, or after
 * this long without one (the coordinator is then stuck: tell it) */
#define SIM_ITEMS_WAIT_US (10LL * 1000 * 1000)
#define SIM_HEARTBEAT_MS 1000
#define SIM_MAX_JOBS 64

typedef struct
{
    int64_t at;     /* zclock_usecs() when the slot was freed; 0: never
                     * used, so not timed */
    int kind;       /* of the units that freed it */
    int64_t queued; /* the model's units left to place then */
    bool work;      /* at least one per free slot of the fleet */
    int epoch;      /* status reads started by then */
    bool status;    /* one was in flight then */
} sim_free_slot_t;

/* An Assign or AssignBatch being run, one unit at a time. */
typedef struct sim_placement_t
{
    Pgconvoy__Envelope *env;        /* what came, owned */
    Pgconvoy__Assign *const *units; /* in env */
    size_t n;
    bool *first;   /* per unit: placed here for the first time; owned */
    size_t next;   /* the unit running; n once every one is answered */
    int64_t due;   /* zclock_usecs() when units[next] is done */
    bool released; /* a Release came: the units not started are not run */
    struct sim_placement_t *later; /* the agent's next one */
} sim_placement_t;

typedef struct
{
    zsock_t *dealer;          /* to the coordinator, owned */
    char name[32];            /* sim-001... */
    int64_t next_hello;       /* zclock_usecs() of the next heartbeat */
    bool welcomed;            /* the coordinator answered a Hello */
    int busy;                 /* job slots taken: placements running */
    uint64_t snapshot;        /* the snapshot unit held here, or 0 */
    uint64_t schema_pre;      /* the schema-pre unit held here, or 0 */
    sim_placement_t *running; /* placements being run, owned */
    sim_placement_t *waiting; /* placements waiting for a slot, oldest
                               * first, owned (as agent/backlog.h) */
    uint64_t placements_seen; /* the highest Assign.placement received */
    int64_t lease_until;      /* zclock_mono() when the lease runs out */
    sim_free_slot_t free[SIM_MAX_JOBS]; /* free slots, oldest first */
    int nfree;
    int nwaiting; /* placements in waiting */
} sim_agent_t;

struct sim_fleet_t
{
    sim_agent_t *agents; /* owned */
    size_t nagents;
    int jobs;                   /* per agent */
    int64_t unit_us;            /* how long a unit runs */
    sim_workload_t *workload;   /* borrowed */
    int heartbeat_ms;           /* as the Welcome says */
    int busy;                   /* job slots taken, over all agents */
    bool snapshot_held;         /* its Progress was sent */
    sim_agent_t *schema_pre_at; /* the agent holding schema-pre */
    bool refused;               /* the coordinator refused us */
    bool status_reading;        /* a TASK_SHOW is in flight */
    int status_epoch;           /* TASK_SHOWs started so far */
    uint8_t *seen;              /* by unit id: placed here before */
    size_t nseen;
    sim_fleet_marks_t marks;
    sim_stats_t *latency[SIM_LATENCY_SET_COUNT]; /* in ms, owned */
    sim_spike_t spikes[SIM_FLEET_SPIKES];        /* longest first */
    size_t nspikes;
};

static void
s_placement_destroy(sim_placement_t **p_p)
{
    if (*p_p == NULL)
    {
        return;
    }
    envelope_free(&(*p_p)->env);
    free((*p_p)->first);
    free(*p_p);
    *p_p = NULL;
}

sim_fleet_t *
sim_fleet_new(const char *endpoint, int agents, int jobs, int unit_ms,
              sim_workload_t *workload)
{
    sim_fleet_t *self = xcalloc(1, sizeof *self);
    int64_t now = zclock_usecs();

    assert(agents > 0 && jobs > 0 && jobs <= SIM_MAX_JOBS && unit_ms >= 0);
    self->agents = xcalloc((size_t) agents, sizeof *self->agents);
    self->nagents = (size_t) agents;
    self->jobs = jobs;
    self->unit_us = (int64_t) unit_ms * 1000;
    self->workload = workload;
    self->heartbeat_ms = SIM_HEARTBEAT_MS;
    for (size_t i = 0; i < SIM_LATENCY_SET_COUNT; i++)
    {
        self->latency[i] = sim_stats_new();
    }
    for (size_t i = 0; i < self->nagents; i++)
    {
        sim_agent_t *agent = &self->agents[i];

        snprintf(agent->name, sizeof agent->name, "sim-%03zu", i + 1);
        /* every slot is free and untimed (at 0): the coordinator fills
         * them in any order, and the oldest free one is taken first */
        agent->nfree = jobs;
        agent->dealer = zsock_new(ZMQ_DEALER);
        if (agent->dealer == NULL)
        {
            log_error("agent=%s could not create its socket", agent->name);
            sim_fleet_destroy(&self);
            return NULL;
        }
        /* never block the one thread that serves every agent: what the
         * coordinator has not read yet waits in memory */
        zsock_set_sndhwm(agent->dealer, 0);
        zsock_set_rcvhwm(agent->dealer, 0);
        zsock_set_linger(agent->dealer, 0);
        if (zsock_connect(agent->dealer, "%s", endpoint) != 0)
        {
            log_error("agent=%s endpoint=%s could not connect", agent->name,
                      endpoint);
            sim_fleet_destroy(&self);
            return NULL;
        }
        /* spread over one heartbeat, as independent agents would be */
        agent->next_hello = now + (int64_t) i * SIM_HEARTBEAT_MS * 1000 /
                                      (int64_t) self->nagents;
    }
    return self;
}

void
sim_fleet_destroy(sim_fleet_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    sim_fleet_t *self = *self_p;

    for (size_t i = 0; i < self->nagents; i++)
    {
        sim_agent_t *agent = &self->agents[i];
        while (agent->running != NULL)
        {
            sim_placement_t *p = agent->running;
            agent->running = p->later;
            s_placement_destroy(&p);
        }
        while (agent->waiting != NULL)
        {
            sim_placement_t *p = agent->waiting;
            agent->waiting = p->later;
            s_placement_destroy(&p);
        }
        zsock_destroy(&agent->dealer);
    }
    for (size_t i = 0; i < SIM_LATENCY_SET_COUNT; i++)
    {
        sim_stats_destroy(&self->latency[i]);
    }
    free(self->agents);
    free(self->seen);
    free(self);
    *self_p = NULL;
}

size_t
sim_fleet_size(const sim_fleet_t *self)
{
    return self->nagents;
}

zsock_t *
sim_fleet_socket(sim_fleet_t *self, size_t agent)
{
    assert(agent < self->nagents);
    return self->agents[agent].dealer;
}

size_t
sim_fleet_welcomed(const sim_fleet_t *self)
{
    size_t n = 0;

    for (size_t i = 0; i < self->nagents; i++)
    {
        n += self->agents[i].welcomed;
    }
    return n;
}

bool
sim_fleet_is_refused(const sim_fleet_t *self)
{
    return self->refused;
}

void
sim_fleet_set_status_reading(sim_fleet_t *self, bool reading)
{
    self->status_epoch += reading && !self->status_reading;
    self->status_reading = reading;
}

const sim_fleet_marks_t *
sim_fleet_marks(const sim_fleet_t *self)
{
    return &self->marks;
}

sim_stats_t *
sim_fleet_latency(sim_fleet_t *self, sim_latency_set_t set)
{
    assert(set < SIM_LATENCY_SET_COUNT);
    return self->latency[set];
}

size_t
sim_fleet_spikes(const sim_fleet_t *self, const sim_spike_t **spikes)
{
    *spikes = self->spikes;
    return self->nspikes;
}

/* ----- sending ----- */

static void
s_send(sim_agent_t *agent, Pgconvoy__Envelope *env)
{
    if (envelope_send(agent->dealer, NULL, env) != 0)
    {
        /* envelope_send logged why; the coordinator places the unit
         * again after its grace, and the run shows it */
        log_error("agent=%s a message to the coordinator was lost",
                  agent->name);
    }
}

static void
s_send_hello(sim_fleet_t *self, sim_agent_t *agent)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Hello hello = PGCONVOY__HELLO__INIT;
    size_t count = 2; /* the held ones */
    uint64_t *running = NULL;

    for (sim_placement_t *p = agent->running; p != NULL; p = p->later)
    {
        count += p->n - p->next;
    }
    for (sim_placement_t *p = agent->waiting; p != NULL; p = p->later)
    {
        count += p->n;
    }
    running = xcalloc(count, sizeof *running);
    if (agent->snapshot != 0)
    {
        running[hello.n_running_units++] = agent->snapshot;
    }
    if (agent->schema_pre != 0)
    {
        running[hello.n_running_units++] = agent->schema_pre;
    }
    /* every unit of a batch, started or not, is ours until its Result */
    for (sim_placement_t *p = agent->running; p != NULL; p = p->later)
    {
        for (size_t i = p->next; i < p->n; i++)
        {
            running[hello.n_running_units++] = p->units[i]->unit_id;
        }
    }
    for (sim_placement_t *p = agent->waiting; p != NULL; p = p->later)
    {
        for (size_t i = 0; i < p->n; i++)
        {
            running[hello.n_running_units++] = p->units[i]->unit_id;
        }
    }
    hello.name = agent->name;
    hello.labels = "sim=1";
    /* the fleet's agents never restart: their index is their incarnation */
    hello.incarnation = (uint64_t) (agent - self->agents) + 1;
    hello.placements_seen = agent->placements_seen;
    hello.jobs = (uint32_t) self->jobs;
    hello.running_units = running;
    hello.sent_ms = (uint64_t) zclock_mono(); /* as a real agent's lease */
    env.body_case = PGCONVOY__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    s_send(agent, &env);
    self->marks.hellos++;
    free(running);
}

static void
s_send_progress(sim_agent_t *agent, uint64_t unit_id, bool started,
                const char *snapshot)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;

    progress.unit_id = unit_id;
    progress.started = started;
    if (snapshot != NULL)
    {
        progress.snapshot = (char *) snapshot;
    }
    env.body_case = PGCONVOY__ENVELOPE__BODY_PROGRESS;
    env.progress = &progress;
    s_send(agent, &env);
}

/* Sends res (borrowed) as a unit's Result. */
static void
s_send_result(sim_fleet_t *self, sim_agent_t *agent, Pgconvoy__Result *res)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;

    env.body_case = PGCONVOY__ENVELOPE__BODY_RESULT;
    env.result = res;
    s_send(agent, &env);
    self->marks.units_done++;
}

/* ----- timing job slots ----- */

static void
s_keep_spike(sim_fleet_t *self, const sim_spike_t *spike)
{
    size_t at = self->nspikes;

    if (at == SIM_FLEET_SPIKES &&
        spike->wait_ms <= self->spikes[SIM_FLEET_SPIKES - 1].wait_ms)
    {
        return;
    }
    at = at < SIM_FLEET_SPIKES ? at : SIM_FLEET_SPIKES - 1;
    while (at > 0 && self->spikes[at - 1].wait_ms < spike->wait_ms)
    {
        self->spikes[at] = self->spikes[at - 1];
        at--;
    }
    self->spikes[at] = *spike;
    self->nspikes += self->nspikes < SIM_FLEET_SPIKES;
}

/* A placement is answered: its slot is free from now. */
static void
s_free_slot(sim_fleet_t *self, sim_agent_t *agent, int kind)
{
    sim_free_slot_t *slot = NULL;
    int64_t free_slots = 0;

    agent->busy--;
    self->busy--;
    if (agent->nfree == SIM_MAX_JOBS)
    {
        return; /* more placements than jobs: not ours to time */
    }
    free_slots = (int64_t) self->nagents * self->jobs - self->busy;
    slot = &agent->free[agent->nfree++];
    slot->at = zclock_usecs();
    slot->kind = kind;
    slot->queued = sim_workload_queued(self->workload);
    slot->work = slot->queued >= free_slots;
    slot->epoch = self->status_epoch;
    slot->status = self->status_reading;
}

/* A placement arrived at agent: it ends the wait of its oldest free slot. */
static void
s_take_slot(sim_fleet_t *self, sim_agent_t *agent, int64_t now)
{
    sim_free_slot_t slot;
    double wait_ms = 0;
    bool status = false;

    agent->busy++;
    self->busy++;
    if (agent->nfree == 0)
    {
        return; /* more placements than jobs: not ours to time */
    }
    slot = agent->free[0];
    memmove(&agent->free[0], &agent->free[1],
            (size_t) (agent->nfree - 1) * sizeof agent->free[0]);
    agent->nfree--;
    if (slot.at == 0)
    {
        return; /* a slot never used before: no Result to time from */
    }
    /* one waiting on the agent starts at the instant its slot freed */
    wait_ms = now > slot.at ? (double) (now - slot.at) / 1000.0 : 0.0;
    status =
        slot.status || self->status_reading || slot.epoch != self->status_epoch;
    if (slot.kind == K_SCHEMA_PRE && self->marks.items_next == 0)
    {
        self->marks.items_next = now;
    }
    sim_stats_add(self->latency[SIM_LATENCY_ALL], wait_ms);
    if (!slot.work)
    {
        return;
    }
    sim_stats_add(self->latency[SIM_LATENCY_WORK], wait_ms);
    if (!status)
    {
        sim_stats_add(self->latency[SIM_LATENCY_QUIET], wait_ms);
    }
    if (slot.kind == K_COPY)
    {
        sim_stats_add(self->latency[SIM_LATENCY_COPY], wait_ms);
    }
    else if (slot.kind == K_SCHEMA_POST)
    {
        sim_stats_add(self->latency[SIM_LATENCY_POST], wait_ms);
    }
    else if (slot.kind == K_ANALYZE)
    {
        sim_stats_add(self->latency[SIM_LATENCY_ANALYZE], wait_ms);
    }
    sim_spike_t spike = {wait_ms, slot.at, slot.kind, slot.queued, status,
                         ""};
    snprintf(spike.agent, sizeof spike.agent, "%s", agent->name);
    s_keep_spike(self, &spike);
}

/* ----- running units ----- */

/* True the first time unit_id is placed here. */
static bool
s_first_time(sim_fleet_t *self, uint64_t unit_id)
{
    if (unit_id >= self->nseen)
    {
        size_t size = self->nseen ? self->nseen : 4096;
        while (size <= unit_id)
        {
            size *= 2;
        }
        uint8_t *grown = realloc(self->seen, size);
        if (grown == NULL)
        {
            abort();
        }
        memset(grown + self->nseen, 0, size - self->nseen);
        self->seen = grown;
        self->nseen = size;
    }
    if (self->seen[unit_id])
    {
        return false;
    }
    self->seen[unit_id] = 1;
    return true;
}

/* schema-pre says the tables exist, once the snapshot is held too (so
 * that the copies it lets the coordinator queue can be placed at once,
 * and their planning is timed alone). */
static void
s_report_tables_created(sim_fleet_t *self)
{
    sim_agent_t *agent = self->schema_pre_at;

    if (agent == NULL || !self->snapshot_held ||
        self->marks.tables_created != 0)
    {
        return;
    }
    s_send_progress(agent, agent->schema_pre, true, NULL);
    self->marks.tables_created = zclock_usecs();
    sim_workload_on_tables_created(self->workload);
}

/* schema-pre's Result, with every post-data item. */
static void
s_report_items(sim_fleet_t *self)
{
    sim_agent_t *agent = self->schema_pre_at;
    Pgconvoy__Result res = PGCONVOY__RESULT__INIT;

    if (agent == NULL || self->marks.tables_created == 0)
    {
        return;
    }
    res.unit_id = agent->schema_pre;
    res.ok = true;
    sim_workload_fill_schema_pre(self->workload, &res);
    s_send_result(self, agent, &res);
    self->marks.items_sent = zclock_usecs();
    sim_workload_on_items_sent(self->workload);
    agent->schema_pre = 0;
    self->schema_pre_at = NULL;
    s_free_slot(self, agent, K_SCHEMA_PRE);
}

/* A unit starts: a copy says so (the snapshot's holder waits for every
 * copy to have started). */
static void
s_start_unit(sim_agent_t *agent, const Pgconvoy__Assign *a)
{
    if (a->kind == K_COPY)
    {
        s_send_progress(agent, a->unit_id, true, NULL);
    }
}

/* A unit is done: its Result. ran: false if it was let go unstarted. */
static void
s_finish_unit(sim_fleet_t *self, sim_agent_t *agent, const Pgconvoy__Assign *a,
              bool first, bool ran)
{
    Pgconvoy__Result res = PGCONVOY__RESULT__INIT;

    res.unit_id = a->unit_id;
    res.ok = true;
    if (!ran)
    {
        res.ok = false;
        res.retryable = true;
        res.error = "released before it started: not run";
    }
    else if (a->kind == K_PREPARE)
    {
        sim_workload_fill_prepare(self->workload, &res);
    }
    else if (a->kind == K_COPY && a->table != NULL)
    {
        uint32_t parts = a->table->parts > 0 ? a->table->parts : 1;
        res.rows = a->table->rows / parts;
        res.bytes = a->table->bytes / parts;
    }
    else if (a->kind != K_SCHEMA_POST && a->kind != K_ANALYZE &&
             a->kind != K_FINALIZE && a->kind != K_COPY)
    {
        res.ok = false;
        res.error = "unit kind not simulated by coord_sim";
        self->marks.unexpected++;
    }
    s_send_result(self, agent, &res);
    if (first && res.ok)
    {
        sim_workload_on_done(self->workload, a);
    }
    if (a->kind == K_PREPARE)
    {
        self->marks.prepare_sent = zclock_usecs();
    }
    else if (a->kind == K_FINALIZE && res.ok)
    {
        self->marks.finalize_sent = zclock_usecs();
    }
}

/* Answers the units of p that are due by now. True once all are. */
static bool
s_advance(sim_fleet_t *self, sim_agent_t *agent, sim_placement_t *p,
          int64_t now)
{
    while (p->next < p->n && now >= p->due)
    {
        s_finish_unit(self, agent, p->units[p->next], p->first[p->next], true);
        p->next++;
        if (p->released)
        {
            /* as agent/unit.c: each unit not started still gets a Result */
            for (; p->next < p->n; p->next++)
            {
                s_finish_unit(self, agent, p->units[p->next], p->first[p->next],
                              false);
            }
        }
        else if (p->next < p->n)
        {
            s_start_unit(agent, p->units[p->next]);
            p->due += self->unit_us;
        }
    }
    if (p->next < p->n)
    {
        return false;
    }
    s_free_slot(self, agent, (int) p->units[0]->kind);
    return true;
}

/* Starts placement p on agent now: it takes a slot. */
static void
s_start_placement(sim_fleet_t *self, sim_agent_t *agent, sim_placement_t *p,
                  int64_t now)
{
    s_take_slot(self, agent, now);
    p->due = now + self->unit_us;
    s_start_unit(agent, p->units[0]);
    if (s_advance(self, agent, p, now))
    {
        s_placement_destroy(&p);
        return;
    }
    p->later = agent->running;
    agent->running = p;
}

/* What waits for a slot on agent starts, oldest first, while slots are
 * free: as a real agent's backlog, without a word to the coordinator. */
static void
s_start_waiting(sim_fleet_t *self, sim_agent_t *agent, int64_t now)
{
    while (agent->waiting != NULL && agent->busy < self->jobs)
    {
        sim_placement_t *p = agent->waiting;
        agent->waiting = p->later;
        p->later = NULL;
        agent->nwaiting--;
        s_start_placement(self, agent, p, now);
    }
}

/* Answers what is due on agent's placements and drops the finished. */
static void
s_advance_agent(sim_fleet_t *self, sim_agent_t *agent, int64_t now)
{
    sim_placement_t **link = &agent->running;

    while (*link != NULL)
    {
        sim_placement_t *p = *link;
        if (s_advance(self, agent, p, now))
        {
            *link = p->later;
            s_placement_destroy(&p);
        }
        else
        {
            link = &p->later;
        }
    }
    s_start_waiting(self, agent, now);
}

/* An Assign or an AssignBatch arrived for agent (takes *env_p). */
static void
s_on_placement(sim_fleet_t *self, sim_agent_t *agent,
               Pgconvoy__Envelope **env_p)
{
    Pgconvoy__Envelope *env = *env_p;
    bool batch = env->body_case == PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;
    Pgconvoy__Assign *const *units =
        batch ? env->assign_batch->units : &env->assign;
    size_t n = batch ? env->assign_batch->n_units : 1;
    int64_t now = zclock_usecs();
    int kind = n > 0 ? (int) units[0]->kind : 0;
    bool copy_placed = false;
    sim_placement_t *p = NULL;

    if (n == 0)
    {
        self->marks.unexpected++;
        return;
    }
    if (units[0]->placement > agent->placements_seen)
    {
        agent->placements_seen = units[0]->placement;
    }
    if (self->marks.prepare_sent != 0 && self->marks.prepare_next == 0)
    {
        self->marks.prepare_next = now;
    }
    /* the coordinator keeps no more than one placement waiting on an
     * agent whose slots are all taken (coordinator/dispatch.c) */
    if (kind != K_SNAPSHOT &&
        agent->busy + agent->nwaiting + 1 > self->jobs + 1)
    {
        self->marks.overplaced++;
    }
    if (kind == K_SCHEMA_PRE)
    {
        s_take_slot(self, agent, now);
    }
    p = xcalloc(1, sizeof *p);
    p->first = xcalloc(n, sizeof *p->first);
    for (size_t i = 0; i < n; i++)
    {
        const Pgconvoy__Assign *a = units[i];
        p->first[i] = s_first_time(self, a->unit_id);
        self->marks.units_received++;
        self->marks.duplicates += !p->first[i];
        if ((int) a->kind >= 0 && (int) a->kind < SIM_FLEET_KINDS)
        {
            self->marks.by_kind[a->kind]++;
        }
        if (p->first[i])
        {
            sim_workload_on_assigned(self->workload, a);
        }
        copy_placed = copy_placed || a->kind == K_COPY;
    }
    if (copy_placed && self->marks.first_copy == 0)
    {
        self->marks.first_copy = now;
        s_report_items(self);
    }
    if (kind == K_SNAPSHOT)
    {
        agent->snapshot = units[0]->unit_id;
        s_send_progress(agent, agent->snapshot, false, SIM_SNAPSHOT_NAME);
        self->snapshot_held = true;
        s_report_tables_created(self);
        s_placement_destroy(&p);
        return;
    }
    if (kind == K_SCHEMA_PRE)
    {
        agent->schema_pre = units[0]->unit_id;
        self->schema_pre_at = agent;
        s_report_tables_created(self);
        s_placement_destroy(&p);
        return;
    }
    p->env = env;
    *env_p = NULL;
    p->units = units;
    p->n = n;
    if (agent->waiting != NULL || agent->busy >= self->jobs)
    {
        sim_placement_t **link = &agent->waiting;
        while (*link != NULL)
        {
            link = &(*link)->later;
        }
        *link = p;
        agent->nwaiting++;
        self->marks.waited++;
        return;
    }
    s_start_placement(self, agent, p, now);
}

/*
 * Fake agents run nothing that would need stopping, but they keep the
 * lease a real agent would (agent/lease.c), to count how often a busy
 * coordinator answers a heartbeat so late that a real agent's lease ran
 * out meanwhile and it stopped its units.
 */
static void
s_on_lease(sim_fleet_t *self, sim_agent_t *agent, const Pgconvoy__Lease *l)
{
    int64_t now = zclock_mono();
    int64_t answered_in = now - (int64_t) l->hello_sent_ms;

    if (answered_in > self->marks.lease_answer_max_ms)
    {
        self->marks.lease_answer_max_ms = answered_in;
    }
    if (agent->lease_until != 0 && now > agent->lease_until)
    {
        self->marks.lease_lapses++;
    }
    if ((int64_t) (l->hello_sent_ms + l->lease_ms) > agent->lease_until)
    {
        agent->lease_until = (int64_t) (l->hello_sent_ms + l->lease_ms);
    }
}

static void
s_on_release(sim_fleet_t *self, sim_agent_t *agent, const Pgconvoy__Release *r)
{
    Pgconvoy__Result res = PGCONVOY__RESULT__INIT;

    self->marks.releases++;
    if (r->unit_id != 0 && r->unit_id == agent->snapshot)
    {
        self->marks.snapshot_released = zclock_usecs();
        res.unit_id = agent->snapshot;
        res.ok = true;
        agent->snapshot = 0;
        s_send_result(self, agent, &res);
        return;
    }
    /* one waiting for a slot is not run: each unit gets its Result */
    for (sim_placement_t **link = &agent->waiting; *link != NULL;
         link = &(*link)->later)
    {
        sim_placement_t *p = *link;
        if (p->units[0]->unit_id == r->unit_id)
        {
            *link = p->later;
            agent->nwaiting--;
            for (size_t i = 0; i < p->n; i++)
            {
                s_finish_unit(self, agent, p->units[i], p->first[i], false);
            }
            s_placement_destroy(&p);
            return;
        }
    }
    /* a batch let go (its database failed or was cancelled): named by
     * its first unit */
    for (sim_placement_t *p = agent->running; p != NULL; p = p->later)
    {
        if (p->units[0]->unit_id == r->unit_id)
        {
            p->released = true;
        }
    }
}

static void
s_handle_one(sim_fleet_t *self, sim_agent_t *agent)
{
    Pgconvoy__Envelope *env = NULL;
    uint32_t version = 0;
    envelope_status_t status =
        envelope_recv(agent->dealer, NULL, &env, &version);

    if (status == ENVELOPE_VERSION)
    {
        log_error("agent=%s the coordinator speaks protocol version %u, "
                  "this benchmark %u",
                  agent->name, version, PGCONVOY_PROTOCOL_VERSION);
        self->refused = true;
        return;
    }
    if (status != ENVELOPE_OK)
    {
        self->marks.unexpected++;
        return;
    }
    switch (env->body_case)
    {
        case PGCONVOY__ENVELOPE__BODY_LEASE:
            s_on_lease(self, agent, env->lease);
            break;
        case PGCONVOY__ENVELOPE__BODY_WELCOME:
            self->marks.rewelcomes += agent->welcomed;
            agent->welcomed = true;
            if (env->welcome->heartbeat_ms >= 100)
            {
                self->heartbeat_ms = (int) env->welcome->heartbeat_ms;
            }
            break;
        case PGCONVOY__ENVELOPE__BODY_ASSIGN:
            self->marks.assigns++;
            s_on_placement(self, agent, &env);
            break;
        case PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH:
            self->marks.batches++;
            self->marks.batched_units += (int64_t) env->assign_batch->n_units;
            s_on_placement(self, agent, &env);
            break;
        case PGCONVOY__ENVELOPE__BODY_RELEASE:
            s_on_release(self, agent, env->release);
            break;
        case PGCONVOY__ENVELOPE__BODY_REFUSED:
            log_error("agent=%s the coordinator refused it: %s", agent->name,
                      env->refused->reason);
            self->refused = true;
            break;
        default:
            self->marks.unexpected++;
            break;
    }
    envelope_free(&env); /* NULL-safe: a placement took it */
}

void
sim_fleet_handle(sim_fleet_t *self, size_t index)
{
    sim_agent_t *agent = &self->agents[index];

    for (int n = 0;
         n < SIM_FAIR_SHARE && (zsock_events(agent->dealer) & ZMQ_POLLIN) != 0;
         n++)
    {
        s_handle_one(self, agent);
    }
}

void
sim_fleet_tick(sim_fleet_t *self)
{
    int64_t now = zclock_usecs();

    for (size_t i = 0; i < self->nagents; i++)
    {
        sim_agent_t *agent = &self->agents[i];
        s_advance_agent(self, agent, now);
        if (now >= agent->next_hello)
        {
            s_send_hello(self, agent);
            agent->next_hello = now + (int64_t) self->heartbeat_ms * 1000;
        }
    }
    if (self->schema_pre_at != NULL && self->marks.tables_created != 0 &&
        now - self->marks.tables_created > SIM_ITEMS_WAIT_US)
    {
        log_warn("no copy placed %d s after the tables were reported: "
                 "sending schema-pre's items anyway",
                 (int) (SIM_ITEMS_WAIT_US / 1000000));
        s_report_items(self);
    }
}

int64_t
sim_fleet_next_tick_in(const sim_fleet_t *self)
{
    int64_t now = zclock_usecs();
    int64_t next = now + (int64_t) self->heartbeat_ms * 1000;

    for (size_t i = 0; i < self->nagents; i++)
    {
        const sim_agent_t *agent = &self->agents[i];
        next = agent->next_hello < next ? agent->next_hello : next;
        for (const sim_placement_t *p = agent->running; p != NULL; p = p->later)
        {
            next = p->due < next ? p->due : next;
        }
    }
    return next > now ? next - now : 0;
}
