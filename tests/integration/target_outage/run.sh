#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/target_outage/run.sh
#     An online migration rides through its target's outage, however long:
#     the target is stopped during change data capture while the source
#     takes writes, and started again only once the status has shown,
#     for some tries, that the database waits it out (the failure, since
#     when, how many tries). The database never fails, the changes made
#     meanwhile all arrive, `task cutover --validate` succeeds, the two
#     sides are identical, and no slot is left; the WAL the slot held back
#     meanwhile is shown, and a warning says it crossed --slot-wal-warn.
#     (It once failed the database after ten tries, about 35 s, and
#     orphaned the slot.)
#     A second online task, cancelled during the outage: its slot and
#     publication go from the source at once, without waiting for the
#     target; task show lists what its cleanup has still to drop, the
#     origin (JSON and table), and once the target is back the cleanup
#     drops it and the list is empty. The WAL the first task's slot holds
#     back is shown during the outage, and crossing --slot-wal-warn told.
#
#     The scenario stops a server: it runs on clusters of its own, never
#     on those other scenarios share.

unset PGCONVOY_PG_DIR
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=target_outage_db
P=target_outage_project
T=target_outage_task
DB2=target_outage_cancel_db
T2=target_outage_cancel_task
TICKS=3000

new_db "$DB"
load_fixture "$DB" sample
psql_src "$DB" >/dev/null <<'SQL' || fail "could not make the writer's table"
CREATE TABLE public.ticks (id bigint PRIMARY KEY, payload text NOT NULL);
-- one row per transaction, with a pause between: a steady writer
CREATE PROCEDURE public.write_ticks(n integer) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        INSERT INTO public.ticks VALUES (i, md5(i::text));
        COMMIT;
        PERFORM pg_sleep(0.002);
    END LOOP;
END $$;
SQL
new_db "$DB2"
psql_src "$DB2" -c "CREATE TABLE public.notes (id integer PRIMARY KEY, note text);
                    INSERT INTO public.notes SELECT i, 'note ' || i FROM generate_series(1, 500) i" >/dev/null ||
    fail "could not make $DB2"

# a low line, so that the WAL held back through the outage crosses it
start_coordinator --slot-wal-warn 64kB
# a job for each task's stream, and one to copy
start_agent a1 --jobs 3
cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
create_project "$P"
create_online_task "$P" "$T"
jq -n --arg db "$DB2" '[{name: $db, target_database_name: $db, selectedTables: []}]' >o2.json
pgf task create --project-name "$P" -n "$T2" --task-type OnlineMigration \
    --source-connection-json s.json --target-connection-json t.json \
    --database-options-json o2.json || fail "task create of $T2 exited $?"

db_field()
{
    jq -r ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | .$1" "$TASK_JSON"
}

# wait_db_field FIELD JQ-TEST WHAT: polls task show until the database's
# FIELD passes JQ-TEST; fails if it ends FAILED or after 300 s
wait_db_field()
{
    local field=$1 test=$2 what=$3 deadline=$((SECONDS + 300))
    while :; do
        task_show "$P" "${TASK:-$T}" || fail "task show failed: $(cat "$TEST_TMP/task-${TASK:-$T}.err")"
        jq -e ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\")
               | .$field | $test" "$TASK_JSON" >/dev/null && return 0
        [[ $(db_field migrationState) == FAILED ]] &&
            fail "database $DB FAILED while $what: $(db_field errorMessage)"
        ((SECONDS < deadline)) || fail "not $what after 300 s: $(jq -c . "$TASK_JSON")"
        sleep 0.5
    done
}

TASK=$T2 wait_db_field migrationState '. == "CATCHING_UP" or . == "READY_TO_COMPLETE"' "in CDC"
SLOT2=$(db_field slotName)
[[ $(db_field cleanupState) == null && $(db_field 'cleanupPending | length') == 0 ]] ||
    fail "$DB2 shows a cleanup before any: $(db_field cleanupState) $(db_field cleanupPending)"
wait_db_field migrationState '. == "CATCHING_UP" or . == "READY_TO_COMPLETE"' "in CDC"
pass "full loads done, both databases in CDC ($DB2's slot $SLOT2)"

# the writer, through the outage
psql_src "$DB" -c "CALL public.write_ticks($TICKS)" >"$TEST_TMP/writer.out" 2>&1 &
writer=$!

stop_target()
{
    (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TGT_DATA" -w -t 60 -m fast stop) >/dev/null ||
        fail "could not stop the target"
}
start_target()
{
    (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TGT_DATA" -l "$TGT_LOG" -w -t 60 start) >/dev/null ||
        fail "could not start the target"
}
stop_target
note "target stopped"
# the status says the database waits out the outage, and keeps trying:
# past ten tries, where the stream used to give up and fail the database
wait_db_field retries '. >= 11' "retrying the target eleven times"
[[ $(db_field migrationState) == CATCHING_UP || $(db_field migrationState) == READY_TO_COMPLETE ]] ||
    fail "the database left CDC during the outage: $(db_field migrationState)"
waiting=$(db_field waitingOut)
since=$(db_field waitingSince)
[[ $waiting == *target* && $since == 20* ]] ||
    fail "the status does not say what the database waits out: waitingOut=$waiting waitingSince=$since"
pass "during the outage: $(db_field migrationState), retries $(db_field retries) since $since, waiting out: $waiting"
pgf task show --project-name "$P" -n "$T" -o table >"$TEST_TMP/show.txt" ||
    fail "task show -o table exited $?"
grep -q "^    waiting out since 20.* retries, slot holds .* of WAL): .*target" "$TEST_TMP/show.txt" ||
    fail "task show -o table does not say what the database waits out: $(cat "$TEST_TMP/show.txt")"
pass "task show -o table: $(grep 'waiting out' "$TEST_TMP/show.txt")"

# the WAL the slot holds back is measured through the outage too (the
# source is up), and crossing --slot-wal-warn is told then
wait_db_field slotRetainedWalBytes '. > 65536' "showing the WAL its slot holds back during the outage"
deadline=$((SECONDS + 60))
until grep -q "the replication slot holds back [0-9]* MB of WAL on the source, over --slot-wal-warn (0 MB)" \
    "$TEST_TMP/coordinator.log"; do
    ((SECONDS < deadline)) || fail "no warning during the outage that the slot held back more WAL than --slot-wal-warn"
    sleep 0.5
done
pass "during the outage: the slot holds back $(db_field slotRetainedWalBytes) bytes of WAL, over --slot-wal-warn, and a warning said so"
# the second task cancelled while the target is down: the slot must not
# wait for the target
pgf task cancel --project-name "$P" -n "$T2" || fail "task cancel of $T2 exited $?"
deadline=$((SECONDS + 120))
until [[ $(psql_src postgres -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT2'") == 0 ]]; do
    ((SECONDS < deadline)) || fail "slot $SLOT2 still on the source 120 s after the cancel, the target down"
    sleep 0.5
done
assert_no_leftovers "$DB2"
TASK=$T2 wait_db_field cleanupState '. == "queued" or . == "running"' "showing its cleanup pending"
# what is left: the origin, not the slot and publication dropped (once
# the cleanup has said so)
TASK=$T2 wait_db_field cleanupPending 'length == 1' "listing only its origin as left"
pending=$(db_field 'cleanupPending | join(", ")')
[[ $pending == "replication origin $SLOT2 on the target" ]] ||
    fail "$DB2's cleanupPending: $pending, expected its origin only"
pgf task show --project-name "$P" -n "$T2" -o table >"$TEST_TMP/show2.txt" ||
    fail "task show -o table of $T2 exited $?"
grep -q "^    cleanup \(queued\|running\), not yet known gone:.*replication origin $SLOT2 on the target" "$TEST_TMP/show2.txt" ||
    fail "task show -o table does not list what the cleanup has left: $(cat "$TEST_TMP/show2.txt")"
pass "cancelled during the outage: slot and publication dropped from the source at once; still to drop: $pending"

start_target
note "target started again"
TASK=$T2 wait_db_field cleanupState '. == "done"' "through its cleanup"
[[ $(db_field 'cleanupPending | length') == 0 ]] ||
    fail "$DB2's cleanup is done but cleanupPending lists $(db_field cleanupPending)"
[[ $(psql_tgt postgres -c "SELECT count(*) FROM pg_replication_origin WHERE roname = '$SLOT2'") == 0 ]] ||
    fail "$DB2's cleanup is done but origin $SLOT2 is left on the target"
pass "the target back: $DB2's cleanup dropped the origin, nothing left to drop"
wait_db_field waitingOut '. == null' "working again"
pass "working again: the status no longer shows a failure"
wait "$writer" || fail "the writer failed: $(cat "$TEST_TMP/writer.out")"
[[ $(psql_src "$DB" -c "SELECT count(*) FROM public.ticks") == "$TICKS" ]] ||
    fail "the writer did not write $TICKS rows"

pgf task cutover --project-name "$P" -n "$T" --object-name "$DB" --validate >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "task cutover --validate exited $?: $(cat "$TEST_TMP/cutover.out")"
wait_task "$P" "$T" 120 || fail "the task did not succeed after the cutover"
[[ $(db_field migrationState) == COMPLETED ]] || fail "database not COMPLETED: $(db_field migrationState)"
compare_db "$DB" "$DB" || fail "source and target differ after the outage and the cutover"
got=$(psql_tgt "$DB" -c "SELECT count(*) || ' ' || md5(string_agg(payload, ',' ORDER BY id)) FROM public.ticks")
want=$(psql_src "$DB" -c "SELECT count(*) || ' ' || md5(string_agg(payload, ',' ORDER BY id)) FROM public.ticks")
[[ $got == "$want" ]] || fail "public.ticks: target $got, source $want"
pass "every one of the $TICKS writes made through the outage arrived: $got"
assert_stream_gone "$DB" "$(db_field slotName)"
pass "no slot, publication, origin or pgconvoy schema left"
scenario_pass
