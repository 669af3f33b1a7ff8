# shellcheck shell=bash
#
# tests/bench/bench_lib.sh
#     Sourced by the benchmarks after tests/integration/lib.sh: clocks,
#     medians and the check of the tools they are asked to run.

now()
{
    date +%s.%N
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

# check_tools TOOL...: each is pgconvoy, pg_dump or pgcopydb, and can run
check_tools()
{
    local tool
    (($# > 0)) || fail "TOOLS is empty"
    for tool in "$@"; do
        case $tool in
            pgconvoy) s_bin pgconvoy >/dev/null ;;
            pg_dump) ;;
            pgcopydb) command -v pgcopydb >/dev/null || fail "pgcopydb is not installed (deploy/install-deps.sh)" ;;
            *) fail "unknown tool '$tool' in TOOLS (pgconvoy, pg_dump, pgcopydb)" ;;
        esac
    done
}
