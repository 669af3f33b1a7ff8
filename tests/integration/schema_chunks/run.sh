#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/schema_chunks/run.sh
#     schema-pre makes the pre-data section in chunks and the copies of a
#     chunk's tables start as it commits, when nothing made later changes
#     a table made before (plain tables, types, domains):
#     1. 450 plain tables in two schemas (one needing quotes), with a
#        type and a domain, migrated offline: made in several chunks,
#        every table identical, every index there;
#     2. a section that changes its tables after making them (a serial
#        column's default, a view, a comment) is still made in chunks (one
#        transaction would lock every table), but none of its tables is
#        loaded before it is whole, for a load under way would deadlock
#        with it; it arrives identical;
#     3. plain tables, the first of which holds regclass values naming a
#        table made in a later chunk (whose making the target slows
#        down): its copy waits for the whole section, as the text of a
#        regclass is only read on a target that has the table.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

count_indexes()
{
    psql_side "$1" "$2" -c "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE $PGCONVOY_USER_SCHEMAS_SQL"
}

# --- 1. plain tables: chunks -------------------------------------------------
DB=schema_chunks_plain
new_db "$DB"
psql_src "$DB" <<'SQL' >/dev/null
CREATE SCHEMA "Chunk S";
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN public.pos AS integer CHECK (VALUE > 0);
DO $$
BEGIN
    FOR i IN 1..450 LOOP
        EXECUTE format('CREATE TABLE %I.%I (id integer PRIMARY KEY, m public.mood NOT NULL, '
                       'p public.pos, v text)',
                       CASE WHEN i % 2 = 0 THEN 'public' ELSE 'Chunk S' END, 't' || i);
        EXECUTE format('INSERT INTO %I.%I SELECT g, (ARRAY[''sad'', ''ok'', ''happy''])[1 + g %% 3]::public.mood, '
                       'g, md5(g::text) FROM generate_series(1, %s) g',
                       CASE WHEN i % 2 = 0 THEN 'public' ELSE 'Chunk S' END, 't' || i, i % 50);
        EXECUTE format('CREATE INDEX ON %I.%I (v)',
                       CASE WHEN i % 2 = 0 THEN 'public' ELSE 'Chunk S' END, 't' || i);
    END LOOP;
END
$$;
SQL

pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    >"$TEST_TMP/migrate-plain.out" 2>&1 ||
    fail "pgconvoy migrate of $DB exited $?: $(tail -n 20 "$TEST_TMP/migrate-plain.out")"
compare_db "$DB" "$DB" || fail "the target differs from the source"
s=$(count_indexes src "$DB")
t=$(count_indexes tgt "$DB")
[[ $s == "$t" ]] || fail "indexes: $s on the source, $t on the target"
state=$TEST_TMP/migrate-$PGCONVOY_MIGRATE_RUNS
chunks=$(cat "$state"/agent-*.log | sed -n 's/.*schema chunk [0-9]* of \([0-9]*\) made.*/\1/p' | sort -u)
if [[ ! $chunks =~ ^[0-9]+$ ]] || ((chunks <= 2)); then
    fail "the schema of 450 plain tables was made in '${chunks:-no}' chunks, expected more than 2"
fi
pass "450 plain tables made in $chunks chunks, loaded as they were made: identical, $t indexes on both sides"

# --- 2. a section that changes its tables: loaded once whole ----------------
DB=schema_chunks_altered
new_db "$DB"
psql_src "$DB" <<'SQL' >/dev/null
DO $$
BEGIN
    FOR i IN 1..60 LOOP
        EXECUTE format('CREATE TABLE public.%I (id integer PRIMARY KEY, v text)', 'a' || i);
        EXECUTE format('INSERT INTO public.%I SELECT g, md5(g::text) FROM generate_series(1, 20) g', 'a' || i);
    END LOOP;
END
$$;
CREATE TABLE public.counted (id serial PRIMARY KEY, v text);
INSERT INTO public.counted (v) SELECT md5(g::text) FROM generate_series(1, 100) g;
CREATE VIEW public.counted_view AS SELECT c.id, a.v FROM public.counted c JOIN public.a1 a USING (id);
COMMENT ON TABLE public.a2 IS 'changed after it is made';
SQL

pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    >"$TEST_TMP/migrate-altered.out" 2>&1 ||
    fail "pgconvoy migrate of $DB exited $?: $(tail -n 20 "$TEST_TMP/migrate-altered.out")"
compare_db "$DB" "$DB" || fail "the target differs from the source"
state=$TEST_TMP/migrate-$PGCONVOY_MIGRATE_RUNS
grep -q 'the pre-data section changes tables after making them: its tables are loaded once it is whole' "$state"/agent-*.log ||
    fail "a section with a default, a view and a comment after its tables was not made before any load"
made=$(cat "$state"/agent-*.log | sed -n 's/.*schema chunk [0-9]* of \([0-9]*\) made, \([0-9]*\) tables in it.*/\1 \2/p' | sort -u)
[[ $made =~ ^[0-9]+\ 0$ ]] && ((${made% *} >= 2)) ||
    fail "expected the section of 61 tables made in 2 or more chunks that name no table to load, the logs say: ${made:-nothing}"
[[ $(psql_tgt "$DB" -c "SELECT count(*) FROM public.counted_view") == 20 ]] ||
    fail "the view does not read the migrated rows"
[[ $(psql_tgt "$DB" -c "SELECT nextval('public.counted_id_seq')") == 101 ]] ||
    fail "the serial's sequence does not go on from the source's"
pass "a section that changes its tables was made in ${made% *} chunks before any load; identical, its view and sequence work"

# --- 3. a regclass naming a table of a later chunk ---------------------------
DB=schema_chunks_regclass
new_db "$DB"
psql_src "$DB" <<'SQL' >/dev/null
CREATE TABLE public.a_refs (id integer PRIMARY KEY, rel regclass, rels regclass[]);
DO $$
BEGIN
    FOR i IN 1..60 LOOP
        EXECUTE format('CREATE TABLE public.%I (id integer PRIMARY KEY, v text)', 'z' || lpad(i::text, 2, '0'));
    END LOOP;
END
$$;
INSERT INTO public.a_refs VALUES (1, 'public.z60', '{public.z59,public.z01}'), (2, 'public.a_refs', NULL);
SQL
# the target makes public.z60, in the last chunk, 3 s late: a copy of
# a_refs started with the first chunk would find no such relation
psql_tgt "$DB" >/dev/null <<'SQL' || fail "could not set up the slow event trigger in $DB"
CREATE FUNCTION public.slow_z60() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands() WHERE object_identity = 'public.z60') THEN
        PERFORM pg_sleep(3);
    END IF;
END
$$;
CREATE EVENT TRIGGER slow_z60 ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.slow_z60();
SQL
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    >"$TEST_TMP/migrate-regclass.out" 2>&1 ||
    fail "pgconvoy migrate of $DB exited $?: $(tail -n 20 "$TEST_TMP/migrate-regclass.out")"
compare_db "$DB" "$DB" || fail "the target differs from the source"
state=$TEST_TMP/migrate-$PGCONVOY_MIGRATE_RUNS
if grep -q 'unit=.*kind=copy.*failed' "$state"/coordinator.log; then
    fail "a copy failed before it succeeded: $(grep -m 1 'kind=copy.*failed' "$state"/coordinator.log)"
fi
pass "a table whose regclass values name a table of a later chunk waited for it: no copy failed, identical"

scenario_pass
