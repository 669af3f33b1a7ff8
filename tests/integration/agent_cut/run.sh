#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # the s_ conditions run through s_wait_for
#
# tests/integration/agent_cut/run.sh
#     Issue 9, fencing: an agent cut off from the coordinator stops its
#     units when its lease runs out. One agent runs in a network namespace
#     of its own, behind a veth pair; the coordinator (agents' socket
#     with CURVE) and both clusters listen on the pair's host-side
#     address too. An online migration runs on that agent alone, under
#     pgbench writes, into change data capture; a second agent joins on
#     the host; then the namespace's link goes down for 30 s. The cut
#     agent must stop its units when its lease runs out (its log names
#     them), report none of them, and the coordinator must place the cdc
#     unit on the second agent. With the link back the cut agent
#     registers again, the cutover with --validate succeeds and both
#     sides hold the same rows.
#
#     Runs as root (ip netns, tests/integration/netns.sh), on clusters of
#     its own (they must listen on the pair's address).

# shellcheck source=../netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/../netns.sh"
netns_setup || { echo "FAIL agent_cut: could not make a network namespace" >&2; exit 1; }
export PGCONVOY_AGENTS_HOST=$NETNS_HOST_ADDR
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
pass "namespace $NETNS_NAME at $NETNS_NS_ADDR, reaching the host at $NETNS_HOST_ADDR"

DB=agent_cut_db
PROJECT=agent_cut_project
TASK=agent_cut_task
catalog=$TEST_TMP/coordinator-state/pgconvoy.db

# s_wait_for SECONDS WHAT CMD...: until CMD succeeds, or fail naming WHAT
s_wait_for()
{
    local limit=$1 what=$2 deadline=$((SECONDS + $1))
    shift 2
    until "$@"; do
        ((SECONDS < deadline)) || fail "$what: not within $limit s"
        sleep 0.2
    done
}

s_grep_log()
{
    grep -q -- "$2" "$TEST_TMP/$1.log"
}

s_catalog_is()
{
    [[ $(sqlite3 "$catalog" "$1" 2>/dev/null || true) == "$2" ]]
}

new_db "$DB"
pgbench_init "$DB" 4
pass "pgbench database $DB made (scale 4)"

cli=$(s_bin pgconvoy)
keys=$TEST_TMP/keys
mkdir -p "$keys/allowed"
for name in coordinator cut free operator; do
    "$cli" keygen "$keys/$name" >/dev/null || fail "keygen $name exited $?"
done
cp "$keys/cut" "$keys/free" "$keys/operator" "$keys/allowed/"
export PGCONVOY_CURVE_SECRET=$keys/operator_secret PGCONVOY_CURVE_SERVER=$keys/coordinator
start_coordinator --curve-secret "$keys/coordinator_secret" --curve-clients "$keys/allowed"
[[ $AGENTS_EP == "tcp://$NETNS_HOST_ADDR:"* ]] || fail "agents' socket on $AGENTS_EP, expected $NETNS_HOST_ADDR"

# the cut agent alone first: the whole migration runs on it
netns_start_agent cut --jobs 2 --curve-secret "$keys/cut_secret" --curve-server "$keys/coordinator"
s_wait_for 60 "agent cut holding a lease" s_grep_log agent-cut "holds a lease from the coordinator"
pass "agent cut, in the namespace, registered over CURVE and holds a lease"

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
netns_seed_files
create_project "$PROJECT"
# pgbench_history has no key: REPLICA IDENTITY FULL for it
create_online_task "$PROJECT" "$TASK" --fix-replica-identity >/dev/null

stopfile=$TEST_TMP/stop-writer
start_writer "$DB" "$stopfile"

s_cdc_on()
{
    s_catalog_is "SELECT count(*) FROM units WHERE kind = 9 AND state = 'running' AND agent = '$1'" 1
}
s_wait_for 600 "the cdc unit running on agent cut" s_cdc_on cut
cdc=$(sqlite3 "$catalog" "SELECT id FROM units WHERE kind = 9 AND state = 'running' AND agent = 'cut'")
pass "full load done on agent cut; it streams the changes (cdc unit $cdc) under writes"

start_agent free --jobs 2 --curve-secret "$keys/free_secret" --curve-server "$keys/coordinator"
s_wait_for 60 "agent free holding a lease" s_grep_log agent-free "holds a lease from the coordinator"

netns_link down
cut_at=$SECONDS
note "link of agent cut down"
# the lease runs out first: the agent stops its units, naming them
s_wait_for 60 "agent cut stopping its units on the lease's end" \
    s_grep_log agent-cut "units=[0-9,]*\b$cdc\b[0-9,]* lease ran out"
pass "agent cut stopped its units when its lease ran out: $(grep -o 'units=[0-9,]* lease ran out' "$TEST_TMP/agent-cut.log" | head -n 1)"
# then the coordinator gives up on it, and places the stream elsewhere
s_wait_for 60 "agent cut declared lost" s_grep_log coordinator "agent=cut lost"
s_wait_for 120 "the cdc unit placed on agent free" s_cdc_on free
pass "agent cut declared lost; the cdc unit placed again on agent free"
# the cut lasts 30 s in all
while ((SECONDS - cut_at < 30)); do
    sleep 1
done
netns_link up
note "link of agent cut up again after $((SECONDS - cut_at)) s"

# back: registered again, under a new lease
s_registered_twice()
{
    (($(grep -c "agent=cut labels=.* registered" "$TEST_TMP/coordinator.log") >= 2))
}
s_wait_for 120 "agent cut registered again" s_registered_twice
s_leased_twice()
{
    (($(grep -c "holds a lease from the coordinator" "$TEST_TMP/agent-cut.log") >= 2))
}
s_wait_for 60 "agent cut holding a lease again" s_leased_twice
pass "agent cut registered again and holds a new lease"

s_ready()
{
    task_show "$PROJECT" "$TASK" || return 1
    local state
    state=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .migrationState' "$TASK_JSON")
    case $state in
        FAILED | CANCELLED) fail "database $state: $(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .errorMessage' "$TASK_JSON")" ;;
    esac
    [[ $state == READY_TO_COMPLETE ]]
}
s_wait_for 600 "database $DB ready to complete" s_ready
touch "$stopfile"
wait "$WRITER_PID" || true
pgf task cutover --project-name "$PROJECT" -n "$TASK" --object-name "$DB" --validate \
    >"$TEST_TMP/cutover.out" 2>&1 || fail "cutover --validate failed: $(cat "$TEST_TMP/cutover.out")"
wait_task "$PROJECT" "$TASK" 600 || fail "task $TASK did not succeed"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "cutover --validate succeeded; source and target identical"

# the stopped units were not reported: neither as failed nor as a result
# the coordinator had to ignore
! grep -E "unit=$cdc kind=[a-z_-]+ agent=cut failed|unit=$cdc agent=cut result ignored" "$TEST_TMP/coordinator.log" ||
    fail "agent cut reported the cdc unit it stopped"
pass "agent cut reported none of the units it stopped"
assert_no_leftovers "$DB"
scenario_pass
