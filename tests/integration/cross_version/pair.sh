#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/cross_version/pair.sh
#     One pair of major versions, run by run.sh on clusters it started
#     (PGCONVOY_PG_DIR; their env says SRC_MAJOR and TGT_MAJOR), with the
#     agents' tools in PGCONVOY_PG_BIN (empty: the host's newest):
#     1. offline, 'pgconvoy migrate' of the type zoo and a sequence: the
#        data compared by column name, the sequences, and the schema
#        against a pg_restore of the same source;
#     2. online, daemons, pgbench writing through the full load and CDC,
#        cutover --validate: the same comparisons, and nothing of the
#        stream left behind;
#     3. the checks said which path the database took, and the large
#        table was copied in parts (key ranges before 14);
#     0. first, what the checks refuse: the pair the other way round (a
#        target older than the source), and tools older than a server.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# the newest tools involved, for the reference dumps as for the agents
TOOLS=${PGCONVOY_PG_BIN:-$PGBIN}
note "source PostgreSQL $SRC_MAJOR, target PostgreSQL $TGT_MAJOR, tools in $TOOLS"
[[ $(psql_src postgres -c "SHOW server_version_num") == "$SRC_MAJOR"* ]] ||
    fail "the source is not PostgreSQL $SRC_MAJOR: $(psql_src postgres -c "SELECT version()")"
[[ $(psql_tgt postgres -c "SHOW server_version_num") == "$TGT_MAJOR"* ]] ||
    fail "the target is not PostgreSQL $TGT_MAJOR: $(psql_tgt postgres -c "SELECT version()")"

# s_schema SIDE DB: the schema of DB, as the newest pg_dump prints it, less
# pgconvoy's own schema and the random keys of \restrict
s_schema()
{
    local side=$1 db=$2 port
    port=$([[ $side == src ]] && echo "$SRC_PORT" || echo "$TGT_PORT")
    "$TOOLS/pg_dump" -h 127.0.0.1 -p "$port" -U postgres --schema-only -N pgconvoy "$db" |
        grep -v '^\\\(un\)\?restrict '
}

# compare_schema DB: the migrated DB on the target has the schema that a
# pg_dump | pg_restore of the source's DB makes there (in DB_ref).
compare_schema()
{
    local db=$1 ref=${1}_ref
    new_db "$ref" tgt
    "$TOOLS/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -Fc "$db" -f "$TEST_TMP/$db.dump" ||
        fail "pg_dump of the source's $db failed"
    "$TOOLS/pg_restore" -h 127.0.0.1 -p "$TGT_PORT" -U postgres --exit-on-error -d "$ref" "$TEST_TMP/$db.dump" \
        >"$TEST_TMP/$ref.restore.log" 2>&1 ||
        fail "pg_restore of $db into $ref failed: $(tail -n 5 "$TEST_TMP/$ref.restore.log")"
    s_schema tgt "$ref" >"$TEST_TMP/$ref.schema.sql" || fail "pg_dump of $ref failed"
    s_schema tgt "$db" >"$TEST_TMP/$db.schema.sql" || fail "pg_dump of $db failed"
    diff -u "$TEST_TMP/$ref.schema.sql" "$TEST_TMP/$db.schema.sql" >"$TEST_TMP/$db.schema.diff" ||
        fail "the schema of $db on the target differs from a pg_restore of the source's:
$(head -n 40 "$TEST_TMP/$db.schema.diff")"
    [[ $(grep -c '^CREATE TABLE' "$TEST_TMP/$db.schema.sql") -gt 0 ]] ||
        fail "the schema dump of $db holds no table: the comparison proves nothing"
}

# what the checks must say of the path this source takes
if ((SRC_MAJOR >= 14)); then
    want_copy="in block ranges"
    want_end="a logical decoding message"
else
    want_copy="in ranges of an integer primary key"
    want_end="the WAL position of a marker transaction"
fi

# --- 0. refused by the checks ----------------------------------------------
DB=${SCENARIO}_refused
new_db "$DB"
psql_src "$DB" -c "CREATE TABLE public.t (id integer PRIMARY KEY)" >/dev/null
psql_tgt "$DB" -c "CREATE TABLE public.t (id integer PRIMARY KEY)" >/dev/null
if ((TGT_MAJOR > SRC_MAJOR)); then
    expect_fail 2 "target server 127\.0\.0\.1:$SRC_PORT runs PostgreSQL $SRC_MAJOR\.[0-9].*, older than the source's PostgreSQL $TGT_MAJOR\.[0-9].*: expected the same major version or a later one" \
        pgconvoy_migrate --source "$(tgt_uri "$DB")" --target "$(src_uri "$DB")" --agents 1
fi
if [[ -n ${PGCONVOY_PG_BIN:-} ]]; then
    # the host's tools, older than a server: refused, not used
    newest=$((SRC_MAJOR > TGT_MAJOR ? SRC_MAJOR : TGT_MAJOR))
    PGCONVOY_PG_BIN=$PGBIN expect_fail 2 "pg_dump in $PGBIN is PostgreSQL [0-9]+, older than the newest server involved \(PostgreSQL $newest\)" \
        pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 1
fi
assert_target_untouched "$DB" public.t

# --- 1. offline ------------------------------------------------------------
DB=${SCENARIO}_off
new_db "$DB"
# numeric takes infinity from 14 on: before, that one range is unbounded
sed "s/'\[-infinity,infinity\]'/'(,)'/" "$PGCONVOY_FIXTURES/typezoo.sql" >"$TEST_TMP/typezoo.sql"
if ((SRC_MAJOR >= 14)); then
    cp "$PGCONVOY_FIXTURES/typezoo.sql" "$TEST_TMP/typezoo.sql"
fi
psql_src "$DB" -f "$TEST_TMP/typezoo.sql" >"$TEST_TMP/typezoo.out" 2>&1 ||
    fail "loading typezoo.sql into $DB failed: $(tail -n 5 "$TEST_TMP/typezoo.out")"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not add the sequence"
CREATE SEQUENCE public.counter START 100;
SELECT nextval('public.counter') FROM generate_series(1, 42);
SQL
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    >"$TEST_TMP/offline.out" 2>&1 ||
    fail "pgconvoy migrate $SRC_MAJOR -> $TGT_MAJOR exited $?: $(tail -n 20 "$TEST_TMP/offline.out")"
grep -q "notice: .*tables are copied $want_copy" "$TEST_TMP/offline.out" ||
    fail "pgconvoy migrate did not say that tables are copied $want_copy: $(head -n 5 "$TEST_TMP/offline.out")"
compare_db "$DB" "$DB" || fail "offline $SRC_MAJOR -> $TGT_MAJOR: the target differs from the source"
[[ $(psql_tgt "$DB" -c "SELECT last_value FROM public.counter") == 141 ]] ||
    fail "offline: sequence public.counter is not at 141 on the target"
compare_schema "$DB"
assert_no_leftovers "$DB"
pass "offline $SRC_MAJOR -> $TGT_MAJOR: data by column name, sequences and schema as the source's"

# --- 2. online under pgbench, cutover --validate ---------------------------
DB=${SCENARIO}_on
P=cross
T=online
new_db "$DB"
pgbench_init "$DB" 5
psql_src "$DB" -c "CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())" >/dev/null
# large enough to be split, with no integer key to split by
psql_src "$DB" -c "CREATE TABLE nokey (k text PRIMARY KEY, v text NOT NULL);
                   INSERT INTO nokey SELECT md5(g::text), repeat('x', 80) FROM generate_series(1, 80000) g" >/dev/null

start_coordinator
start_agent a1 --jobs 2
start_agent a2 --jobs 2
pgbench_start "$DB" -c 2 -j 2 -T 600 -R 200

cd "$TEST_TMP" || fail "no TEST_TMP"
write_seed_files "$DB"
create_project "$P"
pgf task create --project-name "$P" -n "$T" --task-type OnlineMigration \
    --source-connection-json s.json --target-connection-json t.json \
    --database-options-json o.json --fix-replica-identity \
    --split-tables-larger-than 8MB >"$TEST_TMP/create.out" 2>&1 ||
    fail "task create exited $?: $(cat "$TEST_TMP/create.out")"

grep -q "notice: .*tables are copied $want_copy" "$TEST_TMP/create.out" ||
    fail "task create did not say that tables are copied $want_copy: $(cat "$TEST_TMP/create.out")"
grep -q "notice: .*the cutover ends at $want_end" "$TEST_TMP/create.out" ||
    fail "task create did not say that the cutover ends at $want_end: $(cat "$TEST_TMP/create.out")"
pass "the checks say: tables copied $want_copy, the cutover ends at $want_end"

db_field()
{
    jq -r ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | .$1" "$TASK_JSON"
}
# wait_db_state STATE...: until the database is in one of the states
wait_db_state()
{
    local deadline=$((SECONDS + 300)) state want
    while ((SECONDS < deadline)); do
        task_show "$P" "$T" || fail "task show failed"
        state=$(db_field migrationState)
        for want in "$@"; do
            [[ $state == "$want" ]] && return 0
        done
        [[ $state == FAILED || $state == CANCELLED ]] &&
            fail "database $DB is $state: $(jq -c '.properties.output[]' "$TASK_JSON")"
        sleep 0.5
    done
    fail "database $DB not in $* after 300 s: $(jq -c '.properties.output[] | select(.resultType == "DatabaseLevelOutput")' "$TASK_JSON")"
}

wait_db_state CATCHING_UP READY_TO_COMPLETE
s_alive "${PGCONVOY_PIDS[pgbench]}" || fail "pgbench stopped before CDC began: the test proves nothing"
applied=0
for _ in $(seq 1 200); do
    task_show "$P" "$T" || fail "task show failed"
    applied=$(db_field appliedChanges)
    ((applied > 100)) && break
    sleep 0.3
done
((applied > 100)) || fail "no more than $applied changes applied 60 s into CDC"
pass "CDC applies under pgbench: $applied changes"

pgbench_stop
# committed after pgbench: the cutover must bring these too
psql_src "$DB" -c "INSERT INTO ticks SELECT FROM generate_series(1, 10)" >/dev/null
wait_db_state READY_TO_COMPLETE
pgf task cutover --project-name "$P" -n "$T" --object-name "$DB" --validate >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "task cutover --validate exited $?: $(cat "$TEST_TMP/cutover.out")"
wait_task "$P" "$T" 120 || fail "the task did not succeed after the cutover"
[[ $(db_field migrationState) == COMPLETED ]] || fail "database not COMPLETED: $(db_field migrationState)"
slot=$(db_field slotName)

# split in parts (key ranges before 14, block ranges from 14 on), which
# compare_db below proves cover every row once
for table in pgbench_accounts nokey; do
    parts=$(jq -r --arg t "public.$table" '.properties.output[] | select(.resultType == "TableLevelOutput" and .tableName == $t) | .partitionsTotal' "$TASK_JSON")
    ((parts > 1)) || fail "$table was copied in $parts part(s) with --split-tables-larger-than 8MB"
    pass "$table copied in $parts parts with --split-tables-larger-than 8MB"
done

compare_db "$DB" "$DB" || fail "online $SRC_MAJOR -> $TGT_MAJOR: the target differs from the source"
[[ $(psql_tgt "$DB" -c "SELECT last_value FROM ticks_id_seq") == 10 ]] ||
    fail "online: sequence ticks_id_seq is not at 10 on the target"
compare_schema "$DB"
assert_stream_gone "$DB" "$slot"
pass "online $SRC_MAJOR -> $TGT_MAJOR under pgbench, cutover --validate: data, sequences and schema as the source's, nothing left"

scenario_pass
