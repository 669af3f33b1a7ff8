#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/agent_pause/run.sh
#     A zombie agent: paused (SIGSTOP) in the middle of a copy for longer
#     than the heartbeat timeout, so that the coordinator declares it lost
#     and places its unit on the other agent, then resumed (SIGCONT) while
#     that placement runs. Both placements now write the same range; the
#     fence on the target (pgconvoy.fence, claimed in the copy's own
#     transaction) lets only one commit and the other skip or stop, and
#     the coordinator releases the unit on the agent that came back. The
#     load succeeds, with every row exactly once. (It once failed the
#     database: a duplicate partition_done key.) Then a second agent
#     process under a name in use: the older of the two is refused.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=agent_pause_db
PROJECT=agent_pause_project
TASK=agent_pause_task

new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not fill $DB"
CREATE TABLE public.big (id bigint PRIMARY KEY, label text, amount numeric(12, 2));
INSERT INTO public.big
SELECT i, md5(i::text), (i % 100000) / 100.0 FROM generate_series(1, 3000000) AS i;
CREATE TABLE public.small (id integer PRIMARY KEY, v text);
INSERT INTO public.small SELECT i, 'v' || i FROM generate_series(1, 1000) AS i;
ANALYZE;
SQL
pass "3M rows loaded into $DB"

start_coordinator
start_agent a1 --jobs 1
start_agent a2 --jobs 1
cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
create_project "$PROJECT"
# ranges of 32 MB: a range takes long enough to be caught copying
create_task "$PROJECT" "$TASK" --split-tables-larger-than 32MB

catalog=$TEST_TMP/coordinator-state/pgconvoy.db
read -r unit victim <<<"$(wait_started_copy)"
[[ -n $victim ]] || fail "no copy unit started"
victim_pid=$(agent_pid "$victim")
kill -STOP "$victim_pid" || fail "could not pause agent $victim"
note "agent $victim (pid $victim_pid) paused while it copied unit $unit"

# paused past the heartbeat timeout: the coordinator places the unit again
deadline=$((SECONDS + 120))
until grep -q "agent=$victim lost" "$TEST_TMP/coordinator.log"; do
    ((SECONDS < deadline)) || { kill -CONT "$victim_pid"; fail "agent $victim was not declared lost within 120 s"; }
    sleep 0.2
done
# and the other agent runs it (or already ran it) when the zombie wakes
deadline=$((SECONDS + 120))
until [[ $(sqlite3 "$catalog" "SELECT count(*) FROM units WHERE id = $unit AND agent <> '$victim' AND (state = 'done' OR started = 1)") == 1 ]]; do
    ((SECONDS < deadline)) || { kill -CONT "$victim_pid"; fail "unit $unit was not placed again within 120 s"; }
    sleep 0.05
done
kill -CONT "$victim_pid" || fail "could not resume agent $victim"
pass "agent $victim declared lost while paused; unit $unit placed again on the other agent; $victim resumed"

wait_task "$PROJECT" "$TASK" 600 || fail "task $TASK did not succeed after the zombie came back"
check_task_output "$DB" "$DB"
compare_db "$DB" "$DB" || fail "the target differs from the source: a range written twice, or lost"
# the zombie was told its unit had moved
deadline=$((SECONDS + 30))
until grep -q "agent=$victim unit=$unit is no longer placed there: released" "$TEST_TMP/coordinator.log"; do
    ((SECONDS < deadline)) || fail "the coordinator never released unit $unit on agent $victim"
    sleep 0.2
done
pass "every row exactly once; the coordinator released unit $unit on $victim when it came back"
assert_no_leftovers "$DB"

# two live processes under one --name: each one's heartbeat would make the
# coordinator forget the other's units. The older one is refused, and
# exits saying why; the newer one (a restart, as far as anyone can tell)
# stays.
first=$(agent_pid a1)
s_background agent-a1-twin "$(s_bin pgconvoy-agent)" --coordinator "$AGENTS_EP" --name a1
deadline=$((SECONDS + 60))
while s_alive "$first"; do
    ((SECONDS < deadline)) || fail "the first agent named a1 still runs beside its twin after 60 s"
    sleep 0.2
done
rc=0
wait "$first" || rc=$?
((rc == 2)) || fail "the first agent named a1 exited $rc, expected 2"
grep -q 'refused this agent: another agent process runs under the name "a1"' "$TEST_TMP/agent-a1.log" ||
    fail "the refused agent did not say why: $(tail -n 5 "$TEST_TMP/agent-a1.log")"
s_alive "${PGCONVOY_PIDS[agent-a1-twin]}" || fail "the newer agent named a1 exited too"
pass "two agents named a1: the older one refused (exit 2, saying why), the newer one kept"
scenario_pass
