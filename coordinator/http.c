/*
 * coordinator/http.c
 *     The HTTP listener: libmicrohttpd's internal polling thread answers
 *     /metrics, /healthz and /readyz.
 *
 * All requests are answered on that one thread (no thread per
 * connection), so the store, which one thread at a time may use, needs
 * no lock of its own. ready is the only field the loop writes after the
 * start: an atomic.
 */
#include "coordinator/http.h"

#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <czmq.h>

#include "common/curve.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "coordinator/metrics.h"
#include "coordinator/store.h"

struct http_t
{
    struct MHD_Daemon *daemon; /* owned: the thread and its socket */
    store_t *store;            /* owned: read only, the daemon's thread's */
    agent_snapshot_t *agents;  /* borrowed from the loop */
    atomic_bool ready;         /* the loop has ticked once */
};

/* Splits HOST:PORT ([HOST]:PORT for IPv6) into host and port (owned by
 * the caller). Returns 0, or -1 if it is not of that form. */
static int
s_split_address(const char *address, char **host_p, char **port_p)
{
    const char *colon = strrchr(address, ':');
    const char *host = address;
    size_t host_len = 0;

    if (colon == NULL || colon == address || colon[1] == '\0')
    {
        return -1;
    }
    host_len = (size_t) (colon - address);
    if (address[0] == '[' && colon[-1] == ']')
    {
        host++;
        host_len -= 2;
    }
    *host_p = strndup(host, host_len);
    *port_p = xstrdup(colon + 1);
    return 0;
}

bool
http_address_is_local(const char *address)
{
    char *endpoint = xasprintf("tcp://%s", address);
    bool local = curve_endpoint_is_local(endpoint);

    free(endpoint);
    return local;
}

static enum MHD_Result
s_respond(struct MHD_Connection *connection, unsigned int status,
          const char *content_type, char *body)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(
        strlen(body), body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rc = MHD_NO;

    if (response == NULL)
    {
        free(body);
        return MHD_NO;
    }
    (void) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                   content_type);
    rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

/* /metrics: the catalog as it is now, the agents as of the last tick */
static enum MHD_Result
s_answer_metrics(http_t *self, struct MHD_Connection *connection)
{
    size_t n = 0;
    agent_snapshot_agent_t *agents = agent_snapshot_copy(self->agents, &n);
    char *page = metrics_render(self->store, agents, n, zclock_mono());

    agent_snapshot_free(&agents, n);
    if (page == NULL)
    {
        return s_respond(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                         xstrdup("catalog unreadable\n"));
    }
    return s_respond(connection, MHD_HTTP_OK,
                     "text/plain; version=0.0.4; charset=utf-8", page);
}

static enum MHD_Result
s_answer(void *cls, struct MHD_Connection *connection, const char *url,
         const char *method, const char *version, const char *upload_data,
         size_t *upload_data_size, void **con_cls)
{
    http_t *self = cls;

    (void) version;
    (void) upload_data;
    (void) upload_data_size;
    (void) con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    {
        return s_respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                         xstrdup("GET only\n"));
    }
    if (strcmp(url, "/metrics") == 0)
    {
        return s_answer_metrics(self, connection);
    }
    if (strcmp(url, "/healthz") == 0)
    {
        return s_respond(connection, MHD_HTTP_OK, "text/plain",
                         xstrdup("ok\n"));
    }
    if (strcmp(url, "/readyz") == 0)
    {
        bool ready = atomic_load(&self->ready);
        return s_respond(
            connection, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
            "text/plain", xstrdup(ready ? "ready\n" : "starting\n"));
    }
    return s_respond(connection, MHD_HTTP_NOT_FOUND, "text/plain",
                     xstrdup("not found: /metrics, /healthz, /readyz\n"));
}

http_t *
http_new(const char *address, const char *state_dir, agent_snapshot_t *agents)
{
    http_t *self = xcalloc(1, sizeof *self);
    char *host = NULL;
    char *port = NULL;
    struct addrinfo hints = {0};
    struct addrinfo *found = NULL;
    int gai = 0;

    self->agents = agents;
    atomic_init(&self->ready, false);
    if (s_split_address(address, &host, &port) != 0)
    {
        log_error("http=%s cannot listen: expected HOST:PORT", address);
        goto failed;
    }
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    gai = getaddrinfo(host, port, &hints, &found);
    if (gai != 0)
    {
        log_error("http=%s cannot listen: %s", address, gai_strerror(gai));
        goto failed;
    }
    /* opened here, to fail here; used by the daemon's thread only */
    self->store = store_new_reader(state_dir);
    if (self->store == NULL)
    {
        goto failed;
    }
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
            (found->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, s_answer, self, MHD_OPTION_SOCK_ADDR, found->ai_addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 30, MHD_OPTION_END);
    if (self->daemon == NULL)
    {
        log_error("http=%s could not listen (address in use?)", address);
        goto failed;
    }
    freeaddrinfo(found);
    free(host);
    free(port);
    return self;

failed:
    if (found != NULL)
    {
        freeaddrinfo(found);
    }
    free(host);
    free(port);
    http_destroy(&self);
    return NULL;
}

void
http_destroy(http_t **self_p)
{
    assert(self_p != NULL);
    if (*self_p == NULL)
    {
        return;
    }
    http_t *self = *self_p;

    /* the thread first: it may be reading the store */
    if (self->daemon != NULL)
    {
        MHD_stop_daemon(self->daemon);
    }
    store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

void
http_set_ready(http_t *self)
{
    atomic_store(&self->ready, true);
}
