#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/online_migrate/run.sh
#     An OnlineMigration task end to end, with real daemons, under writes:
#     1. pgbench -c 4 writes to the source during the full load and during
#        change data capture;
#     2. the agent running the cdc unit is killed with SIGKILL while it
#        applies, and started again: the stream resumes from the target's
#        replication origin;
#     3. pgbench stops, a ticker keeps committing numbered rows, and the
#        cutover is asked for while it does: every row the ticker saw
#        committed before the cutover command is on the target;
#     4. the pgbench tables (pgbench_history has no key: the task sets
#        REPLICA IDENTITY FULL with --fix-replica-identity) are identical,
#        with the same checksums, and the counters add up: each pgbench
#        transaction inserts one history row and updates one account, one
#        teller and one branch, so after the consistent full load
#        cdcInsertCounter(history) = cdcUpdateCounter of the other three =
#        the history rows added since; a change applied twice would break it;
#     5. the slot, publication and origin are gone, the database is COMPLETED.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=online_db
P=online
T=pgbench
SCALE=10

new_db "$DB"
pgbench_init "$DB" "$SCALE"
psql_src "$DB" -c "CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())" >/dev/null
pass "source: pgbench -i -s $SCALE ($(psql_src "$DB" -c "SELECT count(*) FROM pgbench_accounts") accounts) and a ticks table"

start_coordinator
start_agent a1 --jobs 2
start_agent a2 --jobs 2

# writers during the full load and CDC
pgbench_start "$DB" -c 4 -j 2 -T 600 -R "${PGBENCH_RATE:-300}"
sleep 1

cd "$TEST_TMP" || fail "no TEST_TMP"
write_seed_files "$DB"
create_project "$P"
create_online_task "$P" "$T" --fix-replica-identity
[[ $(psql_src "$DB" -c "SELECT relreplident FROM pg_class WHERE relname = 'pgbench_history'") == f ]] ||
    fail "--fix-replica-identity did not set REPLICA IDENTITY FULL on pgbench_history"
pass "OnlineMigration task created while pgbench writes; pgbench_history got REPLICA IDENTITY FULL"
task_show "$P" "$T" || fail "task show failed: $(cat "$TEST_TMP/task-$T.err")"
options=$(jq -c .properties.options "$TASK_JSON")
[[ $options == '{"splitTablesLargerThanBytes":1073741824,"fixReplicaIdentity":true,"noOwner":false,"noPrivileges":false,"roles":false,"rolePasswords":false,"noAnalyze":false}' ]] ||
    fail "task show's options are not what the task was created with: $options"
pass "task show lists the task's options: $options"

db_field()
{
    jq -r ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | .$1" "$TASK_JSON"
}

wait_db_state "$P" "$T" CATCHING_UP READY_TO_COMPLETE
s_alive "${PGCONVOY_PIDS[pgbench]}" || fail "pgbench stopped before CDC began: the test proves nothing"
slot=$(db_field slotName)
[[ $slot == pgconvoy_* ]] || fail "no slot name in the status: $slot"
[[ $(psql_src postgres -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'") == 1 ]] ||
    fail "slot $slot is not on the source"
pass "full load done under writes, database $(db_field migrationState), slot $slot"

# --- kill -9 the agent running the cdc unit while it applies --------------
# the cdc unit's agent is the one whose log says it was assigned
applied_before=0
for _ in $(seq 1 100); do
    task_show "$P" "$T" || fail "task show failed"
    applied_before=$(db_field appliedChanges)
    ((applied_before > 0)) && break
    sleep 0.2
done
((applied_before > 0)) || fail "no change applied 20 s into CDC"
cdc_agent=$(grep -l 'kind=cdc' "$TEST_TMP"/coordinator.log >/dev/null &&
    sed -n 's/.*kind=cdc agent=\([^ ]*\) assigned.*/\1/p' "$TEST_TMP/coordinator.log" | tail -n 1)
[[ -n $cdc_agent ]] || fail "no cdc unit assignment in the coordinator's log"

# agent list: both agents, alive and leased, 2 jobs each; the cdc unit
# (running until the cutover) on the agent that holds it, and only there
pgf agent list >"$TEST_TMP/agents.json" || fail "agent list exited $?"
[[ $(jq -r '[.agents[].name] | sort | join(",")' "$TEST_TMP/agents.json") == a1,a2 ]] ||
    fail "agent list does not list a1 and a2: $(cat "$TEST_TMP/agents.json")"
[[ $(jq '[.agents[] | select(.jobs == 2 and .alive and .leased and .state == "alive")] | length' "$TEST_TMP/agents.json") == 2 ]] ||
    fail "agent list: not both alive and leased with 2 jobs: $(cat "$TEST_TMP/agents.json")"
[[ $(jq -r --arg t "$T" --arg db "$DB" '.agents[] | select(any(.units[]; .kind == "cdc" and .task == $t and .database == $db)) | .name' "$TEST_TMP/agents.json") == "$cdc_agent" ]] ||
    fail "agent list: the cdc unit is not (only) on $cdc_agent: $(cat "$TEST_TMP/agents.json")"
jq -e 'all(.agents[]; .lastHeartbeatAgeSeconds < 5 and (.lastHeartbeat | test("^[0-9-]+T[0-9:]+Z$")))' \
    "$TEST_TMP/agents.json" >/dev/null || fail "agent list: stale or malformed heartbeats: $(cat "$TEST_TMP/agents.json")"
pgf agent list -o table >"$TEST_TMP/agents.txt" || fail "agent list -o table exited $?"
for a in a1 a2; do
    grep -q "^$a " "$TEST_TMP/agents.txt" || fail "agent list -o table has no row for $a: $(cat "$TEST_TMP/agents.txt")"
done
grep -q "^ *unit [0-9]* *cdc " "$TEST_TMP/agents.txt" || fail "agent list -o table shows no cdc unit: $(cat "$TEST_TMP/agents.txt")"
pass "agent list: a1 and a2 alive with 2 jobs, the cdc unit on $cdc_agent; as a table too
$(cat "$TEST_TMP/agents.txt")"
kill_agent "$cdc_agent"
note "applied changes before the kill: $applied_before"
sleep 2
start_agent "$cdc_agent" --jobs 2
# the unit is placed again once the coordinator gives up on the dead agent
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
    task_show "$P" "$T" || fail "task show failed"
    (($(db_field appliedChanges) > applied_before + 100)) && break
    sleep 0.5
done
(($(db_field appliedChanges) > applied_before + 100)) ||
    fail "CDC did not resume after the kill: $(db_field appliedChanges) changes applied, $applied_before before"
pass "agent $cdc_agent killed with SIGKILL mid-apply and restarted: CDC resumed ($(db_field appliedChanges) changes applied)"

# --- stop pgbench, keep a ticker writing, cut over under its writes --------
pgbench_stop
(
    # each line of ticks.acked: an id whose INSERT had committed
    while :; do
        psql_src "$DB" -c "INSERT INTO ticks DEFAULT VALUES RETURNING id" >>"$TEST_TMP/ticks.acked" || exit 1
    done
) &
PGCONVOY_PIDS[ticker]=$!
sleep 2
wait_db_state "$P" "$T" READY_TO_COMPLETE
acked_before=$(tail -n 1 "$TEST_TMP/ticks.acked")
start=$SECONDS
pgf task cutover --project-name "$P" -n "$T" --object-name "$DB" >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "task cutover exited $?: $(cat "$TEST_TMP/cutover.out")"
cutover_s=$((SECONDS - start))
kill "${PGCONVOY_PIDS[ticker]}" 2>/dev/null
wait "${PGCONVOY_PIDS[ticker]}" 2>/dev/null || true
unset 'PGCONVOY_PIDS[ticker]'
[[ -n $acked_before ]] || fail "the ticker committed nothing"
got=$(psql_tgt "$DB" -c "SELECT count(*) FROM ticks WHERE id <= $acked_before")
[[ $got == "$acked_before" ]] ||
    fail "ticks committed before the cutover command: $acked_before; on the target: $got"
pass "cutover under writes in ${cutover_s} s: all $acked_before ticks committed before the command are on the target ($(tail -n 1 "$TEST_TMP/ticks.acked") on the source by the end)"

wait_task "$P" "$T" 60 || fail "the task did not succeed after the cutover"
[[ $(db_field migrationState) == COMPLETED ]] || fail "database not COMPLETED: $(db_field migrationState)"

# --- identical, and the counters add up ------------------------------------
compare_db "$DB" "$DB" public.pgbench_accounts public.pgbench_branches public.pgbench_tellers public.pgbench_history ||
    fail "pgbench tables differ after the online migration"
table_counter()
{
    jq -r --arg t "public.$1" ".properties.output[] | select(.resultType == \"TableLevelOutput\" and .tableName == \$t) | .$2" "$TASK_JSON"
}
full_load_history=$(table_counter pgbench_history fullLoadTotalRows)
history_now=$(psql_tgt "$DB" -c "SELECT count(*) FROM pgbench_history")
added=$((history_now - full_load_history))
ins=$(table_counter pgbench_history cdcInsertCounter)
upd_a=$(table_counter pgbench_accounts cdcUpdateCounter)
upd_t=$(table_counter pgbench_tellers cdcUpdateCounter)
upd_b=$(table_counter pgbench_branches cdcUpdateCounter)
note "history: $full_load_history rows in the full load, $history_now now; cdc: $ins inserts, updates accounts $upd_a tellers $upd_t branches $upd_b"
((added > 0)) || fail "no history row was added during CDC: the test proves nothing"
[[ $ins == "$added" && $upd_a == "$added" && $upd_t == "$added" && $upd_b == "$added" ]] ||
    fail "counters do not add up: $added history rows added, counters $ins/$upd_a/$upd_t/$upd_b"
total=$(db_field appliedChanges)
pass "identical after cutover; counters add up: $added pgbench transactions through CDC, each counted once ($total changes applied in all)"

assert_stream_gone "$DB" "$slot"
pass "no slot, publication, origin or pgconvoy schema left"
scenario_pass
