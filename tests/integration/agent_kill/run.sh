#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/agent_kill/run.sh
#     An agent dies (SIGKILL, as a machine would) in the middle of the full
#     load. The coordinator must place its unit again, on the replacement
#     agent or the survivor, and the target must end up exactly like the
#     source: no row lost, none doubled, counters not inflated by the re-run.
#     An agent starting removes the temporary directories a killed agent
#     left (a schema unit's dump), and no other.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=agent_kill_big
PROJECT=agent_kill_project
TASK=agent_kill_task

new_db "$DB"
# Two big tables, so that with two one-job agents each agent is loading one
# when we strike, whichever agent we pick.
psql_src "$DB" <<'SQL'
CREATE TABLE public.big_a
(
    id       bigint PRIMARY KEY,
    n        integer NOT NULL,
    label    text,
    amount   numeric(12, 2),
    created  timestamptz,
    ratio    double precision,
    flag     boolean
);
INSERT INTO public.big_a
SELECT i, i % 1000, md5(i::text), (i % 100000) / 100.0,
       timestamptz '2020-01-01 00:00:00+00' + i * interval '1 second', i / 7.0, i % 2 = 0
FROM generate_series(1, 2000000) AS i;

CREATE TABLE public.big_b (LIKE public.big_a INCLUDING ALL);
INSERT INTO public.big_b
SELECT i, i % 77, md5((i * 3)::text), (i % 5000) / 3.0,
       timestamptz '2021-06-01 00:00:00+00' + i * interval '7 seconds', sqrt(i), i % 3 = 0
FROM generate_series(1, 1000000) AS i;

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
# 16MB ranges: big_a and big_b are copied as many block ranges, so the kill
# lands while ranges are committed and others are in flight.
create_task "$PROJECT" "$TASK" --split-tables-larger-than 16MB

# Strike an agent the moment the catalog says it runs a copy that has
# started.
read -r _ victim <<<"$(wait_started_copy)"
[[ -n $victim ]] || fail "no copy unit started"
victim_pid=$(agent_pid "$victim")
kill_agent "$victim"
sleep 2
# what a schema unit of the killed agent would have left, and one of an
# agent still alive (this shell stands in for it)
export TMPDIR=$TEST_TMP/agent-tmp
mkdir -p "$TMPDIR/pgconvoy-schema-$victim_pid-AbCdEf" "$TMPDIR/pgconvoy-schema-$$-GhIjKl"
touch "$TMPDIR/pgconvoy-schema-$victim_pid-AbCdEf/post.dump" "$TMPDIR/pgconvoy-schema-$$-GhIjKl/post.dump"
start_agent a3 --jobs 1
unset TMPDIR
deadline=$((SECONDS + 10))
while [[ -e $TEST_TMP/agent-tmp/pgconvoy-schema-$victim_pid-AbCdEf ]]; do
    ((SECONDS < deadline)) || fail "the new agent left the killed agent's temporary directory"
    sleep 0.1
done
[[ -e $TEST_TMP/agent-tmp/pgconvoy-schema-$$-GhIjKl/post.dump ]] ||
    fail "the new agent removed a live process's temporary directory"
pass "the killed agent's temporary directory removed, a live one's kept"

wait_task "$PROJECT" "$TASK" 600 || fail "task $TASK did not succeed after the agent was killed"
grep -q "agent \"$victim\" was lost while running this copy unit" "$TEST_TMP/coordinator.log" ||
    fail "the kill of $victim hit no copy unit: the test proved nothing (make the tables bigger)"
pass "task Succeeded after agent $victim was killed with $(grep -c "agent \"$victim\" was lost while running this copy unit" "$TEST_TMP/coordinator.log") copy unit(s) running"

check_task_output "$DB" "$DB"
jq -e '[.properties.output[] | select(.resultType == "TableLevelOutput"
          and .tableName == "public.big_a")][0]
       | .partitionsTotal > 1 and .partitionsDone == .partitionsTotal' "$TASK_JSON" >/dev/null ||
    fail "expected public.big_a split into ranges, all done; got $(jq -c '.properties.output[]
        | select(.tableName == "public.big_a") | {partitionsDone, partitionsTotal}' "$TASK_JSON")"
pass "public.big_a was copied as $(jq '.properties.output[] | select(.tableName == "public.big_a")
    | .partitionsTotal' "$TASK_JSON") block ranges"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to source"
assert_no_leftovers "$DB"

scenario_pass
