#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/bench/bench.sh
#     Offline full-load benchmark: pgconvoy against pg_dump/pg_restore and
#     pgcopydb, on the same fresh cluster pair and the same data.
#
#   bash tests/bench/bench.sh                  # defaults: RUNS=3 SCALE=30
#   RUNS=1 SCALE=5 bash tests/bench/bench.sh   # a quick one
#   TOOLS="pg_dump pgcopydb" bash tests/bench/bench.sh   # baselines only
#
# Data: pgbench -i -s SCALE (SCALE x 100,000 pgbench_accounts rows) plus
# public.wide, WIDE_ROWS (default 1,000,000) rows of mixed types. Each run of
# each tool starts from an emptied target database and quiet servers
# (quiesce); the tools take turns within a run, in an order that rotates
# from run to run, so that drift (cache, checkpoints) hits them alike. Each
# pgconvoy run is checked with compare_db (not timed).
#
# Prints every run's seconds, the median per tool, the median CPU seconds
# the machine was busy meanwhile (cpu_busy: servers and tool), and the
# ratios pgconvoy/pg_dump and pgconvoy/pgcopydb of both (below 1:
# pgconvoy is faster, or costs less).
# Needs PGCONVOY_BUILD_DIR (default build/) for pgconvoy.

RUNS=${RUNS:-3}
SCALE=${SCALE:-30}
WIDE_ROWS=${WIDE_ROWS:-1000000}
TOOLS=${TOOLS:-pgconvoy pg_dump pgcopydb}
# more arguments for pgconvoy migrate, e.g. "--jobs 1"
PGCONVOY_ARGS=${PGCONVOY_ARGS:-}
JOBS=2 # the machine has 2 cores; every tool gets the same parallelism

# always a fresh pair of clusters, torn down at exit by lib.sh
unset PGCONVOY_PG_DIR
PGCONVOY_SCENARIO=bench
# shellcheck source=../integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
# shellcheck source=bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

DB=bench

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || fail "RUNS must be a positive integer, not '$RUNS'"
[[ $SCALE =~ ^[1-9][0-9]*$ ]] || fail "SCALE must be a positive integer, not '$SCALE'"
read -r -a TOOL_LIST <<<"$TOOLS"
check_tools "pgconvoy pg_dump pgcopydb" "${TOOL_LIST[@]}"




# ---------------------------------------------------------------------------
note "building the data set: pgbench scale $SCALE + $WIDE_ROWS wide rows"
new_db "$DB" src
t0=$(now)
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" \
    >"$TEST_TMP/pgbench-init.log" 2>&1 || fail "pgbench -i failed: $(tail -n 5 "$TEST_TMP/pgbench-init.log")"
psql_src "$DB" <<SQL || fail "could not build public.wide"
CREATE TABLE public.wide
(
    id        bigint PRIMARY KEY,
    i         integer NOT NULL,
    b         bigint,
    n         numeric(14, 4),
    t         text,
    ts        timestamptz,
    u         uuid,
    j         jsonb,
    flag      boolean,
    f         double precision
);
INSERT INTO public.wide
SELECT g,
       g % 100000,
       g::bigint * 2654435761,
       (g % 1000003) / 7.0,
       'row ' || g || ' ' || md5(g::text),
       timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second',
       md5('u' || g)::uuid,
       jsonb_build_object('id', g, 'tag', 'tag' || (g % 100), 'ok', g % 2 = 0),
       g % 3 = 0,
       g / 3.0
FROM generate_series(1, $WIDE_ROWS) AS g;
CREATE INDEX wide_ts_idx ON public.wide (ts);
VACUUM ANALYZE;
SQL
t1=$(now)
size=$(psql_src "$DB" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
note "data set ready in $(elapsed "$t0" "$t1") s: $size"
# pg_dump / pgcopydb read the source through these
SRC_URI=$(src_uri "$DB")
TGT_URI=$(tgt_uri "$DB")

# ---------------------------------------------------------------------------
# One timed run of each tool. Each sets SECS and CPU. (Not "prints": a $(...) subshell
# would hide pgconvoy's pid from the exit trap that must stop it.)

run_pgconvoy()
{
    local run=$1 t0 t1 c0
    t0=$(now)
    c0=$(cpu_busy)
    # shellcheck disable=SC2086 # PGCONVOY_ARGS: words for migrate
    pgconvoy_migrate --source "$SRC_URI" --target "$TGT_URI" --agents "$JOBS" \
        $PGCONVOY_ARGS >"$TEST_TMP/pgconvoy-$run.log" 2>&1 ||
        fail "pgconvoy migrate failed (run $run): $(tail -n 20 "$TEST_TMP/pgconvoy-$run.log")"
    t1=$(now)
    CPU=$(elapsed "$c0" "$(cpu_busy)")
    compare_db "$DB" "$DB" >"$TEST_TMP/compare-$run.log" ||
        fail "pgconvoy run $run: target differs from source: $(cat "$TEST_TMP/compare-$run.log")"
    SECS=$(elapsed "$t0" "$t1")
}

run_pg_dump()
{
    local run=$1 dir=$TEST_TMP/dump-$1 t0 t1 t2 c0
    rm -rf "$dir"
    t0=$(now)
    c0=$(cpu_busy)
    pg_dump -Fd -j "$JOBS" -f "$dir" -d "$SRC_URI" 2>"$TEST_TMP/pg_dump-$run.log" ||
        fail "pg_dump failed (run $run): $(cat "$TEST_TMP/pg_dump-$run.log")"
    t1=$(now)
    pg_restore -j "$JOBS" -d "$TGT_URI" "$dir" 2>"$TEST_TMP/pg_restore-$run.log" ||
        fail "pg_restore failed (run $run): $(cat "$TEST_TMP/pg_restore-$run.log")"
    t2=$(now)
    CPU=$(elapsed "$c0" "$(cpu_busy)")
    rm -rf "$dir"
    note "run $run: pg_dump $(elapsed "$t0" "$t1") s + pg_restore $(elapsed "$t1" "$t2") s"
    SECS=$(elapsed "$t0" "$t2")
}

run_pgcopydb()
{
    local run=$1 dir=$TEST_TMP/pgcopydb-$1 t0 t1 c0
    rm -rf "$dir"
    t0=$(now)
    c0=$(cpu_busy)
    # pgcopydb runs pg_dump/pg_restore from PATH (lib.sh puts PGBIN first)
    pgcopydb clone --source "$SRC_URI" --target "$TGT_URI" --dir "$dir" \
        --table-jobs "$JOBS" --index-jobs "$JOBS" >"$TEST_TMP/pgcopydb-$run.log" 2>&1 ||
        fail "pgcopydb clone failed (run $run): $(tail -n 20 "$TEST_TMP/pgcopydb-$run.log")"
    t1=$(now)
    CPU=$(elapsed "$c0" "$(cpu_busy)")
    rm -rf "$dir"
    SECS=$(elapsed "$t0" "$t1")
}

declare -A times=() cpus=()
for run in $(seq 1 "$RUNS"); do
    for tool in $(tool_order "$run" "${TOOL_LIST[@]}"); do
        new_db "$DB" tgt # the emptied target
        quiesce
        "run_${tool}" "$run"
        times[$tool]+="$SECS "
        cpus[$tool]+="$CPU "
        note "run $run: $tool $SECS s, $CPU s of CPU"
    done
done

# ---------------------------------------------------------------------------
echo
echo "benchmark: pgbench scale $SCALE + $WIDE_ROWS wide rows ($size), $RUNS run(s), $JOBS jobs each"
printf '%-10s %-30s %-11s %s\n' tool "runs (s)" "median (s)" "median CPU (s)"
declare -A med=() medcpu=()
for tool in $TOOLS; do
    # shellcheck disable=SC2086 # word splitting of the list is the point
    med[$tool]=$(median ${times[$tool]})
    # shellcheck disable=SC2086
    medcpu[$tool]=$(median ${cpus[$tool]})
    printf '%-10s %-30s %-11s %s\n' "$tool" "${times[$tool]}" "${med[$tool]}" "${medcpu[$tool]}"
done
for base in pg_dump pgcopydb; do
    if [[ -n ${med[pgconvoy]:-} && -n ${med[$base]:-} ]]; then
        echo "ratio pgconvoy/$base: $(awk -v a="${med[pgconvoy]}" -v b="${med[$base]}" 'BEGIN { printf "%.2f", a / b }')" \
            "(CPU: $(awk -v a="${medcpu[pgconvoy]}" -v b="${medcpu[$base]}" 'BEGIN { printf "%.2f", a / b }'))"
    fi
done
