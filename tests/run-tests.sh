#!/usr/bin/env bash
# tests/run-tests.sh
#     The README's test command, and what .ci/run runs: installs what the
#     build and the tests need from Debian, builds pgconvoy twice (normal,
#     and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs the
#     whole suite, unit and integration, in each build; then fuzzes each
#     libFuzzer target for a bounded 45 s (tests/fuzz/run.sh).
#
# Integration tests start their own PostgreSQL clusters on free loopback
# ports (never the Debian default cluster on 5432) and stop them again.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

bash deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
    local dir=$1
    shift
    echo "== pgconvoy: building in $dir ($*)"
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "== pgconvoy: testing in $dir"
    (cd "$dir" && ctest --output-on-failure -j2 --timeout 900)
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# halt_on_error: a sanitizer finding fails the test that hit it
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-sanitize -DCMAKE_BUILD_TYPE=Debug -DPGCONVOY_SANITIZE=ON
# the fuzz targets, bounded: 45 s each, the seeds plus what they find
bash tests/fuzz/run.sh 45
