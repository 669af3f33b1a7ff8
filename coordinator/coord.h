/*
 * coordinator/coord.h
 *     The coordinator's state shared by its modules: the catalog, the two
 *     sockets, the agent registry, the passwords it holds in memory and
 *     the task creations whose CLI is waiting for the prepare verdict.
 *
 * One thread owns all of it. Passwords live here only: never in the
 * catalog, never in a log line. After a restart they are gone, and the
 * agents' own PGPASSWORD/.pgpass are used instead.
 */
#ifndef PGFERRY_COORDINATOR_COORD_H
#define PGFERRY_COORDINATOR_COORD_H

#include <czmq.h>

#include "common/strbuf.h"
#include "coordinator/registry.h"
#include "coordinator/store.h"
#include "pgferry.pb-c.h"

/* Heartbeats: agents send one every COORD_HEARTBEAT_MS; one silent for
 * COORD_AGENT_TIMEOUT_MS is dead and its units are placed again. */
#define COORD_HEARTBEAT_MS 1000
#define COORD_AGENT_TIMEOUT_MS 6000
/* A unit failing for a transient reason is tried this many times. */
#define COORD_MAX_ATTEMPTS 3
/* A unit whose agent died is placed again up to this many times. */
#define COORD_MAX_PLACEMENTS 5

typedef struct
{
    int64_t task_id;
    char *source_password; /* owned, may be NULL */
    char *target_password; /* owned, may be NULL */
} coord_secret_t;

typedef struct
{
    int64_t task_id;
    zmsg_t *route;      /* the waiting CLI, owned */
    strbuf_t *problems; /* every problem prepare found, one per line */
} coord_pending_t;

typedef struct
{
    store_t *store;          /* owned */
    zsock_t *cli;            /* ROUTER, CLI requests */
    zsock_t *agents;         /* ROUTER, agents */
    zactor_t *auth;          /* CURVE allow-list, when enabled */
    registry_t *registry;    /* owned */
    coord_secret_t *secrets; /* owned, one per task created here */
    size_t nsecrets;
    coord_pending_t *pending; /* owned */
    size_t npending;
} coord_t;

/* plan.c: the state machine of tasks, databases and units */
int plan_create_task(coord_t *self, const Pgferry__Request *req,
                     int64_t project_id, char **error);
void plan_on_progress(coord_t *self, const char *agent,
                      const Pgferry__Progress *progress);
void plan_on_result(coord_t *self, const char *agent,
                    const Pgferry__Result *result);
/* Places again the units an agent no longer runs (it died or restarted).
 * still_running: the units it says it runs; NULL means none. */
void plan_forget_agent_units(coord_t *self, const char *agent,
                             const uint64_t *still_running, size_t n,
                             double older_than);
void plan_dispatch(coord_t *self);
void plan_cancel_task(coord_t *self, int64_t task_id);
/* Cancels, then deletes the task, at once or (online: its slot is to be
 * dropped first) once its cleanup units ran. True if deleted now. */
bool plan_delete_task(coord_t *self, int64_t task_id);
/* Asks the cdc unit of one database to cut over. Returns the CLI exit
 * code, with *message to tell (free() it). */
int plan_cutover(coord_t *self, int64_t task_id, const char *database,
                 bool validate, char **message);
void plan_resume(coord_t *self);

/* server.c: the waiting CLI of a task creation gets its answer */
void server_finish_create(coord_t *self, int64_t task_id);
coord_pending_t *server_find_pending(coord_t *self, int64_t task_id);
const coord_secret_t *server_find_secret(coord_t *self, int64_t task_id);
void server_forget_secret(coord_t *self, int64_t task_id);

/* status.c */
char *status_task_json(coord_t *self, int64_t task_id, bool expand);
char *status_projects_json(coord_t *self);

/* events */
void coord_event(coord_t *self, int64_t task_id, const char *level,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
