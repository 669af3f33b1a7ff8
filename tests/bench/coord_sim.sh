#!/usr/bin/env bash
#
# tests/bench/coord_sim.sh
#     The coordinator at scale, without PostgreSQL: runs the coord_sim
#     benchmark (tests/bench/coord_sim.c) against the pgconvoy-coordinator
#     of a build directory. Builds nothing.
#
#   bash tests/bench/coord_sim.sh                          # 100 agents, 10,000 tables, ~100,000 units
#   bash tests/bench/coord_sim.sh --agents 10 --tables 500 # a quick one, ~10 s
#   bash tests/bench/coord_sim.sh --tables 2000 --timeout 300
#
# Every argument goes to coord_sim (coord_sim --help lists them). Needs
# PGCONVOY_BUILD_DIR (default build/) with pgconvoy-coordinator and
# tests/coord_sim in it (cmake --build build --target coord_sim). Exits
# with coord_sim's code: 0 if the task Succeeded, 1 if not, 2 on bad usage;
# the performance targets are printed next to the figures, never asserted.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${PGCONVOY_BUILD_DIR:-$ROOT/build}
SIM=$BUILD/tests/coord_sim
COORDINATOR=$BUILD/pgconvoy-coordinator

for bin in "$SIM" "$COORDINATOR"; do
    if [[ ! -x $bin ]]; then
        echo "coord_sim.sh: error: $bin not found: build it first" \
             "(cmake --build $BUILD --target coord_sim pgconvoy-coordinator)" >&2
        exit 2
    fi
done

# which coordinator is measured: the commit, and whether the tree differs
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$ROOT" diff --quiet HEAD -- coordinator common proto 2>/dev/null; then
    commit="$commit + uncommitted changes in coordinator/, common/ or proto/"
fi
echo "coord_sim.sh: source $ROOT at $commit; build $BUILD"
echo "coord_sim.sh: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

exec "$SIM" --coordinator "$COORDINATOR" "$@"
