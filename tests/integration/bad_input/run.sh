#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/bad_input/run.sh
#     Every kind of bad input ends with exit 2 and a message that names the
#     file, field and value (or the database / table / project / task), the
#     task is not kept, and the target is not touched. A last, valid task
#     proves the failures came from the bad input and not from the setup.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=bad_input_shop     # source, and its (empty) target
DIRTY=bad_input_dirty # a target whose public.customers already holds a row
PROJECT=bad_input_project

new_db "$DB"
new_db "$DIRTY" tgt
load_fixture "$DB" sample
psql_tgt "$DIRTY" -c "CREATE TABLE public.customers (customer_id integer PRIMARY KEY, email text);
                      INSERT INTO public.customers VALUES (1, 'already@here.example')"

start_coordinator
start_agent a1

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"

create_project "$PROJECT"

# A connection JSON with one field changed: mutate_json IN OUT JQ-FILTER
mutate_json()
{
    jq "$3" "$1" >"$2"
}

# task_create_fails TASK PATTERN [--flag value]...: 'task create' with the
# valid files, except for the flags given (which replace the defaults), must
# exit 2 with PATTERN in its output; then the task must not exist and the
# target must be untouched.
task_create_fails()
{
    local task=$1 pattern=$2
    shift 2
    local -A arg=(
        [--task-type]=OfflineMigration
        [--source-connection-json]=s.json
        [--target-connection-json]=t.json
        [--database-options-json]=o.json
    )
    while (($# > 0)); do
        arg[$1]=$2
        shift 2
    done
    expect_fail 2 "$pattern" pgf task create --project-name "$PROJECT" -n "$task" \
        --task-type "${arg[--task-type]}" \
        --source-connection-json "${arg[--source-connection-json]}" \
        --target-connection-json "${arg[--target-connection-json]}" \
        --database-options-json "${arg[--database-options-json]}"
    expect_fail 2 "$task" pgf task show --project-name "$PROJECT" -n "$task"
    assert_target_untouched "$DB"
    assert_target_untouched "$DIRTY" public.customers
}

# --- the JSON files themselves -----------------------------------------------
printf '{"userName": "postgres", "serverName": "127.0.0.1",\n' >s_malformed.json
task_create_fails bad_malformed 'pgconvoy: error: .*s_malformed\.json' \
    --source-connection-json s_malformed.json

mutate_json s.json s_noserver.json 'del(.serverName)'
task_create_fails bad_noserver 'pgconvoy: error: [^ ]*s_noserver\.json: field "serverName"' \
    --source-connection-json s_noserver.json

mutate_json s.json s_portabc.json '.port = "abc"'
task_create_fails bad_portabc 'pgconvoy: error: [^ ]*s_portabc\.json: field "port": .*abc' \
    --source-connection-json s_portabc.json

mutate_json t.json t_port70000.json '.port = 70000'
task_create_fails bad_port70000 'pgconvoy: error: [^ ]*t_port70000\.json: field "port": .*70000' \
    --target-connection-json t_port70000.json

task_create_fails bad_tasktype 'pgconvoy: error: .*Foo' --task-type Foo

# the TLS fields (issue 9)
mutate_json s.json s_sslmode.json '.sslMode = "strict"'
task_create_fails bad_sslmode 'pgconvoy: error: [^ ]*s_sslmode\.json: field "sslMode": value "strict" is not an sslmode, expected disable, allow, prefer, require, verify-ca or verify-full' \
    --source-connection-json s_sslmode.json

mutate_json t.json t_trust.json '.trustServerCertificate = true'
task_create_fails bad_trust 'pgconvoy: error: [^ ]*t_trust\.json: field "trustServerCertificate": value true applies only with "encryptConnection": true' \
    --target-connection-json t_trust.json

# a libpq setting of a URI that pgconvoy cannot honour: refused by name,
# nothing started, nothing written
for bad in 'service=prod' 'application_name=x' 'sslpassword=hush'; do
    expect_fail 2 "pgconvoy: error: --source: connection URI: option \"${bad%%=*}\" is not supported" \
        pgconvoy_migrate --source "$(src_uri "$DB")?$bad" --target "$(tgt_uri "$DB")"
    [[ $LAST_OUTPUT != *hush* ]] || fail "the refusal showed sslpassword's value"
done
expect_fail 2 'pgconvoy: error: --target: connection URI: option "host": value "127.0.0.1,127.0.0.2" is a list' \
    pgconvoy_migrate --source "$(src_uri "$DB")" --target "postgresql://postgres@127.0.0.1,127.0.0.2:$TGT_PORT/$DB"
assert_target_untouched "$DB"
if compgen -G "$TEST_TMP/migrate-*" >/dev/null; then
    fail "a refused migrate made its state directory: $(echo "$TEST_TMP"/migrate-*)"
fi
pass "refused URIs: no state directory made, the target untouched"

# --- what the prepare checks find ------------------------------------------
# (these may be listed under a "pgconvoy: error:" header line, one problem a
# line, so the patterns ask only for the name in question)
CLOSED=$(pgconvoy_free_port) # reserved by us and never listened on
PGCONVOY_PORTS+=("$CLOSED")
mutate_json s.json s_closed.json ".port = $CLOSED"
task_create_fails bad_unreachable "$CLOSED" --source-connection-json s_closed.json

mutate_json s.json s_badpw.json ".userName = \"$PASSWORD_ROLE\" | .password = \"not-$PASSWORD_SECRET\""
task_create_fails bad_password "password authentication failed for user \"$PASSWORD_ROLE\"" \
    --source-connection-json s_badpw.json

jq -n '[{name: "bad_input_nosuchdb", target_database_name: "bad_input_shop", selectedTables: []}]' >o_nodb.json
task_create_fails bad_nodb 'bad_input_nosuchdb' --database-options-json o_nodb.json

jq -n '[{name: "bad_input_shop", target_database_name: "bad_input_nosuchtgt", selectedTables: []}]' >o_notgt.json
task_create_fails bad_notgt 'bad_input_nosuchtgt' --database-options-json o_notgt.json

jq -n '[{name: "bad_input_shop", target_database_name: "bad_input_shop",
         selectedTables: ["public.customers", "public.no_such_table"]}]' >o_notable.json
task_create_fails bad_notable 'no_such_table' --database-options-json o_notable.json

jq -n '[{name: "bad_input_shop", target_database_name: "bad_input_dirty", selectedTables: []}]' >o_dirty.json
# both problems found, each checked in a run of its own (task_create_fails
# looks for one pattern)
task_create_fails bad_dirty 'target database "bad_input_dirty": table "public\.customers" already holds rows, expected an empty table' \
    --database-options-json o_dirty.json
task_create_fails bad_dirty_2 'target database "bad_input_dirty" has 1 of the [0-9]+ tables but not "public\.' \
    --database-options-json o_dirty.json
[[ $(psql_tgt "$DIRTY" -c "SELECT count(*) FROM public.customers") == 1 ]] ||
    fail "the row already in $DIRTY.public.customers was changed"

# --- task show of what does not exist ---------------------------------------
expect_fail 2 'bad_input_noproject' pgf task show --project-name bad_input_noproject -n bad_x
expect_fail 2 'bad_input_notask' pgf task show --project-name "$PROJECT" -n bad_input_notask

# --- and the valid files do work --------------------------------------------
create_task "$PROJECT" good
wait_task "$PROJECT" good 300 || fail "the valid task did not succeed"
compare_db "$DB" "$DB" || fail "the valid task's target differs from the source"
pass "the valid task succeeded"

scenario_pass
