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
#
#     The scenario stops a server: it runs on clusters of its own, never
#     on those other scenarios share.

unset PGFERRY_PG_DIR
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=target_outage_db
P=target_outage_project
T=target_outage_task
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

# a low line, so that the WAL held back through the outage crosses it
start_coordinator --slot-wal-warn 64kB
start_agent a1 --jobs 2
cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
create_project "$P"
pgf task create --project-name "$P" -n "$T" --task-type OnlineMigration \
    --source-connection-json s.json --target-connection-json t.json \
    --database-options-json o.json || fail "task create exited $?"

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
        task_show "$P" "$T" || fail "task show failed: $(cat "$TEST_TMP/task-$T.err")"
        jq -e ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\")
               | .$field | $test" "$TASK_JSON" >/dev/null && return 0
        [[ $(db_field migrationState) == FAILED ]] &&
            fail "database $DB FAILED while $what: $(db_field errorMessage)"
        ((SECONDS < deadline)) || fail "not $what after 300 s: $(jq -c . "$TASK_JSON")"
        sleep 0.5
    done
}

wait_db_field migrationState '. == "CATCHING_UP" or . == "READY_TO_COMPLETE"' "in CDC"
pass "full load done, database in CDC"

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

start_target
note "target started again"
wait_db_field waitingOut '. == null' "working again"
pass "working again: the status no longer shows a failure"
# the WAL the slot held back through the outage was reported, and crossed
# the line set
wait_db_field slotRetainedWalBytes '. > 0' "reporting the WAL its slot holds back"
deadline=$((SECONDS + 60))
until grep -q "the replication slot holds back [0-9]* MB of WAL on the source, over --slot-wal-warn (0 MB)" \
    "$TEST_TMP/coordinator.log"; do
    ((SECONDS < deadline)) || fail "no warning that the slot held back more WAL than --slot-wal-warn"
    sleep 0.5
done
pass "the slot's retained WAL shown ($(db_field slotRetainedWalBytes) bytes) and the line crossing told"
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
pass "no slot, publication, origin or pgferry schema left"
scenario_pass
