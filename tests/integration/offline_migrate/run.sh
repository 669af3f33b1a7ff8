#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/offline_migrate/run.sh
#     Embedded mode: 'pgconvoy migrate' starts its own coordinator and agents.
#     1. the whole type zoo, compared row by row, materialized views too,
#        onto a target database with a search_path of its own; every table
#        analyzed;
#     2. --tables with two tables (one in a schema that needs quoting) and
#        --no-analyze: only those arrive, not analyzed, and a second run
#        onto the filled target is refused;
#     3. a schema made on the target beforehand, whose tables get rows
#        behind the load's back: each is emptied before its copy;
#     4. a target database in LATIN1 for a UTF8 source: refused by the
#        checks, naming both encodings, and nothing written;
#     5. --tables naming a partitioned table that has no partition yet: it
#        is made on the target (it once was "does not exist");
#     6. char(n) columns of tables large enough to travel without their
#        blank padding: identical on the target, with exactly the padding
#        of the target's char(n) columns left out on the way, and none of
#        a column the target made beforehand as text;
#     7. the DMS tutorial's way: the schema made on the target beforehand
#        with pg_dump --schema-only | psql, foreign keys included, and
#        rows planted in the tables they point to before their copy: a
#        table another's key points to cannot be truncated alone, so it
#        is emptied with DELETE (it once failed: "cannot truncate a table
#        referenced in a foreign key constraint");
#     8. the same with CHECK constraints added NOT VALID on the source, of
#        a table and of a domain, which a row of the source breaks: the
#        checks say, for each, that the target has it and that the load
#        fails on such a row, and the load then fails naming it;
#     9. a schema made beforehand, foreign key and trigger included, for
#        a target role that may not set session_replication_role (which
#        the copies set to keep keys and triggers quiet): refused, exit 2,
#        naming the key count; without the key, migrated, with a notice
#        for the trigger, and the key made after the load;
#    10. statistics: the target's pg_stats and pg_stats_ext match the
#        source's, an index on an expression, extended statistics (once
#        made at the very end, after every ANALYZE, so left empty) and an
#        inheritance parent's whole tree included; every table analyzed
#        once: small whole tables by their copies, right after the
#        commit (which leaves no change counted since, for autovacuum to
#        analyze them again), but for those whose statistics need what
#        is built after the load (those three), analyzed after their
#        builds.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# --- 1. every table --------------------------------------------------------
DB=offline_migrate_zoo
new_db "$DB"
load_fixture "$DB" typezoo
# The target database reads names through a search_path of its own, whose
# first schema has a table of the name public.catrefs refers to: a
# regclass written unqualified by the source would name that one there.
psql_tgt "$DB" >/dev/null <<SQL || fail "could not set up the decoy schema in $DB"
CREATE SCHEMA decoy;
CREATE TABLE decoy.scalars (id integer);
ALTER DATABASE $DB SET search_path = decoy, public;
SQL

pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 ||
    fail "pgconvoy migrate of $DB exited $?"
pass "pgconvoy migrate of $DB exited 0"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to source, materialized views included"
# the one made WITH NO DATA stays so (querying it would fail)
populated=$(psql_tgt "$DB" -c "SELECT string_agg(relname || '=' || relispopulated, ',' ORDER BY relname)
                               FROM pg_class WHERE relkind = 'm'")
[[ $populated == events_by_kind=true,events_kinds=true,events_later=false ]] ||
    fail "materialized views on the target not populated as on the source: $populated"
pass "materialized views populated as on the source, events_later still WITH NO DATA"
left=$(not_analyzed "$DB" decoy)
[[ -z $left ]] || fail "tables of $DB not analyzed on the target: ${left//$'\n'/, }"
pass "every table analyzed on the target"
assert_no_leftovers "$DB"

# --- 2. selected tables ----------------------------------------------------
DB=offline_migrate_some
new_db "$DB"
load_fixture "$DB" typezoo

pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    --tables 'public.scalars,"Sales Dept".customers' --no-analyze ||
    fail "pgconvoy migrate --tables --no-analyze of $DB exited $?"
pass "pgconvoy migrate --tables --no-analyze exited 0"
[[ $(not_analyzed "$DB") == $'Sales Dept.customers\npublic.scalars' ]] ||
    fail "--no-analyze: both tables of $DB should be left unanalyzed, these are: $(not_analyzed "$DB" | paste -sd,)"
pass "--no-analyze: no table analyzed"

compare_db "$DB" "$DB" public.scalars '"Sales Dept".customers' ||
    fail "the selected tables differ"
got=$(list_tables tgt "$DB")
want=$(printf '%s\n' "Sales Dept.customers" "public.scalars")
[[ $got == "$want" ]] || fail "target $DB should hold only the 2 selected tables, it holds: ${got//$'\n'/, }"
pass "only the selected tables were migrated"
assert_no_leftovers "$DB"

# The target tables now hold rows: a second run must refuse (exit 2, naming
# a table) and change nothing.
expect_fail 2 'scalars|customers' \
    pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 \
    --tables 'public.scalars,"Sales Dept".customers'
compare_db "$DB" "$DB" public.scalars '"Sales Dept".customers' ||
    fail "the refused second run changed the target"
pass "second run refused, target unchanged"

# --- 3. schema made beforehand, tables filled behind the load's back -------
# A small table is loaded without a TRUNCATE only when it is empty (prepare
# refuses tables that hold rows, and nothing else writes while pgconvoy
# loads). Here a trigger on pgconvoy.partition_done writes a row into every
# table not copied yet, each time a copy group commits: every group after
# the first (one agent, one job, 64 tables a group at most) finds rows
# that it must empty first, or the target differs.
DB=offline_migrate_made
new_db "$DB"
psql_src "$DB" <<'SQL'
DO $$
BEGIN
    FOR i IN 1..100 LOOP
        EXECUTE format('CREATE TABLE public.%I (id integer PRIMARY KEY, v text)', 'm' || lpad(i::text, 3, '0'));
        EXECUTE format('INSERT INTO public.%I SELECT g, md5(g::text) FROM generate_series(1, 10) g', 'm' || lpad(i::text, 3, '0'));
    END LOOP;
END
$$;
SQL
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres --schema-only "$DB" |
    psql_tgt "$DB" >/dev/null || fail "could not make the schema of $DB on the target"
psql_tgt "$DB" <<'SQL' || fail "could not set up the planting function in $DB"
CREATE SCHEMA made_test;
CREATE TABLE made_test.planted (table_name text);
CREATE FUNCTION made_test.plant() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                AND NOT EXISTS (SELECT FROM pgconvoy.partition_done d
                                 WHERE d.schema_name = 'public' AND d.table_name = c.relname)
    LOOP
        EXECUTE format('INSERT INTO public.%I VALUES (-1, ''planted'') ON CONFLICT DO NOTHING', t);
        INSERT INTO made_test.planted VALUES (t);
    END LOOP;
    RETURN NULL;
END
$$;
SQL
hook_partition_done "$DB" made_test.plant

pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 1 --jobs 1 ||
    fail "pgconvoy migrate of $DB onto its schema made beforehand exited $?"
planted=$(psql_tgt "$DB" -c "SELECT count(DISTINCT table_name) FROM made_test.planted")
((planted > 0)) || fail "the trigger planted no row: no copy had to empty its table"
compare_db "$DB" "$DB" || fail "the target differs: a table filled before its copy was not emptied"
pass "schema made beforehand: $planted tables held rows before their copy, each emptied first"

# --- 4. a target that cannot hold the source's characters -----------------
DB=offline_migrate_latin
new_db "$DB" src
new_db "$DB" tgt
psql_src "$DB" -c "CREATE TABLE public.t (id integer PRIMARY KEY, v text);
                   INSERT INTO public.t VALUES (1, 'snowman ☃, not in LATIN1')" >/dev/null
psql_tgt postgres >/dev/null <<SQL || fail "could not make a LATIN1 database $DB on the target"
DROP DATABASE "$DB";
CREATE DATABASE "$DB" TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C';
SQL
expect_fail 2 "target database \"$DB\" is encoded in LATIN1, which cannot hold every character of the source database \"$DB\" in UTF8: expected UTF8\$" \
    pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 1
assert_target_untouched "$DB"
pass "a LATIN1 target for a UTF8 source is refused, nothing written"

# --- 5. a selected partitioned table without partitions -------------------
DB=offline_migrate_parted
new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL'
CREATE TABLE public.t (id integer PRIMARY KEY, v text);
INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, 100) g;
CREATE TABLE public.later (id integer, at date NOT NULL) PARTITION BY RANGE (at);
CREATE INDEX later_at ON public.later (at);
CREATE TABLE public.other (id integer);
SQL
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 1 \
    --tables 'public.t,public.later' ||
    fail "pgconvoy migrate --tables with a partitioned table without partitions exited $?"
got=$(list_tables tgt "$DB")
[[ $got == $'public.later\npublic.t' ]] ||
    fail "target $DB should hold public.later and public.t, it holds: ${got//$'\n'/, }"
compare_db "$DB" "$DB" public.t public.later || fail "the selected tables differ"
pass "a selected partitioned table without partitions is made, with its index; public.t copied"

# --- 6. char(n) values sent without their padding --------------------------
# Tables of 1 MB or more send char(n) values without their trailing blanks
# (agent/copy_trim.c), which the target pads back. Every kind of value:
# NULL, empty, all blanks, inner and leading blanks, full length,
# multibyte; beside bpchar without a length (blanks kept as stored), an
# array of char(n), varchar and text, whose blanks must all stay. (A
# domain would make the table travel as text, which is never trimmed.) public.made's target table is made beforehand with text
# where the source has char(10): its values must arrive padded, as the
# source sends them.
DB=offline_migrate_chars
new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not build $DB"
CREATE TABLE public.chars (
    id integer PRIMARY KEY,
    c1 char(1), c12 char(12), c84 char(84), mb char(6),
    raw bpchar, v varchar(20), t text, a char(3)[]);
INSERT INTO public.chars
SELECT g,
       (ARRAY[NULL, ' ', 'x'])[g % 3 + 1],
       (ARRAY['', ' ', 'a', ' a', 'a b', 'abcdefghijkl', 'trailing   '])[g % 7 + 1],
       CASE WHEN g % 11 = 0 THEN NULL ELSE md5(g::text) END,
       (ARRAY['é中😀', 'é', '  ü', 'ab  c'])[g % 4 + 1],
       'r' || repeat(' ', g % 4),
       'v' || repeat(' ', g % 3),
       't  ',
       ARRAY['a', ' ', NULL, 'abc']::char(3)[]
FROM generate_series(1, 20000) g;
CREATE TABLE public.made (id integer PRIMARY KEY, k char(10), w char(8));
INSERT INTO public.made SELECT g, 'ab', 'cd' FROM generate_series(1, 30000) g;
SQL
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres --schema-only "$DB" |
    sed 's/k character(10)/k text/' | psql_tgt "$DB" >/dev/null ||
    fail "could not make the schema of $DB on the target"
[[ $(psql_tgt "$DB" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                        WHERE attrelid = 'public.made'::regclass AND attname = 'k'") == text ]] ||
    fail "the target's public.made.k should be text"
# what the padding of each table's char(n) columns weighs on the source
# (octet_length of a char(n) counts its blanks; its cast to text drops
# them); public.made's k is text on the target, so only w counts there
padding=$(psql_src "$DB" -c "
    SELECT (SELECT sum(coalesce(octet_length(c1) - octet_length(c1::text), 0)
                       + coalesce(octet_length(c12) - octet_length(c12::text), 0)
                       + coalesce(octet_length(c84) - octet_length(c84::text), 0)
                       + coalesce(octet_length(mb) - octet_length(mb::text), 0))
              FROM public.chars)
           || ' ' ||
           (SELECT sum(octet_length(w) - octet_length(w::text)) FROM public.made)")
read -r chars_padding made_padding <<<"$padding"
((chars_padding > 0 && made_padding == 30000 * 6)) ||
    fail "unexpected padding on the source: $padding"
size=$(psql_src "$DB" -c "SELECT pg_relation_size('public.chars')")
((size >= 1024 * 1024)) || fail "public.chars is $size bytes: too small to be trimmed"

pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 1 ||
    fail "pgconvoy migrate of $DB exited $?"
compare_db "$DB" "$DB" || fail "char(n) values differ on the target"
k=$(psql_tgt "$DB" -c "SELECT DISTINCT '[' || k || ']' FROM public.made")
[[ $k == '[ab        ]' ]] || fail "public.made.k (text on the target) should hold 'ab' and 8 blanks, it holds $k"
state=$TEST_TMP/migrate-$PGCONVOY_MIGRATE_RUNS
for t in chars made; do
    want=$([[ $t == chars ]] && echo "$chars_padding" || echo "$made_padding")
    line=$(grep -h "table=\"public.$t\" blank padding of char(n) values left out" "$state"/agent-*.log) ||
        fail "no agent says what public.$t's char(n) padding was"
    [[ $line == *"left out: $want of "* ]] ||
        fail "public.$t: expected $want bytes of padding left out: $line"
done
pass "char(n) values identical, their $chars_padding + $made_padding bytes of padding left out on the way; text made beforehand keeps its blanks"
assert_no_leftovers "$DB"

# --- 7. a schema made beforehand with its foreign keys ---------------------
# child (the biggest, so copied first with one job) points to parent,
# parent to kinds, staff to itself. Each commit plants a row in parent and
# kinds while they are not copied yet, so both must be emptied first with
# their foreign keys in place; staff's own key does not stop its TRUNCATE.
DB=offline_migrate_dms
new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not build $DB"
CREATE TABLE public.kinds (id integer PRIMARY KEY, name text);
INSERT INTO public.kinds SELECT g, 'kind ' || g FROM generate_series(1, 10) g;
CREATE TABLE public.parent (id integer PRIMARY KEY, kind integer REFERENCES public.kinds, pad text);
INSERT INTO public.parent SELECT g, g % 10 + 1, repeat('p', 100) FROM generate_series(1, 20000) g;
CREATE TABLE public.child (id integer PRIMARY KEY, p integer REFERENCES public.parent, pad text);
INSERT INTO public.child SELECT g, g % 20000 + 1, repeat('c', 120) FROM generate_series(1, 30000) g;
CREATE TABLE public.staff (id integer PRIMARY KEY, boss integer REFERENCES public.staff, pad text);
INSERT INTO public.staff SELECT g, nullif(g / 2, 0), repeat('s', 100) FROM generate_series(1, 15000) g;
SQL
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres --schema-only "$DB" |
    psql_tgt "$DB" >/dev/null || fail "could not make the schema of $DB on the target"
psql_tgt "$DB" <<'SQL' || fail "could not set up the planting function in $DB"
CREATE SCHEMA dms_test;
CREATE TABLE dms_test.planted (table_name text);
CREATE FUNCTION dms_test.plant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pgconvoy.partition_done WHERE table_name = 'kinds') THEN
        INSERT INTO public.kinds VALUES (-1, 'planted') ON CONFLICT DO NOTHING;
        INSERT INTO dms_test.planted VALUES ('kinds');
    END IF;
    IF NOT EXISTS (SELECT FROM pgconvoy.partition_done WHERE table_name = 'parent') THEN
        INSERT INTO public.parent VALUES (-1, -1, 'planted') ON CONFLICT DO NOTHING;
        INSERT INTO dms_test.planted VALUES ('parent');
    END IF;
    RETURN NULL;
END
$$;
SQL
hook_partition_done "$DB" dms_test.plant

pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 1 --jobs 1 ||
    fail "pgconvoy migrate of $DB onto its schema made with its foreign keys exited $?"
planted=$(psql_tgt "$DB" -c "SELECT string_agg(DISTINCT table_name, ',' ORDER BY table_name) FROM dms_test.planted")
[[ $planted == kinds,parent ]] ||
    fail "rows should have been planted in kinds and parent before their copies, were in: $planted"
compare_db "$DB" "$DB" || fail "the target differs: a table a foreign key points to was not emptied"
fks=$(psql_tgt "$DB" -c "SELECT string_agg(conrelid::regclass || '>' || confrelid::regclass, ',' ORDER BY 1)
                         FROM pg_constraint WHERE contype = 'f'")
[[ $fks == 'child>parent,parent>kinds,staff>staff' ]] ||
    fail "the target should keep its 3 foreign keys, once each, it has: $fks"
pass "schema made beforehand with its foreign keys: kinds and parent held planted rows, emptied first; identical"

# --- 8. a schema made beforehand with NOT VALID CHECK constraints ---------
DB=offline_migrate_not_valid
new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not build $DB"
CREATE DOMAIN public.short_code AS text;
CREATE TABLE public.pets (id integer PRIMARY KEY, name text, code public.short_code);
INSERT INTO public.pets VALUES (1, 'Rex', 'ab'), (2, 'A name far too long', 'cd');
ALTER TABLE public.pets ADD CONSTRAINT pets_name_short CHECK (length(name) < 10) NOT VALID;
ALTER DOMAIN public.short_code ADD CONSTRAINT short_code_len CHECK (length(VALUE) <= 8) NOT VALID;
SQL
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres --schema-only "$DB" |
    psql_tgt "$DB" >/dev/null || fail "could not make the schema of $DB on the target"
expect_fail 1 'violates check constraint "pets_name_short"' \
    pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 1
for want in 'CHECK constraint "pets_name_short" of table public.pets is NOT VALID on the source' \
    'CHECK constraint "short_code_len" of domain public.short_code is NOT VALID on the source'; do
    grep -qF -- "$want" <<<"$LAST_OUTPUT" || fail "no notice says: $want; the output: $LAST_OUTPUT"
done
pass "NOT VALID CHECK constraints made beforehand: a notice for each, then the load fails naming the one broken"

# --- 9. a schema made beforehand for a role that may not quiet its keys ---
DB=offline_migrate_weak
WEAK=om_weak
new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not build $DB"
CREATE TABLE public.parent (id integer PRIMARY KEY);
CREATE TABLE public.child (id integer PRIMARY KEY, p integer REFERENCES public.parent);
INSERT INTO public.parent VALUES (1);
INSERT INTO public.child VALUES (1, 1);
CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER child_noop BEFORE INSERT ON public.child FOR EACH ROW EXECUTE FUNCTION public.noop();
SQL
psql_tgt postgres -v role="$WEAK" -v db="$DB" >/dev/null <<'SQL' || fail "could not make $WEAK the owner of $DB on the target"
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role') \gexec
SQL
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres --schema-only --no-owner "$DB" |
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$TGT_PORT" -U "$WEAK" -d "$DB" >/dev/null ||
    fail "could not make the schema of $DB on the target as $WEAK"
expect_fail 2 "target database \"$DB\": role \"$WEAK\" may not set session_replication_role \(.*\), so the 1 foreign keys the target has on the tables to load would check every row" \
    pgconvoy_migrate --source "$(src_uri "$DB")" --target "postgresql://$WEAK@127.0.0.1:$TGT_PORT/$DB" --agents 1
# the notices come with the refusal, for the next try
grep -qF "notice: target database \"$DB\": role \"$WEAK\" may not set session_replication_role, so the 1 triggers" <<<"$LAST_OUTPUT" ||
    fail "the refusal does not give the trigger's notice: $LAST_OUTPUT"
[[ $(psql_tgt "$DB" -c "SELECT count(*) FROM public.parent") == 0 ]] || fail "the refused migration wrote rows"
# as the message says: without the key it goes on, the trigger noted, and
# the key is made after the load as the source has it
psql_tgt "$DB" -c "ALTER TABLE public.child DROP CONSTRAINT child_p_fkey" >/dev/null ||
    fail "could not drop the target's foreign key"
out=$(pgconvoy_migrate --source "$(src_uri "$DB")" --target "postgresql://$WEAK@127.0.0.1:$TGT_PORT/$DB" --agents 1 2>&1) ||
    fail "pgconvoy migrate of $DB without the key exited $?: $out"
grep -qF "role \"$WEAK\" may not set session_replication_role, so the 1 triggers the target has on the tables to load fire for every row loaded" <<<"$out" ||
    fail "no notice names the trigger: $out"
compare_db "$DB" "$DB" || fail "the target differs"
[[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f'") == 1 ]] ||
    fail "the foreign key was not made again after the load"
pass "a schema made beforehand with a foreign key, for a role that may not set session_replication_role: refused, naming it; without the key, migrated with a notice for the trigger, the key made after"

# --- 10. statistics with the copies, or after the builds ------------------
DB=offline_migrate_stats
new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not build $DB"
CREATE SCHEMA st;
CREATE TABLE st.plain (id integer PRIMARY KEY, k integer, v text);
INSERT INTO st.plain SELECT g, g % 7, CASE WHEN g % 5 = 0 THEN NULL ELSE md5(g::text) END
  FROM generate_series(1, 2000) g;
CREATE INDEX ON st.plain (k);
CREATE TABLE st.wide (id bigint, a text, b numeric);
INSERT INTO st.wide SELECT g, repeat('x', g % 40), g / 3.0 FROM generate_series(1, 500) g;
-- ANALYZE gathers the statistics of an index's expressions once it exists
CREATE TABLE st.expr (id integer PRIMARY KEY, v text);
INSERT INTO st.expr SELECT g, 'Name ' || (g % 13) FROM generate_series(1, 1000) g;
CREATE INDEX expr_lower ON st.expr (lower(v));
-- and extended statistics once they are made (after the data)
CREATE TABLE st.ext (a integer, b integer);
INSERT INTO st.ext SELECT g % 10, g % 20 FROM generate_series(1, 1000) g;
CREATE STATISTICS st.ext_ab (ndistinct, dependencies) ON a, b FROM st.ext;
-- and a parent's statistics of its tree once its children are loaded
CREATE TABLE st.parent (id integer, v text);
CREATE TABLE st.child (extra integer) INHERITS (st.parent);
INSERT INTO st.parent SELECT g, 'p' || (g % 3) FROM generate_series(1, 300) g;
INSERT INTO st.child SELECT g, 'c' || (g % 11), g FROM generate_series(1, 700) g;
ANALYZE;
SQL
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 ||
    fail "pgconvoy migrate of $DB exited $?"
state=$TEST_TMP/migrate-$PGCONVOY_MIGRATE_RUNS
compare_db "$DB" "$DB" || fail "the target differs"
# under 30,000 rows ANALYZE reads every row: the same data, the same figures
stats_sql="SELECT schemaname, tablename, attname, inherited, null_frac, n_distinct
             FROM pg_stats WHERE schemaname = 'st' ORDER BY 1, 2, 3, 4"
want=$(psql_src "$DB" -c "$stats_sql")
got=$(psql_tgt "$DB" -c "$stats_sql")
[[ -n $want && $got == "$want" ]] ||
    fail "the target's pg_stats differ from the source's: $(diff <(echo "$want") <(echo "$got") | head -20)"
grep -q '^st|expr_lower|lower|f|' <<<"$got" || fail "no statistics of the index expression: $got"
grep -q '^st|parent|v|t|0|14$' <<<"$got" || fail "no statistics of the parent's whole tree: $got"
ext_sql="SELECT statistics_name, n_distinct IS NOT NULL, dependencies IS NOT NULL
           FROM pg_stats_ext WHERE schemaname = 'st' ORDER BY 1"
[[ $(psql_tgt "$DB" -c "$ext_sql") == 'ext_ab|t|t' ]] ||
    fail "the extended statistics were not gathered on the target: $(psql_tgt "$DB" -c "$ext_sql")"
counts=$(psql_tgt "$DB" -c "SELECT string_agg(relname || '=' || analyze_count, ',' ORDER BY relname)
                             FROM pg_stat_user_tables WHERE schemaname = 'st'")
[[ $counts == child=1,expr=1,ext=1,parent=1,plain=1,wide=1 ]] ||
    fail "each table should be analyzed once: $counts"
# the copies did theirs: an ANALYZE unit recorded done, never placed
by_copy=$(sqlite3 "$state/pgconvoy.db" "
    SELECT group_concat(table_name, ',') FROM (
      SELECT t.table_name FROM units u JOIN tables_ t ON t.id = u.table_id
       WHERE u.kind = 7 AND u.state = 'done' AND u.assigned_at IS NULL
       ORDER BY 1)")
[[ $by_copy == child,plain,wide ]] ||
    fail "the tables analyzed with their copies should be child, plain and wide, they are: $by_copy"
# and after their copies' commits, which the server counted first: no
# change left since, that autovacuum would analyze them again for (an
# ANALYZE inside the copy's transaction left every row loaded counted)
mods=$(psql_tgt "$DB" -c "SELECT string_agg(relname || '=' || n_mod_since_analyze, ',' ORDER BY relname)
                           FROM pg_stat_user_tables WHERE relname IN ('child', 'plain', 'wide')")
[[ $mods == child=0,plain=0,wide=0 ]] ||
    fail "the tables their copies analyzed still count changes since: $mods"
pass "statistics as the source's: plain tables analyzed with their copies, the expression index's, extended statistics' and inheritance parent's after the builds, each table once"

scenario_pass
