#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/cross_version/run.sh
#     Migrations between PostgreSQL major versions, on real servers of each
#     (issue 11): 13 -> 15, 13 -> 17 and 15 -> 17, each offline and online
#     under pgbench with a cutover --validate (pair.sh, once a pair).
#
# The servers of 13 and 17 run from Debian chroots (bullseye, trixie) that
# tests/integration/chroots.sh builds with debootstrap into its cache,
# PGCONVOY_CHROOT_CACHE (default /var/cache/pgconvoy-chroots): about 5
# minutes and 0.9 GB the first time, nothing once cached. 15 is the host's.
# Where a 17 server is involved, the agents dump with 17's pg_dump, from
# the trixie chroot (chroots.sh tools): an agent must never use a pg_dump
# older than a server.
#
# PGCONVOY_CROSS_PAIRS (default "13:15 13:17 15:17") chooses the pairs.
#
# Each pair gets clusters of its own (clusters.sh with PGCONVOY_SRC_MAJOR
# and PGCONVOY_TGT_MAJOR), torn down when it ends, and by the exit trap
# whatever happens.

PGCONVOY_NO_CLUSTERS=1
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CHROOTS=$PGCONVOY_LIB_DIR/chroots.sh
CLUSTERS=$PGCONVOY_LIB_DIR/clusters.sh
HOST_MAJOR=$("$PGBIN/postgres" --version | sed -n 's/^postgres (PostgreSQL) \([0-9]*\).*/\1/p')

start=$SECONDS
bash "$CHROOTS" build bullseye trixie >"$TEST_TMP/chroots.log" 2>&1 ||
    fail "could not build the chroots: $(tail -n 5 "$TEST_TMP/chroots.log")"
pass "chroots ready in $((SECONDS - start)) s: $(grep -h 'chroots.sh:' "$TEST_TMP/chroots.log" | tr '\n' ' ')"

for pair in ${PGCONVOY_CROSS_PAIRS:-13:15 13:17 15:17}; do
    src=${pair%%:*}
    tgt=${pair##*:}
    dir=$TEST_TMP/pg-$src-$tgt
    PGCONVOY_EXIT_HOOKS+=("bash $CLUSTERS teardown $dir")
    PGCONVOY_SRC_MAJOR=$src PGCONVOY_TGT_MAJOR=$tgt bash "$CLUSTERS" setup "$dir" >"$TEST_TMP/clusters-$src-$tgt.log" 2>&1 ||
        fail "could not start a $src source and a $tgt target: $(tail -n 20 "$TEST_TMP/clusters-$src-$tgt.log")"

    # the tools of the newest major: the host's, or the chroot's
    newest=$((src > tgt ? src : tgt))
    pg_bin=""
    if ((newest > HOST_MAJOR)); then
        pg_bin=$(bash "$CHROOTS" tools "$(pgconvoy_chroot_release_of "$newest")") ||
            fail "no client tools of PostgreSQL $newest"
    fi

    start=$SECONDS
    PGCONVOY_PG_DIR=$dir PGCONVOY_PG_BIN=$pg_bin PGCONVOY_SCENARIO=cross_version_${src}_$tgt \
        bash "$(dirname "${BASH_SOURCE[0]}")/pair.sh" || fail "pair $src -> $tgt failed"
    pass "PostgreSQL $src -> $tgt: offline and online in $((SECONDS - start)) s"
    bash "$CLUSTERS" teardown "$dir"
done

scenario_pass
