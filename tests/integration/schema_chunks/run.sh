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
#        column's default, a view, a comment) is made in one piece, for a
#        load under way would deadlock with it, and arrives identical.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

count_indexes()
{
    psql_side "$1" "$2" -c "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE $PGFERRY_USER_SCHEMAS_SQL"
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

pgferry_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    >"$TEST_TMP/migrate-plain.out" 2>&1 ||
    fail "pgferry migrate of $DB exited $?: $(tail -n 20 "$TEST_TMP/migrate-plain.out")"
compare_db "$DB" "$DB" || fail "the target differs from the source"
s=$(count_indexes src "$DB")
t=$(count_indexes tgt "$DB")
[[ $s == "$t" ]] || fail "indexes: $s on the source, $t on the target"
state=$TEST_TMP/migrate-$PGFERRY_MIGRATE_RUNS
chunks=$(cat "$state"/agent-*.log | sed -n 's/.*schema chunk [0-9]* of \([0-9]*\) made.*/\1/p' | sort -u)
if [[ ! $chunks =~ ^[0-9]+$ ]] || ((chunks <= 2)); then
    fail "the schema of 450 plain tables was made in '${chunks:-no}' chunks, expected more than 2"
fi
pass "450 plain tables made in $chunks chunks, loaded as they were made: identical, $t indexes on both sides"

# --- 2. a section that changes its tables: one piece -------------------------
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

pgferry_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    >"$TEST_TMP/migrate-altered.out" 2>&1 ||
    fail "pgferry migrate of $DB exited $?: $(tail -n 20 "$TEST_TMP/migrate-altered.out")"
compare_db "$DB" "$DB" || fail "the target differs from the source"
state=$TEST_TMP/migrate-$PGFERRY_MIGRATE_RUNS
grep -q 'the pre-data section changes tables after making them: made in one piece' "$state"/agent-*.log ||
    fail "a section with a default, a view and a comment after its tables was not made in one piece"
[[ $(psql_tgt "$DB" -c "SELECT count(*) FROM public.counted_view") == 20 ]] ||
    fail "the view does not read the migrated rows"
[[ $(psql_tgt "$DB" -c "SELECT nextval('public.counted_id_seq')") == 101 ]] ||
    fail "the serial's sequence does not go on from the source's"
pass "a section that changes its tables was made in one piece; identical, its view and sequence work"

scenario_pass
