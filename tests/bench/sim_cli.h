/*
 * tests/bench/sim_cli.h
 *     The CLI side of the benchmark: requests to the coordinator's CLI
 *     endpoint over one REQ socket, sent and answered without blocking,
 *     so that one thread serves the fake agents and the CLI together
 *     (TASK_CREATE is only answered once an agent has run prepare).
 *
 * One request at a time, as REQ allows; each reply comes with its round
 * trip.
 */
#ifndef PGCONVOY_BENCH_SIM_CLI_H
#define PGCONVOY_BENCH_SIM_CLI_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "pgconvoy.pb-c.h"

typedef struct sim_cli_t sim_cli_t;

sim_cli_t *sim_cli_new(const char *endpoint);
void sim_cli_destroy(sim_cli_t **self_p);

/* The socket to poll for the reply (borrowed). */
zsock_t *sim_cli_socket(sim_cli_t *self);
/* True while a request waits for its reply. */
bool sim_cli_is_busy(const sim_cli_t *self);
/* Sends req (borrowed). Returns 0, or -1 if busy or not sent. */
int sim_cli_send(sim_cli_t *self, Pgconvoy__Request *req);
/*
 * Receives the reply once the socket is readable: the Reply (caller frees
 * the envelope with envelope_free) and the round trip in microseconds.
 * NULL (logged) if what came is not a Reply.
 */
Pgconvoy__Envelope *sim_cli_recv(sim_cli_t *self, int64_t *round_trip_us);
/* zclock_usecs() when the request in flight was sent; 0 if none. */
int64_t sim_cli_sent_at(const sim_cli_t *self);

#endif
