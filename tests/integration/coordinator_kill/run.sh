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

start_coordinator
start_agent a1 --jobs 1
start_agent a2 --jobs 1

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
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
pid=${PGFERRY_PIDS[coordinator]}
kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
pass "coordinator killed with SIGKILL at $done_parts/$total_parts ranges of public.events"

# the agents keep working meanwhile; their results queue up or are lost
sleep 2
s_background coordinator "$(s_bin pgferry-coordinator)" --state-dir "$TEST_TMP/coordinator-state" \
    --listen "$COORD" --agents "$AGENTS_EP"
pass "coordinator started again on the same state directory"

wait_task "$PROJECT" "$TASK" 300 || fail "task $TASK did not succeed after the coordinator restarted"
pass "task Succeeded after the restart"
(($(grep -c "registered" "$TEST_TMP/coordinator.log") >= 4)) ||
    fail "the agents did not register again with the new coordinator"
check_task_output "$DB" "$DB"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to source"
psql_tgt "$DB" -c "SELECT 1 FROM pg_namespace WHERE nspname = 'pgferry'" | grep -q 1 &&
    fail "schema pgferry left on the target"
pass "no pgferry schema left on the target"

scenario_pass
