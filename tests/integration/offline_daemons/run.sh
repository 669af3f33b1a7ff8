#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/offline_daemons/run.sh
#     The seed's flow (az dms project / task create / task show) against a
#     long-running coordinator and two agents: an offline migration of the
#     type zoo, checked table by table in the status JSON, then row by row
#     with compare_db, then deleted.
#
#     Finalize runs beside the last ANALYZE units, and the database is
#     completed only once both are done: the ANALYZE of analyzed_last waits
#     at a gate (an advisory lock the scenario holds on the target, taken
#     by its index's expression in an ANALYZE only) until finalize is seen
#     done; the task is not Succeeded then, and the table is analyzed once
#     it is.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=offline_daemons_zoo
PROJECT=offline_daemons_project
TASK=offline_daemons_task

new_db "$DB"
load_fixture "$DB" typezoo
psql_src "$DB" >/dev/null <<'SQL' || fail "could not add analyzed_last"
CREATE FUNCTION public.analyze_gate(i integer) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- an ANALYZE waits for the gate, an index build does not
    IF current_query() ~* '^\s*analyze' THEN
        PERFORM pg_advisory_xact_lock_shared(7207);
    END IF;
    RETURN i;
END
$$;
CREATE TABLE public.analyzed_last (id integer PRIMARY KEY, v integer);
INSERT INTO public.analyzed_last SELECT g, g % 7 FROM generate_series(1, 100) g;
CREATE INDEX analyzed_last_gate ON public.analyzed_last (public.analyze_gate(v));
SQL
pass "type zoo loaded into $DB, and analyzed_last"

# the gate: an advisory lock in the target database, held by a session
# that sleeps until it is terminated
GATE=offline_daemons_gate
PGAPPNAME=$GATE psql_tgt "$DB" -c "SELECT pg_advisory_lock(7207)" -c "SELECT pg_sleep(600)" \
    >/dev/null 2>&1 &
PGCONVOY_PIDS[gate]=$!
open_gate()
{
    psql_tgt postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                          WHERE application_name = '$GATE'" >/dev/null
}
PGCONVOY_EXIT_HOOKS+=(open_gate)
gate_held()
{
    [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                            AND objid = 7207 AND granted") == 1 ]]
}
analyze_at_gate()
{
    [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
                            AND wait_event = 'advisory' AND query ~* '^\s*analyze'") -ge 1 ]]
}
finalized()
{
    [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgconvoy'") == 0 ]]
}
wait_until "holding the gate" gate_held

start_coordinator
start_agent a1
start_agent a2

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"

create_project "$PROJECT"
pass "project created"

create_task "$PROJECT" "$TASK"
pass "task created"

wait_until "analyzing analyzed_last at the gate" analyze_at_gate
WAIT_UNTIL_TIMEOUT=300 wait_until "finalized (pgconvoy's schema dropped) while analyzed_last waits" finalized
task_show "$PROJECT" "$TASK" || fail "task show failed: $(cat "$TEST_TMP/task-$TASK.err")"
[[ $(migration_state) != Succeeded ]] ||
    fail "the task Succeeded while the ANALYZE of analyzed_last still runs: $(jq -c .properties.output "$TASK_JSON")"
[[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pg_stat_user_tables
                        WHERE relid = 'public.analyzed_last'::regclass AND analyze_count = 0") == 1 ]] ||
    fail "analyzed_last is analyzed on the target before the gate opened"
pass "finalize done beside the last ANALYZE, which the task waits for"
open_gate

wait_task "$PROJECT" "$TASK" 300 || fail "task $TASK did not succeed"
pass "task Succeeded"

jq -e '.name == $task and .properties.state == "Succeeded"' --arg task "$TASK" "$TASK_JSON" >/dev/null ||
    fail "expected name $TASK and properties.state Succeeded, got $(jq -c '{name, state: .properties.state}' "$TASK_JSON")"
jq -e '[.properties.output[] | select(.resultType == "MigrationLevelOutput")]
       | length == 1 and .[0].databaseCount == 1' "$TASK_JSON" >/dev/null ||
    fail "expected one MigrationLevelOutput with databaseCount 1"
check_task_output "$DB" "$DB"

compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to source"
# an idle pooled session reports its statistics within 10 s
analyzed_last_count()
{
    psql_tgt "$DB" -c "SELECT analyze_count FROM pg_stat_user_tables
                       WHERE relid = 'public.analyzed_last'::regclass"
}
analyzed()
{
    (($(analyzed_last_count) > 0))
}
wait_until "analyzed_last counted analyzed on the target" analyzed
[[ $(analyzed_last_count) == 1 ]] ||
    fail "analyzed_last should be analyzed once on the target, it was $(analyzed_last_count) times"
pass "analyzed_last analyzed once, before the task Succeeded"
assert_no_leftovers "$DB"
pass "no slot or publication left on the source"

pgf task delete --project-name "$PROJECT" -n "$TASK" || fail "task delete exited $?"
expect_fail 2 "$TASK" pgf task show --project-name "$PROJECT" -n "$TASK"
pgf project delete -n "$PROJECT" || fail "project delete exited $?"
expect_fail 2 "$PROJECT|$TASK" pgf task show --project-name "$PROJECT" -n "$TASK"
pass "task and project deleted"

scenario_pass
