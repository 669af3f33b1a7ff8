#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/online_cancel/run.sh
#     An online task that will not complete leaves nothing on the servers.
#     Three OnlineMigration tasks of three databases run at once with real
#     daemons; once each is in change data capture, streaming changes:
#       a. `task cancel` of the first: within 30 s its slot and publication
#          are gone from the source and its replication origin from the
#          target; the task is Canceled, its database CANCELLED, and the
#          other two tasks' slots are untouched;
#       b. `task delete` of the second: the same, and the task disappears
#          (task show exits 2, project list no longer names it), perhaps
#          after a moment in state Deleting;
#       c. a row of the third changed directly on the TARGET, then
#          `task cutover --validate`: exits 1 naming that table (and only
#          it) in its message and in the database's errorMessage, the
#          database is FAILED, and the cleanup drops the slot, publication
#          and origin within 30 s, leaving the loaded tables for the
#          operator to look into (only a half-loaded target is emptied).

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

P=online_cancel_project
CASES=(a b c)
declare -A DB=() TASK=() SLOT=()
for x in "${CASES[@]}"; do
    DB[$x]=online_cancel_db_$x
    TASK[$x]=online_cancel_task_$x
done

for x in "${CASES[@]}"; do
    new_db "${DB[$x]}"
    psql_src "${DB[$x]}" <<'SQL' >/dev/null
CREATE TABLE public.items (id integer PRIMARY KEY, v text NOT NULL, n integer NOT NULL DEFAULT 0);
INSERT INTO public.items SELECT i, 'item ' || i, 0 FROM generate_series(1, 2000) i;
CREATE TABLE public.notes (id integer PRIMARY KEY, note text);
INSERT INTO public.notes SELECT i, 'note ' || i FROM generate_series(1, 100) i;
SQL
done
pass "source: ${DB[*]}, each with public.items (2000 rows) and public.notes (100 rows)"

start_coordinator
# each cdc unit holds a job for as long as it streams
start_agent a1 --jobs 3
start_agent a2 --jobs 3

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_conn_json s.json postgres "$SRC_PORT"
write_conn_json t.json postgres "$TGT_PORT"
create_project "$P"
for x in "${CASES[@]}"; do
    jq -n --arg db "${DB[$x]}" '[{name: $db, target_database_name: $db, selectedTables: []}]' >"o-$x.json"
    pgf task create --project-name "$P" -n "${TASK[$x]}" --task-type OnlineMigration \
        --source-connection-json s.json --target-connection-json t.json \
        --database-options-json "o-$x.json" || fail "task create of ${TASK[$x]} exited $?"
done

# db_field X FIELD: FIELD of the DatabaseLevelOutput in case X's last task_show
db_field()
{
    jq -r ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | .$2" "$TEST_TMP/task-${TASK[$1]}.json"
}

slot_count()
{
    psql_src postgres -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$1'"
}
# publications in the database (one task per database here: its own)
publication_count()
{
    psql_src "$1" -c "SELECT count(*) FROM pg_publication"
}
origin_count()
{
    psql_tgt postgres -c "SELECT count(*) FROM pg_replication_origin WHERE roname = '$1'"
}

# stream_objects X: "slot publication origin" counts of case X
stream_objects()
{
    echo "$(slot_count "${SLOT[$1]}") $(publication_count "${DB[$1]}") $(origin_count "${SLOT[$1]}")"
}

# wait_stream_gone X WHAT: within 30 s, no slot, publication or origin of
# case X is left; TOOK is how long it took, in seconds
wait_stream_gone()
{
    local x=$1 what=$2 start=$SECONDS left
    while :; do
        left=$(stream_objects "$x")
        [[ $left == "0 0 0" ]] && break
        ((SECONDS - start < 30)) ||
            fail "case $x: 30 s after $what, slot/publication/origin counts are still $left (slot ${SLOT[$x]})"
        sleep 0.5
    done
    TOOK=$((SECONDS - start))
}

# --- all three in CDC, streaming ---------------------------------------------
deadline=$((SECONDS + 120))
for x in "${CASES[@]}"; do
    while :; do
        task_show "$P" "${TASK[$x]}" || fail "task show of ${TASK[$x]} failed"
        state=$(db_field "$x" migrationState)
        [[ $state == CATCHING_UP || $state == READY_TO_COMPLETE ]] && break
        [[ $state == FAILED || $state == CANCELLED ]] &&
            fail "database ${DB[$x]} is $state: $(db_field "$x" errorMessage)"
        ((SECONDS < deadline)) || fail "database ${DB[$x]} not in CDC after 120 s: $state"
        sleep 0.3
    done
    SLOT[$x]=$(db_field "$x" slotName)
    [[ ${SLOT[$x]} == pgconvoy_* ]] || fail "case $x: no slot name in the status: ${SLOT[$x]}"
done
# changes during CDC, applied: the streams (and the origins) are live
for x in "${CASES[@]}"; do
    psql_src "${DB[$x]}" -c "UPDATE public.items SET n = n + 1 WHERE id <= 50" >/dev/null
done
deadline=$((SECONDS + 60))
for x in "${CASES[@]}"; do
    until task_show "$P" "${TASK[$x]}" && (($(db_field "$x" appliedChanges) >= 50)); do
        ((SECONDS < deadline)) || fail "case $x: the 50 updates were not applied within 60 s"
        sleep 0.3
    done
    [[ $(stream_objects "$x") == "1 1 1" ]] ||
        fail "case $x: slot/publication/origin counts $(stream_objects "$x"), expected 1 1 1"
done
pass "three tasks in CDC, each with its slot, publication and origin, 50 changes applied in each"

# --- a. cancel ------------------------------------------------------------------
pgf task cancel --project-name "$P" -n "${TASK[a]}" || fail "task cancel exited $?"
wait_stream_gone a "task cancel"
task_show "$P" "${TASK[a]}" || fail "task show after cancel failed"
[[ $(migration_state) == Canceled && $(db_field a migrationState) == CANCELLED ]] ||
    fail "case a: expected Canceled/CANCELLED, got $(migration_state)/$(db_field a migrationState)"
for x in b c; do
    [[ $(stream_objects "$x") == "1 1 1" ]] ||
        fail "cancelling task a touched task $x: its slot/publication/origin counts are $(stream_objects "$x")"
done
pass "a: cancelled during CDC; slot, publication and origin dropped ${TOOK} s after, the other tasks' untouched"

# --- b. delete ------------------------------------------------------------------
pgf task delete --project-name "$P" -n "${TASK[b]}" >"$TEST_TMP/delete.out" 2>&1 ||
    fail "task delete exited $?: $(cat "$TEST_TMP/delete.out")"
note "task delete: $(cat "$TEST_TMP/delete.out")"
wait_stream_gone b "task delete"
# the task goes once its cleanup has run: maybe in state Deleting until then
start=$SECONDS
while task_show "$P" "${TASK[b]}"; do
    [[ $(migration_state) == Deleting || $(migration_state) == Canceled ]] ||
        fail "case b: deleted task shown in state $(migration_state)"
    ((SECONDS - start < 30)) || fail "case b: the task is still shown 30 s after task delete"
    sleep 0.5
done
expect_fail 2 "${TASK[b]}" pgf task show --project-name "$P" -n "${TASK[b]}"
pgf project list >"$TEST_TMP/projects.json" || fail "project list exited $?"
tasks=$(jq -r --arg p "$P" '.projects[] | select(.name == $p) | .tasks // ""' "$TEST_TMP/projects.json")
[[ ,$tasks, != *,${TASK[b]},* && ,$tasks, == *,${TASK[a]},* ]] ||
    fail "case b: project list names the tasks [$tasks]: expected ${TASK[a]} without ${TASK[b]}"
[[ $(stream_objects c) == "1 1 1" ]] ||
    fail "deleting task b touched task c: its slot/publication/origin counts are $(stream_objects c)"
pass "b: deleted during CDC; slot, publication and origin dropped ${TOOK} s after, the task gone (project list: $tasks)"

# --- c. --validate finds a row changed on the target ---------------------------
psql_src "${DB[c]}" -c "INSERT INTO public.notes SELECT i, 'late ' || i FROM generate_series(101, 120) i" >/dev/null
psql_tgt "${DB[c]}" -c "UPDATE public.items SET v = 'changed on the target' WHERE id = 1000" >/dev/null
expect_fail 1 'validation failed: 1 of 2 tables differ .*: table "public\.items": source [0-9]+ rows, checksum -?[0-9]+, target [0-9]+ rows' pgf task cutover --project-name "$P" -n "${TASK[c]}" --object-name "${DB[c]}" --validate
grep -q 'public\.notes' <<<"$LAST_OUTPUT" &&
    fail "case c: the cutover names public.notes, which is identical: $LAST_OUTPUT"
task_show "$P" "${TASK[c]}" || fail "task show after the failed cutover failed"
[[ $(db_field c migrationState) == FAILED && $(migration_state) == Failed ]] ||
    fail "case c: expected the database FAILED and the task Failed, got $(db_field c migrationState)/$(migration_state)"
error=$(db_field c errorMessage)
[[ $error == *public.items* && $error != *public.notes* ]] ||
    fail "case c: errorMessage should name public.items, and only it: $error"
wait_stream_gone c "the failed cutover"
rows=$(psql_tgt "${DB[c]}" -c "SELECT (SELECT count(*) FROM public.items) + (SELECT count(*) FROM public.notes)")
src_rows=$(psql_src "${DB[c]}" -c "SELECT (SELECT count(*) FROM public.items) + (SELECT count(*) FROM public.notes)")
[[ $rows == "$src_rows" ]] ||
    fail "case c: the target's tables hold $rows rows after the failure's cleanup, expected them kept ($src_rows, as on the source)"
pass "c: cutover --validate failed naming public.items only; slot, publication and origin dropped ${TOOK} s after, the loaded rows kept ($rows)"

for x in "${CASES[@]}"; do
    assert_no_leftovers "${DB[$x]}"
done
pass "no slot or publication left for any of the three databases"
scenario_pass
