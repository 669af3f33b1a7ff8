/*
 * common/envelope.h
 *     One protobuf Envelope per ZeroMQ message, with the protocol version
 *     checked on every receive.
 *
 * A message is [routing frames…][payload]. On a ROUTER socket the routing
 * frames (peer identity, and REQ's empty delimiter) are handed back to the
 * caller as a zmsg_t so that a reply, even a deferred one, can be routed.
 */
#ifndef PGCONVOY_ENVELOPE_H
#define PGCONVOY_ENVELOPE_H

#include <czmq.h>
#include <stdbool.h>

#include "pgconvoy.pb-c.h"

/* 4: Endpoint.options. An agent of 3 would drop them unseen, and
 * connect without the TLS the user asked for: it is refused instead.
 * 5: Lease, Hello.sent_ms. An agent of 5 takes no unit without a Lease,
 * which a coordinator of 4 never sends; an agent of 4 would run units
 * on past its lease: either is refused instead. */
#define PGCONVOY_PROTOCOL_VERSION 5

/*
 * The largest message a socket of ours takes from the network. Without
 * a bound, libzmq allocates whatever a frame header claims: 2^62 bytes
 * aborts a process (the sanitizers' allocator does not return NULL), and
 * a few GB claimed by a peer that never sends them hold memory for
 * nothing. Our largest real message, a schema-pre Result with every
 * post-data item of a large schema, is tens of MB: 256 MB leaves room.
 */
#define PGCONVOY_MAX_MESSAGE_SIZE (256 * 1024 * 1024)

typedef enum
{
    ENVELOPE_OK = 0,
    ENVELOPE_INTERRUPTED, /* nothing received: signal or timeout */
    ENVELOPE_MALFORMED,   /* not a protobuf Envelope, or one lacking a
                             part its receiver needs (envelope_check.h) */
    ENVELOPE_VERSION,     /* an Envelope of another protocol version */
} envelope_status_t;

/*
 * Packs env (its protocol_version is set here) and sends it on sock,
 * preceded by a copy of the frames of route if route is not NULL (borrows
 * both). Returns 0, or -1 when the socket would not take it.
 */
int envelope_send(zsock_t *sock, zmsg_t *route, Pgconvoy__Envelope *env);

/* The message envelope_send() would send, to send later (NULL, logged,
 * if it cannot be allocated). Borrows route and env. */
zmsg_t *envelope_pack(zmsg_t *route, Pgconvoy__Envelope *env);

/*
 * Receives one message. On ENVELOPE_OK, *env_p holds the unpacked
 * envelope (free with envelope_free). If route_p is not NULL it receives
 * the routing frames (caller owns them) whatever the status, so that the
 * caller can answer a peer of another version with a Refused message.
 * *peer_version_p, if not NULL, receives the peer's version.
 */
envelope_status_t envelope_recv(zsock_t *sock, zmsg_t **route_p,
                                Pgconvoy__Envelope **env_p,
                                uint32_t *peer_version_p);

/*
 * Unpacks and checks one payload, as envelope_recv() does with the last
 * frame it receives (borrows data): logs why it refuses a malformed or
 * incomplete one. *env_p and *peer_version_p as for envelope_recv().
 */
envelope_status_t envelope_decode(const uint8_t *data, size_t size,
                                  Pgconvoy__Envelope **env_p,
                                  uint32_t *peer_version_p);

/* Bounds what sock takes from the network to PGCONVOY_MAX_MESSAGE_SIZE:
 * a larger message disconnects its peer. Call before connect or bind. */
void envelope_limit_size(zsock_t *sock);

void envelope_free(Pgconvoy__Envelope **env_p);

/* Sends a Refused naming our version and the reason. */
int envelope_send_refused(zsock_t *sock, zmsg_t *route, const char *reason);

#endif
