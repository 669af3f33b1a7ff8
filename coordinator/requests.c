/*
 * coordinator/requests.c
 *     The CLI's requests, one handler per verb.
 */
#include "coordinator/requests.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/agent_list.h"
#include "coordinator/dispatch.h"
#include "coordinator/pending.h"
#include "coordinator/plan.h"
#include "coordinator/status_worker.h"
#include "coordinator/tasks.h"

static void
s_reply(coord_t *self, zmsg_t *route, int code, const char *message,
        const char *json)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Reply reply = PGCONVOY__REPLY__INIT;

    reply.code = code;
    reply.message = (char *) (message ? message : "");
    reply.json = (char *) (json ? json : "");
    env.body_case = PGCONVOY__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    /* after the commit of what it reports */
    (void) outbox_add(self->outbox, self->cli, route, &env);
}


static int64_t
s_project_id(coord_t *self, const char *name)
{
    return store_int(self->store, 0, "SELECT id FROM projects WHERE name = ?",
                     "s", name);
}

static int64_t
s_task_id(coord_t *self, int64_t project_id, const char *name)
{
    return store_int(self->store, 0,
                     "SELECT id FROM tasks WHERE project_id = ? AND name = ?",
                     "is", project_id, name);
}

static bool
s_platform_ok(const char *platform)
{
    return strcasecmp(platform, "PostgreSQL") == 0 ||
           strcasecmp(platform, "AzureDbForPostgreSQL") == 0;
}

static void
s_project_create(coord_t *self, zmsg_t *route, const Pgconvoy__Request *req)
{
    char now[40];

    if (!s_platform_ok(req->source_platform) ||
        !s_platform_ok(req->target_platform))
    {
        char *msg = xasprintf(
            "--%s-platform: value \"%s\" is not supported, expected "
            "PostgreSQL",
            s_platform_ok(req->source_platform) ? "target" : "source",
            s_platform_ok(req->source_platform) ? req->target_platform
                                                : req->source_platform);
        s_reply(self, route, 2, msg, NULL);
        free(msg);
        return;
    }
    if (s_project_id(self, req->project) != 0)
    {
        char *msg = xasprintf("project \"%s\" already exists", req->project);
        s_reply(self, route, 2, msg, NULL);
        free(msg);
        return;
    }
    store_now(now, sizeof now);
    if (store_exec(self->store,
                   "INSERT INTO projects (name, source_platform, "
                   "target_platform, created_at) VALUES (?, ?, ?, ?)",
                   "ssss", req->project, req->source_platform,
                   req->target_platform, now) != 0)
    {
        s_reply(self, route, 1, "could not write to the catalog", NULL);
        return;
    }
    char *msg = xasprintf("project \"%s\" created", req->project);
    s_reply(self, route, 0, msg, NULL);
    free(msg);
}

/* Finds the project and the task named in req, or answers with code 2. */
static int64_t
s_lookup_task(coord_t *self, zmsg_t *route, const Pgconvoy__Request *req)
{
    int64_t project_id = s_project_id(self, req->project);
    int64_t task_id = project_id ? s_task_id(self, project_id, req->task) : 0;
    char *msg = NULL;

    if (project_id == 0)
    {
        msg = xasprintf("--project-name: project \"%s\" does not exist",
                        req->project);
    }
    else if (task_id == 0)
    {
        msg = xasprintf("--name: task \"%s\" does not exist in project "
                        "\"%s\"",
                        req->task, req->project);
    }
    if (msg != NULL)
    {
        s_reply(self, route, 2, msg, NULL);
        free(msg);
    }
    return task_id;
}

/*
 * The first option of ep that config_check_option() refuses, as a
 * message for the client, or NULL. The CLI checked them already; another
 * client must not get a secret into the catalog, nor a setting pgconvoy
 * decides itself.
 */
static char *
s_check_options(const char *side, const Pgconvoy__Endpoint *ep)
{
    char *why = NULL;
    char *msg = NULL;

    for (size_t i = 0; i < ep->n_options && msg == NULL; i++)
    {
        const Pgconvoy__ConnOption *opt = ep->options[i];
        if (strcmp(opt->key, "password") == 0)
        {
            msg = xasprintf("%s connection: option \"password\" is not "
                            "supported, expected the password in its own "
                            "field, which is never stored",
                            side);
        }
        else if (config_check_option(opt->key, opt->value, &why) != 0)
        {
            msg = xasprintf("%s connection: %s", side, why);
            free(why);
        }
    }
    return msg;
}

static void
s_task_create(coord_t *self, zmsg_t **route_p, const Pgconvoy__Request *req)
{
    int64_t project_id = s_project_id(self, req->project);
    char *msg = NULL;
    char *error = NULL;
    int code = 2;

    if ((msg = plan_task_request_problem(req)) != NULL)
    {
        code = 2; /* the planner would read what is not there */
    }
    else if (project_id == 0)
    {
        msg = xasprintf("--project-name: project \"%s\" does not exist",
                        req->project);
    }
    else if (s_task_id(self, project_id, req->task) != 0)
    {
        msg = xasprintf("--name: task \"%s\" already exists in project "
                        "\"%s\"",
                        req->task, req->project);
    }
    else if (strcmp(req->task_type, "OfflineMigration") != 0 &&
             strcmp(req->task_type, "OnlineMigration") != 0)
    {
        msg = xasprintf("--task-type: value \"%s\" is not a task type, "
                        "expected OnlineMigration or OfflineMigration",
                        req->task_type);
    }
    else if (registry_alive_count(self->registry) == 0)
    {
        msg = xstrdup("no agent is connected to the coordinator: start "
                      "pgconvoy-agent first");
        code = 1;
    }
    if (msg == NULL)
    {
        msg = s_check_options("source", req->source);
    }
    if (msg == NULL)
    {
        msg = s_check_options("target", req->target);
    }
    if (msg != NULL)
    {
        s_reply(self, *route_p, code, msg, NULL);
        free(msg);
        return;
    }
    int task_id = plan_create_task(self, req, project_id, &error);
    if (task_id < 0)
    {
        s_reply(self, *route_p, 1, error, NULL);
        free(error);
        return;
    }
    pending_add(self->pending, task_id, route_p);
    log_info("task=%s project=%s created, preparing", req->task, req->project);
    dispatch_request(self);
}

static void
s_task_cancel(coord_t *self, zmsg_t *route, int64_t task_id, const char *name)
{
    tasks_row_t task;
    char *msg = NULL;

    (void) tasks_get(self->store, task_id, &task);
    if (task.state == TASK_PENDING || task.state == TASK_RUNNING)
    {
        plan_cancel_task(self, task_id);
        msg = xasprintf("task \"%s\" cancelled", name);
    }
    else
    {
        msg = xasprintf("task \"%s\" is %s already: nothing to cancel", name,
                        states_task_name(task.state));
    }
    s_reply(self, route, 0, msg, NULL);
    free(msg);
}

static void
s_task_delete(coord_t *self, zmsg_t *route, int64_t task_id, const char *name)
{
    char *msg = plan_delete_task(self, task_id)
                    ? xasprintf("task \"%s\" deleted", name)
                    : xasprintf("task \"%s\" is being deleted: its "
                                "replication slot and publication are "
                                "dropped on the source first",
                                name);
    s_reply(self, route, 0, msg, NULL);
    free(msg);
}

static void
s_project_delete(coord_t *self, zmsg_t *route, const Pgconvoy__Request *req)
{
    int64_t project_id = s_project_id(self, req->project);
    int64_t tasks = store_int(self->store, 0,
                              "SELECT count(*) FROM tasks WHERE project_id = ?",
                              "i", project_id);
    char *msg = NULL;
    int code = 2;

    if (project_id == 0)
    {
        msg = xasprintf("-n: project \"%s\" does not exist", req->project);
    }
    else if (tasks > 0)
    {
        msg = xasprintf("project \"%s\" still has %" PRId64 " task(s): "
                        "cancel and delete them first",
                        req->project, tasks);
    }
    else
    {
        (void) store_exec(self->store, "DELETE FROM projects WHERE id = ?", "i",
                          project_id);
        msg = xasprintf("project \"%s\" deleted", req->project);
        code = 0;
    }
    s_reply(self, route, code, msg, NULL);
    free(msg);
}

static void
s_handle_request(coord_t *self, zmsg_t **route_p, const Pgconvoy__Request *req)
{
    zmsg_t *route = *route_p;
    int64_t task_id = 0;

    switch (req->verb)
    {
        case PGCONVOY__REQUEST__VERB__PROJECT_CREATE:
            s_project_create(self, route, req);
            break;
        case PGCONVOY__REQUEST__VERB__PROJECT_DELETE:
            s_project_delete(self, route, req);
            break;
        case PGCONVOY__REQUEST__VERB__PROJECT_LIST:
        {
            char *json = status_projects_json(self);
            s_reply(self, route, 0, "", json);
            free(json);
            break;
        }
        case PGCONVOY__REQUEST__VERB__AGENT_LIST:
        {
            char *json = agent_list_json(self, zclock_mono(), zclock_time());
            s_reply(self, route, 0, "", json);
            free(json);
            break;
        }
        case PGCONVOY__REQUEST__VERB__TASK_CREATE:
            s_task_create(self, route_p, req);
            break;
        case PGCONVOY__REQUEST__VERB__TASK_SHOW:
            /* the worker answers, unless it cannot: then we do */
            if ((task_id = s_lookup_task(self, route, req)) != 0 &&
                (self->status == NULL ||
                 status_worker_ask(self->status, route, task_id, req->expand,
                                   req->summary) != 0))
            {
                char *json = status_task_json(self->store, task_id, req->expand,
                                              req->summary);
                s_reply(self, route, 0, "", json);
                free(json);
            }
            break;
        case PGCONVOY__REQUEST__VERB__TASK_CANCEL:
            if ((task_id = s_lookup_task(self, route, req)) != 0)
            {
                s_task_cancel(self, route, task_id, req->task);
            }
            break;
        case PGCONVOY__REQUEST__VERB__TASK_DELETE:
            if ((task_id = s_lookup_task(self, route, req)) != 0)
            {
                s_task_delete(self, route, task_id, req->task);
            }
            break;
        case PGCONVOY__REQUEST__VERB__TASK_CUTOVER:
            if ((task_id = s_lookup_task(self, route, req)) != 0)
            {
                char *msg = NULL;
                int code = plan_cutover(self, task_id, req->object_name,
                                        req->validate, &msg);
                s_reply(self, route, code, msg, NULL);
                free(msg);
            }
            break;
        default:
            s_reply(self, route, 2, "unknown request", NULL);
            break;
    }
}

void
requests_handle(coord_t *self)
{
    zmsg_t *route = NULL;
    Pgconvoy__Envelope *env = NULL;
    uint32_t version = 0;
    envelope_status_t status = envelope_recv(self->cli, &route, &env, &version);

    if (status == ENVELOPE_VERSION)
    {
        char *why = xasprintf("the coordinator speaks protocol version %u, "
                              "the client %u",
                              PGCONVOY_PROTOCOL_VERSION, version);
        (void) envelope_send_refused(self->cli, route, why);
        free(why);
    }
    else if (status == ENVELOPE_OK &&
             env->body_case == PGCONVOY__ENVELOPE__BODY_REQUEST)
    {
        s_handle_request(self, &route, env->request);
    }
    else if (route != NULL)
    {
        s_reply(self, route, 2, "malformed request", NULL);
    }
    envelope_free(&env);
    zmsg_destroy(&route);
}
