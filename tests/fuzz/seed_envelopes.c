/*
 * tests/fuzz/seed_envelopes.c
 *     Writes the envelope fuzz target's seeds: one real-looking Envelope
 *     of every message type, packed as envelope_send() would, one file
 *     each in the directory given. make_seeds.sh runs it; rerun that
 *     when the protocol version or pgconvoy.proto changes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/envelope.h"

/* Packs env with our protocol version into DIR/NAME.bin. */
static void
s_write(const char *dir, const char *name, Pgconvoy__Envelope *env)
{
    char path[512];
    env->protocol_version = PGCONVOY_PROTOCOL_VERSION;
    size_t size = pgconvoy__envelope__get_packed_size(env);
    uint8_t *buf = malloc(size ? size : 1);
    FILE *file = NULL;

    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    file = fopen(path, "wb");
    if (buf == NULL || file == NULL ||
        fwrite(buf, 1, pgconvoy__envelope__pack(env, buf), file) != size)
    {
        fprintf(stderr, "seed_envelopes: cannot write %s\n", path);
        exit(1);
    }
    fclose(file);
    free(buf);
}

/* An Assign of this task, with what every unit kind carries. */
static void
s_assign(Pgconvoy__Assign *a, uint64_t id, Pgconvoy__UnitKind kind,
         Pgconvoy__Endpoint *source, Pgconvoy__Endpoint *target)
{
    pgconvoy__assign__init(a);
    a->unit_id = id;
    a->kind = kind;
    a->source = source;
    a->target = target;
    a->task_key = "7f3c2a9e-0d1b-4c55-9a43-2f1e8d6b7c10";
    a->placement = 41;
}

int
main(int argc, char **argv)
{
    if (argc != 2)
    {
        fprintf(stderr, "usage: seed_envelopes DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    Pgconvoy__Envelope env = PGCONVOY__ENVELOPE__INIT;

    /* the endpoints and tables the messages below share */
    Pgconvoy__ConnOption sslmode = PGCONVOY__CONN_OPTION__INIT;
    sslmode.key = "sslmode";
    sslmode.value = "verify-full";
    Pgconvoy__ConnOption *options[] = {&sslmode};
    Pgconvoy__Endpoint source = PGCONVOY__ENDPOINT__INIT;
    source.user = "postgres";
    source.password = "s3cret";
    source.host = "13.51.14.222";
    source.dbname = "dvdrental";
    source.port = 5432;
    source.n_options = 1;
    source.options = options;
    Pgconvoy__Endpoint target = PGCONVOY__ENDPOINT__INIT;
    target.user = "dms@builddemotarget";
    target.host = "builddemotarget.postgres.database.azure.com";
    target.dbname = "dvdrental";
    target.port = 5432;
    Pgconvoy__TableRef table = PGCONVOY__TABLE_REF__INIT;
    table.schema = "public";
    table.name = "rental";
    table.bytes = 1228800;
    table.rows = 16044;
    table.columns = "\"rental_id\",\"rental_date\",\"inventory_id\"";
    table.pages = 150;
    table.parts = 2;
    table.last_page = 75;
    Pgconvoy__TableRef *tables[] = {&table};
    Pgconvoy__SchemaItem item = PGCONVOY__SCHEMA_ITEM__INIT;
    item.id = 212;
    item.kind = "INDEX";
    item.tag = "idx_fk_inventory_id";
    item.sql = "CREATE INDEX idx_fk_inventory_id ON public.rental USING btree "
               "(inventory_id);";
    item.phase = 1;
    item.table_schema = "public";
    item.table_name = "rental";
    Pgconvoy__SchemaItem *items[] = {&item};
    char *selected[] = {"public.rental", "public.\"Payment\""};

    Pgconvoy__DatabaseOption db = PGCONVOY__DATABASE_OPTION__INIT;
    db.name = "dvdrental";
    db.target_name = "dvdrental";
    db.n_selected_tables = 2;
    db.selected_tables = selected;
    Pgconvoy__DatabaseOption *dbs[] = {&db};
    Pgconvoy__Request request = PGCONVOY__REQUEST__INIT;
    request.verb = PGCONVOY__REQUEST__VERB__TASK_CREATE;
    request.project = "PGMigration";
    request.task = "runnowtask";
    request.source_platform = "PostgreSQL";
    request.target_platform = "AzureDbForPostgreSql";
    request.task_type = "OnlineMigration";
    request.source = &source;
    request.target = &target;
    request.n_databases = 1;
    request.databases = dbs;
    request.split_bytes = 1073741824;
    env.body_case = PGCONVOY__ENVELOPE__BODY_REQUEST;
    env.request = &request;
    s_write(dir, "request_task_create", &env);
    Pgconvoy__Request show = PGCONVOY__REQUEST__INIT;
    show.verb = PGCONVOY__REQUEST__VERB__TASK_SHOW;
    show.project = "PGMigration";
    show.task = "runnowtask";
    show.expand = true;
    env.request = &show;
    s_write(dir, "request_task_show", &env);

    Pgconvoy__Reply reply = PGCONVOY__REPLY__INIT;
    reply.code = 0;
    reply.message = "task \"runnowtask\" created";
    reply.json = "{\"state\":\"Running\",\"databases\":[{\"name\":"
                 "\"dvdrental\",\"migrationState\":\"FULL_LOAD\"}]}";
    env.body_case = PGCONVOY__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    s_write(dir, "reply", &env);

    uint64_t running[] = {17, 18, 40};
    Pgconvoy__Hello hello = PGCONVOY__HELLO__INIT;
    hello.name = "a1";
    hello.labels = "region=eastus2";
    hello.jobs = 4;
    hello.n_running_units = 3;
    hello.running_units = running;
    hello.incarnation = 0x5eed5eed12345678;
    hello.placements_seen = 41;
    hello.sent_ms = 123456789;
    env.body_case = PGCONVOY__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    s_write(dir, "hello", &env);

    Pgconvoy__Welcome welcome = PGCONVOY__WELCOME__INIT;
    welcome.heartbeat_ms = 1000;
    env.body_case = PGCONVOY__ENVELOPE__BODY_WELCOME;
    env.welcome = &welcome;
    s_write(dir, "welcome", &env);

    Pgconvoy__Lease lease = PGCONVOY__LEASE__INIT;
    lease.hello_sent_ms = 123456789;
    lease.lease_ms = 4000;
    env.body_case = PGCONVOY__ENVELOPE__BODY_LEASE;
    env.lease = &lease;
    s_write(dir, "lease", &env);

    Pgconvoy__Assign copy;
    s_assign(&copy, 17, PGCONVOY__UNIT_KIND__UNIT_COPY, &source, &target);
    copy.snapshot = "00000003-0000001B-1";
    copy.table = &table;
    copy.epoch = 1;
    env.body_case = PGCONVOY__ENVELOPE__BODY_ASSIGN;
    env.assign = &copy;
    s_write(dir, "assign_copy", &env);
    Pgconvoy__Assign post;
    s_assign(&post, 40, PGCONVOY__UNIT_KIND__UNIT_SCHEMA_POST, &source,
             &target);
    post.n_items = 1;
    post.items = items;
    Pgconvoy__Assign cdc;
    s_assign(&cdc, 52, PGCONVOY__UNIT_KIND__UNIT_CDC, &source, &target);
    cdc.slot = "pgconvoy_7f3c2a9e";
    cdc.start_lsn = 0x1533128;
    cdc.cutover = true;
    cdc.validate = true;
    cdc.large_objects = true;
    env.assign = &cdc;
    s_write(dir, "assign_cdc", &env);

    Pgconvoy__Assign *units[] = {&copy, &post};
    Pgconvoy__AssignBatch batch = PGCONVOY__ASSIGN_BATCH__INIT;
    batch.n_units = 2;
    batch.units = units;
    env.body_case = PGCONVOY__ENVELOPE__BODY_ASSIGN_BATCH;
    env.assign_batch = &batch;
    s_write(dir, "assign_batch", &env);

    Pgconvoy__TableChanges changes = PGCONVOY__TABLE_CHANGES__INIT;
    changes.schema = "public";
    changes.name = "rental";
    changes.inserts = 120;
    changes.updates = 7;
    changes.deletes = 1;
    Pgconvoy__TableChanges *all_changes[] = {&changes};
    Pgconvoy__CdcProgress cdc_progress = PGCONVOY__CDC_PROGRESS__INIT;
    cdc_progress.received_lsn = 0x15334C0;
    cdc_progress.applied_lsn = 0x1533470;
    cdc_progress.source_lsn = 0x1533538;
    cdc_progress.latency_ms = 250;
    cdc_progress.pending = 3;
    cdc_progress.n_tables = 1;
    cdc_progress.tables = all_changes;
    cdc_progress.slot_wal_bytes = 16384;
    Pgconvoy__Progress progress = PGCONVOY__PROGRESS__INIT;
    progress.unit_id = 52;
    progress.cdc = &cdc_progress;
    progress.trouble = "could not connect to the target: Connection refused";
    progress.retries = 2;
    env.body_case = PGCONVOY__ENVELOPE__BODY_PROGRESS;
    env.progress = &progress;
    s_write(dir, "progress_cdc", &env);
    Pgconvoy__Progress started = PGCONVOY__PROGRESS__INIT;
    started.unit_id = 12;
    started.started = true;
    started.n_tables = 1;
    started.tables = tables;
    env.progress = &started;
    s_write(dir, "progress_schema", &env);

    char *problems[] = {"table \"public\".\"log\" has no primary key"};
    Pgconvoy__Result result = PGCONVOY__RESULT__INIT;
    result.unit_id = 3;
    result.ok = true;
    result.n_problems = 1;
    result.problems = problems;
    result.n_tables = 1;
    result.tables = tables;
    result.n_items = 1;
    result.items = items;
    result.source_version = "15.18";
    result.target_version = "15.18";
    result.cdc = &cdc_progress;
    env.body_case = PGCONVOY__ENVELOPE__BODY_RESULT;
    env.result = &result;
    s_write(dir, "result", &env);

    Pgconvoy__Release release = PGCONVOY__RELEASE__INIT;
    release.unit_id = 52;
    release.cutover = true;
    release.validate = true;
    env.body_case = PGCONVOY__ENVELOPE__BODY_RELEASE;
    env.release = &release;
    s_write(dir, "release", &env);

    Pgconvoy__Refused refused = PGCONVOY__REFUSED__INIT;
    refused.expected_version = PGCONVOY_PROTOCOL_VERSION;
    refused.reason = "the coordinator speaks protocol version 4, the agent 3";
    env.body_case = PGCONVOY__ENVELOPE__BODY_REFUSED;
    env.refused = &refused;
    s_write(dir, "refused", &env);
    return 0;
}
