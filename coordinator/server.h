/*
 * coordinator/server.h
 *     The coordinator's loop: answers the CLI, hears agents, keeps time.
 */
#ifndef PGCONVOY_COORDINATOR_SERVER_H
#define PGCONVOY_COORDINATOR_SERVER_H

#include "coordinator/coord.h"

/* Binds both sockets and opens the catalog; with secrets_key, tasks'
 * passwords are sealed in it (secrets.h); with http_address (HOST:PORT),
 * serves /metrics there (http.h). NULL (logged) on failure. */
coord_t *server_new(const char *state_dir, const char *cli_endpoint,
                    const char *agents_endpoint, const char *curve_secret,
                    const char *curve_clients, const char *secrets_key,
                    const char *http_address);
void server_destroy(coord_t **self_p);

/* Runs until interrupted. Returns 0. */
int server_run(coord_t *self);

#endif
