#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/step_race/run.sh
#     One schema step (an index build, a comment: what schema-post and
#     finalize units run) run by two placements at once, as when an
#     agent thought lost still runs a unit placed again elsewhere. The
#     first placement (a psql session here) has built the object and
#     written its pgconvoy.step_done row but not committed; the second
#     (agent/schema_step.c, through step_driver) waits on its locks. Once
#     the first commits, the second must find the step done, not fail the
#     database on "relation already exists" or on step_done's key, and the
#     object must exist once. Both orders of who wins are forced with an
#     advisory lock, not with a clock.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=step_race_db
DRIVER=$PGCONVOY_BUILD_DIR/tests/step_driver
KEY=step_race_task
[[ -x $DRIVER ]] || fail "no driver at $DRIVER: build first"

new_db "$DB" tgt
psql_tgt "$DB" >/dev/null <<'SQL' || fail "could not set up the target"
CREATE TABLE public.items (id integer PRIMARY KEY, v text);
INSERT INTO public.items SELECT i, 'item ' || i FROM generate_series(1, 10000) i;
SQL
# the bookkeeping, as schema-pre leaves it
"$DRIVER" "host=127.0.0.1 port=$TGT_PORT user=postgres dbname=$DB" "$KEY" warmup "SELECT 1" >/dev/null ||
    fail "the driver could not make the bookkeeping"

# waiting_on_lock APP QUERY-LIKE: whether a session of APP waits on a lock
waiting_on_lock()
{
    [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND application_name = '$1' AND wait_event_type = 'Lock'") -ge 1 ]]
}

# gate_held: whether our gate session holds advisory lock 7
gate_held()
{
    [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7 AND granted") == 1 ]]
}

# race STEP SQL CHECK: the first placement runs SQL as step STEP and holds
# its transaction open until released; the driver runs the same step; the
# first commits; the driver must say done and CHECK must print 1
race()
{
    local step=$1 sql=$2 check=$3 gate first driver_out

    # the gate: a session of ours holding advisory lock 7 until told
    gate=$TEST_TMP/gate-$step
    mkfifo "$gate"
    PGAPPNAME=gate psql_tgt "$DB" <"$gate" >/dev/null 2>&1 &
    PGCONVOY_PIDS[gate]=$!
    exec 7>"$gate"
    echo "SELECT pg_advisory_lock(7);" >&7
    wait_until "holding the gate" gate_held

    # the first placement: done, its step_done row written, not committed
    PGAPPNAME=first psql_tgt "$DB" >"$TEST_TMP/first-$step.out" 2>&1 <<SQL &
BEGIN;
$sql;
INSERT INTO pgconvoy.step_done (task_key, step) VALUES ('$KEY', '$step');
SELECT pg_advisory_lock(7);
COMMIT;
SQL
    first=$!
    wait_until "the first placement at the gate" waiting_on_lock first

    # the second placement: waits on the first one's locks
    "$DRIVER" "host=127.0.0.1 port=$TGT_PORT user=postgres dbname=$DB" "$KEY" "$step" "$sql" \
        >"$TEST_TMP/driver-$step.out" 2>"$TEST_TMP/driver-$step.err" &
    driver=$!
    wait_until "the second placement waiting on the first" waiting_on_lock step_driver

    # the first commits
    echo "SELECT pg_advisory_unlock(7);" >&7
    exec 7>&-
    wait "$first" || fail "$step: the first placement failed: $(cat "$TEST_TMP/first-$step.out")"
    wait "${PGCONVOY_PIDS[gate]}" || true
    unset 'PGCONVOY_PIDS[gate]'
    wait "$driver" || fail "$step: the second placement failed instead of finding the step done: $(cat "$TEST_TMP/driver-$step.out")"
    driver_out=$(cat "$TEST_TMP/driver-$step.out")
    [[ $driver_out == done ]] || fail "$step: the driver said: $driver_out"
    [[ $(psql_tgt "$DB" -c "$check") == 1 ]] || fail "$step: '$check' does not give 1"
    [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pgconvoy.step_done WHERE task_key = '$KEY' AND step = '$step'") == 1 ]] ||
        fail "$step: step_done does not hold the step once"
}

# the object's name collides: "relation already exists" once the first commits
race item:1 "CREATE INDEX items_v_idx ON public.items (v)" \
    "SELECT count(*) FROM pg_indexes WHERE indexname = 'items_v_idx'"
pass "an index built by two placements at once: the second found it done, the index there once"

# nothing collides but the step_done row: the second's insert waits, then
# violates its key
race item:2 "COMMENT ON TABLE public.items IS 'the items'" \
    "SELECT count(*) FROM pg_description WHERE objoid = 'public.items'::regclass AND description = 'the items'"
pass "a comment set by two placements at once: the second found the step done"

scenario_pass
