#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/many_tables/run.sh
#     A database of many small tables, as multi-tenant schemas and daily
#     partitions make them (MANY_TABLES, default 1,200, in three schemas,
#     one of them needing quotes; a parent table the others reference;
#     a table partitioned by day into 60 partitions), migrated:
#     1. offline with 'pgconvoy migrate --agents 2': identical data (row
#        counts and checksums by column name), the same indexes and
#        constraints on every table, and the status lists every table
#        COMPLETED with its row count. Small units were placed in batches,
#        and each agent kept its sessions (a handful opened, thousands of
#        units run); the tables were analyzed by their copies, those with
#        an index on an expression (a third) by ANALYZE units after their
#        builds;
#     2. online with daemons, under writes to random tables during the
#        full load and CDC, then a cutover asked for while a ticker
#        commits rows into tables all over the database: every tick
#        acknowledged before the cutover command is on the target, the
#        target holds exactly a prefix of the ticks, and once the source's
#        ticks past it are removed the databases are identical.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

N=${MANY_TABLES:-1200}
OFF=many_tables_off
ON=many_tables_on

# make_tables DB: the tables, their rows, and two functions the writers
# call (ticks go to tick ids from 10^9 on, so that they are told apart)
make_tables()
{
    psql_src "$1" -v n="$N" <<'SQL' >/dev/null
CREATE SCHEMA tenant_a;
CREATE SCHEMA tenant_b;
CREATE SCHEMA "Tenant C";
CREATE TABLE tenant_a.parents (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO tenant_a.parents SELECT g, 'p' || g FROM generate_series(1, 50) g;
CREATE SEQUENCE public.write_ids START 1000000;
CREATE TABLE public.ticks (id bigint PRIMARY KEY);
CREATE TABLE public.events (day date, id bigint, what text, PRIMARY KEY (day, id))
    PARTITION BY RANGE (day);
CREATE INDEX ON public.events (id);
CREATE TABLE public.many_config (n int PRIMARY KEY);
INSERT INTO public.many_config VALUES (:'n');
DO $$
DECLARE
    n int := (SELECT c.n FROM public.many_config c);
    s text;
    rows int;
BEGIN
    FOR i IN 1..n LOOP
        s := (ARRAY['tenant_a', 'tenant_b', 'Tenant C'])[1 + i % 3];
        -- mostly tiny, some empty, every 97th a little larger
        rows := CASE WHEN i % 97 = 0 THEN 3000 WHEN i % 13 = 0 THEN 0
                     ELSE i % 40 END;
        EXECUTE format('CREATE TABLE %I.%I (id bigint PRIMARY KEY, '
                       'parent int REFERENCES tenant_a.parents, v text, '
                       'n int NOT NULL DEFAULT 0, at timestamptz)',
                       s, 't' || i);
        -- tenant_b's on an expression, whose statistics ANALYZE gathers
        -- once the index is built: those tables are analyzed after their
        -- builds, the others with their copies
        EXECUTE format('CREATE INDEX ON %I.%I (n, %s)', s, 't' || i,
                       CASE WHEN s = 'tenant_b' THEN 'lower(v)' ELSE 'v' END);
        EXECUTE format('INSERT INTO %I.%I SELECT g, 1 + g %% 50, md5(g::text), '
                       'g %% 7, timestamptz ''2026-01-01'' + g * interval ''1 min'' '
                       'FROM generate_series(1, %s) g', s, 't' || i, rows);
        -- a transaction locks every table it makes: 10,000 at once
        -- outgrow the server's lock table (max_locks_per_transaction)
        IF i % 1000 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
    FOR d IN 0..59 LOOP
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.events '
                       'FOR VALUES FROM (%L) TO (%L)',
                       'events_' || to_char(date '2026-01-01' + d, 'YYYYMMDD'),
                       date '2026-01-01' + d, date '2026-01-01' + d + 1);
    END LOOP;
    INSERT INTO public.events
        SELECT date '2026-01-01' + g % 60, g, 'e' || g FROM generate_series(1, 6000) g;
END
$$;
-- a writer's transaction: changes in k random tables
CREATE FUNCTION public.many_write(k int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n int := (SELECT c.n FROM public.many_config c);
    i int;
    s text;
BEGIN
    FOR j IN 1..k LOOP
        i := 1 + floor(random() * n)::int;
        s := (ARRAY['tenant_a', 'tenant_b', 'Tenant C'])[1 + i % 3];
        EXECUTE format('INSERT INTO %I.%I (id, parent, v, n) VALUES '
                       '(nextval(''public.write_ids''), 1, ''w'', %s)', s, 't' || i, j);
        EXECUTE format('UPDATE %I.%I SET v = v || ''u'', n = n + 1 WHERE id = '
                       '(SELECT min(id) FROM %I.%I)', s, 't' || i, s, 't' || i);
        EXECUTE format('DELETE FROM %I.%I WHERE id = (SELECT max(id) FROM %I.%I '
                       'WHERE id < 1000000)', s, 't' || i, s, 't' || i);
    END LOOP;
END
$$;
-- a tick: one row in a table chosen by the tick, and in public.ticks
CREATE FUNCTION public.many_tick(t bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n int := (SELECT c.n FROM public.many_config c);
    i int := 1 + (t % n)::int;
    s text := (ARRAY['tenant_a', 'tenant_b', 'Tenant C'])[1 + i % 3];
BEGIN
    EXECUTE format('INSERT INTO %I.%I (id, v) VALUES (%s, ''tick'')', s, 't' || i, t);
    INSERT INTO public.ticks VALUES (t);
    RETURN t;
END
$$;
SQL
}

count_indexes()
{
    psql_side "$1" "$2" -c "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname IN ('public', 'tenant_a', 'tenant_b', 'Tenant C')"
}

count_constraints()
{
    psql_side "$1" "$2" -c "SELECT count(*) FROM pg_constraint k JOIN pg_namespace s ON s.oid = k.connamespace
        WHERE s.nspname IN ('public', 'tenant_a', 'tenant_b', 'Tenant C')"
}

# --- 1. offline --------------------------------------------------------------
new_db "$OFF"
make_tables "$OFF"
tables=$(list_tables src "$OFF" | grep -c .)
((tables > N)) || fail "expected more than $N tables on the source, found $tables"
pass "source: $tables tables ($N small ones, a parent, 60 daily partitions and their parent, ticks)"

# The target refuses the first index build it sees run in a group (a
# transaction that records more than one build), as a DBA's event trigger
# or a lock timeout might: the group is undone and its units run again
# one by one, and the migration still ends identical.
psql_tgt "$OFF" <<'SQL' >/dev/null
CREATE SCHEMA test_hooks;
CREATE SEQUENCE test_hooks.refusals;
CREATE FUNCTION test_hooks.refuse_first_group() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_query() ~ '(INSERT INTO pgconvoy\.step_done.*){2}'
       AND nextval('test_hooks.refusals') = 1 THEN
        RAISE EXCEPTION 'test: the first group of index builds is refused';
    END IF;
END
$$;
CREATE EVENT TRIGGER refuse_first_group ON ddl_command_end
    WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION test_hooks.refuse_first_group();
SQL

pgconvoy_migrate --source "$(src_uri "$OFF")" --target "$(tgt_uri "$OFF")" --agents 2 \
    >"$TEST_TMP/migrate-off.out" 2>&1 || fail "pgconvoy migrate exited $?: $(tail -n 20 "$TEST_TMP/migrate-off.out")"
compare_db "$OFF" "$OFF" || fail "the offline migration of $tables tables differs"
for what in indexes constraints; do
    s=$("count_$what" src "$OFF")
    t=$("count_$what" tgt "$OFF")
    [[ $s == "$t" ]] || fail "$what: $s on the source, $t on the target"
done
pass "offline: every table identical, $(count_indexes tgt "$OFF") indexes and $(count_constraints tgt "$OFF") constraints on both sides"
left=$(not_analyzed "$OFF" test_hooks)
[[ -z $left ]] || fail "tables not analyzed on the target: $(grep -c . <<<"$left"), the first: $(head -n 3 <<<"$left")"
pass "offline: every table analyzed on the target"

state=$TEST_TMP/migrate-1
batches=$(grep -c 'the first of a batch' "$state/coordinator.log" || true)
placements=$(grep -c ' assigned' "$state/coordinator.log" || true)
((batches > 0)) || fail "no unit was placed in a batch"
# agents running short units were sent one more, to start when a slot
# freed (agent/backlog.h); the check below says none was placed twice
waited=$(grep -c 'to start there when a slot frees' "$state/coordinator.log" || true)
((waited > 0)) || fail "no placement waited on its agent for a slot"
((placements < tables)) ||
    fail "$placements placements for $tables tables: small units were not batched"
for log in "$state"/agent-*.log; do
    opened=$(sed -n 's/.*sessions_opened=\([0-9]*\).*/\1/p' "$log")
    reused=$(sed -n 's/.*sessions_reused=\([0-9]*\).*/\1/p' "$log")
    [[ -n $opened && -n $reused ]] || fail "$(basename "$log") does not say how many sessions it opened"
    ((opened <= 8 && reused > opened)) ||
        fail "$(basename "$log"): $opened sessions opened, $reused reused: sessions are not kept"
    note "$(basename "$log"): $opened sessions opened, reused $reused times"
done
# nothing went wrong: no unit was placed twice (a unit whose Assign is on
# its way, or whose Result is, is never taken for lost)
twice=$(sqlite3 "$state/pgconvoy.db" "SELECT count(*) FROM units WHERE attempts > 1")
[[ $twice == 0 ]] || fail "$twice units were placed more than once in a migration without faults"
pass "$placements placements ($batches of them batches, $waited waiting for a slot on their agent) for the units of $tables tables, none twice; sessions kept"

# its partitions are attached after they are made, and its tables have
# defaults: no load beside the schema, which is still made in chunks (a
# transaction for all of 10,000 tables outgrows the lock table)
grep -q 'the pre-data section changes tables after making them: its tables are loaded once it is whole' "$state"/agent-*.log ||
    fail "a schema that attaches partitions was not made before any load"
chunks=$(cat "$state"/agent-*.log | grep -c 'schema chunk [0-9]* of [0-9]* made, 0 tables in it' || true)
((chunks > 1)) || fail "a schema of $tables tables was made in $chunks chunk(s), not several"

# small tables' units ran in groups (a transaction or statement for many),
# and the refused group was run again one by one
for kind in COPY SCHEMA_POST ANALYZE; do
    n=$(cat "$state"/agent-*.log | grep -c "ran a group of [0-9]* UNIT_$kind units" || true)
    ((n > 0)) || fail "no $kind units ran as a group"
    note "$n groups of $kind units"
done
refused=$(cat "$state"/agent-*.log | grep -c 'UNIT_SCHEMA_POST units failed, running them one by one: .*the first group of index builds is refused' || true)
[[ $refused == 1 ]] || fail "expected the refused group to be run one by one once, the agents' logs say so $refused times"
groups=$(psql_tgt "$OFF" -c "SELECT last_value FROM test_hooks.refusals")
((groups > 1)) || fail "the target saw $groups groups of index builds, expected more than the refused one"
pass "units of small tables ran in groups; the refused group ran again one by one"
# every table analyzed once (not_analyzed above): by its copy (an ANALYZE
# unit recorded done, never placed), or, with an expression index, by an
# ANALYZE unit after its builds
analyzed=$(sqlite3 "$state/pgconvoy.db" "
    SELECT sum(u.assigned_at IS NULL AND t.schema_name <> 'tenant_b'),
           sum(u.assigned_at IS NOT NULL AND t.schema_name = 'tenant_b'),
           sum(t.schema_name <> 'tenant_b'), sum(t.schema_name = 'tenant_b')
      FROM tables_ t LEFT JOIN units u ON u.table_id = t.id AND u.kind = 7
                                      AND u.state = 'done'")
IFS='|' read -r by_copy by_unit others b_tables <<<"$analyzed"
((by_copy == others && by_unit == b_tables && b_tables > 0)) ||
    fail "expected the $others tables outside tenant_b analyzed by their copies and tenant_b's $b_tables by ANALYZE units, they were $by_copy and $by_unit"
pass "$by_copy tables analyzed by their copies, the $by_unit with an expression index by ANALYZE units after their builds"

# Migrated again into the target it filled: refused, every table that holds
# rows named (found by statements of 256 tables each, so several), nothing
# said of a table missing, and nothing changed
full=$(source_row_counts tgt "$OFF" | awk -F '\t' '$2 > 0' | grep -c .)
((full > 512)) || fail "expected more than 512 tables holding rows on the target, found $full"
expect_fail 2 "target database \"$OFF\": table \"tenant_a\.parents\" already holds rows, expected an empty table" \
    pgconvoy_migrate --source "$(src_uri "$OFF")" --target "$(tgt_uri "$OFF")"
named=$(grep -c 'already holds rows, expected an empty table' <<<"$LAST_OUTPUT" || true)
[[ $named == "$full" ]] || fail "the refusal named $named tables holding rows, the target has $full"
! grep -q 'tables but not' <<<"$LAST_OUTPUT" || fail "the refusal says a table is missing: $(grep -m 1 'tables but not' <<<"$LAST_OUTPUT")"
compare_db "$OFF" "$OFF" || fail "a refused migration changed the target"
pass "migrated again into its filled target: refused, the $full tables that hold rows named, the target unchanged"

# --- 2. online, under writes --------------------------------------------------
new_db "$ON"
make_tables "$ON"
start_coordinator
start_agent a1 --jobs 2
start_agent a2 --jobs 2

(
    while :; do
        psql_src "$ON" -c "SELECT public.many_write(10)" >/dev/null || exit 1
    done
) &
PGCONVOY_PIDS[writer]=$!

cd "$TEST_TMP" || fail "no TEST_TMP"
write_seed_files "$ON"
create_project many
create_online_task many online

db_field()
{
    jq -r ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | .$1" "$TASK_JSON"
}
deadline=$((SECONDS + 600))
until task_show many online && [[ $(db_field migrationState) == READY_TO_COMPLETE ]]; do
    state=$(db_field migrationState)
    [[ $state == FAILED || $state == CANCELLED ]] && fail "database $ON is $state: $(db_field error)"
    ((SECONDS < deadline)) || fail "database $ON not READY_TO_COMPLETE after 600 s (it is $state)"
    s_alive "${PGCONVOY_PIDS[writer]}" || fail "the writer stopped"
    sleep 1
done
# READY_TO_COMPLETE can come before the stream's first change: the
# writer keeps writing until CDC has applied some
deadline=$((SECONDS + 300))
until (($(db_field appliedChanges) > 0)); do
    ((SECONDS < deadline)) || fail "no change was applied 300 s into CDC: the test proves nothing"
    s_alive "${PGCONVOY_PIDS[writer]}" || fail "the writer stopped"
    sleep 1
    task_show many online || fail "task show failed"
done
pass "online: full load under writes, then CDC ($(db_field appliedChanges) changes applied)"

kill -TERM "${PGCONVOY_PIDS[writer]}" 2>/dev/null
wait "${PGCONVOY_PIDS[writer]}" 2>/dev/null || true
unset 'PGCONVOY_PIDS[writer]'
(
    # one session in a row, so that the target can only hold a prefix
    t=1000000000
    while :; do
        t=$((t + 1))
        psql_src "$ON" -c "SELECT public.many_tick($t)" >>"$TEST_TMP/ticks.acked" || exit 1
    done
) &
PGCONVOY_PIDS[ticker]=$!
sleep 1
acked_before=$(tail -n 1 "$TEST_TMP/ticks.acked")
[[ -n $acked_before ]] || fail "the ticker committed nothing"
pgf task cutover --project-name many -n online --object-name "$ON" \
    >"$TEST_TMP/cutover.out" 2>&1 || fail "task cutover exited $?: $(cat "$TEST_TMP/cutover.out")"
kill "${PGCONVOY_PIDS[ticker]}" 2>/dev/null
wait "${PGCONVOY_PIDS[ticker]}" 2>/dev/null || true
unset 'PGCONVOY_PIDS[ticker]'
wait_task many online 120 || fail "the online task did not succeed after the cutover"

read -r tgt_ticks tgt_max <<<"$(psql_tgt "$ON" -F ' ' -c "SELECT count(*), coalesce(max(id), 0) FROM public.ticks")"
((tgt_max >= acked_before)) || fail "tick $acked_before was acknowledged before the cutover, the target's last is $tgt_max"
((tgt_ticks == tgt_max - 1000000000)) ||
    fail "the target holds $tgt_ticks ticks up to $tgt_max: not a prefix"
# the source's ticks after the cutover's end are not the target's to have
psql_src "$ON" -v last="$tgt_max" <<'SQL' >/dev/null || fail "could not remove the late ticks on the source"
SELECT set_config('many.last', :'last', false);
DO $$
DECLARE
    r record;
    k int := 0;
BEGIN
    FOR r IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname IN ('public', 'tenant_a', 'tenant_b', 'Tenant C')
               AND c.relname ~ '^(t[0-9]+|ticks)$'
    LOOP
        EXECUTE format('DELETE FROM %I.%I WHERE id > %s', r.nspname, r.relname,
                       current_setting('many.last'));
        -- as make_tables: 10,000 tables' locks outgrow the lock table
        k := k + 1;
        IF k % 1000 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$$;
SQL
compare_db "$ON" "$ON" || fail "the online migration of $tables tables differs"
assert_stream_gone "$ON" "$(db_field slotName)"
pass "online: cutover under ticks; all $((acked_before - 1000000000)) acknowledged before it was asked for are on the target, which holds exactly the first $tgt_ticks; every table identical"

scenario_pass
