/*
 * cli/client.c
 *     One request, one reply, over a REQ socket with a deadline.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "common/envelope.h"
#include "common/strbuf.h"

void
cli_fill_endpoint(Pgferry__Endpoint *ep, const config_endpoint_t *cfg)
{
    ep->user = cfg->user;
    ep->password = cfg->password ? cfg->password : "";
    ep->host = cfg->host;
    ep->dbname = cfg->dbname;
    ep->port = (uint32_t) cfg->port;
}

void
cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("pgferry: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
cli_call(const char *endpoint, Pgferry__Request *req, int timeout_ms,
         Pgferry__Envelope **reply_p)
{
    Pgferry__Envelope env = PGFERRY__ENVELOPE__INIT;
    Pgferry__Envelope *reply = NULL;
    zsock_t *sock = zsock_new(ZMQ_REQ);
    uint32_t version = 0;
    int code = CLI_EXIT_FAILED;

    *reply_p = NULL;
    if (sock != NULL)
    {
        /* a coordinator just started binds within milliseconds: retry
         * at that pace, not ZeroMQ's default 100 ms */
        zsock_set_reconnect_ivl(sock, 10);
        zsock_set_reconnect_ivl_max(sock, 1000);
    }
    if (sock == NULL || zsock_connect(sock, "%s", endpoint) != 0)
    {
        cli_error("--coordinator: value \"%s\" is not a ZeroMQ endpoint, "
                  "expected tcp://HOST:PORT",
                  endpoint);
        zsock_destroy(&sock);
        return CLI_EXIT_USAGE;
    }
    zsock_set_linger(sock, 0);
    zsock_set_rcvtimeo(sock, timeout_ms);
    env.body_case = PGFERRY__ENVELOPE__BODY_REQUEST;
    env.request = req;
    if (envelope_send(sock, NULL, &env) != 0)
    {
        goto cleanup;
    }
    switch (envelope_recv(sock, NULL, &reply, &version))
    {
        case ENVELOPE_OK:
            break;
        case ENVELOPE_INTERRUPTED:
            if (zsys_interrupted)
            {
                cli_error("interrupted while waiting for the coordinator "
                          "at %s; the request may still complete there",
                          endpoint);
                goto cleanup;
            }
            cli_error("no answer from the coordinator at %s within %d s: is "
                      "pgferry-coordinator running there?",
                      endpoint, timeout_ms / 1000);
            goto cleanup;
        case ENVELOPE_VERSION:
            cli_error("the coordinator at %s speaks protocol version %u, "
                      "this client %u: use matching versions",
                      endpoint, version, PGFERRY_PROTOCOL_VERSION);
            code = CLI_EXIT_USAGE;
            goto cleanup;
        default:
            cli_error("malformed answer from the coordinator at %s", endpoint);
            goto cleanup;
    }
    if (reply->body_case == PGFERRY__ENVELOPE__BODY_REFUSED)
    {
        cli_error("the coordinator refused this client: %s",
                  reply->refused->reason);
        code = CLI_EXIT_USAGE;
        envelope_free(&reply);
        goto cleanup;
    }
    if (reply->body_case != PGFERRY__ENVELOPE__BODY_REPLY)
    {
        cli_error("unexpected answer from the coordinator at %s", endpoint);
        envelope_free(&reply);
        goto cleanup;
    }
    code = reply->reply->code;
    *reply_p = reply;

cleanup:
    zsock_destroy(&sock);
    return code;
}

json_object *
cli_fetch_status(const char *endpoint, const char *project, const char *task,
                 cli_status_depth_t depth, int *code)
{
    Pgferry__Request req = PGFERRY__REQUEST__INIT;
    Pgferry__Envelope *reply = NULL;
    json_object *status = NULL;

    req.verb = PGFERRY__REQUEST__VERB__TASK_SHOW;
    req.project = (char *) project;
    req.task = (char *) task;
    req.expand = depth != CLI_STATUS_TASK;
    req.summary = depth == CLI_STATUS_SUMMARY;
    *code = cli_call(endpoint, &req, 30000, &reply);
    if (reply != NULL && *code != CLI_EXIT_OK)
    {
        cli_error("%s", reply->reply->message);
    }
    else if (reply != NULL)
    {
        status = json_tokener_parse(reply->reply->json);
        if (status == NULL)
        {
            cli_error("the coordinator sent a status that is not JSON");
            *code = CLI_EXIT_FAILED;
        }
    }
    envelope_free(&reply);
    return status;
}
