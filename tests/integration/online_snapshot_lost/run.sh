#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/online_snapshot_lost/run.sh
#     The agent holding an online task's slot and its exported snapshot is
#     killed with SIGKILL while the full load is under way (ranges of the
#     big table held at their COPY by a lock on the target, others still
#     queued). The ranges not started can no longer be
#     read as of the slot's start, so:
#     1. the database is FAILED, and its error says why;
#     2. nothing is left that blocks a new task: the cleanup (on the agent
#        left) drops the slot and publication on the source, empties the
#        tables loaded so far and drops the pgferry schema on the target;
#     3. a new OnlineMigration task over the same target then succeeds (the
#        tables, and the indexes built before, are there already: accepted),
#        and cuts over with --validate, identical.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=lost_db
P=lost

new_db "$DB"
psql_src "$DB" <<'SQL' >/dev/null || fail "could not load the source"
CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL);
INSERT INTO big SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 600000) i;
CREATE TABLE small (id int PRIMARY KEY, v text);
INSERT INTO small SELECT i, 'v' || i FROM generate_series(1, 1000) i;
SQL
pass "source: big ($(psql_src "$DB" -c "SELECT pg_size_pretty(pg_table_size('big'))")) and small"

start_coordinator
# the first agent to register holds the slot; the other copies too
start_agent holder --jobs 1
start_agent worker --jobs 1

cd "$TEST_TMP" || fail "no TEST_TMP"
write_seed_files "$DB"
create_project "$P"
# many small ranges, so that some are queued when the holder dies
pgf task create --project-name "$P" -n t1 --task-type OnlineMigration \
    --source-connection-json s.json --target-connection-json t.json \
    --database-options-json o.json --split-tables-larger-than 4MB ||
    fail "task create exited $?"

holder=""
for _ in $(seq 1 100); do
    holder=$(sed -n 's/.* agent=\([^ ]*\) holds the snapshot$/\1/p' "$TEST_TMP/coordinator.log" | tail -n 1)
    [[ -n $holder ]] && break
    sleep 0.1
done
[[ $holder == holder ]] || fail "expected agent 'holder' to hold the slot, the log says '$holder'"
# Hold the load still: a SHARE lock on the target's big stops every range
# of it at its COPY, after it has read the snapshot. Once one range waits
# there, the holder dies; then the lock goes. The ranges that waited
# finish; those still queued cannot read as of the slot's start any more.
for _ in $(seq 1 200); do
    [[ $(psql_tgt "$DB" -c "SELECT to_regclass('public.big') IS NOT NULL") == t ]] && break
    sleep 0.05
done
[[ $(psql_tgt "$DB" -c "SELECT to_regclass('public.big') IS NOT NULL") == t ]] ||
    fail "table big not created on the target 10 s into the task"
psql_tgt "$DB" -c "BEGIN; LOCK TABLE public.big IN SHARE MODE; SELECT pg_sleep(600)" >/dev/null 2>&1 &
PGFERRY_PIDS[locker]=$!
waiting=0
for _ in $(seq 1 600); do
    waiting=$(psql_tgt "$DB" -c "SELECT count(*) FROM pg_locks WHERE relation = 'public.big'::regclass AND NOT granted")
    ((waiting >= 1)) && break
    sleep 0.05
done
((waiting >= 1)) || fail "no range of big waited for the lock within 30 s"
task_show "$P" t1 || fail "task show failed"
done_parts=$(jq '[.properties.output[] | select(.resultType == "TableLevelOutput") | .partitionsDone] | add // 0' "$TASK_JSON")
total_parts=$(jq '[.properties.output[] | select(.resultType == "TableLevelOutput") | .partitionsTotal] | add' "$TASK_JSON")
((done_parts < total_parts - 2)) || fail "the load was nearly over ($done_parts of $total_parts ranges): the test proves nothing"
kill_agent holder
psql_tgt "$DB" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'BEGIN; LOCK TABLE public.big%' AND pid <> pg_backend_pid()" >/dev/null
wait "${PGFERRY_PIDS[locker]}" 2>/dev/null || true
unset 'PGFERRY_PIDS[locker]'
note "killed the slot's holder with $done_parts of $total_parts ranges copied, $waiting waiting at their COPY"

# 1. FAILED, saying why
deadline=$((SECONDS + 60))
state=""
while ((SECONDS < deadline)); do
    task_show "$P" t1 || fail "task show failed"
    state=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .migrationState' "$TASK_JSON")
    [[ $state == FAILED ]] && break
    sleep 0.5
done
[[ $state == FAILED ]] || fail "database not FAILED 60 s after its snapshot was lost: $state"
error=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .errorMessage' "$TASK_JSON")
grep -q "slot's snapshot was lost" <<<"$error" || fail "the error does not say the snapshot was lost: $error"
pass "database FAILED: $error"

# 2. nothing left behind
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
    slots=$(psql_src postgres -c "SELECT count(*) FROM pg_replication_slots WHERE database = '$DB'")
    pubs=$(psql_src "$DB" -c "SELECT count(*) FROM pg_publication")
    rows=$(psql_tgt "$DB" -c "SELECT (SELECT count(*) FROM big) + (SELECT count(*) FROM small)")
    schema=$(psql_tgt "$DB" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgferry'")
    [[ "$slots $pubs $rows $schema" == "0 0 0 0" ]] && break
    sleep 0.5
done
[[ "$slots $pubs $rows $schema" == "0 0 0 0" ]] ||
    fail "left behind after 60 s: $slots slot(s), $pubs publication(s), $rows rows on the target, pgferry schema: $schema"
assert_no_leftovers "$DB"
pass "cleanup: no slot or publication on the source, the target's tables empty, no pgferry schema"

# 3. a new task over the same target succeeds
start_agent holder --jobs 1
pgf task create --project-name "$P" -n t2 --task-type OnlineMigration \
    --source-connection-json s.json --target-connection-json t.json \
    --database-options-json o.json || fail "a new task over the emptied target was refused ($?)"
deadline=$((SECONDS + 120))
while ((SECONDS < deadline)); do
    task_show "$P" t2 || fail "task show failed"
    state=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .migrationState' "$TASK_JSON")
    [[ $state == READY_TO_COMPLETE || $state == CATCHING_UP || $state == FAILED ]] && break
    sleep 0.5
done
[[ $state == READY_TO_COMPLETE || $state == CATCHING_UP ]] ||
    fail "the new task's database is $state: $(jq -c '.properties.output[] | select(.resultType == "DatabaseLevelOutput")' "$TASK_JSON")"
pgf task cutover --project-name "$P" -n t2 --object-name "$DB" --validate >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "cutover of the new task exited $?: $(cat "$TEST_TMP/cutover.out")"
compare_db "$DB" "$DB" || fail "the target differs from the source after the new task"
assert_no_leftovers "$DB"
pass "a new task over the same target completed and validated"
scenario_pass
