#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/target_empty/run.sh
#     A database that fails half-loaded gives its tables back empty, in
#     chunks (agent/target_tables.c). An online task of 451 tables whose
#     schema the target has beforehand, foreign keys included (t001 points
#     to t450, at the other end of the list; t002 to t003), and one table
#     of which the target refuses a row (a CHECK made only there):
#     1. that table's copy fails for good, the database is FAILED, naming
#        it and its constraint;
#     2. the cleanup empties all 451 tables in 3 statements of at most 200
#        tables, t001 with t450 (PostgreSQL refuses to truncate t450
#        without it), and drops the slot; the foreign keys stay.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=target_empty_db
P=target_empty

new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not build the source"
DO $$
BEGIN
    FOR i IN 1..450 LOOP
        EXECUTE format('CREATE TABLE public.%I (id integer PRIMARY KEY, ref integer, v text)',
                       't' || lpad(i::text, 3, '0'));
        EXECUTE format('INSERT INTO public.%I SELECT g, g, ''v'' || g FROM generate_series(1, 10) g',
                       't' || lpad(i::text, 3, '0'));
    END LOOP;
END
$$;
ALTER TABLE public.t001 ADD FOREIGN KEY (ref) REFERENCES public.t450;
ALTER TABLE public.t002 ADD FOREIGN KEY (ref) REFERENCES public.t003;
CREATE TABLE public.refused (id integer PRIMARY KEY, v text);
INSERT INTO public.refused VALUES (1, 'fine'), (2, 'refused');
SQL
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres --schema-only "$DB" |
    psql_tgt "$DB" >/dev/null || fail "could not make the schema of $DB on the target"
psql_tgt "$DB" -c "ALTER TABLE public.refused ADD CONSTRAINT no_refused CHECK (v <> 'refused')" >/dev/null ||
    fail "could not add the target's CHECK"
pass "source: 451 tables, two foreign keys; the target has them all, and a CHECK on refused"

start_coordinator
start_agent a1 --jobs 2
start_agent a2 --jobs 2
cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
write_seed_files "$DB"
create_project "$P"
create_online_task "$P" t1

# 1. the database fails, naming the table and the constraint
wait_task "$P" t1 300 2>/dev/null && fail "the task succeeded: the target's CHECK refused nothing"
state=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .migrationState' "$TASK_JSON")
message=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .errorMessage' "$TASK_JSON")
[[ $state == FAILED ]] || fail "database $state, expected FAILED"
[[ $message == *refused*no_refused* ]] ||
    fail "the database's error should name public.refused and no_refused: $message"
pass "database FAILED: $message"

# 2. the cleanup empties every table, in chunks, and drops the slot
emptied=""
for _ in $(seq 1 600); do
    emptied=$(sed -n "s/.* db=$DB \([0-9]* tables emptied in [0-9]* statement(s)\)$/\1/p" \
        "$TEST_TMP"/agent-*.log | tail -n 1)
    [[ -n $emptied ]] && break
    sleep 0.1
done
[[ $emptied == '451 tables emptied in 3 statement(s)' ]] ||
    fail "expected the cleanup to empty 451 tables in 3 statements, the agents say: '$emptied'; $(grep -h "$DB" "$TEST_TMP"/agent-*.log | tail -n 5)"
rows=$(psql_tgt "$DB" -c "SELECT sum((xpath('/row/n/text()',
                                 query_to_xml(format('SELECT count(*) AS n FROM %I.%I', schemaname, relname),
                                              false, true, '')))[1]::text::bigint)
                            FROM pg_stat_user_tables WHERE schemaname = 'public'")
[[ $rows == 0 ]] || fail "the target's tables hold $rows rows after the cleanup, expected none"
fks=$(psql_tgt "$DB" -c "SELECT string_agg(conrelid::regclass || '>' || confrelid::regclass, ',' ORDER BY 1)
                         FROM pg_constraint WHERE contype = 'f'")
[[ $fks == 't001>t450,t002>t003' ]] || fail "the target's foreign keys should stay, they are: $fks"
for _ in $(seq 1 300); do
    [[ $(psql_src postgres -c "SELECT count(*) FROM pg_replication_slots WHERE database = '$DB'") == 0 ]] && break
    sleep 0.1
done
[[ $(psql_src postgres -c "SELECT count(*) FROM pg_replication_slots WHERE database = '$DB'") == 0 ]] ||
    fail "the task's slot is still on the source 30 s after the cleanup"
pass "cleanup: $emptied, no row left, the foreign keys kept, the slot dropped"
scenario_pass
