/*
 * common/curve.h
 *     CURVE security for the agents' socket: the coordinator is the
 *     server with its own key pair and an allow-list of agent public
 *     keys; each agent has its own key pair and knows the server's public
 *     key. Certificates are CZMQ's zcert files: NAME (public part) and
 *     NAME_secret (both parts), as `pgferry keygen` writes them.
 */
#ifndef PGFERRY_CURVE_H
#define PGFERRY_CURVE_H

#include <czmq.h>

/*
 * Makes sock a CURVE server with the key pair in secret_file, accepting
 * only clients whose public certificate is in clients_dir. Starts the
 * authentication actor into *auth_p (destroy it after the socket).
 * Returns 0, or -1 (logged, naming the file).
 */
int curve_setup_server(zsock_t *sock, const char *secret_file,
                       const char *clients_dir, zactor_t **auth_p);

/*
 * Makes sock a CURVE client with the key pair in secret_file, talking to
 * the server whose public certificate is server_public_file.
 */
int curve_setup_client(zsock_t *sock, const char *secret_file,
                       const char *server_public_file);

/* Writes a new key pair to path and path_secret. */
int curve_generate(const char *path);

#endif
