#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/curve_secrets/run.sh
#     Safe by default: with CURVE, only agents whose public key is on the
#     coordinator's allow-list register (one with another key, and one
#     without CURVE, never do), and a migration runs through the allowed
#     agent. The passwords of the connection files never reach the
#     catalog, a log line or a process list.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=curve_secrets_db
PROJECT=curve_secrets_project
TASK=curve_secrets_task
# $PASSWORD_ROLE must give its password (clusters.sh): the migration
# works only if the password reaches every connection and every pg_dump,
# and it is then looked for where it must not be
SECRET=$PASSWORD_SECRET

new_db "$DB"
load_fixture "$DB" sample

cli=$(s_bin pgferry)
keys=$TEST_TMP/keys
mkdir -p "$keys/allowed"
for name in coordinator a1 intruder; do
    "$cli" keygen "$keys/$name" || fail "keygen $name exited $?"
    [[ -s $keys/$name && -s ${keys}/${name}_secret ]] || fail "keygen wrote no key pair for $name"
done
cp "$keys/a1" "$keys/allowed/a1"
pass "key pairs written; only a1's public key is allowed"

start_coordinator --curve-secret "$keys/coordinator_secret" --curve-clients "$keys/allowed"
start_agent a1 --curve-secret "$keys/a1_secret" --curve-server "$keys/coordinator"
start_agent intruder --curve-secret "$keys/intruder_secret" --curve-server "$keys/coordinator"
start_agent plain

# three heartbeats' worth
sleep 3
agents=$(pgf project list | jq -c '[.agents[].name] | sort') || fail "project list failed"
[[ $agents == '["a1"]' ]] || fail "expected only a1 registered, got $agents"
pass "only the allowed agent registered: $agents"

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
for side in s t; do
    jq --arg pw "$SECRET" --arg role "$PASSWORD_ROLE" '.userName = $role | .password = $pw' \
        "$side.json" >"$side.tmp" && mv "$side.tmp" "$side.json"
done
create_project "$PROJECT"
create_task "$PROJECT" "$TASK"
# look at the arguments of the daemons and of every process they start
# (pg_dump, pg_restore) while the task runs; not at other scenarios'
# processes, whose arguments may hold the same cluster's password
seen=""
while [[ $(pgf task show --project-name "$PROJECT" -n "$TASK" | jq -r .properties.state) == Running ]]; do
    args=$(daemon_process_args)
    [[ -n $args ]] || fail "no process of the coordinator or the agents found"
    if grep -q -- "$SECRET" <<<"$args"; then
        seen=yes
    fi
    sleep 0.1
done
wait_task "$PROJECT" "$TASK" 120 || fail "task $TASK did not succeed through the CURVE agent"
[[ -z $seen ]] || fail "the password showed in a process list"
check_task_output "$DB" "$DB"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "migrated through the CURVE-secured agent, target identical"

# the catalog (and its WAL) and every log: no password
if grep -r -a -l -- "$SECRET" "$TEST_TMP/coordinator-state" "$TEST_TMP"/*.log; then
    fail "the password was written to the files above"
fi
pass "no password in the catalog, the logs or a process list"

scenario_pass
