#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/bench/bench_online.sh
#     Change data capture benchmark: pgconvoy's OnlineMigration task against
#     native logical replication (CREATE SUBSCRIPTION on the target), on the
#     same fresh cluster pair, the same data and the same pgbench load.
#
#   bash tests/bench/bench_online.sh                        # RUNS=3, 60 s load
#   RUNS=1 BENCH_SECONDS=20 BIG_TX_ROWS=200000 bash tests/bench/bench_online.sh
#   TOOLS=native bash tests/bench/bench_online.sh           # one side only
#
# Each run of each tool starts from a fresh source database (pgbench -i -s
# SCALE, pgbench_history REPLICA IDENTITY FULL, an empty table bench_big)
# and an empty target database, then:
#   1. initial sync: pgconvoy (daemons: a coordinator and one agent) task
#      create until READY_TO_COMPLETE; native: schema by pg_dump -s, CREATE
#      PUBLICATION FOR ALL TABLES, CREATE SUBSCRIPTION until every table
#      is 'r';
#   2. pgbench -n -c CLIENTS -j THREADS -T BENCH_SECONDS on the source,
#      sampled every SAMPLE_EVERY s, then the catch-up after pgbench ends;
#   3. one transaction of BIG_TX_ROWS rows (0: skipped): time to apply it
#      and the peak RSS with it;
#   4. apply capacity: the applier stopped (pgconvoy: its agent killed
#      with SIGKILL; native: ALTER SUBSCRIPTION DISABLE), pgbench for
#      DRAIN_SECONDS so that a backlog builds up in the slot, the applier
#      started again, and the backlog's drain rate timed on the target
#      (DRAIN_SECONDS=0: skipped);
#   5. cutover at idle: pgconvoy 'task cutover' (returns at COMPLETED);
#      native: DROP SUBSCRIPTION (for reference only: it waits for nothing
#      and copies no sequences);
#   6. the pgbench tables and bench_big compared with compare_db (untimed).
# Tools take turns, the order alternating from run to run. What each figure
# means and how it is measured: tests/bench/README.md.
#
# Environment: RUNS (3), BENCH_SECONDS (60), SCALE (10), CLIENTS (4),
# THREADS (2), SAMPLE_EVERY (5), BIG_TX_ROWS (500000), DRAIN_SECONDS (20),
# TOOLS ("pgconvoy native"), CATCHUP_TIMEOUT (600), PGCONVOY_BUILD_DIR
# (build/), PGCONVOY_KEEP_TMP=1 keeps the raw samples. Runs as root (the
# servers run as postgres); about 15 minutes with the defaults on 2 cores.

RUNS=${RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-60}
SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-4}
THREADS=${THREADS:-2}
SAMPLE_EVERY=${SAMPLE_EVERY:-5}
BIG_TX_ROWS=${BIG_TX_ROWS:-500000}
DRAIN_SECONDS=${DRAIN_SECONDS:-20}
TOOLS=${TOOLS:-pgconvoy native}
AGENT_JOBS=2
CATCHUP_TIMEOUT=${CATCHUP_TIMEOUT:-600}

# always a fresh pair of clusters, torn down at exit by lib.sh
unset PGCONVOY_PG_DIR
PGCONVOY_SCENARIO=bench_online
# shellcheck source=../integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
# shellcheck source=bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

DB=bench_online
P=bench

for v in RUNS BENCH_SECONDS SCALE CLIENTS THREADS SAMPLE_EVERY; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || fail "$v must be a positive integer, not '${!v}'"
done
[[ $BIG_TX_ROWS =~ ^[0-9]+$ ]] || fail "BIG_TX_ROWS must be an integer, not '$BIG_TX_ROWS'"
[[ $DRAIN_SECONDS =~ ^[0-9]+$ ]] || fail "DRAIN_SECONDS must be an integer, not '$DRAIN_SECONDS'"
for tool in $TOOLS; do
    case $tool in
        pgconvoy) s_bin pgconvoy >/dev/null && s_bin pgconvoy-agent >/dev/null ;;
        native) ;;
        *) fail "unknown tool '$tool' in TOOLS (pgconvoy, native)" ;;
    esac
done
[[ -n ${TOOLS// /} ]] || fail "TOOLS is empty"

# ---------------------------------------------------------------------------
# Small helpers



# calc EXPR [VAR=VALUE...]: awk arithmetic, printed with %.2f
calc()
{
    local expr=$1
    shift
    local args=()
    for a in "$@"; do
        args+=(-v "$a")
    done
    awk "${args[@]}" "BEGIN { printf \"%.2f\", ($expr) }"
}


maximum()
{
    printf '%s\n' "$@" | { grep -E '^-?[0-9.]+$' || true; } | sort -g | awk '{ m = $1 }
        END { if (NR == 0) printf "-"; else printf "%.2f", m }'
}

# proc_kb PID FIELD: a /proc/PID/status field in kB (VmHWM, VmRSS), or -
proc_kb()
{
    awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print "-" }' \
        "/proc/$1/status" 2>/dev/null || echo -
}

# reset_hwm PID: VmHWM := VmRSS (Linux >= 4.0), so that the peak we read
# later is the peak of what follows
reset_hwm()
{
    echo 5 >"/proc/$1/clear_refs" 2>/dev/null || note "could not reset VmHWM of $1"
}

# sched_ns PID...: "cpu_ns runqueue_wait_ns" summed over every thread of the
# PIDs (/proc/PID/task/TID/schedstat)
sched_ns()
{
    local p
    for p in "$@"; do
        cat "/proc/$p/task/"*/schedstat 2>/dev/null || true
    done | awk '{ c += $1; w += $2 } END { printf "%.0f %.0f\n", c, w }'
}

kb_to_mb()
{
    [[ $1 == - ]] && { echo -; return; }
    calc 'k / 1024' "k=$1"
}

# ---------------------------------------------------------------------------
# Positions. Both tools commit each source transaction on the target with a
# replication origin (pgconvoy: named after its slot; a subscription:
# pg_<subid>) whose remote_lsn is the end of the last applied commit on the
# source: the same measure of "how far the target is" for both.

# applied_sql ORIGIN: target's epoch, the origin's remote_lsn (bytes) and
# the pgbench_history rows on the target
applied_sql()
{
    echo "SELECT extract(epoch FROM clock_timestamp()),
                 coalesce((SELECT remote_lsn - '0/0'::pg_lsn FROM pg_replication_origin_status
                           WHERE external_id = '$1'), 0),
                 (SELECT count(*) FROM pgbench_history)"
}

# sampler_start NAME FILE src|tgt DB SQL: SQL every 0.1 s in one psql
# session (no psql start per sample), its rows ("epoch ..." lines) in FILE;
# psql writes each result out at once.
sampler_start()
{
    local name=$1 file=$2 side=$3 db=$4 sql=$5
    touch "$TEST_TMP/$name.on"
    {
        while [[ -e $TEST_TMP/$name.on ]]; do
            echo "$sql;"
            sleep 0.1
        done | psql_side "$side" "$db" -F ' ' >"$file"
    } &
    PGCONVOY_PIDS[$name]=$!
}

sampler_stop()
{
    rm -f "$TEST_TMP/$1.on"
    wait "${PGCONVOY_PIDS[$1]}" 2>/dev/null || true
    unset "PGCONVOY_PIDS[$1]"
}

# lags LSN_FILE SAMPLES_FILE: for each sample line "t applied ...", prints
# "lag_seconds lag_bytes": bytes = source insert position at t (interpolated)
# minus applied; seconds = t minus the moment the source's insert position
# passed applied (interpolated between the 0.1 s samples), 0 when nothing
# is behind.
lags()
{
    awk 'FNR == NR { if (NF == 2) { n++; st[n] = $1; sl[n] = $2 } next }
         function pos_at(t,   i) {
             if (t <= st[1]) return sl[1]
             if (t >= st[n]) return sl[n]
             for (i = 1; i < n && st[i + 1] <= t; i++) ;
             return sl[i] + (t - st[i]) / (st[i + 1] - st[i]) * (sl[i + 1] - sl[i])
         }
         function time_at(l,   i) {
             for (i = 1; i <= n && sl[i] < l; i++) ;
             if (i > n) return st[n]
             if (i == 1) return st[1]
             return st[i - 1] + (l - sl[i - 1]) / (sl[i] - sl[i - 1]) * (st[i] - st[i - 1])
         }
         n > 0 {
             t = $1; l = $2; b = pos_at(t) - l
             if (b <= 0) { print 0, 0; next }
             s = t - time_at(l); if (s < 0) s = 0
             printf "%.3f %.0f\n", s, b
         }' "$1" "$2"
}

# ---------------------------------------------------------------------------
# A fresh source database and an empty target database

prepare_dbs()
{
    new_db "$DB" # both sides, dropping leftovers (slots) first
    "$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" \
        >"$TEST_TMP/pgbench-init.log" 2>&1 || fail "pgbench -i failed: $(tail -n 5 "$TEST_TMP/pgbench-init.log")"
    psql_src "$DB" <<'SQL' >/dev/null || fail "could not prepare the source"
ALTER TABLE pgbench_history REPLICA IDENTITY FULL;
CREATE TABLE bench_big (id bigint PRIMARY KEY, payload text NOT NULL);
VACUUM ANALYZE;
CHECKPOINT;
SQL
    psql_tgt postgres -c CHECKPOINT >/dev/null
}

# ---------------------------------------------------------------------------
# The measured part, the same for both tools. R (an associative array) holds
# the run's results; TOOL_PID is the process whose memory is reported,
# APPLY_PID the target backend that applies the changes (native: the apply
# worker, which is TOOL_PID too; pgconvoy: the agent's apply session).
#   workload TOOL RUN ORIGIN SLOT

declare -A R=()

workload()
{
    local tool=$1 run=$2 origin=$3 slot=$4
    local pre=$TEST_TMP/$tool-$run
    local t_start t_end t_caught k at d src_rows tgt_rows backlog lat sample
    local pgb_pid cpu0_apply wait0_apply cpu0_agent wait0_agent cpu1 wait1

    : >"$pre.samples"
    : >"$pre.latency"
    # the source's WAL insert position: when each position was written,
    # for the lag in seconds
    sampler_start lsn_sampler "$pre.lsn" src postgres \
        "SELECT extract(epoch FROM clock_timestamp()), pg_current_wal_insert_lsn() - '0/0'::pg_lsn"
    # what the target has: the catch-up's end, the backlog, the fine lag
    sampler_start tgt_sampler "$pre.tgt" tgt "$DB" "$(applied_sql "$origin")"
    sleep 0.5
    reset_hwm "$TOOL_PID"
    read -r cpu0_apply wait0_apply < <(sched_ns "$APPLY_PID")
    read -r cpu0_agent wait0_agent < <(sched_ns "$TOOL_PID")
    t_start=$(now)
    "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$BENCH_SECONDS" -P "$SAMPLE_EVERY" \
        -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" >"$pre.pgbench.log" 2>&1 &
    pgb_pid=$!
    PGCONVOY_PIDS[pgbench]=$pgb_pid

    # a sample every SAMPLE_EVERY s while pgbench runs (not at its very end)
    k=1
    while :; do
        at=$(calc 'a + k * e' "a=$t_start" "k=$k" "e=$SAMPLE_EVERY")
        (($(calc "(at < a + $BENCH_SECONDS - 0.5)" "at=$at" "a=$t_start" | cut -d. -f1))) || break
        d=$(calc 'at - n' "at=$at" "n=$(now)")
        [[ $d == -* ]] || sleep "$d"
        s_alive "$pgb_pid" || break
        sample=$(psql_tgt "$DB" -F ' ' -c "$(applied_sql "$origin")")
        sample+=" $(psql_src postgres -c "SELECT coalesce((SELECT pg_current_wal_insert_lsn() - confirmed_flush_lsn
                                                           FROM pg_replication_slots WHERE slot_name = '$slot'), -1)")"
        sample+=" $(proc_kb "$TOOL_PID" VmRSS)"
        if [[ $tool == pgconvoy ]]; then
            lat=-
            task_show "$P" "$TASK" && lat=$(db_field latency)
            echo "$lat" >>"$pre.latency"
            sample+=" $lat"
        fi
        echo "$sample" >>"$pre.samples"
        k=$((k + 1))
    done
    wait "$pgb_pid" || fail "$tool run $run: pgbench failed: $(tail -n 5 "$pre.pgbench.log")"
    unset 'PGCONVOY_PIDS[pgbench]'
    t_end=$(now)
    R[load]=$(cut -d ' ' -f 1 /proc/loadavg)

    # catch-up: until every pgbench transaction is on the target, as the
    # target sampler saw it (its clock: the catch-up is not measured with a
    # psql start per poll, which under load takes a good part of a second)
    src_rows=$(psql_src "$DB" -c "SELECT count(*) FROM pgbench_history")
    while :; do
        tgt_rows=$(tail -n 1 "$pre.tgt" | awk '{ print $3 + 0 }')
        ((tgt_rows < src_rows)) || break
        (($(calc "n - a > $CATCHUP_TIMEOUT" "n=$(now)" "a=$t_end" | cut -d. -f1) == 0)) ||
            fail "$tool run $run: $tgt_rows of $src_rows pgbench_history rows on the target $CATCHUP_TIMEOUT s after pgbench ended"
        s_alive "${PGCONVOY_PIDS[tgt_sampler]}" || fail "$tool run $run: the target sampler stopped"
        sleep 0.05
    done
    sampler_stop tgt_sampler
    sampler_stop lsn_sampler
    ((tgt_rows == src_rows)) || fail "$tool run $run: $tgt_rows pgbench_history rows on the target, $src_rows on the source"
    t_caught=$(awk -v n="$src_rows" '$3 >= n { print $1; exit }' "$pre.tgt")
    backlog=$(awk -v e="$t_end" -v n="$src_rows" '$1 <= e { c = $3 } END { print n - c }' "$pre.tgt")
    # CPU time and time spent runnable but waiting for a CPU, per 1000
    # transactions, from pgbench's start to the catch-up
    read -r cpu1 wait1 < <(sched_ns "$APPLY_PID")
    R[cpu_apply]=$(calc '(c1 - c0) / 1e6 / (n / 1000)' "c1=$cpu1" "c0=$cpu0_apply" "n=$src_rows")
    R[wait_apply]=$(calc '(w1 - w0) / 1e6 / (n / 1000)' "w1=$wait1" "w0=$wait0_apply" "n=$src_rows")
    R[cpu_agent]=-
    R[wait_agent]=-
    if [[ $TOOL_PID != "$APPLY_PID" ]]; then
        read -r cpu1 wait1 < <(sched_ns "$TOOL_PID")
        R[cpu_agent]=$(calc '(c1 - c0) / 1e6 / (n / 1000)' "c1=$cpu1" "c0=$cpu0_agent" "n=$src_rows")
        R[wait_agent]=$(calc '(w1 - w0) / 1e6 / (n / 1000)' "w1=$wait1" "w0=$wait0_agent" "n=$src_rows")
    fi
    R[rss_pgbench]=$(kb_to_mb "$(proc_kb "$TOOL_PID" VmHWM)")

    lags "$pre.lsn" "$pre.samples" >"$pre.lags"
    paste -d ' ' "$pre.samples" "$pre.lags" >"$pre.samples+lags"
    # the same from the 0.1 s target samples while pgbench ran
    awk -v a="$t_start" -v e="$t_end" '$1 >= a && $1 <= e' "$pre.tgt" >"$pre.tgt.during"
    R[lag_fine]=$(lags "$pre.lsn" "$pre.tgt.during" | awk '{ printf "%s ", $1 }')
    R[src_tps]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$pre.pgbench.log" | head -n 1)
    R[tx]=$src_rows
    R[pgbench_s]=$(elapsed "$t_start" "$t_end")
    R[catchup_s]=$(elapsed "$t_end" "$t_caught")
    R[apply_tps]=$(calc 'n / (c - s)' "n=$src_rows" "c=$t_caught" "s=$t_start")
    R[backlog]=$backlog
    R[drain_tps]=-
    if ((backlog >= 1000)); then
        R[drain_tps]=$(calc 'b / c' "b=$backlog" "c=${R[catchup_s]}")
    fi
    # lag samples, also pooled over the runs
    R[lag_s]=$(awk '{ printf "%s ", $1 }' "$pre.lags")
    R[lag_mb]=$(awk '{ printf "%.2f ", $2 / 1048576 }' "$pre.lags")
    R[slot_mb]=$(awk '$4 >= 0 { printf "%.2f ", $4 / 1048576 }' "$pre.samples")
    R[latency]=$(tr '\n' ' ' <"$pre.latency")

    # one big transaction
    R[big_s]=-
    R[rss_big]=-
    if ((BIG_TX_ROWS > 0)); then
        local out before t1 t2
        # its commit ends after position "before"; pgbench is over, so the
        # origin passes it only with this transaction. t1: once committed.
        out=$(psql_src "$DB" <<SQL
BEGIN;
INSERT INTO bench_big SELECT g, repeat(md5(g::text), 2) FROM generate_series(1, $BIG_TX_ROWS) AS g;
SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn;
COMMIT;
SELECT extract(epoch FROM clock_timestamp());
SQL
        ) || fail "$tool run $run: the $BIG_TX_ROWS-row transaction failed"
        before=$(sed -n 1p <<<"$out")
        t1=$(sed -n 2p <<<"$out")
        t2=$(psql_tgt postgres 2>"$pre.big.err" <<SQL
SET statement_timeout = '${CATCHUP_TIMEOUT}s';
DO \$\$ BEGIN
    WHILE coalesce((SELECT remote_lsn - '0/0'::pg_lsn FROM pg_replication_origin_status
                    WHERE external_id = '$origin'), 0) < $before LOOP
        PERFORM pg_sleep(0.01);
    END LOOP;
END \$\$;
SELECT extract(epoch FROM clock_timestamp());
SQL
        ) || fail "$tool run $run: the $BIG_TX_ROWS-row transaction not applied $CATCHUP_TIMEOUT s after its commit: $(cat "$pre.big.err")"
        R[big_s]=$(elapsed "$t1" "$t2")
        R[rss_big]=$(kb_to_mb "$(proc_kb "$TOOL_PID" VmHWM)")
        [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM bench_big") == "$BIG_TX_ROWS" ]] ||
            fail "$tool run $run: bench_big incomplete on the target after its commit was applied"
    fi
}

# ---------------------------------------------------------------------------
# Apply capacity. Under pgbench both tools keep up on 2 cores, so the apply
# rate above is the source's. Here the applier is stopped while pgbench
# runs DRAIN_SECONDS, then started again: with the source idle, the rate at
# which the target takes in the slot's backlog is the tool's ceiling (the
# source's walsender decodes it for both alike). Timed on the target, from
# the first sample that shows a backlog transaction applied to the last,
# so that neither tool's restart delay counts.
#   drain TOOL RUN ORIGIN

pause_pgconvoy()
{
    kill_agent a1
}

resume_pgconvoy()
{
    start_agent a1 --jobs "$AGENT_JOBS"
}

pause_native()
{
    psql_tgt "$DB" -c "ALTER SUBSCRIPTION bench_sub DISABLE" >/dev/null ||
        fail "ALTER SUBSCRIPTION DISABLE failed"
    for _ in $(seq 1 300); do
        [[ $(psql_tgt "$DB" -c "SELECT count(pid) FROM pg_stat_subscription
                                WHERE subname = 'bench_sub'") == 0 ]] && return 0
        sleep 0.1
    done
    fail "the apply worker of bench_sub still runs 30 s after DISABLE"
}

resume_native()
{
    psql_tgt "$DB" -c "ALTER SUBSCRIPTION bench_sub ENABLE" >/dev/null ||
        fail "ALTER SUBSCRIPTION ENABLE failed"
}

drain()
{
    local tool=$1 run=$2 origin=$3
    local pre=$TEST_TMP/$tool-$run rows0 src_rows tgt_rows t0 first
    R[drain_backlog]=-
    R[capacity_tps]=-
    ((DRAIN_SECONDS > 0)) || return 0

    "pause_$tool"
    rows0=$(psql_src "$DB" -c "SELECT count(*) FROM pgbench_history")
    "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$DRAIN_SECONDS" \
        -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" >"$pre.drain-pgbench.log" 2>&1 ||
        fail "$tool run $run: pgbench (backlog) failed: $(tail -n 5 "$pre.drain-pgbench.log")"
    src_rows=$(psql_src "$DB" -c "SELECT count(*) FROM pgbench_history")
    [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pgbench_history") == "$rows0" ]] ||
        fail "$tool run $run: the target moved while its applier was stopped"

    sampler_start tgt_sampler "$pre.drain" tgt "$DB" "$(applied_sql "$origin")"
    "resume_$tool"
    t0=$SECONDS
    while :; do
        tgt_rows=$(tail -n 1 "$pre.drain" | awk '{ print $3 + 0 }')
        ((tgt_rows < src_rows)) || break
        ((SECONDS - t0 < CATCHUP_TIMEOUT)) ||
            fail "$tool run $run: $tgt_rows of $src_rows pgbench_history rows on the target $CATCHUP_TIMEOUT s after the applier was started again"
        s_alive "${PGCONVOY_PIDS[tgt_sampler]}" || fail "$tool run $run: the target sampler stopped"
        sleep 0.05
    done
    sampler_stop tgt_sampler
    # from the first sample past rows0 (its time and rows) to the last
    first=$(awk -v r="$rows0" '$3 > r { print $1, $3; exit }' "$pre.drain")
    R[drain_backlog]=$((src_rows - rows0))
    R[capacity_tps]=$(awk -v n="$src_rows" -v f="$first" 'BEGIN { split(f, a, " ") }
        $3 >= n { if ($1 > a[1]) printf "%.0f", (n - a[2]) / ($1 - a[1]); else printf "-"; exit }' "$pre.drain")
}

# ---------------------------------------------------------------------------
# pgconvoy: daemons, one OnlineMigration task per run

declare -A started=()

db_field()
{
    jq -r ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | .$1" "$TASK_JSON"
}

run_pgconvoy()
{
    local run=$1 t0 t1 slot
    if [[ -z ${started[pgconvoy]:-} ]]; then
        # shellcheck disable=SC2119 # no extra coordinator options
        start_coordinator
        start_agent a1 --jobs "$AGENT_JOBS"
        create_project "$P"
        started[pgconvoy]=1
    fi
    TASK=online-$run
    TOOL_PID=$(agent_pid a1)
    prepare_dbs
    (cd "$TEST_TMP" && write_seed_files "$DB")

    t0=$(now)
    (cd "$TEST_TMP" && pgf task create --project-name "$P" -n "$TASK" --task-type OnlineMigration \
        --source-connection-json s.json --target-connection-json t.json \
        --database-options-json o.json) >"$TEST_TMP/task-create-$run.log" 2>&1 ||
        fail "task create failed: $(cat "$TEST_TMP/task-create-$run.log")"
    WAIT_DB_TIMEOUT=600 WAIT_DB_POLL=0.2 wait_db_state "$P" "$TASK" READY_TO_COMPLETE
    t1=$(now)
    R[sync_s]=$(elapsed "$t0" "$t1")
    R[rss_load]=$(kb_to_mb "$(proc_kb "$TOOL_PID" VmHWM)")
    slot=$(db_field slotName)
    [[ $slot == pgconvoy_* ]] || fail "no slot name in the status: $slot"
    APPLY_PID=$(psql_tgt postgres -c "SELECT pid FROM pg_stat_activity
                                      WHERE datname = '$DB' AND application_name = 'pgconvoy-cdc-apply'")
    [[ $APPLY_PID =~ ^[0-9]+$ ]] || fail "no pgconvoy-cdc-apply session on the target: '$APPLY_PID'"

    workload pgconvoy "$run" "$slot" "$slot"
    drain pgconvoy "$run" "$slot"

    # cutover at idle: the command returns once the database is COMPLETED
    WAIT_DB_TIMEOUT=600 WAIT_DB_POLL=0.2 wait_db_state "$P" "$TASK" READY_TO_COMPLETE
    t0=$(now)
    pgf task cutover --project-name "$P" -n "$TASK" --object-name "$DB" >"$TEST_TMP/cutover-$run.log" 2>&1 ||
        fail "task cutover failed: $(cat "$TEST_TMP/cutover-$run.log")"
    t1=$(now)
    R[cutover_s]=$(elapsed "$t0" "$t1")
    task_show "$P" "$TASK" || fail "task show failed"
    [[ $(db_field migrationState) == COMPLETED ]] ||
        fail "task cutover returned, but the database is $(db_field migrationState)"
    wait_task "$P" "$TASK" 60 >/dev/null || fail "the task did not succeed after the cutover"
    verify pgconvoy "$run"
    pgf task delete --project-name "$P" -n "$TASK" >/dev/null 2>&1 || note "could not delete task $TASK"
}

# ---------------------------------------------------------------------------
# native logical replication

run_native()
{
    local run=$1 t0 t1 subid pending pid
    TASK=
    prepare_dbs
    "$PGBIN/pg_dump" -s -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" 2>"$TEST_TMP/native-schema.err" |
        psql_tgt "$DB" >/dev/null 2>>"$TEST_TMP/native-schema.err" ||
        fail "copying the schema failed: $(cat "$TEST_TMP/native-schema.err")"
    psql_src "$DB" -c "CREATE PUBLICATION bench_pub FOR ALL TABLES" >/dev/null

    t0=$(now)
    psql_tgt "$DB" -c "CREATE SUBSCRIPTION bench_sub
                       CONNECTION 'host=127.0.0.1 port=$SRC_PORT dbname=$DB user=postgres'
                       PUBLICATION bench_pub" >/dev/null || fail "CREATE SUBSCRIPTION failed"
    subid=$(psql_tgt "$DB" -c "SELECT oid FROM pg_subscription WHERE subname = 'bench_sub'")
    for _ in $(seq 1 6000); do
        pending=$(psql_tgt "$DB" -c "SELECT count(*) FILTER (WHERE srsubstate <> 'r') + 5 - count(*)
                                     FROM pg_subscription_rel WHERE srsubid = $subid")
        [[ $pending == 0 ]] && break
        sleep 0.1
    done
    [[ $pending == 0 ]] || fail "the subscription's initial sync did not end within 600 s"
    t1=$(now)
    R[sync_s]=$(elapsed "$t0" "$t1")
    pid=$(psql_tgt "$DB" -c "SELECT pid FROM pg_stat_subscription WHERE subid = $subid AND relid IS NULL")
    [[ $pid =~ ^[0-9]+$ ]] || fail "no apply worker for bench_sub"
    TOOL_PID=$pid
    APPLY_PID=$pid
    R[rss_load]=$(kb_to_mb "$(proc_kb "$TOOL_PID" VmHWM)")

    workload native "$run" "pg_$subid" bench_sub

    [[ $(psql_tgt "$DB" -c "SELECT pid FROM pg_stat_subscription WHERE subid = $subid AND relid IS NULL") == "$TOOL_PID" ]] ||
        note "native run $run: the apply worker was restarted during the run: its memory figures are partial"
    drain native "$run" "pg_$subid"
    t0=$(now)
    psql_tgt "$DB" -c "DROP SUBSCRIPTION bench_sub" >/dev/null || fail "DROP SUBSCRIPTION failed"
    t1=$(now)
    R[cutover_s]=$(elapsed "$t0" "$t1")
    verify native "$run"
}

verify()
{
    local tables=(public.pgbench_accounts public.pgbench_branches public.pgbench_tellers public.pgbench_history)
    ((BIG_TX_ROWS == 0)) || tables+=(public.bench_big)
    compare_db "$DB" "$DB" "${tables[@]}" >"$TEST_TMP/compare-$1-$2.log" 2>&1 ||
        fail "$1 run $2: the target differs from the source: $(cat "$TEST_TMP/compare-$1-$2.log")"
}

# ---------------------------------------------------------------------------

# every metric of every run: VALUES[tool,metric] = "v1 v2 ..."
declare -A VALUES=()
METRICS="lag_fine load cpu_apply wait_apply cpu_agent wait_agent src_tps tx apply_tps backlog drain_tps drain_backlog capacity_tps catchup_s lag_s lag_mb slot_mb latency big_s cutover_s sync_s rss_load rss_pgbench rss_big"
read -ra tool_list <<<"$TOOLS"
tools_in_order="${tool_list[*]}"
reversed=$(printf '%s\n' "${tool_list[@]}" | tac | tr '\n' ' ')

note "pgbench -s $SCALE, -c $CLIENTS -j $THREADS -T $BENCH_SECONDS, $RUNS run(s) of: $TOOLS"
for run in $(seq 1 "$RUNS"); do
    order=$tools_in_order
    ((run % 2)) || order=$reversed
    for tool in $order; do
        R=()
        "run_$tool" "$run"
        for m in $METRICS; do
            VALUES[$tool,$m]+="${R[$m]:--} "
        done
        # shellcheck disable=SC2086 # word splitting of the value lists is the point
        note "run $run $tool: source ${R[src_tps]} tx/s, applied ${R[apply_tps]} tx/s" \
            "(${R[tx]} tx, backlog ${R[backlog]} at the end, drained at ${R[drain_tps]} tx/s)," \
            "lag s median $(median ${R[lag_s]}) max $(maximum ${R[lag_s]})," \
            "catch-up ${R[catchup_s]} s, big tx ${R[big_s]} s," \
            "capacity ${R[capacity_tps]} tx/s (backlog ${R[drain_backlog]}), cutover ${R[cutover_s]} s," \
            "initial sync ${R[sync_s]} s, peak RSS ${R[rss_pgbench]} / ${R[rss_big]} MB," \
            "apply CPU ${R[cpu_apply]} ms/1000 tx (agent ${R[cpu_agent]}), load ${R[load]}"
    done
done

# ---------------------------------------------------------------------------
# shellcheck disable=SC2086 # word splitting of the value lists is the point
row()
{
    local label=$1 how=$2 metric=$3 tool out=""
    for tool in $TOOLS; do
        case $how in
            med) out+=$(printf ' %-18s' "$(median ${VALUES[$tool,$metric]})") ;;
            medmax) out+=$(printf ' %-18s' "$(median ${VALUES[$tool,$metric]}) / $(maximum ${VALUES[$tool,$metric]})") ;;
            runs) out+=$(printf ' %-18s' "${VALUES[$tool,$metric]}") ;;
        esac
    done
    printf '%-36s%s\n' "$label" "$out"
}

echo
echo "CDC benchmark: pgbench -s $SCALE, pgbench -n -c $CLIENTS -j $THREADS -T $BENCH_SECONDS on the source," \
    "$RUNS run(s) per tool; median over runs (lag: median / max over all ${SAMPLE_EVERY}-s samples)"
printf '%-36s' ""
for tool in $TOOLS; do
    case $tool in
        pgconvoy) printf ' %-18s' "pgconvoy" ;;
        native) printf ' %-18s' "native LR" ;;
    esac
done
echo
row "source tx/s (pgbench)" med src_tps
row "apply tx/s (pgbench start->caught up)" med apply_tps
row "backlog at pgbench end (tx)" med backlog
row "drain tx/s (backlog / catch-up)" med drain_tps
((DRAIN_SECONDS == 0)) || row "backlog of ${DRAIN_SECONDS} s, stopped (tx)" med drain_backlog
((DRAIN_SECONDS == 0)) || row "apply capacity tx/s (that backlog)" med capacity_tps
row "lag s, median / max" medmax lag_s
row "  every 0.1 s: median / max" medmax lag_fine
row "lag MB (applied), median / max" medmax lag_mb
row "slot lag MB (confirmed), med / max" medmax slot_mb
[[ " $TOOLS " == *" pgconvoy "* ]] && row "status latency s, median / max" medmax latency
row "catch-up after pgbench s" med catchup_s
((BIG_TX_ROWS == 0)) || row "$BIG_TX_ROWS-row tx applied in s" med big_s
row "cutover at idle s (native: DROP SUB)" med cutover_s
row "initial sync s" med sync_s
row "peak RSS MB, initial sync" med rss_load
row "peak RSS MB, pgbench phase" medmax rss_pgbench
((BIG_TX_ROWS == 0)) || row "peak RSS MB, with the big tx" medmax rss_big
row "apply backend CPU ms / 1000 tx" med cpu_apply
row "  its wait for a CPU ms / 1000 tx" med wait_apply
[[ " $TOOLS " == *" pgconvoy "* ]] && row "agent CPU ms / 1000 tx" med cpu_agent
[[ " $TOOLS " == *" pgconvoy "* ]] && row "  its wait for a CPU ms / 1000 tx" med wait_agent
row "load average at pgbench end" med load
echo "(peak RSS: pgconvoy's agent process; native: the subscription's apply worker on the target,"
echo " which counts the shared buffers it touched. Apply backend: the target session that applies:"
echo " pgconvoy's 'pgconvoy-cdc-apply', native's apply worker; CPU from pgbench start to caught up.)"
echo
echo "per run:"
row "apply tx/s" runs apply_tps
row "catch-up s" runs catchup_s
row "cutover s" runs cutover_s
((DRAIN_SECONDS == 0)) || row "apply capacity tx/s" runs capacity_tps

if [[ " $TOOLS " == *" pgconvoy "* && " $TOOLS " == *" native "* ]]; then
    # shellcheck disable=SC2086
    {
        a=$(median ${VALUES[pgconvoy,apply_tps]})
        b=$(median ${VALUES[native,apply_tps]})
        l=$(median ${VALUES[pgconvoy,lag_s]})
        c=$(median ${VALUES[pgconvoy,cutover_s]})
        ca=$(median ${VALUES[pgconvoy,capacity_tps]})
        cb=$(median ${VALUES[native,capacity_tps]})
    }
    echo
    echo "targets:"
    if ((DRAIN_SECONDS > 0)); then
        echo "  apply rate >= native LR's:  capacity $ca vs $cb tx/s: $(awk -v a="$ca" -v b="$cb" 'BEGIN { print (a >= b ? "met" : "NOT met") " (ratio " sprintf("%.2f", a / b) ")" }')"
        echo "    under pgbench, pgbench start to caught up: $a vs $b tx/s (ratio $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }'))"
    else
        echo "  apply rate >= native LR's:  $a vs $b tx/s under pgbench: $(awk -v a="$a" -v b="$b" 'BEGIN { print (a >= b ? "met" : "NOT met") " (ratio " sprintf("%.2f", a / b) ")" }')"
    fi
    echo "  lag median < 1 s:           $l s: $(awk -v l="$l" 'BEGIN { print (l < 1 ? "met" : "NOT met") }')"
    echo "  cutover at idle < 5 s:      $c s: $(awk -v c="$c" 'BEGIN { print (c < 5 ? "met" : "NOT met") }')"
fi
