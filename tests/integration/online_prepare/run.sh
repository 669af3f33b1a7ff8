#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/online_prepare/run.sh
#     What the prepare checks of an OnlineMigration task find on the
#     source, each refusal exiting 2 with every problem named and nothing
#     written anywhere (no task kept, target untouched, no slot or
#     publication, no replica identity changed):
#       1. a table without a primary key, one with REPLICA IDENTITY NOTHING,
#          one whose primary key is DEFERRABLE (which the server cannot use
#          as replica identity: once published, the application's UPDATEs
#          and DELETEs of it would fail) and an unlogged one are named,
#          each with the fix to use;
#       2. a role that may neither replicate nor publish the tables (it
#          owns none of them) is named, with the tables; the same role on
#          the target, which may neither set session_replication_role nor
#          use replication origins, as the apply must, is named too;
#       3. a source server of its own with wal_level = replica and neither
#          replication slots nor WAL senders: all three settings named;
#          its lock table is sized for 320 locks (max_locks_per_transaction
#          10 for 32 processes), fewer than pg_dump takes at once for its
#          330 tables and ~150 catalogs: named with the setting that leaves
#          room; and an offline migration of 60 tables there, which take
#          more than half of the table with the catalogs, is told so and
#          goes on;
#       4. with --fix-replica-identity (and the unlogged table left out)
#          while another session locks public.quiet: refused after the lock
#          timeout, and public.history, altered first in the same
#          transaction, keeps its replica identity (all or none);
#       5. with --fix-replica-identity and no lock, the task is accepted,
#          the three tables have REPLICA IDENTITY FULL, and once their
#          publication exists an UPDATE and a DELETE of every table of the
#          source succeed (the task is then cancelled and deleted).

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=online_prepare_shop
PROJECT=online_prepare_project
WEAK=online_prepare_weak # a login role: SELECT only, no REPLICATION

new_db "$DB"
load_fixture "$DB" sample
psql_src "$DB" <<'SQL' >/dev/null
CREATE TABLE public.history (happened timestamptz NOT NULL, note text);
INSERT INTO public.history
SELECT now() - g * interval '1 minute', 'event ' || g FROM generate_series(1, 100) g;
CREATE TABLE public.quiet (id integer PRIMARY KEY, note text);
ALTER TABLE public.quiet REPLICA IDENTITY NOTHING;
CREATE UNLOGGED TABLE public.scratch (id integer PRIMARY KEY);
CREATE TABLE public.deferred (id integer PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, note text);
INSERT INTO public.deferred SELECT g, 'note ' || g FROM generate_series(1, 10) g;
SQL
psql_src postgres -c "DROP ROLE IF EXISTS $WEAK" >/dev/null
psql_src "$DB" <<SQL >/dev/null
CREATE ROLE $WEAK LOGIN;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO $WEAK;
SQL
# the tables' privileges name it: the target needs it too (the checks
# refuse a target without the roles the schema names)
psql_tgt postgres -v role="$WEAK" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL
pass "sample loaded into $DB, plus public.history (no primary key), public.quiet (REPLICA IDENTITY NOTHING), public.deferred (DEFERRABLE primary key), public.scratch (unlogged)"

start_coordinator
start_agent a1

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
create_project "$PROJECT"

# relreplident of public.deferred, public.history and public.quiet on the
# source
fixable_identities()
{
    psql_src "$DB" -c "SELECT string_agg(relreplident::text, ',' ORDER BY relname)
                       FROM pg_class WHERE oid IN ('public.deferred'::regclass, 'public.history'::regclass,
                                                   'public.quiet'::regclass)"
}

# online_create TASK [ARGS...]: task create of an OnlineMigration task of
# the seed files, with ARGS added (e.g. --source-connection-json other.json
# replaces the default); prints its output, returns its exit code.
online_create()
{
    local task=$1
    shift
    pgf task create --project-name "$PROJECT" -n "$task" --task-type OnlineMigration \
        --source-connection-json s.json --target-connection-json t.json \
        --database-options-json o.json "$@"
}

# assert_refused_cleanly TASK: the refused TASK was not kept, and nothing
# was written on either side.
assert_refused_cleanly()
{
    expect_fail 2 "$1" pgf task show --project-name "$PROJECT" -n "$1"
    assert_target_untouched "$DB"
    assert_no_leftovers "$DB"
    [[ $(fixable_identities) == d,d,n ]] ||
        fail "the replica identities of public.deferred,history,quiet were changed to $(fixable_identities) by a refused task"
}

# expect_line PATTERN: LAST_OUTPUT has a line matching PATTERN.
expect_line()
{
    grep -Eq -- "$1" <<<"$LAST_OUTPUT" ||
        fail "the output does not match /$1/:
$LAST_OUTPUT"
    pass "/$1/: $(grep -Em 1 -- "$1" <<<"$LAST_OUTPUT")"
}

# --- 1. a table without a primary key ----------------------------------------
expect_fail 2 "source database \"$DB\": table \"public\.history\" has no primary key and no replica identity: updates and deletes cannot be replicated \(add a primary key, or rerun with --fix-replica-identity" \
    online_create nokey
expect_line "source database \"$DB\": table \"public\.quiet\" has REPLICA IDENTITY NOTHING: updates and deletes cannot be replicated \(set REPLICA IDENTITY DEFAULT, or rerun with --fix-replica-identity"
expect_line "source database \"$DB\": table \"public\.deferred\" has a DEFERRABLE primary key, which PostgreSQL cannot use as its replica identity: updates and deletes cannot be replicated \(make the key NOT DEFERRABLE, .*or rerun with --fix-replica-identity"
expect_line "source database \"$DB\": table \"public\.scratch\" is unlogged: its changes are not written to the WAL"
# only those: the others have primary keys
[[ $(grep -c 'cannot be replicated' <<<"$LAST_OUTPUT") == 4 ]] ||
    fail "expected four tables named, deferred, history, quiet and scratch:
$LAST_OUTPUT"
assert_refused_cleanly nokey
pass "refused: public.history has no key, public.quiet no identity, public.deferred a deferrable key, public.scratch is unlogged; nothing written"

# the flag is for online tasks only: bad usage, refused before any check
expect_fail 2 'fix-replica-identity.*OnlineMigration' \
    pgf task create --project-name "$PROJECT" -n offline_fix --task-type OfflineMigration \
    --source-connection-json s.json --target-connection-json t.json \
    --database-options-json o.json --fix-replica-identity
assert_refused_cleanly offline_fix

# --- 2. a role that may neither replicate nor publish ------------------------
jq --arg u "$WEAK" '.userName = $u' s.json >s_weak.json
# every problem at once, even with the fix asked for: the fix needs owning
expect_fail 2 "user \"$WEAK\" cannot replicate" \
    online_create weak --source-connection-json s_weak.json --fix-replica-identity
expect_line "source database \"$DB\": user \"$WEAK\" cannot add 8 tables to a publication because it does not own them: .*\"public\.history\""
expect_line "source database \"$DB\": user \"$WEAK\" cannot create a publication, expected CREATE privilege"
assert_refused_cleanly weak
pass "refused: $WEAK cannot replicate, owns no table, cannot create a publication"

# a target role that may neither turn triggers and keys off for the apply
# nor record its progress in a replication origin: found now, not once the
# full load is over
jq --arg u "$WEAK" '.userName = $u' t.json >t_weak.json
expect_fail 2 "target database \"$DB\": role \"$WEAK\" may not set session_replication_role \(.*\), which applying the changes needs" \
    online_create weak_target --target-connection-json t_weak.json
expect_line "target database \"$DB\": role \"$WEAK\" may not run pg_replication_origin_create\(text\), .*pg_replication_origin_xact_setup\(pg_lsn, timestamp with time zone\), with which the changes applied are recorded"
assert_refused_cleanly weak_target
pass "refused: $WEAK on the target may not set session_replication_role nor use replication origins"

# --- 3. a source without logical replication ---------------------------------
# A cluster pair of its own (the shared source must keep wal_level =
# logical for the scenarios running beside this one); its target is unused.
PG2_DIR=$TEST_TMP/pg2
s_teardown_pg2()
{
    (cd / && bash "$PGCONVOY_LIB_DIR/clusters.sh" teardown "$PG2_DIR") >/dev/null 2>&1 || true
}
# s_on_exit reads the exit status from $?: keep it across the teardown,
# with -e and the ERR trap off (as s_on_exit itself turns them off)
trap 'PG2_RC=$?; trap - ERR; set +e; s_teardown_pg2; (exit "$PG2_RC"); s_on_exit' EXIT
# (from /: the servers run as postgres, which may not enter $TEST_TMP)
(cd / && bash "$PGCONVOY_LIB_DIR/clusters.sh" setup "$PG2_DIR") >/dev/null ||
    fail "could not start a second pair of clusters"
# shellcheck source=/dev/null
PG2_PORT=$(source "$PG2_DIR/env" && echo "$SRC_PORT")
# shellcheck source=/dev/null
PG2_DATA=$(source "$PG2_DIR/env" && echo "$SRC_DATA")
# shellcheck source=/dev/null
PG2_LOG=$(source "$PG2_DIR/env" && echo "$SRC_LOG")
psql2()
{
    "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -qAt -h 127.0.0.1 -p "$PG2_PORT" -U postgres "$@"
}
psql2 -d postgres <<'SQL' >/dev/null || fail "could not configure the second source"
ALTER SYSTEM SET wal_level = replica;
ALTER SYSTEM SET max_wal_senders = 0;
ALTER SYSTEM SET max_replication_slots = 0;
-- 10 x (20 connections + 3 autovacuum workers + 1 launcher + 8 workers)
ALTER SYSTEM SET max_locks_per_transaction = 10;
ALTER SYSTEM SET max_connections = 20;
SQL
(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG2_DATA" -l "$PG2_LOG" -w -t 30 -m fast restart) >/dev/null ||
    fail "could not restart the second source"
[[ $(psql2 -d postgres -c "SHOW max_locks_per_transaction") == 10 ]] ||
    fail "the second source did not take max_locks_per_transaction = 10"
# make_tables DB N: N tables (a few at a time: making them takes locks too)
make_tables()
{
    psql2 -d postgres -c "CREATE DATABASE $1" >/dev/null
    psql2 -d "$1" -c "CREATE TABLE public.keyed (id integer PRIMARY KEY)" >/dev/null
    psql2 -d "$1" -v n="$2" >/dev/null <<'SQL'
SELECT set_config('pgconvoy_test.n', :'n', false);
DO $$
BEGIN
    FOR i IN 2..current_setting('pgconvoy_test.n')::int LOOP
        EXECUTE format('CREATE TABLE public.%I (id integer PRIMARY KEY)', 't' || i);
        IF i % 50 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$$;
SQL
}
make_tables "$DB" 330
write_conn_json s_walless.json postgres "$PG2_PORT"
expect_fail 2 "source server 127\.0\.0\.1:$PG2_PORT: wal_level is \"replica\", expected \"logical\" \(set wal_level = logical and restart the server\)" \
    online_create walless --source-connection-json s_walless.json
expect_line "source server 127\.0\.0\.1:$PG2_PORT: no free replication slot: max_replication_slots is 0 and 0 slots exist"
expect_line "source server 127\.0\.0\.1:$PG2_PORT: no free WAL sender: max_wal_senders is 0 and 0 are running"
expect_line "source server 127\.0\.0\.1:$PG2_PORT: pg_dump locks each of the 330 tables to migrate, and about 150 catalogs and indexes, in one transaction: more than the 320 locks its lock table is sized for \(max_locks_per_transaction 10 for each of 32 server processes\), .* expected max_locks_per_transaction of at least 30 \(set it and restart the server\), or fewer tables in each task \(--tables\)"
expect_fail 2 walless pgf task show --project-name "$PROJECT" -n walless
assert_target_untouched "$DB"
pass "refused: a source without logical replication, and too small a lock table for its tables"

# 60 tables and the catalogs take more than half of the lock table: told,
# and migrated
LOCKS_DB=online_prepare_locks
make_tables "$LOCKS_DB" 60
# shellcheck source=/dev/null
PG2_TGT_PORT=$(source "$PG2_DIR/env" && echo "$TGT_PORT")
"$PGBIN/psql" -X -qAt -h 127.0.0.1 -p "$PG2_TGT_PORT" -U postgres -d postgres \
    -c "CREATE DATABASE $LOCKS_DB" >/dev/null
pgconvoy_migrate --source "postgresql://postgres@127.0.0.1:$PG2_PORT/$LOCKS_DB" \
    --target "postgresql://postgres@127.0.0.1:$PG2_TGT_PORT/$LOCKS_DB" \
    >"$TEST_TMP/migrate-locks.out" 2>&1 ||
    fail "the migration of 60 tables exited $?: $(tail -n 20 "$TEST_TMP/migrate-locks.out")"
LAST_OUTPUT=$(cat "$TEST_TMP/migrate-locks.out")
expect_line "notice: source server 127\.0\.0\.1:$PG2_PORT: pg_dump locks each of the 60 tables to migrate, and about 150 catalogs and indexes, in one transaction: more than half of the 320 locks its lock table is sized for .*max_locks_per_transaction 14 or more leaves them half"
migrated=$("$PGBIN/psql" -X -qAt -h 127.0.0.1 -p "$PG2_TGT_PORT" -U postgres -d "$LOCKS_DB" \
    -c "SELECT count(*) FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary WHERE c.relnamespace = 'public'::regnamespace")
[[ $migrated == 60 ]] || fail "the target has $migrated of the 60 tables with their keys"
pass "told that 60 tables take more than half of the lock table, and migrated them"
s_teardown_pg2
trap s_on_exit EXIT

# every table but the unlogged one
jq -n --arg db "$DB" '[{name: $db, target_database_name: $db,
    selectedTables: ["public.customers", "public.products", "public.orders",
                     "public.order_items", "public.history", "public.quiet", "public.deferred"]}]' >o_logged.json

# --- 4. --fix-replica-identity, a table locked -------------------------------
# EXCLUSIVE: prepare's reads (ACCESS SHARE) pass, the ALTER waits. The
# tables are fixed largest first: history (100 rows), then quiet (empty).
LOCKER=online_prepare_locker
PGAPPNAME=$LOCKER psql_src "$DB" -c "BEGIN; LOCK TABLE public.quiet IN EXCLUSIVE MODE; SELECT pg_sleep(120)" \
    >/dev/null 2>&1 &
PGCONVOY_PIDS[locker]=$!
for _ in $(seq 1 100); do
    [[ $(psql_src "$DB" -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                            WHERE a.application_name = '$LOCKER' AND l.granted
                              AND l.relation = 'public.quiet'::regclass") == 1 ]] && break
    sleep 0.1
done
expect_fail 2 "source database \"$DB\": could not set REPLICA IDENTITY FULL on table \"public\.quiet\": canceling statement due to lock timeout" \
    online_create locked --database-options-json o_logged.json --fix-replica-identity
assert_refused_cleanly locked
psql_src postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                      WHERE application_name = '$LOCKER'" >/dev/null
wait "${PGCONVOY_PIDS[locker]}" 2>/dev/null || true
unset 'PGCONVOY_PIDS[locker]'
pass "refused: public.quiet locked; public.history not altered either"

# --- 5. --fix-replica-identity -----------------------------------------------
online_create fixed --database-options-json o_logged.json --fix-replica-identity ||
    fail "task create --fix-replica-identity exited $?"
[[ $(fixable_identities) == f,f,f ]] ||
    fail "public.deferred,history,quiet have replica identities $(fixable_identities), expected f,f,f (FULL)"
others=$(psql_src "$DB" -c "SELECT string_agg(relname || '=' || relreplident::text, ', ' ORDER BY relname)
                            FROM pg_class WHERE relnamespace = 'public'::regnamespace
                             AND relkind = 'r' AND relname NOT IN ('deferred', 'history', 'quiet')
                             AND relreplident <> 'd'")
[[ -z $others ]] || fail "tables with a primary key had their replica identity changed: $others"
pass "accepted with --fix-replica-identity: public.deferred, history and quiet have REPLICA IDENTITY FULL, the others kept theirs"

# The application must go on: once the tables are published, an UPDATE
# and a DELETE of every selected table (in a transaction rolled back, so
# that the data stay) must not fail for want of a replica identity.
for _ in $(seq 1 300); do
    [[ $(psql_src "$DB" -c "SELECT count(*) FROM pg_publication_tables WHERE tablename = 'deferred'") == 1 ]] && break
    sleep 0.1
done
[[ $(psql_src "$DB" -c "SELECT count(*) FROM pg_publication_tables WHERE tablename = 'deferred'") == 1 ]] ||
    fail "no publication of public.deferred after 30 s"
psql_src "$DB" >"$TEST_TMP/app-writes.out" 2>&1 <<'SQL' ||
BEGIN;
-- foreign keys would refuse the DELETEs; the replica identity check stays
SET LOCAL session_replication_role = replica;
DO $$
DECLARE
    t record;
    col text;
BEGIN
    FOR t IN SELECT schemaname, tablename FROM pg_publication_tables ORDER BY 1, 2 LOOP
        SELECT a.attname INTO col FROM pg_attribute a
         WHERE a.attrelid = format('%I.%I', t.schemaname, t.tablename)::regclass
           AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum LIMIT 1;
        EXECUTE format('UPDATE %I.%I SET %I = %I', t.schemaname, t.tablename, col, col);
        EXECUTE format('DELETE FROM %I.%I', t.schemaname, t.tablename);
    END LOOP;
END
$$;
ROLLBACK;
SQL
    fail "the source refused the application's UPDATE or DELETE of a published table: $(cat "$TEST_TMP/app-writes.out")"
pass "every published table of the source takes an UPDATE and a DELETE"

pgf task cancel --project-name "$PROJECT" -n fixed >/dev/null || fail "task cancel exited $?"
pgf task delete --project-name "$PROJECT" -n fixed >/dev/null || fail "task delete exited $?"
# an online task is Deleting until its cleanup has dropped its slot
for _ in $(seq 1 60); do
    pgf task show --project-name "$PROJECT" -n fixed >/dev/null 2>&1 || break
    sleep 1
done
expect_fail 2 fixed pgf task show --project-name "$PROJECT" -n fixed
pass "the task was cancelled and deleted"

psql_src "$DB" -c "DROP OWNED BY $WEAK; DROP ROLE $WEAK" >/dev/null
scenario_pass
