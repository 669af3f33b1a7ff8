#!/usr/bin/env bash
#
# tests/fuzz/run.sh
#     Builds the libFuzzer targets (clang, PGCONVOY_FUZZ=ON) in a build
#     directory of their own and runs each one for SECONDS. Fails if any
#     target crashes, leaks, trips a sanitizer or times out on an input.
#
#   run.sh SECONDS        (tests/run-tests.sh runs it with 60)
#
# New corpus entries go to a temporary directory (the first corpus
# argument, the one libFuzzer writes to), never to the tracked seeds in
# tests/fuzz/corpus/<target> (the second, only read). A crashing input is
# kept in $PGCONVOY_FUZZ_BUILD_DIR/fuzz-artifacts/ (default build-fuzz)
# and its log printed; reproduce it with
#   build-fuzz/tests/fuzz/fuzz_TARGET build-fuzz/fuzz-artifacts/FILE
set -euo pipefail

seconds=${1:?usage: run.sh SECONDS}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${PGCONVOY_FUZZ_BUILD_DIR:-$top/build-fuzz}
targets=(envelope config pgoutput copy_trim)
jobs=$(nproc 2>/dev/null || echo 2)

echo "== pgconvoy: building the fuzz targets in $build"
CC=clang cmake -S "$top" -B "$build" -DPGCONVOY_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/fuzz_}"

work=$(mktemp -d /tmp/pgconvoy-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
# libFuzzer reports and keeps the input itself: no abort_on_error here
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=()
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    log=$work/$t.log
    rc=0
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
        -max_len=16384 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t-" \
        "$work/$t" "$here/corpus/$t" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    new=$(find "$work/$t" -type f | wc -l)
    if ((rc != 0)); then
        echo "fuzz_$t: FAILED (exit $rc) after ${runs:-?} runs; its log:"
        tail -n 60 "$log"
        failed+=("$t")
    else
        echo "fuzz_$t: ${runs:-?} runs in ${seconds} s, $new new corpus entries, no finding"
    fi
done
if ((${#failed[@]} > 0)); then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}; inputs in $artifacts"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds} s each, no finding"
