/*
 * coordinator/http.h
 *     pgconvoy-coordinator --http HOST:PORT: /metrics (Prometheus),
 *     /healthz and /readyz, served by libmicrohttpd on a thread of its
 *     own.
 *
 * It reads the catalog through a read-only store of its own, as the
 * status worker does, and the agents through an agent_snapshot_t the
 * loop publishes: a scrape never waits on the coordinator's loop, and
 * the loop never waits on a scrape.
 */
#ifndef PGCONVOY_COORDINATOR_HTTP_H
#define PGCONVOY_COORDINATOR_HTTP_H

#include <stdbool.h>

#include "coordinator/agent_snapshot.h"

typedef struct http_t http_t;

/*
 * Serves on address (HOST:PORT, [IPv6]:PORT) the catalog in state_dir
 * (made already) and agents (borrowed: must outlive the server). NULL,
 * logged, if it could not bind or open the catalog.
 */
http_t *http_new(const char *address, const char *state_dir,
                 agent_snapshot_t *agents);
/* Stops the thread, then frees. */
void http_destroy(http_t **self_p);

/* From the loop, once it has ticked: /readyz answers 200 from now on. */
void http_set_ready(http_t *self);

/* Whether address (HOST:PORT) binds a loopback address only, by the
 * rule of the other listeners (curve_endpoint_is_local()). */
bool http_address_is_local(const char *address);

#endif
