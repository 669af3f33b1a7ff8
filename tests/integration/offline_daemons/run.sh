#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/offline_daemons/run.sh
#     The seed's flow (az dms project / task create / task show) against a
#     long-running coordinator and two agents: an offline migration of the
#     type zoo, checked table by table in the status JSON, then row by row
#     with compare_db, then deleted.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=offline_daemons_zoo
PROJECT=offline_daemons_project
TASK=offline_daemons_task

new_db "$DB"
load_fixture "$DB" typezoo
pass "type zoo loaded into $DB"

start_coordinator
start_agent a1
start_agent a2

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"

create_project "$PROJECT"
pass "project created"

create_task "$PROJECT" "$TASK"
pass "task created"

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
assert_no_leftovers "$DB"
pass "no slot or publication left on the source"

pgf task delete --project-name "$PROJECT" -n "$TASK" || fail "task delete exited $?"
expect_fail 2 "$TASK" pgf task show --project-name "$PROJECT" -n "$TASK"
pgf project delete -n "$PROJECT" || fail "project delete exited $?"
expect_fail 2 "$PROJECT|$TASK" pgf task show --project-name "$PROJECT" -n "$TASK"
pass "task and project deleted"

scenario_pass
