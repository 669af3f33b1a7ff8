#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/multi_db/run.sh
#     One task, two source databases (the options JSON is a list):
#       multi_db_shop -> multi_db_shop_copy   every table, renamed target
#       multi_db_zoo  -> multi_db_zoo         selectedTables: 2 tables
#     Both must be COMPLETED, the selected tables identical, the others absent.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SHOP=multi_db_shop
SHOP_TGT=multi_db_shop_copy
ZOO=multi_db_zoo
PROJECT=multi_db_project
TASK=multi_db_task

new_db "$SHOP" src
new_db "$SHOP_TGT" tgt
new_db "$ZOO"
load_fixture "$SHOP" sample
load_fixture "$ZOO" typezoo
pass "sample loaded into $SHOP, type zoo into $ZOO"

start_coordinator
start_agent a1
start_agent a2

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_conn_json s.json postgres "$SRC_PORT"
write_conn_json t.json postgres "$TGT_PORT"
jq -n --arg shop "$SHOP" --arg shop_tgt "$SHOP_TGT" --arg zoo "$ZOO" '[
    {name: $shop, target_database_name: $shop_tgt, selectedTables: []},
    {name: $zoo, target_database_name: $zoo,
     selectedTables: ["public.scalars", "\"Sales Dept\".customers"]}
]' >o.json

create_project "$PROJECT"
create_task "$PROJECT" "$TASK"
wait_task "$PROJECT" "$TASK" 300 || fail "task $TASK did not succeed"
pass "task Succeeded"

jq -e '[.properties.output[] | select(.resultType == "MigrationLevelOutput")][0].databaseCount == 2' \
    "$TASK_JSON" >/dev/null || fail "expected databaseCount 2 in the MigrationLevelOutput"
check_task_output "$SHOP" "$SHOP_TGT"
check_task_output "$ZOO" "$ZOO" public.scalars '"Sales Dept".customers'

compare_db "$SHOP" "$SHOP_TGT" || fail "$SHOP_TGT differs from $SHOP"
compare_db "$ZOO" "$ZOO" public.scalars '"Sales Dept".customers' ||
    fail "the selected tables of $ZOO differ"
got=$(list_tables tgt "$ZOO")
want=$(printf '%s\n' "Sales Dept.customers" "public.scalars")
[[ $got == "$want" ]] || fail "target $ZOO should hold only the 2 selected tables, it holds: ${got//$'\n'/, }"
pass "only the selected tables of $ZOO were migrated"

# the shop went to its renamed target only
if [[ -n $(psql_tgt postgres -v db="$SHOP" <<<"SELECT 1 FROM pg_database WHERE datname = :'db'") ]]; then
    fail "a database $SHOP appeared on the target: the entry's target_database_name was ignored"
fi
pass "$SHOP went to $SHOP_TGT only"

assert_no_leftovers "$SHOP"
assert_no_leftovers "$ZOO"

scenario_pass
