/*
 * cli/client.c
 *     One request, one reply, over a REQ socket with a deadline.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/curve.h"
#include "common/envelope.h"
#include "common/strbuf.h"
#include "common/version.h"

void
cli_fill_endpoint(Pgconvoy__Endpoint *ep, const config_endpoint_t *cfg)
{
    ep->user = cfg->user;
    ep->password = cfg->password ? cfg->password : "";
    ep->host = cfg->host;
    ep->dbname = cfg->dbname;
    ep->port = (uint32_t) cfg->port;
    ep->n_options = cfg->noptions;
    ep->options = xcalloc(cfg->noptions + 1, sizeof *ep->options);
    for (size_t i = 0; i < cfg->noptions; i++)
    {
        Pgconvoy__ConnOption *opt = xcalloc(1, sizeof *opt);
        pgconvoy__conn_option__init(opt);
        opt->key = cfg->options[i].key;
        opt->value = cfg->options[i].value;
        ep->options[i] = opt;
    }
}

void
cli_endpoint_clear(Pgconvoy__Endpoint *ep)
{
    for (size_t i = 0; i < ep->n_options; i++)
    {
        free(ep->options[i]); /* its strings are the config's */
    }
    free(ep->options);
    ep->options = NULL;
    ep->n_options = 0;
}

void
cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PGCONVOY_CLI_NAME ": error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* CURVE for every call of this process: its key pair and the
 * coordinator's public certificate, or NULL (borrowed, from argv or the
 * environment). */
static const char *s_curve_secret;
static const char *s_curve_server;

void
cli_use_curve(const char *secret_file, const char *server_public_file)
{
    s_curve_secret = secret_file;
    s_curve_server = server_public_file;
}

/*
 * A monitor of sock's handshakes: a coordinator that refuses this
 * client's CURVE key, or wants keys the client has not got (or the
 * reverse), sends no answer; ZeroMQ only reports the failed handshake,
 * and retries. NULL if the monitor could not be set up (then a refusal
 * shows as no answer). Set up before connecting.
 */
static zsock_t *
s_monitor_new(zsock_t *sock)
{
    char endpoint[64];
    zsock_t *mon = NULL;

    snprintf(endpoint, sizeof endpoint, "inproc://cli-handshakes-%p",
             (void *) sock);
    if (zmq_socket_monitor(zsock_resolve(sock), endpoint,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
    {
        return NULL;
    }
    mon = zsock_new(ZMQ_PAIR);
    if (mon != NULL && zsock_connect(mon, "%s", endpoint) != 0)
    {
        zsock_destroy(&mon);
    }
    return mon;
}

/*
 * Stops the monitor of sock, then closes its reader. In that order: an
 * event for a reader already gone blocks ZeroMQ's I/O thread for good
 * (libzmq issue 3575), and then the context's termination at exit.
 */
static void
s_monitor_destroy(zsock_t *sock, zsock_t **mon_p)
{
    if (*mon_p != NULL)
    {
        (void) zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        zsock_destroy(mon_p);
    }
}

/* Explains the failed handshake mon reports (its first frame holds the
 * event, 16 bits, then a value); CLI_EXIT_USAGE: the keys are input. */
static int
s_handshake_failed(zsock_t *mon, const char *endpoint)
{
    zmsg_t *msg = zmsg_recv(mon);
    zframe_t *head = msg ? zmsg_first(msg) : NULL;
    uint16_t event = 0;

    if (head != NULL && zframe_size(head) >= sizeof event)
    {
        memcpy(&event, zframe_data(head), sizeof event);
    }
    zmsg_destroy(&msg);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    {
        cli_error("the coordinator at %s refused this client's CURVE key: "
                  "expected its public certificate (the --curve-secret "
                  "file without _secret) in the coordinator's "
                  "--curve-clients directory",
                  endpoint);
    }
    else
    {
        cli_error("the handshake with the coordinator at %s failed: %s",
                  endpoint,
                  s_curve_secret != NULL
                      ? "it does not use CURVE, or uses another key pair "
                        "than --curve-server names"
                      : "it uses CURVE: expected --curve-secret and "
                        "--curve-server (or $PGCONVOY_CURVE_SECRET and "
                        "$PGCONVOY_CURVE_SERVER)");
    }
    return CLI_EXIT_USAGE;
}

/*
 * Waits until deadline (zclock_mono()) for sock to be ready for events
 * (ZMQ_POLLOUT: room for the request; ZMQ_POLLIN: the answer), or for
 * mon (if any) to report a failed handshake, whichever comes first.
 * Returns sock, mon, or NULL: the deadline passed, or ^C. Another signal
 * (SIGWINCH, when task watch's terminal is resized) does not end it.
 */
static zsock_t *
s_wait(zsock_t *sock, short events, zsock_t *mon, int64_t deadline)
{
    zmq_pollitem_t items[2] = {{zsock_resolve(sock), 0, events, 0},
                               {mon ? zsock_resolve(mon) : NULL, 0,
                                ZMQ_POLLIN, 0}};

    while (!zsys_interrupted)
    {
        int64_t left = deadline - zclock_mono();
        int rc = zmq_poll(items, mon ? 2 : 1, left > 0 ? (long) left : 0);

        if (rc > 0)
        {
            /* an answer that came wins over a failure after it */
            return (items[0].revents & events) != 0 ? sock : mon;
        }
        if (rc == 0 || zmq_errno() != EINTR || left <= 0)
        {
            break;
        }
    }
    return NULL;
}

int
cli_call(const char *endpoint, Pgconvoy__Request *req, int timeout_ms,
         Pgconvoy__Envelope **reply_p)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Envelope *reply = NULL;
    zsock_t *sock = zsock_new(ZMQ_REQ);
    zsock_t *mon = NULL;
    zsock_t *which = NULL;
    int64_t deadline = zclock_mono() + timeout_ms;
    uint32_t version = 0;
    int code = CLI_EXIT_FAILED;

    *reply_p = NULL;
    if (sock != NULL)
    {
        envelope_limit_size(sock);
        /* a coordinator just started binds within milliseconds: retry
         * at that pace, not ZeroMQ's default 100 ms */
        zsock_set_reconnect_ivl(sock, 10);
        zsock_set_reconnect_ivl_max(sock, 1000);
    }
    if (sock != NULL && s_curve_secret != NULL &&
        curve_setup_client(sock, s_curve_secret, s_curve_server) != 0)
    {
        cli_error("--curve-secret %s, --curve-server %s: cannot load the "
                  "certificates, expected files written by pgconvoy keygen",
                  s_curve_secret, s_curve_server);
        zsock_destroy(&sock);
        return CLI_EXIT_USAGE;
    }
    mon = sock ? s_monitor_new(sock) : NULL;
    if (sock == NULL || zsock_connect(sock, "%s", endpoint) != 0)
    {
        if (sock != NULL)
        {
            s_monitor_destroy(sock, &mon);
        }
        cli_error("--coordinator: value \"%s\" is not a ZeroMQ endpoint, "
                  "expected tcp://HOST:PORT",
                  endpoint);
        zsock_destroy(&sock);
        return CLI_EXIT_USAGE;
    }
    zsock_set_linger(sock, 0);
    /* every wait is s_wait()'s, which knows of the deadline and the
     * handshake: the send and the receive themselves never wait */
    zsock_set_sndtimeo(sock, 0);
    zsock_set_rcvtimeo(sock, 0);
    env.body_case = PGCONVOY__ENVELOPE__BODY_REQUEST;
    env.request = req;
    /* room for the request: none until a connection is made, and none
     * for good once a handshake has failed (ZeroMQ drops the peer) */
    which = s_wait(sock, ZMQ_POLLOUT, mon, deadline);
    if (which != NULL && which == mon)
    {
        code = s_handshake_failed(mon, endpoint);
        goto cleanup;
    }
    if (which == NULL || envelope_send(sock, NULL, &env) != 0)
    {
        if (zsys_interrupted)
        {
            cli_error("interrupted while connecting to the coordinator "
                      "at %s",
                      endpoint);
            goto cleanup;
        }
        cli_error("could not reach the coordinator at %s within %d s: is "
                  "pgconvoy-coordinator running there?",
                  endpoint, timeout_ms / 1000);
        goto cleanup;
    }
    /* the answer, or a failed handshake, whichever comes first; if
     * neither, envelope_recv() says so */
    which = s_wait(sock, ZMQ_POLLIN, mon, deadline);
    if (which != NULL && which == mon)
    {
        code = s_handshake_failed(mon, endpoint);
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
                      "pgconvoy-coordinator running there?",
                      endpoint, timeout_ms / 1000);
            goto cleanup;
        case ENVELOPE_VERSION:
            cli_error("the coordinator at %s speaks protocol version %u, "
                      "this client %u: use matching versions",
                      endpoint, version, PGCONVOY_PROTOCOL_VERSION);
            code = CLI_EXIT_USAGE;
            goto cleanup;
        default:
            cli_error("malformed answer from the coordinator at %s", endpoint);
            goto cleanup;
    }
    if (reply->body_case == PGCONVOY__ENVELOPE__BODY_REFUSED)
    {
        cli_error("the coordinator refused this client: %s",
                  reply->refused->reason);
        code = CLI_EXIT_USAGE;
        envelope_free(&reply);
        goto cleanup;
    }
    if (reply->body_case != PGCONVOY__ENVELOPE__BODY_REPLY)
    {
        cli_error("unexpected answer from the coordinator at %s", endpoint);
        envelope_free(&reply);
        goto cleanup;
    }
    code = reply->reply->code;
    *reply_p = reply;

cleanup:
    s_monitor_destroy(sock, &mon);
    zsock_destroy(&sock);
    return code;
}

/* req's answer as JSON, or NULL with the error printed and *code set;
 * what names the answer in that error. */
static json_object *
s_fetch_json(const char *endpoint, Pgconvoy__Request *req, const char *what,
             int *code)
{
    Pgconvoy__Envelope *reply = NULL;
    json_object *json = NULL;

    *code = cli_call(endpoint, req, 30000, &reply);
    if (reply != NULL && *code != CLI_EXIT_OK)
    {
        cli_error("%s", reply->reply->message);
    }
    else if (reply != NULL)
    {
        json = json_tokener_parse(reply->reply->json);
        if (json == NULL)
        {
            cli_error("the coordinator sent %s that is not JSON", what);
            *code = CLI_EXIT_FAILED;
        }
    }
    envelope_free(&reply);
    return json;
}

json_object *
cli_fetch_status(const char *endpoint, const char *project, const char *task,
                 cli_status_depth_t depth, int *code)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;

    req.verb = PGCONVOY__REQUEST__VERB__TASK_SHOW;
    req.project = (char *) project;
    req.task = (char *) task;
    req.expand = depth != CLI_STATUS_TASK;
    req.summary = depth == CLI_STATUS_SUMMARY;
    return s_fetch_json(endpoint, &req, "a status", code);
}

json_object *
cli_fetch_agents(const char *endpoint, int *code)
{
    Pgconvoy__Request req = PGCONVOY__REQUEST__INIT;

    req.verb = PGCONVOY__REQUEST__VERB__AGENT_LIST;
    return s_fetch_json(endpoint, &req, "an agent list", code);
}
