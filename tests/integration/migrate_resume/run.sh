#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/migrate_resume/run.sh
#     `pgconvoy migrate` is killed with SIGKILL in the middle of the full
#     load (its coordinator and agents die with it), then the same command
#     is run again on the same --state-dir: it resumes the recorded task
#     instead of starting over, and the target ends up exactly like the
#     source, with no row copied twice.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=migrate_resume_db
STATE=$TEST_TMP/state

new_db "$DB"
psql_src "$DB" <<'SQL'
CREATE TABLE public.readings
(
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sensor integer NOT NULL,
    value  double precision,
    note   text
);
INSERT INTO public.readings (sensor, value, note)
SELECT i % 100, i / 3.0, md5(i::text) FROM generate_series(1, 1500000) AS i;
ANALYZE;
SQL
pass "1.5M rows loaded into $DB"

cli=$(s_bin pgconvoy)
migrate=("$cli" migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")"
    --agents 2 --split-tables-larger-than 8MB --state-dir "$STATE")

"${migrate[@]}" >"$TEST_TMP/first.log" 2>&1 &
first=$!
# strike once some rows are on the target
deadline=$((SECONDS + 120))
until [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pgconvoy.partition_done" 2>/dev/null || echo 0) -gt 0 ]]; do
    ((SECONDS < deadline)) || fail "no range was committed within 120 s: $(tail -5 "$TEST_TMP/first.log")"
    kill -0 "$first" 2>/dev/null || fail "the first migrate ended before the strike: $(tail -5 "$TEST_TMP/first.log")"
    sleep 0.1
done
kill -KILL "$first"
wait "$first" 2>/dev/null || true
# They get SIGTERM (PR_SET_PDEATHSIG) and stop on their own, an agent
# after its last result has had its second (ZMQ_LINGER) to leave: on a
# loaded machine that is more than a second, never ten.
deadline=$((SECONDS + 10))
while pgrep -f "pgconvoy-(coordinator|agent).*$STATE" >/dev/null; do
    ((SECONDS < deadline)) ||
        fail "the coordinator or an agent outlived the killed migrate by 10 s: $(pgrep -af "pgconvoy-(coordinator|agent).*$STATE")"
    sleep 0.1
done
pass "migrate killed mid-load; its daemons went with it"

"${migrate[@]}" >"$TEST_TMP/second.log" 2>&1 ||
    fail "the second migrate exited $?: $(tail -20 "$TEST_TMP/second.log")"
grep -q "resuming the migration recorded in $STATE" "$TEST_TMP/second.log" ||
    fail "the second migrate did not resume: $(head -5 "$TEST_TMP/second.log")"
pass "the same command resumed the task and finished"

compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to source"

scenario_pass
