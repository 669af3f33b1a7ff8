/*
 * coordinator/server.h
 *     The coordinator's loop: answers the CLI, hears agents, keeps time.
 */
#ifndef PGFERRY_COORDINATOR_SERVER_H
#define PGFERRY_COORDINATOR_SERVER_H

#include "coordinator/coord.h"

/* Binds both sockets and opens the catalog. NULL (logged) on failure. */
coord_t *server_new(const char *state_dir, const char *cli_endpoint,
                    const char *agents_endpoint, const char *curve_secret,
                    const char *curve_clients);
void server_destroy(coord_t **self_p);

/* Runs until interrupted. Returns 0. */
int server_run(coord_t *self);

#endif
