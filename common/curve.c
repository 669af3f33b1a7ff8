/*
 * common/curve.c
 *     CURVE set-up on both ends, with CZMQ's zcert and zauth.
 *
 * zauth must be running before the server socket binds: connections
 * accepted before it would skip the allow-list.
 */
#include "common/curve.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

static zcert_t *
s_load(const char *file, const char *what)
{
    zcert_t *cert = zcert_load(file);

    if (cert == NULL)
    {
        log_error("file=%s cannot load the %s certificate, expected a "
                  "file written by pgconvoy keygen",
                  file, what);
    }
    return cert;
}

int
curve_setup_server(zsock_t *sock, const char *secret_file,
                   const char *clients_dir, zactor_t **auth_p)
{
    struct stat st;
    zcert_t *cert = NULL;

    if (clients_dir == NULL || stat(clients_dir, &st) != 0 ||
        !S_ISDIR(st.st_mode))
    {
        log_error("dir=%s cannot read the directory of allowed client "
                  "certificates",
                  clients_dir ? clients_dir : "(none)");
        return -1;
    }
    cert = s_load(secret_file, "coordinator's secret");
    if (cert == NULL)
    {
        return -1;
    }
    /* one authenticator serves every socket of the process (ZeroMQ has
     * one ZAP handler per context), with one allow-list */
    if (*auth_p == NULL)
    {
        *auth_p = zactor_new(zauth, NULL);
        if (*auth_p == NULL)
        {
            log_error("could not start the CURVE authenticator");
            zcert_destroy(&cert);
            return -1;
        }
        zstr_sendx(*auth_p, "CURVE", clients_dir, NULL);
        zsock_wait(*auth_p);
    }
    zcert_apply(cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, "pgconvoy");
    zcert_destroy(&cert);
    return 0;
}

int
curve_setup_client(zsock_t *sock, const char *secret_file,
                   const char *server_public_file)
{
    zcert_t *cert = s_load(secret_file, "client's secret");
    zcert_t *server =
        cert ? s_load(server_public_file, "coordinator's public") : NULL;

    if (server == NULL)
    {
        zcert_destroy(&cert);
        return -1;
    }
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, zcert_public_txt(server));
    zcert_destroy(&cert);
    zcert_destroy(&server);
    return 0;
}

bool
curve_endpoint_is_local(const char *endpoint)
{
    const char *host = NULL;
    size_t len = 0;

    if (strncmp(endpoint, "ipc://", 6) == 0 ||
        strncmp(endpoint, "inproc://", 9) == 0)
    {
        return true;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0)
    {
        return false;
    }
    host = endpoint + 6;
    /* HOST:PORT, the host bracketed if it is an IPv6 address */
    len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    if (host[len] != ':' || strchr(host + len + 1, ':') != NULL)
    {
        return false;
    }
    if (len == 5 && strncmp(host, "[::1]", len) == 0)
    {
        return true;
    }
    if (len == 9 && strncmp(host, "localhost", len) == 0)
    {
        return true;
    }
    /* 127.0.0.0/8, written as four numbers */
    unsigned a = 0, b = 0, c = 0, d = 0;
    char tail = '\0';
    char dotted[64];
    if (len >= sizeof dotted)
    {
        return false;
    }
    memcpy(dotted, host, len);
    dotted[len] = '\0';
    return sscanf(dotted, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 &&
           a == 127 && b < 256 && c < 256 && d < 256;
}

int
curve_generate(const char *path)
{
    zcert_t *cert = zcert_new();
    int rc = cert ? zcert_save(cert, path) : -1;

    if (rc != 0)
    {
        log_error("file=%s could not write the key pair", path);
    }
    zcert_destroy(&cert);
    return rc;
}
