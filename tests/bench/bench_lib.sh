# shellcheck shell=bash
#
# tests/bench/bench_lib.sh
#     Sourced by the benchmarks after tests/integration/lib.sh: clocks,
#     medians and the check of the tools they are asked to run.

now()
{
    date +%s.%N
}

# CPU seconds the whole machine has been busy (user, nice, system, irq
# and softirq in /proc/stat): between two readings, the servers' work and
# the tool's together. Steadier than the wall clock on a shared machine,
# and it shows what a tool costs beside how long it takes.
cpu_busy()
{
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat
}

# seconds between two now() values, 2 decimals
elapsed()
{
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

# median of numbers ("-" and other non-numbers are skipped; none left: "-")
median()
{
    printf '%s\n' "$@" | { grep -E '^-?[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) printf "-";
              else if (NR % 2) printf "%.2f", v[(NR + 1) / 2];
              else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# quiesce: both clusters' dirty buffers written and the kernel's written
# back, untimed, before a timed run. Without it the data set's load (700 MB
# in bench.sh) or the run before was still being written back during the
# next run: the first run of bench.sh had 1-1.5 s more of idle CPU than
# the others, and it was always the same tool's.
quiesce()
{
    psql_src postgres -c "CHECKPOINT" >/dev/null || fail "CHECKPOINT failed on the source"
    psql_tgt postgres -c "CHECKPOINT" >/dev/null || fail "CHECKPOINT failed on the target"
    sync
}

# tool_order RUN TOOL...: the tools in the order they take turns in run
# RUN (from 1), rotated by one each run so that none always goes first
tool_order()
{
    local run=$1
    shift
    local tools=("$@") i
    for ((i = 0; i < ${#tools[@]}; i++)); do
        echo "${tools[$(((i + run - 1) % ${#tools[@]}))]}"
    done
}

# check_tools "KNOWN..." TOOL...: each TOOL is one of the KNOWN ones (the
# benchmark's run_TOOL functions), and can run
check_tools()
{
    local known=$1 tool
    shift
    (($# > 0)) || fail "TOOLS is empty"
    for tool in "$@"; do
        [[ " $known " == *" $tool "* ]] || fail "unknown tool '$tool' in TOOLS (${known// /, })"
        case $tool in
            pgconvoy*) s_bin pgconvoy >/dev/null ;;
            pgcopydb) command -v pgcopydb >/dev/null || fail "pgcopydb is not installed (deploy/install-deps.sh)" ;;
        esac
    done
}
