#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/coordinator_kill/run.sh
#     The coordinator dies (SIGKILL) in the middle of the full load and is
#     started again on the same state directory and endpoints. Its catalog
#     carries the task on; the agents re-register with their next
#     heartbeat; units whose results were lost meanwhile run again and skip
#     what the target already committed. The target must end up exactly
#     like the source, and the row counters must not count anything twice.
#     The task's servers ask for a password the agents do not have: the
#     coordinator keeps it sealed in its catalog (--secrets-key), never in
#     clear, so that the units it places after the restart carry it.
#     Then, for a second task, the coordinator exits right after it
#     committed a copy's placement and before it sent it (fault injected,
#     $PGCONVOY_TEST_FAULT=exit-before-send:copy): started again, it must
#     place that unit again rather than wait for an Assign nobody will
#     get, its agent's only job slot held meanwhile.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=coordinator_kill_db
PROJECT=coordinator_kill_project
TASK=coordinator_kill_task

new_db "$DB"
psql_src "$DB" <<'SQL'
CREATE TABLE public.events
(
    id      bigint PRIMARY KEY,
    kind    integer NOT NULL,
    payload text,
    at      timestamptz
);
INSERT INTO public.events
SELECT i, i % 17, repeat(md5(i::text), 3),
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute'
FROM generate_series(1, 1500000) AS i;
CREATE INDEX events_kind_idx ON public.events (kind);
CREATE TABLE public.accounts (id integer PRIMARY KEY, owner text NOT NULL);
INSERT INTO public.accounts SELECT i, 'owner ' || i FROM generate_series(1, 50000) AS i;
ANALYZE;
SQL
pass "1.55M rows loaded into $DB"

# the key the coordinator seals passwords with; a key others may read,
# or of the wrong size, is refused before anything is written
key=$TEST_TMP/secrets.key
head -c 32 /dev/urandom >"$key"
chmod 644 "$key"
expect_fail 2 'secrets key can be read by others \(mode 644\): expected mode 600 or 400' \
    "$(s_bin pgconvoy-coordinator)" --state-dir "$TEST_TMP/refused-state" --secrets-key "$key"
head -c 31 /dev/urandom >"$TEST_TMP/short.key"
chmod 600 "$TEST_TMP/short.key" "$key"
expect_fail 2 'the secrets key is not 32 bytes' \
    "$(s_bin pgconvoy-coordinator)" --state-dir "$TEST_TMP/refused-state" --secrets-key "$TEST_TMP/short.key"
[[ ! -e $TEST_TMP/refused-state ]] || fail "a refused coordinator wrote its state directory"
pass "secrets keys that others can read, or of the wrong size, refused; nothing written"

start_coordinator --secrets-key "$key"
start_agent a1 --jobs 1
start_agent a2 --jobs 1

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
# $PASSWORD_ROLE must give its password (clusters.sh); the agents have none
for side in s t; do
    jq --arg pw "$PASSWORD_SECRET" --arg role "$PASSWORD_ROLE" '.userName = $role | .password = $pw' \
        "$side.json" >"$side.tmp" && mv "$side.tmp" "$side.json"
done
create_project "$PROJECT"
# 8MB ranges: many units, so that some are done and some in flight when
# the coordinator goes
create_task "$PROJECT" "$TASK" --split-tables-larger-than 8MB

# strike once at least one range is committed and the load goes on
deadline=$((SECONDS + 180))
while :; do
    ((SECONDS < deadline)) || fail "no range of public.events was done within 180 s"
    task_show "$PROJECT" "$TASK" || fail "task show failed: $(cat "$TEST_TMP/task-$TASK.err")"
    [[ $(migration_state) == Running ]] || fail "task ended ($(migration_state)) before the strike"
    done_parts=$(jq '[.properties.output[] | select(.tableName == "public.events")][0].partitionsDone' "$TASK_JSON")
    total_parts=$(jq '[.properties.output[] | select(.tableName == "public.events")][0].partitionsTotal' "$TASK_JSON")
    if ((done_parts > 0 && done_parts < total_parts)); then
        break
    fi
    sleep 0.2
done
pid=${PGCONVOY_PIDS[coordinator]}
kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
pass "coordinator killed with SIGKILL at $done_parts/$total_parts ranges of public.events"

[[ $(sqlite3 "$TEST_TMP/coordinator-state/pgconvoy.db" "SELECT count(*) FROM task_secrets") == 1 ]] ||
    fail "the task's passwords were not sealed in the catalog"
if grep -r -a -q -- "$PASSWORD_SECRET" "$TEST_TMP/coordinator-state"; then
    fail "the password is in clear in the catalog"
fi

# the agents keep working meanwhile; their results queue up or are lost
sleep 2
s_background coordinator "$(s_bin pgconvoy-coordinator)" --state-dir "$TEST_TMP/coordinator-state" \
    --listen "$COORD" --agents "$AGENTS_EP" "${PGCONVOY_AGENT_TIMEOUT_ARGS[@]}" --secrets-key "$key"
pass "coordinator started again on the same state directory"

wait_task "$PROJECT" "$TASK" 300 || fail "task $TASK did not succeed after the coordinator restarted"
pass "task Succeeded after the restart, its units placed since carrying the sealed password"
if grep -r -a -q -- "$PASSWORD_SECRET" "$TEST_TMP/coordinator-state" "$TEST_TMP"/*.log; then
    fail "the password is in clear in the catalog or a log"
fi
(($(grep -c "registered" "$TEST_TMP/coordinator.log") >= 4)) ||
    fail "the agents did not register again with the new coordinator"
check_task_output "$DB" "$DB"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to source"
[[ -z $(psql_tgt "$DB" -c "SELECT 1 FROM pg_namespace WHERE nspname = 'pgconvoy'") ]] ||
    fail "schema pgconvoy left on the target"
pass "no pgconvoy schema left on the target"

# --- a placement committed and never sent ------------------------------------
DB2=coordinator_kill_unsent
TASK2=coordinator_kill_unsent_task
new_db "$DB2"
psql_src "$DB2" >/dev/null <<'SQL' || fail "could not set up $DB2"
CREATE TABLE public.t (id integer PRIMARY KEY, v text);
INSERT INTO public.t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;
SQL
s_stop_process "${PGCONVOY_PIDS[coordinator]}"
registered=$(grep -c "registered" "$TEST_TMP/coordinator.log")
PGCONVOY_TEST_FAULT=exit-before-send:copy s_background coordinator "$(s_bin pgconvoy-coordinator)" \
    --state-dir "$TEST_TMP/coordinator-state" --listen "$COORD" --agents "$AGENTS_EP" "${PGCONVOY_AGENT_TIMEOUT_ARGS[@]}"
write_seed_files "$DB2"
# a task is refused until an agent has said hello: both, here
for _ in $(seq 1 300); do
    (($(grep -c "registered" "$TEST_TMP/coordinator.log") >= registered + 2)) && break
    sleep 0.1
done
(($(grep -c "registered" "$TEST_TMP/coordinator.log") >= registered + 2)) ||
    fail "the agents did not register with the coordinator started with the fault"
# the coordinator is gone once it has placed the first copy (the CLI
# itself, not pgf, which fails the scenario when the coordinator dies)
"$(s_bin pgconvoy)" --coordinator "$COORD" task create --project-name "$PROJECT" -n "$TASK2" \
    --task-type OfflineMigration --source-connection-json s.json --target-connection-json t.json \
    --database-options-json o.json >/dev/null 2>&1 &
create_pid=$!
for _ in $(seq 1 600); do
    grep -q "fault injected: exiting with a placement committed and not sent" "$TEST_TMP/coordinator.log" &&
        break
    sleep 0.1
done
grep -q "fault injected: exiting with a placement committed and not sent" "$TEST_TMP/coordinator.log" ||
    fail "the coordinator did not exit where the fault was injected: $(tail -n 5 "$TEST_TMP/coordinator.log")"
s_stop_process "${PGCONVOY_PIDS[coordinator]}"
kill "$create_pid" 2>/dev/null || true
wait "$create_pid" 2>/dev/null || true
s_background coordinator "$(s_bin pgconvoy-coordinator)" --state-dir "$TEST_TMP/coordinator-state" \
    --listen "$COORD" --agents "$AGENTS_EP" "${PGCONVOY_AGENT_TIMEOUT_ARGS[@]}"
wait_task "$PROJECT" "$TASK2" 120 ||
    fail "task $TASK2 did not succeed after a placement was committed and never sent"
compare_db "$DB2" "$DB2" || fail "the target differs from the source"
pass "a placement committed and never sent was placed again once the coordinator came back"

scenario_pass
