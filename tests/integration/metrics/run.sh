#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/metrics/run.sh
#     pgconvoy-coordinator --http: what an operator's Prometheus and
#     Kubernetes probes see during an online migration under writes.
#     1. --http on a non-loopback address without --insecure exits 2,
#        naming the option;
#     2. /healthz and /readyz answer 200, an unknown path 404;
#     3. two scrapes during CDC: every sample line is `name{labels} value`,
#        the changes applied grow between them, the rows copied of
#        pgbench_accounts equal the source's count, each agent has its
#        series, and the queue's depth is there;
#     4. after the cutover the task's state gauge says Succeeded.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=metrics_db
P=metrics
T=metrics_task
SCALE=2

new_db "$DB"
pgbench_init "$DB" "$SCALE"
accounts=$(psql_src "$DB" -c "SELECT count(*) FROM pgbench_accounts")

# --- 1. a listener other hosts reach needs --insecure ---------------------
HTTP_PORT=$(pgconvoy_free_port) || fail "no free port"
PGCONVOY_PORTS+=("$HTTP_PORT")
rc=0
"$(s_bin pgconvoy-coordinator)" --state-dir "$TEST_TMP/refused" --http "0.0.0.0:$HTTP_PORT" \
    >"$TEST_TMP/refused.out" 2>&1 || rc=$?
((rc == 2)) || fail "--http 0.0.0.0 without --insecure exited $rc, not 2"
grep -q -- '--http' "$TEST_TMP/refused.out" ||
    fail "the refusal does not name --http: $(cat "$TEST_TMP/refused.out")"
pass "--http 0.0.0.0:$HTTP_PORT without --insecure refused (exit 2, names --http)"

# --- 2. probes -------------------------------------------------------------
start_coordinator --http "127.0.0.1:$HTTP_PORT"
URL=http://127.0.0.1:$HTTP_PORT
# http_code PATH: the status code of GET PATH
http_code()
{
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL$1"
}
[[ $(http_code /healthz) == 200 ]] || fail "/healthz: $(http_code /healthz)"
for _ in $(seq 1 50); do
    [[ $(http_code /readyz) == 200 ]] && break
    sleep 0.1
done
[[ $(http_code /readyz) == 200 ]] || fail "/readyz not 200 5 s after the start: $(http_code /readyz)"
[[ $(http_code /nope) == 404 ]] || fail "an unknown path answered $(http_code /nope), not 404"
pass "/healthz and /readyz 200, /nope 404"

start_agent a1 --jobs 2
start_agent a2 --jobs 2
pgbench_start "$DB" -c 2 -j 2 -T 600 -R "${PGBENCH_RATE:-200}"

cd "$TEST_TMP" || fail "no TEST_TMP"
write_seed_files "$DB"
create_project "$P"
create_online_task "$P" "$T" --fix-replica-identity

db_state()
{
    task_show "$P" "$T" || fail "task show failed"
    jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .migrationState' "$TASK_JSON"
}
deadline=$((SECONDS + 300))
until [[ $(db_state) == CATCHING_UP || $(db_state) == READY_TO_COMPLETE ]]; do
    ((SECONDS < deadline)) || fail "database not in CDC after 300 s: $(db_state)"
    [[ $(db_state) == FAILED ]] && fail "database FAILED"
    sleep 0.5
done

# --- 3. two scrapes during CDC ---------------------------------------------
# scrape N: /metrics into scrape-N.txt, checked line by line
scrape()
{
    curl -sf --max-time 10 "$URL/metrics" >"$TEST_TMP/scrape-$1.txt" || fail "scrape $1 failed"
    local bad
    bad=$(grep -v '^#' "$TEST_TMP/scrape-$1.txt" |
        grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9]+(\.[0-9]+)?$' || true)
    [[ -z $bad ]] || fail "scrape $1: lines not of the form name{labels} value: $bad"
    grep -c '^# TYPE' "$TEST_TMP/scrape-$1.txt" >/dev/null || fail "scrape $1: no TYPE line"
}
# value N SERIES: the value of the sample whose name{labels} starts SERIES
value()
{
    awk -v s="$2" 'index($0, s) == 1 { print $NF; found = 1; exit } END { if (!found) print "none" }' \
        "$TEST_TMP/scrape-$1.txt"
}
applied()
{
    local labels="{project=\"$P\",task=\"$T\",database=\"$DB\"}" i u
    i=$(value "$1" "pgconvoy_cdc_inserts_applied_total$labels")
    u=$(value "$1" "pgconvoy_cdc_updates_applied_total$labels")
    [[ $i != none && $u != none ]] || fail "scrape $1: no CDC counters for $DB"
    echo $((i + u))
}
scrape 1
sleep 4
scrape 2
a1=$(applied 1)
a2=$(applied 2)
((a2 > a1)) || fail "changes applied did not grow between scrapes: $a1 then $a2"
copied=$(value 2 "pgconvoy_table_rows_total{project=\"$P\",task=\"$T\",database=\"$DB\",schema=\"public\",table=\"pgbench_accounts\"}")
[[ $copied == "$accounts" ]] || fail "rows copied of pgbench_accounts: $copied, the source has $accounts"
for agent in a1 a2; do
    [[ $(value 2 "pgconvoy_agent_up{agent=\"$agent\"}") == 1 ]] || fail "no pgconvoy_agent_up 1 for $agent"
    [[ $(value 2 "pgconvoy_agent_heartbeat_age_seconds{agent=\"$agent\"}") != none ]] ||
        fail "no heartbeat age for $agent"
    [[ $(value 2 "pgconvoy_agent_units_running{agent=\"$agent\"}") != none ]] ||
        fail "no running units for $agent"
done
[[ $(value 2 "pgconvoy_units_queued ") != none ]] || fail "no pgconvoy_units_queued"
[[ $(value 2 "pgconvoy_database_state{project=\"$P\",task=\"$T\",database=\"$DB\",state=\"$(db_state)\"}") == 1 ]] ||
    fail "the database's state gauge is not 1 for $(db_state)"
pass "two scrapes in CDC: well formed; changes applied $a1 -> $a2; $copied accounts copied; a1 and a2 series; queue depth $(value 2 'pgconvoy_units_queued ')"

# --- 4. cutover, then the task's state --------------------------------------
pgbench_stop
pgf task cutover --project-name "$P" -n "$T" --object-name "$DB" >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "task cutover exited $?: $(cat "$TEST_TMP/cutover.out")"
wait_task "$P" "$T" 120 || fail "the task did not succeed after the cutover"
scrape 3
[[ $(value 3 "pgconvoy_task_state{project=\"$P\",task=\"$T\",state=\"Succeeded\"}") == 1 ]] ||
    fail "the task's state gauge is not 1 for Succeeded"
grep -q '^pgconvoy_table_rows_total{' "$TEST_TMP/scrape-3.txt" &&
    fail "per-table series still there after the task finished"
[[ $(http_code /readyz) == 200 ]] || fail "/readyz after the migration: $(http_code /readyz)"
pass "after the cutover: task state Succeeded, no per-table series left"
scenario_pass
