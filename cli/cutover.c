/*
 * cli/cutover.c
 *     pgconvoy task cutover: asks the coordinator to cut one database over,
 *     then follows it until it is COMPLETED or FAILED.
 *
 * The operator stops the application's writes, runs this, and points the
 * application at the target once it returns 0: waiting here is the point,
 * so the exit code says whether the switch is safe.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/envelope.h"

#define CUTOVER_POLL_US 200000
#define CUTOVER_CALL_MS 30000

int
cli_cutover(const char *endpoint, const char *project, const char *task,
            const char *database, bool validate)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;
    Pgconvoy__Envelope *reply = NULL;
    int code;

    req.verb = PGCONVOY__REQUEST__VERB__TASK_CUTOVER;
    req.project = (char *) project;
    req.task = (char *) task;
    req.object_name = (char *) database;
    req.validate = validate;
    code = cli_call(endpoint, &req, CUTOVER_CALL_MS, &reply);
    if (reply != NULL && code != CLI_EXIT_OK)
    {
        cli_error("%s", reply->reply->message);
    }
    else if (reply != NULL)
    {
        printf("pgconvoy: %s\n", reply->reply->message);
        fflush(stdout);
    }
    envelope_free(&reply);
    while (code == CLI_EXIT_OK)
    {
        json_object *status =
            cli_fetch_status(endpoint, project, task, CLI_STATUS_SUMMARY, &code);
        const char *error = NULL;
        const char *state = NULL;

        if (status == NULL)
        {
            break;
        }
        state = cli_database_state(status, database, &error);
        if (strcmp(state, "COMPLETED") == 0)
        {
            cli_render_progress(status, NULL, 0, stdout);
            json_object_put(status);
            printf("pgconvoy: database \"%s\" cut over: every change made "
                   "before the cutover is on the target\n",
                   database);
            break;
        }
        if (strcmp(state, "FAILED") == 0 || strcmp(state, "CANCELLED") == 0)
        {
            cli_error("database \"%s\" is %s: %s", database, state, error);
            json_object_put(status);
            code = CLI_EXIT_FAILED;
            break;
        }
        json_object_put(status);
        usleep(CUTOVER_POLL_US);
    }
    return code;
}
