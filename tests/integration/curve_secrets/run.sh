#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/curve_secrets/run.sh
#     Safe by default: without keys the coordinator refuses to listen
#     beyond loopback; with CURVE, only agents whose public key is on the
#     coordinator's allow-list register (one with another key, and one
#     without CURVE, never do), only allowed CLI keys are answered, and a
#     migration runs through the allowed agent. The passwords of the connection files never reach the
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

cli=$(s_bin pgconvoy)
keys=$TEST_TMP/keys
mkdir -p "$keys/allowed"
for name in coordinator a1 intruder operator; do
    "$cli" keygen "$keys/$name" || fail "keygen $name exited $?"
    [[ -s $keys/$name && -s ${keys}/${name}_secret ]] || fail "keygen wrote no key pair for $name"
done
cp "$keys/a1" "$keys/operator" "$keys/allowed/"
pass "key pairs written; only a1's and the operator's public keys are allowed"

# without keys the coordinator listens on this host only: another address
# is refused before anything is written
expect_fail 2 '--listen: value "tcp://0.0.0.0:5555" can be reached from other hosts.*--insecure' \
    "$(s_bin pgconvoy-coordinator)" --state-dir "$TEST_TMP/refused-state" --listen tcp://0.0.0.0:5555
expect_fail 2 '--agents: value "tcp://\*:5556" can be reached from other hosts' \
    "$(s_bin pgconvoy-coordinator)" --state-dir "$TEST_TMP/refused-state" --agents 'tcp://*:5556'
[[ ! -e $TEST_TMP/refused-state ]] || fail "the refused coordinator wrote its state directory"
pass "without keys, a listening address beyond loopback is refused and nothing is written"

# the CLI's calls carry the operator's key (start_coordinator's too)
export PGCONVOY_CURVE_SECRET=$keys/operator_secret PGCONVOY_CURVE_SERVER=$keys/coordinator
start_coordinator --curve-secret "$keys/coordinator_secret" --curve-clients "$keys/allowed"
# both sockets are CURVE's: a key not allowed, or no key, gets a clear
# refusal at once (not a wait for an answer that never comes)
expect_fail 2 "refused this client's CURVE key" \
    "$cli" --coordinator "$COORD" --curve-secret "$keys/intruder_secret" \
    --curve-server "$keys/coordinator" project list
expect_fail 2 'it uses CURVE: expected --curve-secret and --curve-server' \
    env -u PGCONVOY_CURVE_SECRET -u PGCONVOY_CURVE_SERVER "$cli" --coordinator "$COORD" project list
pass "the CLI socket admits only allowed keys: an intruder's key and a plain client refused"
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
# look at the arguments and environments (pg_dump's once had PGPASSWORD)
# of the daemons and of every process they start (pg_dump, pg_restore)
# while the task runs; not at other scenarios' processes, whose arguments
# may hold the same cluster's password
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
