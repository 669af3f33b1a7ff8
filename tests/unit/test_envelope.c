/*
 * tests/unit/test_envelope.c
 *     Envelopes over real ZeroMQ sockets (inproc): a round trip keeps the
 *     message, a peer of another protocol version is told apart from a
 *     malformed message, and the routing frames of a ROUTER come back.
 *     envelope_decode() refuses what its receiver would dereference as
 *     NULL (issue 9: an Assign without Endpoints crashed the agent).
 */
#include "check.h"
#include "common/envelope.h"

static void
s_test_round_trip(zsock_t *dealer, zsock_t *router)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Hello hello = PGCONVOY__HELLO__INIT;
    uint64_t running[2] = {7, 42};
    Pgconvoy__Envelope *got = NULL;
    zmsg_t *route = NULL;
    uint32_t version = 0;

    hello.name = "a1";
    hello.labels = "region=eastus2";
    hello.jobs = 3;
    hello.n_running_units = 2;
    hello.running_units = running;
    env.body_case = PGCONVOY__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    CHECK(envelope_send(dealer, NULL, &env) == 0);
    CHECK(envelope_recv(router, &route, &got, &version) == ENVELOPE_OK);
    CHECK(version == PGCONVOY_PROTOCOL_VERSION);
    CHECK(got->body_case == PGCONVOY__ENVELOPE__BODY_HELLO);
    CHECK(strcmp(got->hello->name, "a1") == 0);
    CHECK(strcmp(got->hello->labels, "region=eastus2") == 0);
    CHECK(got->hello->jobs == 3 && got->hello->n_running_units == 2);
    CHECK(got->hello->running_units[1] == 42);
    CHECK(route != NULL && zmsg_size(route) == 1); /* the dealer's id */
    envelope_free(&got);
    CHECK(got == NULL);

    /* the reply goes back through the route */
    CHECK(envelope_send_refused(router, route, "go away") == 0);
    CHECK(envelope_recv(dealer, NULL, &got, &version) == ENVELOPE_OK);
    CHECK(got->body_case == PGCONVOY__ENVELOPE__BODY_REFUSED);
    CHECK(strcmp(got->refused->reason, "go away") == 0);
    CHECK(got->refused->expected_version == PGCONVOY_PROTOCOL_VERSION);
    envelope_free(&got);
    zmsg_destroy(&route);
}

/* Sends raw bytes, as an old or foreign peer would. */
static void
s_send_raw(zsock_t *sock, const void *data, size_t size)
{
    zframe_t *frame = zframe_new(data, size);
    CHECK(zframe_send(&frame, sock, 0) == 0);
}

static void
s_test_version_and_garbage(zsock_t *dealer, zsock_t *router)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Envelope *got = NULL;
    zmsg_t *route = NULL;
    uint32_t version = 0;
    uint8_t buf[64];

    env.protocol_version = PGCONVOY_PROTOCOL_VERSION + 1;
    env.body_case = PGCONVOY__ENVELOPE__BODY_RELEASE;
    Pgconvoy__Release release = PGCONVOY__RELEASE__INIT;
    release.unit_id = 9;
    env.release = &release;
    size_t size = pgconvoy__envelope__pack(&env, buf);
    s_send_raw(dealer, buf, size);
    CHECK(envelope_recv(router, &route, &got, &version) == ENVELOPE_VERSION);
    CHECK(got == NULL);
    CHECK(version == PGCONVOY_PROTOCOL_VERSION + 1);
    CHECK(route != NULL); /* so that the peer can be answered */
    zmsg_destroy(&route);

    s_send_raw(dealer, "\xff\xff\xff\xff not protobuf", 17);
    CHECK(envelope_recv(router, &route, &got, &version) == ENVELOPE_MALFORMED);
    CHECK(got == NULL);
    zmsg_destroy(&route);
}

/* Packs env with our version and decodes it back. */
static envelope_status_t
s_decode(Pgconvoy__Envelope *env)
{
    uint8_t buf[256];
    Pgconvoy__Envelope *got = NULL;

    env->protocol_version = PGCONVOY_PROTOCOL_VERSION;
    CHECK(pgconvoy__envelope__get_packed_size(env) <= sizeof buf);
    size_t size = pgconvoy__envelope__pack(env, buf);
    envelope_status_t status = envelope_decode(buf, size, &got, NULL);
    CHECK((status == ENVELOPE_OK) == (got != NULL));
    envelope_free(&got);
    return status;
}

static void
s_test_incomplete(void)
{
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;
    Pgconvoy__Assign assign = PGCONVOY__ASSIGN__INIT;
    Pgconvoy__Assign *units[1] = {&assign};
    Pgconvoy__AssignBatch batch = PGCONVOY__ASSIGN_BATCH__INIT;
    Pgconvoy__Endpoint source = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__Endpoint target = PGCONVOY__ENDPOINT__INIT;
    Pgconvoy__TableRef table = PGCONVOY__TABLE_REF__INIT;

    env.body_case = PGCONVOY__ENVELOPE__BODY_ASSIGN;
    env.assign = &assign;
    assign.kind = PGCONVOY__UNIT_KIND__UNIT_COPY;
    CHECK(s_decode(&env) == ENVELOPE_MALFORMED); /* no endpoints */
    assign.source = &source;
    CHECK(s_decode(&env) == ENVELOPE_MALFORMED); /* no target */
    assign.target = &target;
    CHECK(s_decode(&env) == ENVELOPE_MALFORMED); /* a copy of no table */
    assign.kind = PGCONVOY__UNIT_KIND__UNIT_PREPARE;
    CHECK(s_decode(&env) == ENVELOPE_OK); /* reads no table */
    assign.kind = PGCONVOY__UNIT_KIND__UNIT_VALIDATE;
    assign.table = &table;
    CHECK(s_decode(&env) == ENVELOPE_OK);

    /* a batch: not empty, and every unit complete */
    env.body_case = PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;
    env.assign_batch = &batch;
    CHECK(s_decode(&env) == ENVELOPE_MALFORMED);
    batch.n_units = 1;
    batch.units = units;
    CHECK(s_decode(&env) == ENVELOPE_OK);
    assign.source = NULL;
    CHECK(s_decode(&env) == ENVELOPE_MALFORMED);
}

int
main(void)
{
    zsock_t *router = zsock_new_router("inproc://test-envelope");
    zsock_t *dealer = zsock_new_dealer("inproc://test-envelope");

    CHECK(router != NULL && dealer != NULL);
    zsock_set_rcvtimeo(router, 2000);
    zsock_set_rcvtimeo(dealer, 2000);
    s_test_round_trip(dealer, router);
    s_test_version_and_garbage(dealer, router);
    s_test_incomplete();

    /* nothing to receive: a timeout, not an error */
    Pgconvoy__Envelope *got = NULL;
    zsock_set_rcvtimeo(router, 50);
    CHECK(envelope_recv(router, NULL, &got, NULL) == ENVELOPE_INTERRUPTED);

    zsock_destroy(&dealer);
    zsock_destroy(&router);
    puts("test_envelope: ok");
    return 0;
}
