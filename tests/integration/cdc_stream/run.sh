#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/cdc_stream/run.sh
#     agent/slot_reader.c against real clusters, through cdc_stream_driver:
#     the slot is created over the replication protocol with an exported
#     snapshot, the pgbench tables are copied under that snapshot while
#     pgbench keeps writing, then the stream from the slot's consistent
#     point is applied with agent/apply.c until the source's WAL position
#     taken after pgbench stopped is confirmed. Proves:
#     1. the full load and the stream meet exactly (no change lost or
#        applied twice): the target is identical to the source, the
#        history table (no primary key, REPLICA IDENTITY FULL) included;
#     2. only what the target committed is confirmed, and the source's
#        pg_replication_slots.confirmed_flush_lsn reaches the end position;
#     3. cleanup: no slot, publication or origin left.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=cdc_stream_db
SLOT=cdc_stream_slot
PUB=cdc_stream_pub
ORIGIN=cdc_stream_origin
DRIVER=$PGCONVOY_BUILD_DIR/tests/cdc_stream_driver
TABLES=(pgbench_accounts pgbench_branches pgbench_tellers pgbench_history)
[[ -x $DRIVER ]] || fail "no driver at $DRIVER: build first"

new_db "$DB"

# --- the source: pgbench's tables, published; the target: their schema ----
pgbench_init "$DB" 1
# before the slot exists: the history table has no key
psql_src "$DB" <<SQL >/dev/null || fail "could not set up the source"
ALTER TABLE pgbench_history REPLICA IDENTITY FULL;
CREATE PUBLICATION $PUB FOR ALL TABLES;
SQL
"$PGBIN/pg_dump" -s -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" --no-publications |
    psql_tgt "$DB" >/dev/null || fail "could not copy the schema to the target"
pass "source: pgbench -i -s 1 ($(psql_src "$DB" -c "SELECT count(*) FROM pgbench_accounts") accounts), publication $PUB"

# --- writers: pgbench during and after the copy ----------------------------
# run until stopped: the copy's end, however long a loaded machine takes,
# decides when, not a clock
pgbench_start "$DB" -c 2 -T 900
history_rows()
{
    psql_src "$DB" -c "SELECT count(*) FROM pgbench_history"
}
# wait_history N WHAT: until pgbench_history holds N rows, pgbench alive
wait_history()
{
    local n=$1 what=$2 deadline=$((SECONDS + 300))
    until (($(history_rows) >= n)); do
        s_alive "${PGCONVOY_PIDS[pgbench]}" || fail "pgbench ended $what: $(tail -n 5 "$TEST_TMP/pgbench.log")"
        ((SECONDS < deadline)) || fail "pgbench wrote fewer than $n history rows in 300 s ($what)"
        sleep 0.2
    done
}
wait_history 100 "before the copy"

# --- the driver: slot + snapshot, copy, stream until ENDPOS_FILE's LSN ------
ENDPOS_FILE=$TEST_TMP/endpos
"$DRIVER" "$SRC_PORT" "$TGT_PORT" "$DB" "$SLOT" "$PUB" "$ORIGIN" "$ENDPOS_FILE" "${TABLES[@]}" \
    >"$TEST_TMP/driver.out" 2>"$TEST_TMP/driver.log" &
PGCONVOY_PIDS[driver]=$!

# the copy is over while pgbench still writes
deadline=$((SECONDS + 300))
until grep -q '^copied pgbench_history ' "$TEST_TMP/driver.out"; do
    s_alive "${PGCONVOY_PIDS[driver]}" || break
    ((SECONDS < deadline)) || break
    sleep 0.2
done
grep -q '^copied pgbench_history ' "$TEST_TMP/driver.out" ||
    fail "the driver did not finish the copy: $(tail -n 5 "$TEST_TMP/driver.log")"
s_alive "${PGCONVOY_PIDS[pgbench]}" || fail "pgbench ended before the copy did: the test proves nothing"
history_at_copy=$(history_rows)
snapshot_line=$(grep '^snapshot ' "$TEST_TMP/driver.out")
pass "slot created with an exported snapshot (${snapshot_line#snapshot }), copied under it while pgbench ran: $(grep '^copied ' "$TEST_TMP/driver.out" | tr '\n' ';')"

# changes after the copy too, then pgbench stopped, and its sessions gone
# before the end position is taken (a COMMIT in flight would land after)
wait_history $((history_at_copy + 500)) "after the copy"
pgbench_stop
deadline=$((SECONDS + 60))
until [[ $(psql_src postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND application_name = 'pgbench'") == 0 ]]; do
    ((SECONDS < deadline)) || fail "pgbench's sessions still there 60 s after it was stopped"
    sleep 0.2
done
xacts=$(history_rows)
endpos=$(psql_src "$DB" -c "SELECT pg_current_wal_lsn()")
echo "$endpos" >"$ENDPOS_FILE.tmp"
mv "$ENDPOS_FILE.tmp" "$ENDPOS_FILE"
# one more WAL record after endpos (not a published change): endpos may sit
# just after a page header, where decoding only gets past the next record
psql_src "$DB" -c "SELECT pg_logical_emit_message(false, 'pgconvoy-test', 'fence')" >/dev/null
note "pgbench: $xacts transactions; history rows at the end of the copy: $history_at_copy; endpos $endpos"

rc=0
wait "${PGCONVOY_PIDS[driver]}" || rc=$?
unset 'PGCONVOY_PIDS[driver]'
((rc == 0)) || fail "the driver exited $rc: $(tail -n 5 "$TEST_TMP/driver.log")"
cat "$TEST_TMP/driver.out"

# --- 1. the copy and the stream met exactly ---------------------------------
compare_db "$DB" "$DB" || fail "the target differs from the source"
# pgbench's transaction: 3 updates and 1 insert, each committed once
read -r _ ins upd del trunc committed skipped < <(grep '^totals ' "$TEST_TMP/driver.out")
((committed == ins && skipped == 0 && del == 0 && trunc == 0)) ||
    fail "unexpected totals: $(grep '^totals ' "$TEST_TMP/driver.out")"
((upd == 3 * ins)) || fail "every pgbench transaction updates 3 rows and inserts 1: $ins inserts, $upd updates"
history_rows=$(psql_src "$DB" -c "SELECT count(*) FROM pgbench_history")
copied_history=$(sed -n 's/^copied pgbench_history //p' "$TEST_TMP/driver.out")
((copied_history + ins == history_rows)) ||
    fail "history: $copied_history rows copied + $ins streamed != $history_rows on the source"
((copied_history > 0 && ins > 0)) || fail "both the copy ($copied_history) and the stream ($ins) must carry history rows"
pass "target identical: pgbench_history $copied_history copied + $ins streamed = $history_rows, $committed transactions applied ($xacts by pgbench), $upd updates"

# --- 2. confirmed up to endpos, on the server --------------------------------
read -r _ e _ conf _ slot_conf < <(grep '^endpos ' "$TEST_TMP/driver.out")
[[ $(psql_src "$DB" -c "SELECT '$e'::pg_lsn = '$endpos'::pg_lsn") == t ]] || fail "the driver ran to $e, not $endpos"
[[ $(psql_src "$DB" -c "SELECT '$slot_conf'::pg_lsn >= '$endpos'::pg_lsn AND '$conf'::pg_lsn >= '$endpos'::pg_lsn") == t ]] ||
    fail "confirmed $conf, slot confirmed_flush_lsn $slot_conf: not at endpos $endpos"
now_conf=$(psql_src "$DB" -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'")
[[ $(psql_src "$DB" -c "SELECT '$now_conf'::pg_lsn >= '$endpos'::pg_lsn") == t ]] ||
    fail "pg_replication_slots.confirmed_flush_lsn is $now_conf after the driver exited, endpos $endpos"
pass "slot confirmed_flush_lsn $now_conf >= endpos $endpos (driver confirmed $conf)"

# --- 3. cleanup -------------------------------------------------------------
# the walsender may take a moment to go once the driver has gone
drop_cdc_objects "$DB" "$SLOT" "$PUB" "$ORIGIN"
pass "no slot, publication or origin left"

scenario_pass
