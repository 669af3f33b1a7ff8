#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/offline_migrate/run.sh
#     Embedded mode: 'pgferry migrate' starts its own coordinator and agents.
#     1. the whole type zoo, compared row by row;
#     2. --tables with two tables (one in a schema that needs quoting): only
#        those arrive, and a second run onto the filled target is refused.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# --- 1. every table --------------------------------------------------------
DB=offline_migrate_zoo
new_db "$DB"
load_fixture "$DB" typezoo

pgferry_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 ||
    fail "pgferry migrate of $DB exited $?"
pass "pgferry migrate of $DB exited 0"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to source"
assert_no_leftovers "$DB"

# --- 2. selected tables ----------------------------------------------------
DB=offline_migrate_some
new_db "$DB"
load_fixture "$DB" typezoo

pgferry_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    --tables 'public.scalars,"Sales Dept".customers' ||
    fail "pgferry migrate --tables of $DB exited $?"
pass "pgferry migrate --tables exited 0"

compare_db "$DB" "$DB" public.scalars '"Sales Dept".customers' ||
    fail "the selected tables differ"
got=$(list_tables tgt "$DB")
want=$(printf '%s\n' "Sales Dept.customers" "public.scalars")
[[ $got == "$want" ]] || fail "target $DB should hold only the 2 selected tables, it holds: ${got//$'\n'/, }"
pass "only the selected tables were migrated"
assert_no_leftovers "$DB"

# The target tables now hold rows: a second run must refuse (exit 2, naming
# a table) and change nothing.
expect_fail 2 'scalars|customers' \
    pgferry_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    --tables 'public.scalars,"Sales Dept".customers'
compare_db "$DB" "$DB" public.scalars '"Sales Dept".customers' ||
    fail "the refused second run changed the target"
pass "second run refused, target unchanged"

scenario_pass
