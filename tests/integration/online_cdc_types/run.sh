#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/online_cdc_types/run.sh
#     What change data capture must carry, each kind of change made on the
#     source only once the database is in CDC (CATCHING_UP or
#     READY_TO_COMPLETE: the full load is over, so every change travels
#     through the slot), with real daemons:
#       1. UPDATEs of rows whose TOASTed column (100 kB of md5s, stored out
#          of line) is not touched: pgoutput sends it as "unchanged" and the
#          target must keep the big value; one row's big value is replaced,
#          one TOASTed row deleted;
#       2. DELETEs;
#       3. TRUNCATE followed by INSERTs in the same transaction, and more
#          INSERTs in a later one;
#       4. ONE transaction inserting 1,000,000 rows: applied in one target
#          transaction (one xmin) with the agent's peak RSS (VmHWM) under
#          200 MB (the quarantine of a sanitizer build is capped for this);
#       5. a table with REPLICA IDENTITY FULL and no key, holding NULLs and
#          identical rows: UPDATEs and DELETEs of rows with NULLs, of the
#          all-NULL row, and of one of two identical rows (exactly one of
#          the two changes);
#       6. a composite primary key: UPDATEs of a non-key column, of one key
#          column, of the other, and DELETEs;
#       7. timestamptz and interval values updated while the source
#          database's time zone (ALTER DATABASE ... SET timezone) is not the
#          target's: --validate must not see a difference where there is
#          none (it hashed each row's text in each server's own time zone);
#       8. a key GENERATED ALWAYS AS IDENTITY (which a plain INSERT may not
#          give a value, nor an UPDATE set): inserts, updates, deletes, and
#          after the cutover the target's own next insert takes the next
#          value, the identity's sequence copied;
#       9. dates, intervals and floats inserted and updated while the
#          source database sets DateStyle 'SQL, DMY', IntervalStyle
#          'sql_standard' and extra_float_digits -3, and the target's
#          DateStyle 'German': pgoutput writes values as text in its
#          session's style, so each side's session must pin its own (a
#          date 2024-04-03 once arrived as 2024-03-04);
#      10. an inheritance child with a column of its own, whose parent got
#          a column after it: (id, a, own, b) on the source, and pg_dump
#          makes it (id, a, b, own) on the target; changes apply by name,
#          and --validate compares by name (it compared by position and
#          failed the cutover of identical tables);
#      11. a partition created during CDC, on the source and on the target:
#          its rows arrive (the publication names the partitioned table,
#          so partitions to come are published too), a row moved into it
#          from an older partition as well;
#      12. large objects, which logical decoding does not carry: one
#          rewritten, one unlinked and one made (of 3 chunks, owned by
#          another role, with a GRANT) during CDC, one given to another
#          owner and one granted to a role, one left alone: after the
#          cutover the target's are the source's, content, owners and
#          privileges; the checks said how they travel;
#      12b. materialized views over a table changed during CDC, one
#          reading another, one reading it through a plain view (its
#          name sorts first, so only its dependency puts it after), and
#          one never populated: the first three hold what their queries
#          give at the cutover, the last stays unpopulated;
#      13. a column of every built-in base, range and multirange type and
#          an array of each (fixtures/basetypes.sql): every row inserted
#          again under another key and three updated during CDC, each
#          value through pgoutput's text; and the same rows in a table of
#          REPLICA IDENTITY FULL, three updated and one deleted, each
#          found by every column's old value (json, jsonpath, pg_snapshot,
#          refcursor and the geometric types and their arrays have no
#          equality, or one that is not identity: compared as text).
#     Then `task cutover --validate` succeeds, every table is identical
#     (compare_db: counts and checksums), the per-table CDC counters equal
#     what the writer did, and no slot, publication, origin or pgconvoy
#     schema is left.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=online_cdc_types_db
P=online_cdc_types_project
T=online_cdc_types_task
BIG_ROWS=1000000
MAX_HWM_KB=$((200 * 1024))

new_db "$DB"
# the target's database keeps the server's time zone, UTC; sessions of the
# agents on the source print timestamptz in New York time
psql_src postgres -c "ALTER DATABASE $DB SET timezone = 'America/New_York'" >/dev/null
psql_src postgres >/dev/null <<SQL
ALTER DATABASE $DB SET datestyle = 'SQL, DMY';
ALTER DATABASE $DB SET intervalstyle = 'sql_standard';
ALTER DATABASE $DB SET extra_float_digits = -3;
SQL
psql_tgt postgres -c "ALTER DATABASE $DB SET datestyle = 'German, DMY'" >/dev/null
load_fixture "$DB" basetypes src
psql_src "$DB" >/dev/null <<'SQL' || fail "could not make public.basetypes_full"
CREATE TABLE public.basetypes_full (LIKE public.basetypes);
ALTER TABLE public.basetypes_full REPLICA IDENTITY FULL;
INSERT INTO public.basetypes_full SELECT * FROM public.basetypes;
SQL
# 12. roles of the cluster, this scenario's own, made on both sides unless
# a run before this one made them
for side in src tgt; do
    psql_side "$side" postgres >/dev/null <<'SQL' || fail "could not create the roles on $side"
SELECT format('CREATE ROLE %I NOLOGIN', r) FROM unnest(ARRAY['oct_lo_owner', 'oct_lo_reader']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
SQL
done
psql_src "$DB" <<'SQL' >/dev/null
-- 100 kB of md5s per row: hex digits do not compress below the TOAST
-- threshold, so the value is stored out of line
CREATE TABLE public.toast_t (id integer PRIMARY KEY, big text NOT NULL, n integer NOT NULL DEFAULT 0);
INSERT INTO public.toast_t
SELECT i, (SELECT string_agg(md5(random()::text || i || g), '') FROM generate_series(1, 3200) g), 0
FROM generate_series(1, 20) i;

CREATE TABLE public.del_t (id integer PRIMARY KEY, v text NOT NULL);
INSERT INTO public.del_t SELECT i, 'row ' || i FROM generate_series(1, 1000) i;

CREATE TABLE public.trunc_t (id integer PRIMARY KEY, v text NOT NULL);
INSERT INTO public.trunc_t SELECT i, 'before ' || i FROM generate_series(1, 500) i;

CREATE TABLE public.big_t (id integer PRIMARY KEY, v integer NOT NULL);
INSERT INTO public.big_t VALUES (0, 0);

CREATE TABLE public.full_t (a integer, b text, c integer);
ALTER TABLE public.full_t REPLICA IDENTITY FULL;
INSERT INTO public.full_t VALUES
    (1, NULL, 10), (2, 'two', NULL), (NULL, NULL, NULL),
    (3, 'dup', 3), (3, 'dup', 3), (4, NULL, NULL), (4, NULL, NULL), (5, 'keep', 5);

CREATE TABLE public.comp_t (k1 integer, k2 text, v text, PRIMARY KEY (k1, k2));
INSERT INTO public.comp_t SELECT i / 10, 'k' || i % 10, 'v' || i FROM generate_series(0, 99) i;

CREATE TABLE public.ts_t (id integer PRIMARY KEY, at timestamptz NOT NULL, iv interval NOT NULL);
INSERT INTO public.ts_t
SELECT i, timestamptz '2024-03-10 06:00:00+00' + i * interval '17 minutes', i * interval '1 day 3 hours'
FROM generate_series(1, 100) i;

CREATE TABLE public.ident_t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text NOT NULL);
INSERT INTO public.ident_t (v) SELECT 'v' || i FROM generate_series(1, 10) i;

CREATE TABLE public.style_t (id integer PRIMARY KEY, d date, iv interval, f float8, ts timestamp);
INSERT INTO public.style_t
SELECT i, date '2024-01-02' + i, i * interval '-1 day -02:03:04', i / 7.0::float8,
       timestamp '2024-01-02 03:04:05.678901' + i * interval '1 day'
FROM generate_series(1, 10) i;

CREATE TABLE public.inh_parent (id integer PRIMARY KEY, a text);
CREATE TABLE public.inh_child (id integer PRIMARY KEY, own text) INHERITS (public.inh_parent);
ALTER TABLE public.inh_parent ADD COLUMN b text;
INSERT INTO public.inh_child VALUES (1, 'a1', 'own1', 'b1'), (2, 'a2', 'own2', 'b2');

CREATE TABLE public.part_t (id integer, k date, v text, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
CREATE TABLE public.part_t_2024 PARTITION OF public.part_t FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO public.part_t SELECT i, date '2024-01-01' + i, 'v' || i FROM generate_series(1, 100) i;

SELECT lo_from_bytea(7001, 'left alone'::bytea), lo_from_bytea(7002, 'to be rewritten'::bytea),
       lo_from_bytea(7003, 'to be unlinked'::bytea), lo_from_bytea(7005, 'to change owner'::bytea),
       lo_from_bytea(7006, 'to be granted'::bytea);

-- 12b. materialized views over del_t, one reading the other, and one
-- left unpopulated
CREATE MATERIALIZED VIEW public.mv_del AS SELECT count(*) AS n, sum(id) AS s FROM public.del_t;
CREATE MATERIALIZED VIEW public.mv_del_twice AS SELECT n * 2 AS n2 FROM public.mv_del;
CREATE VIEW public.v_del AS SELECT n FROM public.mv_del;
CREATE MATERIALIZED VIEW public.mv_a_thrice AS SELECT n * 3 AS n3 FROM public.v_del;
CREATE MATERIALIZED VIEW public.mv_never AS SELECT count(*) AS n FROM public.del_t WITH NO DATA;
ANALYZE;
SQL
toast_bytes=$(psql_src "$DB" -c "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'public.toast_t'::regclass")
big_len=$(psql_src "$DB" -c "SELECT min(octet_length(big)) FROM public.toast_t")
stored=$(psql_src "$DB" -c "SELECT min(pg_column_size(big)) FROM public.toast_t")
# stored over 8 kB: out of line in the TOAST relation (not inline, not
# compressed below the threshold)
((big_len >= 100000 && stored > 8192 && toast_bytes >= 20 * stored)) ||
    fail "public.toast_t is not TOASTed out of line: values of $big_len bytes stored in $stored, TOAST relation of $toast_bytes bytes"
pass "source: 15 tables; public.toast_t holds 20 values of $big_len bytes, stored out of line in $stored bytes each"

start_coordinator
# A sanitizer build keeps freed memory in quarantine (256 MB by default) and
# adds shadow memory: cap the quarantine so that the bound below still says
# whether the transaction was held in memory.
# (ldd into a variable: under pipefail, grep -q closing the pipe early
# would make ldd's SIGPIPE the pipeline's failure)
agent_libs=$(ldd "$(s_bin pgconvoy-agent)" 2>/dev/null || true)
if [[ $agent_libs == *libasan* ]]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
    note "sanitizer build: agent runs with ASAN_OPTIONS=$ASAN_OPTIONS"
fi
start_agent a1 --jobs 2
AGENT_PID=$(agent_pid a1)

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
create_project "$P"
create_online_task "$P" "$T" >"$TEST_TMP/task-create.out"

db_field()
{
    jq -r ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | .$1" "$TASK_JSON"
}

# the full load is over once the database is in CDC
deadline=$((SECONDS + 120))
while :; do
    task_show "$P" "$T" || fail "task show failed: $(cat "$TEST_TMP/task-$T.err")"
    state=$(db_field migrationState)
    [[ $state == CATCHING_UP || $state == READY_TO_COMPLETE ]] && break
    [[ $state == FAILED || $state == CANCELLED ]] &&
        fail "database $DB is $state: $(db_field errorMessage)"
    ((SECONDS < deadline)) || fail "database $DB not in CDC after 120 s: $state"
    sleep 0.3
done
slot=$(db_field slotName)
[[ $slot == pgconvoy_* ]] || fail "no slot name in the status: $slot"
# the full load copied the rows as they were, and nothing was changed yet
compare_db "$DB" "$DB" >"$TEST_TMP/compare-full-load.out" ||
    fail "full load differs before any change: $(cat "$TEST_TMP/compare-full-load.out")"
pass "full load done, database $state, slot $slot; source and target identical before the changes"
# 10. the case is there: the child's columns stand in another order
columns_sql="SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
             WHERE attrelid = 'public.inh_child'::regclass AND attnum > 0 AND NOT attisdropped"
order_src=$(psql_src "$DB" -c "$columns_sql")
order_tgt=$(psql_tgt "$DB" -c "$columns_sql")
[[ $order_src == id,a,own,b && $order_tgt == id,a,b,own ]] ||
    fail "public.inh_child's columns: source $order_src, target $order_tgt; expected id,a,own,b and id,a,b,own"
pass "public.inh_child: columns id,a,own,b on the source, id,a,b,own on the target"

# --- the changes, all during CDC -------------------------------------------
# 11. a partition made during CDC, on both sides, as a DBA would
for side in src tgt; do
    psql_side "$side" "$DB" -c "CREATE TABLE public.part_t_2025 PARTITION OF public.part_t
                                FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')" >/dev/null ||
        fail "could not create public.part_t_2025 on $side"
done
start=$SECONDS
psql_src "$DB" <<'SQL' >"$TEST_TMP/writer.out" 2>&1 || fail "the writer failed: $(cat "$TEST_TMP/writer.out")"
-- 4. one transaction of 1,000,000 inserts, first: its apply, the longest,
--    overlaps the rest of the writer
INSERT INTO public.big_t SELECT g, g FROM generate_series(1, 1000000) g;

-- 1. TOAST: 10 updates leaving big alone, 1 replacing it, 1 delete
UPDATE public.toast_t SET n = n + 1 WHERE id <= 10;
UPDATE public.toast_t SET big = repeat('replaced', 20000) WHERE id = 20;
DELETE FROM public.toast_t WHERE id = 19;

-- 2. deletes: 333 rows
DELETE FROM public.del_t WHERE id % 3 = 0;

-- 3. TRUNCATE then 10 inserts in one transaction, 5 more in a later one
BEGIN;
TRUNCATE public.trunc_t;
INSERT INTO public.trunc_t SELECT i, 'after ' || i FROM generate_series(1, 10) i;
COMMIT;
INSERT INTO public.trunc_t SELECT i, 'later ' || i FROM generate_series(11, 15) i;

-- 5. REPLICA IDENTITY FULL, NULLs and duplicates: 1 insert, 3 updates, 2 deletes
UPDATE public.full_t SET c = 11 WHERE a = 1;                       -- old row has a NULL
UPDATE public.full_t SET b = NULL, c = 2 WHERE a = 2;              -- old and new have NULLs
DELETE FROM public.full_t WHERE a IS NULL AND b IS NULL AND c IS NULL; -- all-NULL row
DELETE FROM public.full_t WHERE ctid = (SELECT ctid FROM public.full_t WHERE a = 3 LIMIT 1);
UPDATE public.full_t SET c = 44 WHERE ctid = (SELECT ctid FROM public.full_t WHERE a = 4 LIMIT 1);
INSERT INTO public.full_t VALUES (6, NULL, NULL);

-- 6. composite key: 1 insert, 21 updates, 10 deletes
UPDATE public.comp_t SET v = 'changed' WHERE k1 = 1;
UPDATE public.comp_t SET k2 = k2 || '-moved' WHERE k1 = 2;
UPDATE public.comp_t SET k1 = 100 WHERE k1 = 3 AND k2 = 'k0';
DELETE FROM public.comp_t WHERE k1 = 4;
INSERT INTO public.comp_t VALUES (200, 'x', 'new');

-- 7. timestamps and intervals: 10 updates
UPDATE public.ts_t SET at = at + interval '1 hour 1 second', iv = iv * 2 WHERE id <= 10;

-- 8. identity GENERATED ALWAYS: 5 inserts, 3 updates, 2 deletes
INSERT INTO public.ident_t (v) SELECT 'new ' || i FROM generate_series(1, 5) i;
UPDATE public.ident_t SET v = v || ' changed' WHERE id IN (2, 4, 12);
DELETE FROM public.ident_t WHERE id IN (3, 14);

-- 9. values whose text the session's style shapes: 2 inserts, 3 updates
INSERT INTO public.style_t VALUES
    (101, '2024-04-03', '-1 day -02:03:04', 0.1::float8 + 0.2::float8, '2024-04-03 01:02:03.456789'),
    (102, '1999-12-31', '1 year 2 mons -3 days 04:05:06.5', 1e-310, '1999-12-31 23:59:59.999999');
UPDATE public.style_t SET d = d + 30, iv = iv - interval '1 hour', f = f / 3 WHERE id <= 3;

-- 10. the inheritance child: 1 insert, 1 update
INSERT INTO public.inh_child VALUES (3, 'a3', 'own3', 'b3');
UPDATE public.inh_child SET b = 'b1 changed', own = 'own1 changed' WHERE id = 1;

-- 11. the partition made during CDC: 50 inserts, 10 updates, 5 deletes,
--     and a row moved into it from part_t_2024 (a delete there, an insert
--     here)
INSERT INTO public.part_t SELECT i, date '2025-01-01' + i, 'new ' || i FROM generate_series(1, 50) i;
UPDATE public.part_t SET v = v || ' changed' WHERE k >= '2025-01-01' AND id <= 10;
DELETE FROM public.part_t WHERE k >= '2025-01-01' AND id > 45;
UPDATE public.part_t SET k = '2025-06-01' WHERE id = 100;

-- 12. large objects: one rewritten (longer), one unlinked, one made
SELECT lo_put(7002, 0, 'REWRITTEN, and longer than before'::bytea);
SELECT lo_unlink(7003);
SELECT lo_from_bytea(7004, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 80000) g)::bytea);
ALTER LARGE OBJECT 7004 OWNER TO oct_lo_owner;
GRANT SELECT ON LARGE OBJECT 7004 TO oct_lo_reader;
ALTER LARGE OBJECT 7005 OWNER TO oct_lo_owner;
GRANT SELECT, UPDATE ON LARGE OBJECT 7006 TO oct_lo_reader WITH GRANT OPTION;

-- 13. every base type: 6 + 6 inserts (every row again, under a new key,
--     through temporary tables, which are not replicated), 3 updates (the
--     TOASTed values of row 2 left alone by one of them)
CREATE TEMP TABLE bt AS SELECT * FROM public.basetypes;
UPDATE bt SET id = id + 100;
INSERT INTO public.basetypes SELECT * FROM bt;
CREATE TEMP TABLE btr AS SELECT * FROM public.basetypes_ranges;
UPDATE btr SET id = id + 100;
INSERT INTO public.basetypes_ranges SELECT * FROM btr;
UPDATE public.basetypes SET c_bool = NOT coalesce(c_bool, false) WHERE id IN (1, 2, 3);
UPDATE public.basetypes_full SET c_bool = NOT coalesce(c_bool, false) WHERE id IN (1, 2, 3);
DELETE FROM public.basetypes_full WHERE id = 4;
SQL
# the writer's effects on the source, so a writer that did nothing fails here
[[ $(psql_src "$DB" -c "SELECT count(*) FROM public.full_t WHERE a = 3") == 1 &&
    $(psql_src "$DB" -c "SELECT count(*) FROM public.full_t WHERE a = 4 AND c = 44") == 1 &&
    $(psql_src "$DB" -c "SELECT count(*) FROM public.full_t WHERE a = 4 AND c IS NULL") == 1 &&
    $(psql_src "$DB" -c "SELECT count(*) FROM public.big_t") == $((BIG_ROWS + 1)) &&
    $(psql_src "$DB" -c "SELECT count(*) FROM public.part_t_2025") == 46 ]] ||
    fail "the writer's changes are not on the source as expected"
task_show "$P" "$T" || fail "task show failed"
state=$(db_field migrationState)
[[ $state == CATCHING_UP || $state == READY_TO_COMPLETE ]] ||
    fail "the database left CDC while the writer ran: $state"
pass "writer done in $((SECONDS - start)) s while the database was in CDC ($state)"

# --- cutover with validation -------------------------------------------------
start=$SECONDS
pgf task cutover --project-name "$P" -n "$T" --object-name "$DB" --validate >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "task cutover --validate exited $?: $(cat "$TEST_TMP/cutover.out")"
pass "cutover --validate in $((SECONDS - start)) s: $(grep -m 1 'cut over' "$TEST_TMP/cutover.out")"

# the agent's peak RSS, read while it still runs
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT_PID/status" 2>/dev/null || true)
[[ -n $hwm_kb ]] || fail "agent a1 (pid $AGENT_PID) is gone: cannot read its peak RSS"
note "agent a1 peak RSS (VmHWM): $((hwm_kb / 1024)) MB"
((hwm_kb <= MAX_HWM_KB)) ||
    fail "agent a1 peak RSS is $((hwm_kb / 1024)) MB, over $((MAX_HWM_KB / 1024)) MB: the 1,000,000-row transaction was held in memory"
pass "agent peak RSS $((hwm_kb / 1024)) MB <= $((MAX_HWM_KB / 1024)) MB through a $BIG_ROWS-row transaction"

wait_task "$P" "$T" 60 || fail "the task did not succeed after the cutover"
[[ $(db_field migrationState) == COMPLETED ]] || fail "database not COMPLETED: $(db_field migrationState)"

# --- identical ---------------------------------------------------------------
# 12b. nobody refreshed the source's views since the changes; the cutover
# refreshed the target's: refreshed here too, they must be equal
psql_src "$DB" >/dev/null <<'SQL' || fail "could not refresh the source's materialized views"
REFRESH MATERIALIZED VIEW public.mv_del;
REFRESH MATERIALIZED VIEW public.mv_del_twice;
REFRESH MATERIALIZED VIEW public.mv_a_thrice;
SQL
compare_db "$DB" "$DB" || fail "source and target differ after the cutover"
# the cases in detail, on the target, in one query: name<TAB>got<TAB>expected
src_toast_md5=$(psql_src "$DB" -c "SELECT md5(string_agg(id || ':' || md5(big), ',' ORDER BY id)) FROM public.toast_t")
psql_tgt "$DB" -F $'\t' >"$TEST_TMP/cases.out" <<SQL || fail "the checks on the target failed"
SELECT 'TOASTed values kept by the 10 updates that did not touch them',
       (SELECT count(*) FROM public.toast_t WHERE id <= 10 AND n = 1 AND octet_length(big) = $big_len)::text, '10'
UNION ALL
SELECT 'md5 of the TOASTed values (source $src_toast_md5)',
       (SELECT md5(string_agg(id || ':' || md5(big), ',' ORDER BY id)) FROM public.toast_t), '$src_toast_md5'
UNION ALL
SELECT 'rows of public.trunc_t after TRUNCATE + 15 inserts, rows from before it',
       (SELECT count(*) || ' ' || count(*) FILTER (WHERE v LIKE 'before%') FROM public.trunc_t), '15 0'
UNION ALL
SELECT 'identical rows (3,dup,3) left after deleting one of two',
       (SELECT count(*) FROM public.full_t WHERE (a, b, c) = (3, 'dup', 3))::text, '1'
UNION ALL
SELECT 'rows (4,NULL,NULL)/(4,NULL,44) after updating one of two identical',
       (SELECT count(*) FILTER (WHERE c IS NULL) || '/' || count(*) FILTER (WHERE c = 44)
        FROM public.full_t WHERE a = 4 AND b IS NULL), '1/1'
UNION ALL
SELECT 'rows (1,NULL,11) and (2,NULL,2) updated through their NULLs',
       (SELECT count(*) FROM public.full_t WHERE (a = 1 AND b IS NULL AND c = 11) OR (a = 2 AND b IS NULL AND c = 2))::text, '2'
UNION ALL
SELECT 'the all-NULL row, deleted',
       (SELECT count(*) FROM public.full_t WHERE a IS NULL AND b IS NULL AND c IS NULL)::text, '0'
UNION ALL
SELECT 'composite keys: k2 moved, k1 moved, k1 = 4 deleted',
       (SELECT count(*) FILTER (WHERE k1 = 2 AND k2 LIKE '%-moved') || ' '
               || count(*) FILTER (WHERE k1 = 100) || ' ' || count(*) FILTER (WHERE k1 = 4)
        FROM public.comp_t), '10 1 0'
UNION ALL
SELECT 'rows of public.big_t', (SELECT count(*) FROM public.big_t)::text, '$((BIG_ROWS + 1))'
UNION ALL
SELECT 'target transactions that wrote the $BIG_ROWS rows of one source transaction',
       (SELECT count(DISTINCT xmin::text) FROM public.big_t WHERE id > 0)::text, '1'
UNION ALL
SELECT 'rows of public.ident_t, of them changed',
       (SELECT count(*) || ' ' || count(*) FILTER (WHERE v LIKE '% changed') FROM public.ident_t), '13 3'
UNION ALL
SELECT 'date, interval and float inserted as 2024-04-03, -1 day -02:03:04, 0.1 + 0.2',
       (SELECT d || ' ' || iv || ' ' || (f = 0.1::float8 + 0.2::float8) FROM public.style_t WHERE id = 101),
       '2024-04-03 -1 days -02:03:04 true';
SQL
while IFS=$'\t' read -r what got want; do
    [[ $got == "$want" ]] || fail "target: $what: expected $want, got $got"
done <"$TEST_TMP/cases.out"
[[ $(grep -c . "$TEST_TMP/cases.out") == 12 ]] || fail "expected 12 checks on the target: $(cat "$TEST_TMP/cases.out")"
pass "every case checked on the target: TOAST kept, TRUNCATE+INSERT, NULLs and duplicates, composite keys, $BIG_ROWS rows, identity, styles"
# the application, moved to the target, inserts: the identity goes on
# where the source's was, so no key is taken twice
next_id=$(psql_tgt "$DB" -c "INSERT INTO public.ident_t (v) VALUES ('after the cutover') RETURNING id")
[[ $next_id == 16 ]] || fail "the target's next identity value is $next_id, expected 16 (the source had 15)"
psql_tgt "$DB" -c "DELETE FROM public.ident_t WHERE id = 16" >/dev/null
pass "after the cutover the target's own insert takes identity value 16, after the source's 15"

# 12. the large objects, content and all
lo_sql="SELECT string_agg(oid || ':' || md5(lo_get(oid)) || ':' || pg_get_userbyid(lomowner)
                          || ':' || coalesce(lomacl::text, '-'), ',' ORDER BY oid)
          FROM pg_largeobject_metadata"
lo_src=$(psql_src "$DB" -c "$lo_sql")
lo_tgt=$(psql_tgt "$DB" -c "$lo_sql")
[[ $lo_src == 7001:*,7002:*,7004:*:oct_lo_owner:*oct_lo_reader=r/oct_lo_owner*,7005:*:oct_lo_owner:-,7006:*oct_lo_reader=r*w*/* &&
    $lo_tgt == "$lo_src" ]] ||
    fail "large objects differ after the cutover:
source $lo_src
target $lo_tgt"
pass "large objects as on the source after the cutover, owners and privileges too: one rewritten, one unlinked, one of 2.5 MB made, one given away and one granted during CDC"
grep -q 'notice: source database "'"$DB"'": 5 large object(s): .*copied at the cutover' "$TEST_TMP/task-create.out" ||
    fail "task create did not say how the large objects travel: $(cat "$TEST_TMP/task-create.out")"
pass "task create said: $(grep -m 1 'large object' "$TEST_TMP/task-create.out")"

# 12b. the views hold what their queries give now
mv_tgt=$(psql_tgt "$DB" -c "SELECT (SELECT n || '/' || s FROM public.mv_del) || ' ' || (SELECT n2 FROM public.mv_del_twice)
                              || ' ' || (SELECT n3 FROM public.mv_a_thrice)
                              || ' ' || (SELECT relispopulated FROM pg_class WHERE oid = 'public.mv_never'::regclass)")
mv_want=$(psql_src "$DB" -c "SELECT count(*) || '/' || sum(id) || ' ' || count(*) * 2 || ' ' || count(*) * 3 || ' false'
                             FROM public.del_t")
[[ $mv_tgt == "$mv_want" && $mv_want == "667/"*" 1334 2001 false" ]] ||
    fail "materialized views on the target after the cutover: $mv_tgt, expected $mv_want"
grep -q 'materialized view(s): refreshed on the target .* again at the cutover' "$TEST_TMP/task-create.out" ||
    fail "task create did not say the materialized views are refreshed at the cutover: $(cat "$TEST_TMP/task-create.out")"
pass "materialized views refreshed at the cutover: $mv_tgt (count/sum, twice, thrice through a view, unpopulated one)"

# --- the counters: exactly what the writer did -------------------------------
# table inserts updates deletes
want_counts="public.basetypes 6 3 0
public.basetypes_full 0 3 1
public.basetypes_ranges 6 0 0
public.big_t $BIG_ROWS 0 0
public.comp_t 1 21 10
public.del_t 0 0 333
public.full_t 1 3 2
public.ident_t 5 3 2
public.inh_child 1 1 0
public.part_t_2024 0 0 1
public.part_t_2025 51 10 5
public.style_t 2 3 0
public.toast_t 0 11 1
public.trunc_t 15 0 0
public.ts_t 0 10 0"
got=$(jq -r '[.properties.output[] | select(.resultType == "TableLevelOutput")
              | select(.tableName as $n | ["public.big_t", "public.comp_t", "public.del_t",
                                          "public.full_t", "public.ident_t", "public.inh_child", "public.part_t_2024",
                                          "public.basetypes", "public.basetypes_full", "public.basetypes_ranges",
                                          "public.part_t_2025", "public.style_t", "public.toast_t", "public.trunc_t",
                                          "public.ts_t"] | index($n))
              | "\(.tableName) \(.cdcInsertCounter) \(.cdcUpdateCounter) \(.cdcDeleteCounter)"] | sort | .[]' "$TASK_JSON")
[[ $got == "$want_counts" ]] ||
    fail "CDC counters (table inserts updates deletes) differ from what the writer did:
expected:
$want_counts
got:
$got"
total=$(jq '[.properties.output[] | select(.resultType == "TableLevelOutput") | .totalChangesApplied] | add' "$TASK_JSON")
want_total=$((BIG_ROWS + 1 + 21 + 10 + 333 + 1 + 3 + 2 + 11 + 1 + 15 + 10 + 5 + 3 + 2 + 2 + 3 + 1 + 1 + 1 + 51 + 10 + 5 + 6 + 3 + 6 + 3 + 1))
[[ $total == "$want_total" ]] || fail "totalChangesApplied adds up to $total, expected $want_total"
[[ $(db_field appliedChanges) == "$want_total" ]] ||
    fail "appliedChanges is $(db_field appliedChanges), expected $want_total"
pass "CDC counters equal the writer's changes per table ($want_total changes in all)"
# 11. the partition made during CDC is a table of the task now
[[ $(jq -r '.properties.output[] | select(.resultType == "TableLevelOutput")
            | select(.tableName == "public.part_t_2025") | .state' "$TASK_JSON") == COMPLETED ]] ||
    fail "public.part_t_2025, made during CDC, is not a completed table of the task: $(jq -c '.properties.output[] | select(.tableName == "public.part_t_2025")' "$TASK_JSON")"
pass "public.part_t_2025, made during CDC, shows as a table of the task"

# --- nothing left --------------------------------------------------------------
assert_stream_gone "$DB" "$slot"
pass "no slot, publication, origin or pgconvoy schema left"
scenario_pass
