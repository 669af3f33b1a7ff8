/*
 * common/envelope.c
 *     Packing, sending, receiving and version-checking Envelopes.
 */
#include "common/envelope.h"

#include <assert.h>

#include "common/envelope_check.h"
#include "common/log.h"

zmsg_t *
envelope_pack(zmsg_t *route, Pgconvoy__Envelope *env)
{
    zmsg_t *msg = route ? zmsg_dup(route) : zmsg_new();
    size_t size = 0;
    zframe_t *payload = NULL;

    env->protocol_version = PGCONVOY_PROTOCOL_VERSION;
    size = pgconvoy__envelope__get_packed_size(env);
    payload = zframe_new(NULL, size);
    if (msg == NULL || payload == NULL)
    {
        log_error("could not allocate a message of %zu bytes", size);
        zframe_destroy(&payload);
        zmsg_destroy(&msg);
        return NULL;
    }
    (void) pgconvoy__envelope__pack(env, zframe_data(payload));
    if (zmsg_append(msg, &payload) != 0)
    {
        zframe_destroy(&payload);
        zmsg_destroy(&msg);
        return NULL;
    }
    return msg;
}

int
envelope_send(zsock_t *sock, zmsg_t *route, Pgconvoy__Envelope *env)
{
    zmsg_t *msg = envelope_pack(route, env);

    if (msg == NULL)
    {
        return -1;
    }
    if (zmsg_send(&msg, sock) != 0)
    {
        log_error("could not send a message: %s", zmq_strerror(zmq_errno()));
        zmsg_destroy(&msg);
        return -1;
    }
    return 0;
}

envelope_status_t
envelope_decode(const uint8_t *data, size_t size, Pgconvoy__Envelope **env_p,
                uint32_t *peer_version_p)
{
    envelope_status_t status = ENVELOPE_MALFORMED;
    Pgconvoy__Envelope *env = pgconvoy__envelope__unpack(NULL, size, data);
    char why[160];

    assert(env_p != NULL);
    *env_p = NULL;
    if (env == NULL)
    {
        log_warn("refused a message of %zu bytes: not a protobuf Envelope",
                 size);
        return ENVELOPE_MALFORMED;
    }
    if (peer_version_p != NULL)
    {
        *peer_version_p = env->protocol_version;
    }
    if (env->protocol_version != PGCONVOY_PROTOCOL_VERSION)
    {
        /* the receiver answers with Refused: what else is in it, it may
         * not understand */
        status = ENVELOPE_VERSION;
    }
    else if (envelope_check_complete(env, why, sizeof why) != 0)
    {
        log_warn("refused a message of %zu bytes: %s", size, why);
    }
    else
    {
        status = ENVELOPE_OK;
        *env_p = env;
        env = NULL;
    }
    envelope_free(&env);
    return status;
}

envelope_status_t
envelope_recv(zsock_t *sock, zmsg_t **route_p, Pgconvoy__Envelope **env_p,
              uint32_t *peer_version_p)
{
    envelope_status_t status = ENVELOPE_MALFORMED;
    zmsg_t *msg = zmsg_recv(sock);
    zframe_t *payload = NULL;

    assert(env_p != NULL);
    *env_p = NULL;
    if (route_p != NULL)
    {
        *route_p = NULL;
    }
    if (msg == NULL)
    {
        return ENVELOPE_INTERRUPTED;
    }
    payload = zmsg_last(msg);
    if (payload != NULL)
    {
        zmsg_remove(msg, payload);
        status = envelope_decode(zframe_data(payload), zframe_size(payload),
                                 env_p, peer_version_p);
    }
    else
    {
        log_warn("refused a message without frames");
    }
    if (route_p != NULL)
    {
        *route_p = msg;
        msg = NULL;
    }
    zframe_destroy(&payload);
    zmsg_destroy(&msg);
    return status;
}

void
envelope_limit_size(zsock_t *sock)
{
    zsock_set_maxmsgsize(sock, PGCONVOY_MAX_MESSAGE_SIZE);
}

void
envelope_free(Pgconvoy__Envelope **env_p)
{
    assert(env_p != NULL);
    if (*env_p == NULL)
    {
        return;
    }
    pgconvoy__envelope__free_unpacked(*env_p, NULL);
    *env_p = NULL;
}

int
envelope_send_refused(zsock_t *sock, zmsg_t *route, const char *reason)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Refused refused = PGCONVOY__REFUSED__INIT;

    refused.expected_version = PGCONVOY_PROTOCOL_VERSION;
    refused.reason = (char *) reason;
    env.body_case = PGCONVOY__ENVELOPE__BODY_REFUSED;
    env.refused = &refused;
    return envelope_send(sock, route, &env);
}
