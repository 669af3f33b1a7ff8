#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/cdc_apply/run.sh
#     agent/apply.c against real clusters, through cdc_apply_driver (which
#     reads the slot with SQL and applies with apply_t):
#     1. every kind of change (PK, composite PK, REPLICA IDENTITY FULL with
#        NULLs and duplicate rows, unchanged TOAST, a PK change, TRUNCATE,
#        one 100,000-row transaction): target identical, counters exact;
#     2. exactly once: the driver dies after N commits; the rerun (once
#        relying on apply's own skipping, once on the slot advanced to the
#        origin's progress) applies only the rest;
#     3. a target that diverged: the UPDATE matching no row fails naming the
#        table and LSN, commits nothing, and succeeds once repaired;
#     4. batches of 3 source transactions per target one, a batch's COMMIT
#        not waited for while the next one is sent: a failure in the third
#        batch keeps exactly the first two (rows, origin, counters in
#        pgconvoy.cdc_counts), and the rerun applies the rest;
#     5. grouping: a table's changes sent together, several rows to a
#        statement (runs of inserts, of updates and deletes by key, split
#        where a key repeats; types that are not built in, key changes and
#        repeated keys alone): target identical, counters exact; a
#        diverged row inside such a statement fails it, naming the table,
#        and commits nothing; with a trigger that fires for replicated rows
#        on the target, changes keep their order across tables; identity
#        columns GENERATED ALWAYS inserted with their values, never set;
#     6. cleanup: no slot, publication or origin left.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=cdc_apply_db
SLOT=cdc_apply_slot
PUB=cdc_apply_pub
ORIGIN=cdc_apply_origin
DRIVER=$PGCONVOY_BUILD_DIR/tests/cdc_apply_driver
[[ -x $DRIVER ]] || fail "no driver at $DRIVER: build first"

new_db "$DB"

SCHEMA='
CREATE TABLE t_pk (id integer PRIMARY KEY, v text, n integer);
CREATE TABLE t_comp (a integer, b text, v numeric, PRIMARY KEY (a, b));
CREATE TABLE t_full (a integer, b text, c json);
ALTER TABLE t_full REPLICA IDENTITY FULL;
CREATE TABLE t_toast (id integer PRIMARY KEY, big text, small integer);
ALTER TABLE t_toast ALTER big SET STORAGE EXTERNAL;
'
psql_src "$DB" <<<"$SCHEMA" || fail "could not create the source tables"
psql_tgt "$DB" <<<"$SCHEMA" || fail "could not create the target tables"
psql_src "$DB" <<SQL >/dev/null || fail "could not create the publication and slot"
CREATE PUBLICATION $PUB FOR ALL TABLES;
SELECT pg_create_logical_replication_slot('$SLOT', 'pgoutput');
SQL

# run_driver LOG [ENV=VALUE...]: runs the driver, stdout to LOG.out, stderr
# to LOG.log; returns its exit code.
run_driver()
{
    local log=$1
    shift
    env "$@" "$DRIVER" \
        "host=127.0.0.1 port=$SRC_PORT user=postgres dbname=$DB" \
        "host=127.0.0.1 port=$TGT_PORT user=postgres dbname=$DB ${TGT_OPTIONS:-}" \
        "$SLOT" "$PUB" "$ORIGIN" >"$TEST_TMP/$log.out" 2>"$TEST_TMP/$log.log"
}

# expect_line LOG LINE: LOG.out holds exactly LINE.
expect_line()
{
    grep -qxF "$2" "$TEST_TMP/$1.out" ||
        fail "$1: expected '$2', got: $(tr '\n' ';' <"$TEST_TMP/$1.out")"
}

# The clusters run with synchronous_commit = off, and a peek decodes only
# flushed WAL: the sessions making changes commit synchronously, so that
# the driver started next sees all of them.
SYNC='SET synchronous_commit = on;'

# --- 1. every kind of change ----------------------------------------------
psql_src "$DB" <<SQL || fail "could not make the changes"
$SYNC
-- 10 + 5 + 7 + 3 inserts
BEGIN;
INSERT INTO t_pk SELECT i, 'v' || i, i FROM generate_series(1, 10) i;
INSERT INTO t_comp VALUES (1, 'a', 1.5), (1, 'b', 2), (2, 'a', 3), (2, 'b', 4), (3, 'a', 5);
INSERT INTO t_full VALUES (1, 'x', NULL), (1, 'x', NULL), (2, NULL, '{"a": 1}'),
    (NULL, NULL, NULL), (3, 'y', '[1]'), (5, 'd', NULL), (5, 'd', NULL);
-- > 8 kB each, stored out of line (STORAGE EXTERNAL: not compressed)
INSERT INTO t_toast SELECT i, (SELECT string_agg(md5(i::text || j::text), '') FROM generate_series(1, 400) j), i
    FROM generate_series(1, 3) i;
COMMIT;
-- t_pk: 3 updates, and one changing the primary key
UPDATE t_pk SET v = 'changed' WHERE id IN (1, 2, 3);
UPDATE t_pk SET id = 100 WHERE id = 4;
-- t_comp: 2 updates, one changing part of the composite key
UPDATE t_comp SET v = v + 1 WHERE a = 1;
UPDATE t_comp SET b = 'zz' WHERE a = 2 AND b = 'b';
-- t_toast: 3 updates not touching the TOASTed column, 1 touching it
UPDATE t_toast SET small = small + 10;
UPDATE t_toast SET big = big || 'x' WHERE id = 2;
-- deletes: 2 + 1 + 1
DELETE FROM t_pk WHERE id IN (5, 6);
DELETE FROM t_comp WHERE a = 3;
DELETE FROM t_toast WHERE id = 3;
-- t_full: the 2 identical rows both updated (2 messages, identical old
-- rows: each must change one row), the all-NULL row, a json row deleted,
-- and one of 2 identical rows deleted (the target must keep the other)
UPDATE t_full SET b = 'X' WHERE a = 1;
UPDATE t_full SET a = 9 WHERE a IS NULL AND b IS NULL;
DELETE FROM t_full WHERE a = 2;
DELETE FROM t_full WHERE ctid = (SELECT ctid FROM t_full WHERE a = 5 LIMIT 1);
-- TRUNCATE, then a new column (the Relation is sent again: INSERT's
-- prepared statement must be replaced), then inserts
TRUNCATE t_comp;
ALTER TABLE t_comp ADD COLUMN note text;
INSERT INTO t_comp VALUES (7, 'p', 1, 'n1'), (7, 'q', 2, NULL), (8, 'p', NULL, 'n3');
-- one transaction of 100,000 inserts
INSERT INTO t_pk SELECT i, 'bulk', i FROM generate_series(1000, 100999) i;
SQL

# the target's schema follows by hand (DDL is not replicated)
psql_tgt "$DB" -c "ALTER TABLE t_comp ADD COLUMN note text" >/dev/null
run_driver run1 || fail "the driver exited $?: $(tail -n 5 "$TEST_TMP/run1.log")"
pass "driver applied the changes"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to source"
expect_line run1 "counts public.t_pk 100010 4 2 0"
expect_line run1 "counts public.t_comp 8 3 1 1"
expect_line run1 "counts public.t_full 7 3 2 0"
expect_line run1 "counts public.t_toast 3 4 1 0"
# transactions: 1 (inserts) + 2 + 2 + 2 (updates) + 3 (deletes) + 4 (full)
# + 1 (TRUNCATE) + 1 (inserts) + 1 (100,000 inserts)
expect_line run1 "totals 100028 14 6 1 17 0"
# the 3 updates of t_toast.small: the big value was not sent, and kept
expect_line run1 "unchanged_toast 3"
pass "counters: 100028 inserts, 14 updates, 6 deletes, 1 truncate in 17 transactions"
[[ $(psql_tgt "$DB" -c "SELECT count(*) FROM t_full WHERE a = 5") == 1 ]] ||
    fail "deleting one of two identical rows must leave the other"
pass "full identity changes one of identical rows, not all"

# --- 2. exactly once across a crash ---------------------------------------
# make_round BASE: 10 transactions, each 2 inserts, 1 update, 1 delete
make_round()
{
    local base=$1 i sql=$SYNC
    for i in $(seq 1 10); do
        sql+="BEGIN;
INSERT INTO t_pk VALUES ($((base + i)), 'round', $i);
INSERT INTO t_full VALUES ($((base + i)), NULL, NULL);
UPDATE t_pk SET n = n + 1 WHERE id = 1;
DELETE FROM t_pk WHERE id = $((base / 100 + i));
COMMIT;
"
    done
    psql_src "$DB" <<<"$sql" || fail "could not make round $base"
}

# 2a. crash after 4 commits; the rerun does not advance the slot, so the 4
# committed transactions come again and apply itself must skip them
make_round 200000
rc=0
run_driver crash1 PGCONVOY_APPLY_CRASH_AFTER=4 || rc=$?
((rc == 3)) || fail "the crashing driver should exit 3, it exited $rc: $(tail -n 5 "$TEST_TMP/crash1.log")"
got=$(psql_tgt "$DB" -c "SELECT count(*) FROM t_pk WHERE id > 200000 AND id <= 200010")
[[ $got == 4 ]] || fail "after a crash after 4 commits the target holds $got of the round's rows"
pass "crashed after 4 of 10 transactions, 4 on the target"
run_driver rerun1 PGCONVOY_APPLY_NO_ADVANCE=1 ||
    fail "the rerun exited $?: $(tail -n 5 "$TEST_TMP/rerun1.log")"
# 6 transactions left: 12 inserts, 6 updates, 6 deletes; 4 skipped
expect_line rerun1 "totals 12 6 6 0 6 4"
compare_db "$DB" "$DB" || fail "the target differs from the source after the rerun"
pass "rerun applied 6, skipped the 4 already committed: 4 + 6 = 10, target identical"

# 2b. crash after 7; the rerun advances the slot to the origin's progress
make_round 300000
rc=0
run_driver crash2 PGCONVOY_APPLY_CRASH_AFTER=7 || rc=$?
((rc == 3)) || fail "the crashing driver should exit 3, it exited $rc: $(tail -n 5 "$TEST_TMP/crash2.log")"
got=$(psql_tgt "$DB" -c "SELECT count(*) FROM t_pk WHERE id > 300000 AND id <= 300010")
[[ $got == 7 ]] || fail "after a crash after 7 commits the target holds $got of the round's rows"
run_driver rerun2 || fail "the rerun exited $?: $(tail -n 5 "$TEST_TMP/rerun2.log")"
expect_line rerun2 "totals 6 3 3 0 3 0"
compare_db "$DB" "$DB" || fail "the target differs from the source after the second rerun"
pass "slot advanced to the origin: rerun applied only the last 3 of 10, target identical"

# nothing new: a rerun is a no-op
run_driver noop || fail "the no-op rerun exited $?: $(tail -n 5 "$TEST_TMP/noop.log")"
expect_line noop "totals 0 0 0 0 0 0"
pass "a rerun with nothing new applies nothing"

# --- 3. a diverged target -------------------------------------------------
origin_before=$(psql_tgt "$DB" -c "SELECT pg_replication_origin_progress('$ORIGIN', true)")
psql_tgt "$DB" -c "DELETE FROM t_pk WHERE id = 7" >/dev/null
psql_src "$DB" <<<"$SYNC UPDATE t_pk SET v = 'diverge' WHERE id = 7" >/dev/null
rc=0
run_driver diverged || rc=$?
((rc == 1)) || fail "an UPDATE matching no row should fail the driver, it exited $rc"
grep -Eq '^table=public\.t_pk lsn=[0-9A-F]+/[0-9A-F]{8} cannot apply UPDATE: no row on the target matches' "$TEST_TMP/diverged.log" ||
    fail "the error should name the table and LSN: $(cat "$TEST_TMP/diverged.log")"
origin_after=$(psql_tgt "$DB" -c "SELECT pg_replication_origin_progress('$ORIGIN', true)")
[[ $origin_before == "$origin_after" ]] || fail "the failed transaction moved the origin ($origin_before -> $origin_after)"
pass "UPDATE of a missing row: $(grep -o '^table=[^ ]* lsn=[^ ]*' "$TEST_TMP/diverged.log"), origin unchanged"
psql_tgt "$DB" -c "INSERT INTO t_pk VALUES (7, 'v7', 7)" >/dev/null
run_driver repaired || fail "the driver exited $? after the repair: $(tail -n 5 "$TEST_TMP/repaired.log")"
expect_line repaired "totals 0 1 0 0 1 0"
compare_db "$DB" "$DB" || fail "the target differs from the source after the repair"
pass "once repaired, the same transaction applies"

# --- 4. batches, their commits in flight ----------------------------------
# 10 transactions in batches of 3: [1-3] [4-6] [7-9] [10]. The 8th deletes
# a row the target no longer has: batch [7-9] fails while [4-6]'s COMMIT
# may still be unanswered, and must be kept. PostgreSQL sees no error in a
# DELETE that matches nothing, and [7-9]'s COMMIT goes out before that
# DELETE's result is back: the server must refuse it. Twice: with the
# server's row count check, and without it (track_counts off: apply then
# waits for every result before a COMMIT).
# batch_round BASE MODE [TGT_OPTIONS]
batch_round()
{
    local base=$1 mode=$2 victim=$(($1 / 100 + 8)) got counts
    TGT_OPTIONS=${3:-}
    psql_tgt "$DB" -c "DELETE FROM pgconvoy.cdc_counts" >/dev/null 2>&1 || true
    psql_tgt "$DB" -c "DELETE FROM t_pk WHERE id = $victim" >/dev/null
    make_round "$base"
    rc=0
    run_driver "batch_fail_$mode" PGCONVOY_APPLY_BATCH=3 || rc=$?
    ((rc == 1)) || fail "$mode: a DELETE matching no row should fail the batching driver, it exited $rc: $(tail -n 5 "$TEST_TMP/batch_fail_$mode.log")"
    grep -Eq '^table=public\.t_pk lsn=[0-9A-F]+/[0-9A-F]{8} cannot apply DELETE: no row on the target matches' "$TEST_TMP/batch_fail_$mode.log" ||
        fail "$mode: the error should name the table and LSN: $(cat "$TEST_TMP/batch_fail_$mode.log")"
    got=$(psql_tgt "$DB" -c "SELECT string_agg((id - $base)::text, ',' ORDER BY id) FROM t_pk WHERE id > $base AND id <= $base + 10")
    [[ $got == 1,2,3,4,5,6 ]] || fail "$mode: after a failure in the third batch the target should hold transactions 1-6, it holds: $got"
    expect_line "batch_fail_$mode" "totals 12 6 6 0 6 0"
    counts=$(psql_tgt "$DB" -c "SELECT string_agg(format('%s %s %s %s', table_name, inserts, updates, deletes), ',' ORDER BY table_name)
                                FROM pgconvoy.cdc_counts WHERE origin = '$ORIGIN'")
    [[ $counts == "t_full 6 0 0,t_pk 6 6 6" ]] || fail "$mode: pgconvoy.cdc_counts after the failure: $counts, expected the first 6 transactions"
    pass "$mode: failure in batch 3: batches 1 and 2 committed (rows, counters), batch 3 rolled back"
    psql_tgt "$DB" -c "INSERT INTO t_pk VALUES ($victim, 'repaired', 0)" >/dev/null
    run_driver "batch_rerun_$mode" PGCONVOY_APPLY_BATCH=3 || fail "$mode: the batching rerun exited $?: $(tail -n 5 "$TEST_TMP/batch_rerun_$mode.log")"
    expect_line "batch_rerun_$mode" "totals 8 4 4 0 4 0"
    compare_db "$DB" "$DB" || fail "$mode: the target differs from the source after the batching rerun"
    counts=$(psql_tgt "$DB" -c "SELECT string_agg(format('%s %s %s %s', table_name, inserts, updates, deletes), ',' ORDER BY table_name)
                                FROM pgconvoy.cdc_counts WHERE origin = '$ORIGIN'")
    [[ $counts == "t_full 10 0 0,t_pk 10 10 10" ]] || fail "$mode: pgconvoy.cdc_counts after the rerun: $counts, expected 10 transactions"
    pass "$mode: the rerun applied transactions 7-10 once: target identical, counters exact"
    TGT_OPTIONS=
}
batch_round 400000 server-check
batch_round 500000 wait-for-results "options='-c track_counts=off'"

# --- 5. grouping ------------------------------------------------------------
GSCHEMA="
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE g_acc (id integer PRIMARY KEY, bal integer NOT NULL, note text);
CREATE TABLE g_hot (id integer PRIMARY KEY, n integer NOT NULL);
CREATE TABLE g_hist (a integer, b text);
CREATE TABLE g_comp (a integer, b text, v integer, PRIMARY KEY (a, b));
CREATE TABLE g_typed (id integer PRIMARY KEY, m mood);
CREATE TABLE g_uniq (id integer PRIMARY KEY, code text UNIQUE, n integer);
CREATE TABLE g_ident (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text,
                      serialno bigint GENERATED ALWAYS AS IDENTITY);
"
psql_src "$DB" <<<"$GSCHEMA" >/dev/null || fail "could not create the grouping tables on the source"
psql_tgt "$DB" <<<"$GSCHEMA" >/dev/null || fail "could not create the grouping tables on the target"
# partitioned on the target only: its rows, and their counts, are in the
# partitions
psql_src "$DB" -c "CREATE TABLE g_part (id integer PRIMARY KEY, v integer)" >/dev/null
psql_tgt "$DB" <<'SQL' >/dev/null || fail "could not create the partitioned table on the target"
CREATE TABLE g_part (id integer PRIMARY KEY, v integer) PARTITION BY RANGE (id);
CREATE TABLE g_part_1 PARTITION OF g_part FOR VALUES FROM (MINVALUE) TO (50);
CREATE TABLE g_part_2 PARTITION OF g_part FOR VALUES FROM (50) TO (MAXVALUE);
SQL
sql="$SYNC
INSERT INTO g_acc SELECT g, g, 'n' || g FROM generate_series(1, 200) g;
INSERT INTO g_hot SELECT g, 0 FROM generate_series(1, 5) g;
INSERT INTO g_comp SELECT g, b, g FROM generate_series(1, 10) g, (VALUES ('x'), ('y')) v (b);
INSERT INTO g_typed SELECT g, 'ok' FROM generate_series(1, 10) g;
INSERT INTO g_uniq SELECT g, 'c' || g, 0 FROM generate_series(1, 50) g;
INSERT INTO g_part SELECT g, 0 FROM generate_series(1, 100) g;
UPDATE g_part SET v = v + 1;
DELETE FROM g_part WHERE id % 10 = 0;
INSERT INTO g_ident (v) SELECT 'v' || g FROM generate_series(1, 100) g;
UPDATE g_ident SET v = v || '!' WHERE id <= 50;
DELETE FROM g_ident WHERE id > 90;
"
# pgbench-like: one account (never the same twice), a hot row (5 of them),
# a history row, a row whose type is not built in, a row of a table with a
# second unique index
for i in $(seq 1 100); do
    sql+="BEGIN;
UPDATE g_acc SET bal = bal + $i WHERE id = ($i * 37) % 200 + 1;
UPDATE g_hot SET n = n + $i WHERE id = $i % 5 + 1;
INSERT INTO g_hist VALUES ($i, 'h$i');
UPDATE g_typed SET m = (ARRAY['sad', 'ok', 'happy'])[$i % 3 + 1]::mood WHERE id = $i % 10 + 1;
UPDATE g_uniq SET n = n + 1 WHERE id = ($i * 7) % 50 + 1;
COMMIT;
"
done
sql+="BEGIN;
INSERT INTO g_acc SELECT g, 0, 'new' FROM generate_series(1001, 1100) g;
DELETE FROM g_acc WHERE id BETWEEN 1001 AND 1050;
INSERT INTO g_acc VALUES (1001, 7, 'again');
UPDATE g_acc SET note = 'upd' WHERE id BETWEEN 1051 AND 1100;
UPDATE g_comp SET b = 'z' WHERE a = 3 AND b = 'x';
UPDATE g_comp SET v = v + 1 WHERE a <= 5;
DELETE FROM g_comp WHERE a = 10;
COMMIT;
DO \$\$ BEGIN FOR j IN 1 .. 20 LOOP UPDATE g_hot SET n = n + 1; END LOOP; END \$\$;
"
psql_src "$DB" <<<"$sql" >/dev/null || fail "could not make the grouping changes"
run_driver group PGCONVOY_APPLY_BATCH=50 || fail "the grouping driver exited $?: $(tail -n 5 "$TEST_TMP/group.log")"
# sequences are the cutover's to copy, not apply's
for seq in g_ident_id_seq g_ident_serialno_seq; do
    psql_tgt "$DB" -c "SELECT setval('$seq', $(psql_src "$DB" -c "SELECT last_value FROM $seq"))" >/dev/null
done
compare_db "$DB" "$DB" || fail "the target differs from the source after grouped changes"
# inserts 485 + 100 + 101, updates 550 + 61 + 100, deletes 20 + 50 + 2,
# in 11 + 100 + 1 + 1 transactions
expect_line group "totals 686 711 72 0 113 0"
expect_line group "counts public.g_ident 100 50 10 0"
expect_line group "counts public.g_part 100 100 10 0"
expect_line group "counts public.g_acc 301 150 50 0"
expect_line group "counts public.g_comp 20 11 2 0"
expect_line group "counts public.g_hot 5 200 0 0"
expect_line group "counts public.g_typed 10 100 0 0"
expect_line group "counts public.g_uniq 50 100 0 0"
expect_line group "grouping 1"
# statements of several rows: inserts everywhere; updates and deletes by
# key, but not where a type is not built in, nor where a second unique
# index could see rows change in another order
for kind in 'INSERT INTO "public"."g_acc"' 'UPDATE "public"."g_acc"' 'DELETE FROM "public"."g_acc"' \
    'UPDATE "public"."g_hot"' 'INSERT INTO "public"."g_hist"' 'UPDATE "public"."g_comp"' \
    'DELETE FROM "public"."g_comp"' 'INSERT INTO "public"."g_typed"' 'UPDATE "public"."g_part"' \
    'INSERT INTO "public"."g_ident"' 'UPDATE "public"."g_ident"' 'DELETE FROM "public"."g_ident"'; do
    expect_line group "grouped $kind"
done
for kind in 'UPDATE "public"."g_typed"' 'UPDATE "public"."g_uniq"'; do
    ! grep -qxF "grouped $kind" "$TEST_TMP/group.out" || fail "$kind should not be grouped"
done
grouped=$(sed -n 's/^grouped_statements //p' "$TEST_TMP/group.out")
pass "grouped: target identical, 686 inserts, 711 updates, 72 deletes counted once, in $grouped statements of several rows"

# a row missing inside a grouped UPDATE: the statement changes one row
# fewer than it should, so the server's check refuses the COMMIT
origin_before=$(psql_tgt "$DB" -c "SELECT pg_replication_origin_progress('$ORIGIN', true)")
psql_tgt "$DB" -c "DELETE FROM g_acc WHERE id = 150" >/dev/null
acc_sum="SELECT md5(string_agg(id || ':' || bal, ',' ORDER BY id)) FROM g_acc"
acc_before=$(psql_tgt "$DB" -c "$acc_sum")
psql_src "$DB" <<<"$SYNC UPDATE g_acc SET bal = bal + 1 WHERE id BETWEEN 101 AND 200" >/dev/null
rc=0
run_driver group_diverged PGCONVOY_APPLY_BATCH=50 || rc=$?
((rc == 1)) || fail "a grouped UPDATE missing a row should fail the driver, it exited $rc: $(tail -n 5 "$TEST_TMP/group_diverged.log")"
grep -Eq '^table=public\.g_acc lsn=[0-9A-F]+/[0-9A-F]{8} cannot apply UPDATE of [0-9]+ rows: ([0-9]+) on the target match their replica identity, expected [0-9]+ \(the target has diverged from the source\)$' "$TEST_TMP/group_diverged.log" ||
    fail "the error should name the table, LSN and rows: $(cat "$TEST_TMP/group_diverged.log")"
origin_after=$(psql_tgt "$DB" -c "SELECT pg_replication_origin_progress('$ORIGIN', true)")
[[ $origin_before == "$origin_after" ]] || fail "the failed grouped UPDATE moved the origin ($origin_before -> $origin_after)"
[[ $(psql_tgt "$DB" -c "$acc_sum") == "$acc_before" ]] || fail "the failed grouped UPDATE changed rows on the target"
pass "a missing row in a grouped UPDATE: $(grep -o 'cannot apply UPDATE of [0-9]* rows: [0-9]*' "$TEST_TMP/group_diverged.log"), nothing committed"
psql_tgt "$DB" -c "INSERT INTO g_acc SELECT 150, $(psql_src "$DB" -c "SELECT bal - 1 FROM g_acc WHERE id = 150"), 'n150'" >/dev/null
run_driver group_repaired PGCONVOY_APPLY_BATCH=50 || fail "the driver exited $? after the repair: $(tail -n 5 "$TEST_TMP/group_repaired.log")"
expect_line group_repaired "totals 0 100 0 0 1 0"
compare_db "$DB" "$DB" || fail "the target differs from the source after the repair"
pass "once repaired, the grouped UPDATE applies"

# a table's columns change while a change of it waits in the queue: that
# one goes out with the columns it was made with
psql_src "$DB" <<<"$SYNC INSERT INTO g_hist VALUES (5000, 'before')" >/dev/null
psql_tgt "$DB" -c "ALTER TABLE g_hist ADD COLUMN extra integer" >/dev/null
psql_src "$DB" <<<"$SYNC ALTER TABLE g_hist ADD COLUMN extra integer; INSERT INTO g_hist VALUES (5001, 'after', 7)" >/dev/null
run_driver relation_change PGCONVOY_APPLY_BATCH=50 || fail "the driver exited $? across a column added: $(tail -n 5 "$TEST_TMP/relation_change.log")"
expect_line relation_change "totals 2 0 0 0 2 0"
[[ $(psql_tgt "$DB" -c "SELECT string_agg(a || ':' || coalesce(extra::text, '-'), ',' ORDER BY a) FROM g_hist WHERE a >= 5000") == "5000:-,5001:7" ]] ||
    fail "the rows before and after the new column are not on the target as on the source"
pass "a column added between two queued changes of a table: each applied with its own columns"

# grouped statements of four tables with room for two prepared at a time:
# the least recently used table's are dropped, and prepared again
psql_src "$DB" <<SQL >/dev/null || fail "could not make the changes of four tables"
$SYNC
BEGIN;
INSERT INTO g_acc SELECT g, g, 'b' FROM generate_series(2001, 2100) g;
INSERT INTO g_hist SELECT g, 'b', 0 FROM generate_series(6001, 6050) g;
INSERT INTO g_comp SELECT g, 'b', g FROM generate_series(101, 120) g;
UPDATE g_acc SET bal = bal + 1 WHERE id BETWEEN 2001 AND 2100;
INSERT INTO g_uniq SELECT g, 'b' || g, 0 FROM generate_series(101, 120) g;
UPDATE g_comp SET v = v + 1 WHERE a BETWEEN 101 AND 120;
COMMIT;
SQL
run_driver group_evict PGCONVOY_APPLY_BATCH=50 PGCONVOY_APPLY_GROUP_STMTS=2 ||
    fail "the driver exited $? with room for 2 grouped statements: $(tail -n 5 "$TEST_TMP/group_evict.log")"
expect_line group_evict "totals 190 120 0 0 1 0"
n=$(sed -n 's/^grouped_statements //p' "$TEST_TMP/group_evict.out")
((n >= 1 && n <= 2)) || fail "with room for 2, $n grouped statements are prepared"
compare_db "$DB" "$DB" || fail "the target differs from the source after the grouped statements were evicted"
pass "room for 2 grouped statements: the least recently used dropped and prepared again, target identical"
# a trigger that fires for replicated rows could see the order: then no
# table's changes overtake another's, and none are grouped
psql_tgt "$DB" <<'SQL' >/dev/null || fail "could not create the audit trigger on the target"
CREATE TABLE g_audit (seq bigserial PRIMARY KEY, tbl text);
CREATE FUNCTION g_audit_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO g_audit (tbl) VALUES (TG_TABLE_NAME); RETURN NULL; END $$;
CREATE TRIGGER g_audit_t AFTER INSERT OR UPDATE ON g_hist FOR EACH ROW EXECUTE FUNCTION g_audit_f();
ALTER TABLE g_hist ENABLE ALWAYS TRIGGER g_audit_t;
CREATE TRIGGER g_audit_t AFTER INSERT OR UPDATE ON g_hot FOR EACH ROW EXECUTE FUNCTION g_audit_f();
ALTER TABLE g_hot ENABLE ALWAYS TRIGGER g_audit_t;
SQL
sql=$SYNC
for i in 1 2 3; do
    sql+="BEGIN;
INSERT INTO g_hist VALUES (1000 + $i, 'a');
UPDATE g_hot SET n = n + 1 WHERE id = 1;
INSERT INTO g_hist VALUES (2000 + $i, 'b');
UPDATE g_hot SET n = n + 1 WHERE id = 2;
COMMIT;
"
done
psql_src "$DB" <<<"$sql" >/dev/null || fail "could not make the ordered changes"
run_driver ordered PGCONVOY_APPLY_BATCH=50 || fail "the ordered driver exited $?: $(tail -n 5 "$TEST_TMP/ordered.log")"
expect_line ordered "grouping 0"
expect_line ordered "grouped_statements 0"
order=$(psql_tgt "$DB" -c "SELECT string_agg(tbl, ',' ORDER BY seq) FROM g_audit")
expected=$(printf 'g_hist,g_hot,%.0s' 1 2 3 4 5 6)
[[ $order == "${expected%,}" ]] || fail "with an ALWAYS trigger the target should see the source's order, it saw: $order"
psql_tgt "$DB" -c "DROP TABLE g_audit; DROP TRIGGER g_audit_t ON g_hist; DROP TRIGGER g_audit_t ON g_hot; DROP FUNCTION g_audit_f()" >/dev/null
compare_db "$DB" "$DB" || fail "the target differs from the source after ordered changes"
pass "with a trigger firing for replicated rows: source order kept across tables, nothing grouped"

# an identity column GENERATED ALWAYS cannot be set on the target: a value
# the source regenerated (SET ... = DEFAULT, the only way) must fail loudly
psql_src "$DB" <<<"$SYNC UPDATE g_ident SET serialno = DEFAULT WHERE id = 10" >/dev/null
rc=0
run_driver ident_default PGCONVOY_APPLY_BATCH=50 || rc=$?
((rc == 1)) || fail "a regenerated GENERATED ALWAYS value should fail the driver, it exited $rc"
grep -Eq '^table=public\.g_ident lsn=[0-9A-F]+/[0-9A-F]{8} cannot apply UPDATE: no row on the target matches' "$TEST_TMP/ident_default.log" ||
    fail "the error should name the table and LSN: $(cat "$TEST_TMP/ident_default.log")"
pass "identity columns GENERATED ALWAYS: inserted with their values, updated around, a regenerated one refused by name"

# --- 6. cleanup -------------------------------------------------------------
psql_tgt "$DB" -c "DROP SCHEMA pgconvoy CASCADE" >/dev/null
drop_cdc_objects "$DB" "$SLOT" "$PUB" "$ORIGIN"
pass "no slot, publication or origin left"

scenario_pass
