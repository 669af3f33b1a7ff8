#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/online_snapshot_lost/run.sh
#     The agent holding an online task's slot and its exported snapshot is
#     killed with SIGKILL while the full load is under way (ranges of the
#     big table held at their COPY by a lock on the target, having read
#     under the snapshot; others still queued). The ranges not started can
#     no longer be read as of the slot's start, so the full load starts
#     over by itself, under a new slot, while the source is written to:
#     1. the database never fails: it reaches READY_TO_COMPLETE, having
#        started over once (fullLoadRestarts, and an event says why);
#     2. the ranges that read under the lost snapshot, which commit once
#        the lock goes, leave nothing behind: the cutover's --validate and
#        a comparison by column name find both sides identical.

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
create_online_task "$P" t1 --split-tables-larger-than 4MB

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
PGCONVOY_PIDS[locker]=$!
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
wait "${PGCONVOY_PIDS[locker]}" 2>/dev/null || true
unset 'PGCONVOY_PIDS[locker]'
note "killed the slot's holder with $done_parts of $total_parts ranges copied, $waiting waiting at their COPY"

# writes while the load starts over: the new slot must carry them
psql_src "$DB" <<'SQL' >/dev/null || fail "could not write on the source"
UPDATE big SET payload = 'after the holder died' WHERE id % 1000 = 0;
DELETE FROM small WHERE id % 10 = 0;
INSERT INTO small SELECT i, 'new ' || i FROM generate_series(1001, 1100) i;
SQL
start_agent holder --jobs 1

# 1. the full load starts over by itself: never FAILED, says why
deadline=$((SECONDS + 180))
state=""
while ((SECONDS < deadline)); do
    task_show "$P" t1 || fail "task show failed"
    state=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .migrationState' "$TASK_JSON")
    [[ $state == FAILED || $state == READY_TO_COMPLETE ]] && break
    sleep 0.5
done
[[ $state == READY_TO_COMPLETE ]] ||
    fail "database $state, not READY_TO_COMPLETE, 180 s after its snapshot was lost: $(jq -c '.properties.output[] | select(.resultType == "DatabaseLevelOutput")' "$TASK_JSON")"
restarts=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .fullLoadRestarts' "$TASK_JSON")
[[ $restarts == 1 ]] || fail "fullLoadRestarts is $restarts, expected 1"
# events are logged by the coordinator as they are journaled
grep -q "the full load starts over under a new slot" "$TEST_TMP/coordinator.log" ||
    fail "no event says the full load starts over: $(tail -n 20 "$TEST_TMP/coordinator.log")"
pass "the load started over once by itself and caught up (fullLoadRestarts $restarts)"

# 2. the ranges that read under the lost snapshot left nothing behind:
# the target matches the source, changes made meanwhile included
pgf task cutover --project-name "$P" -n t1 --object-name "$DB" --validate >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "cutover exited $?: $(cat "$TEST_TMP/cutover.out")"
wait_task "$P" t1 120 || fail "the task did not end after the cutover"
compare_db "$DB" "$DB" || fail "the target differs from the source"
assert_no_leftovers "$DB"
pass "cutover with --validate: identical, nothing left behind"
scenario_pass
