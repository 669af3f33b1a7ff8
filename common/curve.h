/*
 * common/curve.h
 *     CURVE security for the coordinator's sockets: the coordinator is
 *     the server with its own key pair and an allow-list of client public
 *     keys (agents' and operators'); each client has its own key pair and
 *     knows the server's public key. Certificates are CZMQ's zcert files: NAME (public part) and
 *     NAME_secret (both parts), as `pgconvoy keygen` writes them.
 */
#ifndef PGCONVOY_CURVE_H
#define PGCONVOY_CURVE_H

#include <czmq.h>
#include <stdbool.h>

/*
 * Makes sock a CURVE server with the key pair in secret_file, accepting
 * only clients whose public certificate is in clients_dir. Starts the
 * authentication actor into *auth_p unless it is running there already
 * (then its allow-list is the one that counts); destroy it after the
 * sockets. Call before binding. Returns 0, or -1 (logged, naming the
 * file).
 */
int curve_setup_server(zsock_t *sock, const char *secret_file,
                       const char *clients_dir, zactor_t **auth_p);

/*
 * Makes sock a CURVE client with the key pair in secret_file, talking to
 * the server whose public certificate is server_public_file.
 */
int curve_setup_client(zsock_t *sock, const char *secret_file,
                       const char *server_public_file);

/*
 * Whether a socket bound to endpoint can be reached only from this host:
 * ipc:// and inproc://, or tcp:// on a loopback address (127.x.x.x,
 * ::1, localhost). A wildcard host ("*"), an interface name or any other
 * address is reachable from elsewhere.
 */
bool curve_endpoint_is_local(const char *endpoint);

/* Writes a new key pair to path and path_secret. */
int curve_generate(const char *path);

#endif
