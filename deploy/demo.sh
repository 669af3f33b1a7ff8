#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# deploy/demo.sh
#     From a fresh Debian 12 (as root) to a verified migration, in one
#     command:   bash deploy/demo.sh
#
#  1. installs the build and runtime packages (deploy/install-deps.sh);
#  2. builds pgconvoy (cmake, RelWithDebInfo) into build/;
#  3. starts a throw-away source and target PostgreSQL 15 cluster on free
#     loopback ports (tests/integration/clusters.sh; a default cluster on
#     5432, if any, is not touched);
#  4. loads a sample shop database and the "type zoo" into the source;
#  5. runs 'pgconvoy migrate --online' with two agents while a writer places,
#     pays and cancels orders, then cuts over (with --validate) once the
#     writes stop;
#  6. compares every table, sequence, index and constraint on both sides
#     and prints the verdict.
# The clusters and all temp files are removed at exit, whatever happens.

set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

step()
{
    printf '\n==> %s\n' "$*"
}

if ((EUID != 0)); then
    echo "demo: error: run as root: it installs packages and runs PostgreSQL as user postgres" >&2
    exit 1
fi

step "1/6 installing dependencies"
bash deploy/install-deps.sh

step "2/6 building pgconvoy"
[[ -f CMakeLists.txt ]] || {
    echo "demo: error: no CMakeLists.txt in $REPO" >&2
    exit 1
}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2

step "3/6 starting a source and a target PostgreSQL cluster"
# lib.sh starts its own cluster pair (PGCONVOY_PG_DIR unset) and stops it and
# kills whatever the demo started when this script exits.
unset PGCONVOY_PG_DIR
PGCONVOY_SCENARIO=demo
PGCONVOY_BUILD_DIR=$REPO/build
# shellcheck source=../tests/integration/lib.sh
source "$REPO/tests/integration/lib.sh"
echo "source: 127.0.0.1:$SRC_PORT   target: 127.0.0.1:$TGT_PORT"

step "4/6 loading the sample databases into the source"
DB=shop
new_db "$DB" # the target database must exist, empty, as with the seed
load_fixture "$DB" sample
load_fixture "$DB" typezoo
psql_src "$DB" -F $'\t' -c "
    SELECT count(*) || ' tables, ' || pg_size_pretty(pg_database_size(current_database()))
    FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')" |
    sed 's/^/source database "shop": /'

step "5/6 migrating online while the shop takes orders"
# The writer (deploy/demo-writes.sql: orders placed, paid and cancelled)
# runs for WRITE_SECONDS, through the full load and into change data
# capture; pgconvoy applies every change as it comes. When the writes stop
# (as an application is switched), the operator cuts over: pgconvoy applies
# up to that moment, copies the sequences, compares every table
# (--validate) and drops its replication slot.
WRITE_SECONDS=${WRITE_SECONDS:-20}
STATE=$TEST_TMP/migrate-state
"$PGBIN/pgbench" -n -c 2 -T "$WRITE_SECONDS" -f "$REPO/deploy/demo-writes.sql" \
    -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" >"$TEST_TMP/writes.log" 2>&1 &
PGCONVOY_PIDS[writer]=$!
SECONDS=0
build/pgconvoy migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    --online --fix-replica-identity --state-dir "$STATE" &
PGCONVOY_PIDS[migrate]=$!
wait "${PGCONVOY_PIDS[writer]}" || fail "the writer failed: $(tail -n 5 "$TEST_TMP/writes.log")"
unset 'PGCONVOY_PIDS[writer]'
writes=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$TEST_TMP/writes.log")
echo "demo: the writer placed $writes orders in $WRITE_SECONDS s while pgconvoy migrated; writes stopped, cutting over"
build/pgconvoy --coordinator "ipc://$STATE/cli.sock" task cutover --project-name embedded \
    -n migrate --object-name "$DB" --validate ||
    fail "the cutover failed (the verdict: FAILED)"
wait "${PGCONVOY_PIDS[migrate]}" || fail "pgconvoy migrate exited $? (the verdict: FAILED)"
unset 'PGCONVOY_PIDS[migrate]'
took=$SECONDS

step "6/6 verifying: every table, sequence, index and constraint"
if ! compare_db "$DB" "$DB"; then
    fail "the target database differs from the source (the verdict: FAILED)"
fi

printf '\n==> VERDICT: PASSED. pgconvoy migrated database "%s" online from 127.0.0.1:%s to 127.0.0.1:%s in %d s, under %s live transactions; every row, sequence, index and constraint matches.\n' \
    "$DB" "$SRC_PORT" "$TGT_PORT" "$took" "$writes"
echo "(the demo clusters are now stopped and removed)"
