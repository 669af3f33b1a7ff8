#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/bench/bench_many.sh
#     Offline full-load benchmark on many objects: pgconvoy against
#     pg_dump/pg_restore and pgcopydb, on the same fresh cluster pair, on
#       many: N_TABLES small tables (default 2,000) of ROWS_PER_TABLE rows
#             (100), each with a primary key and one more index;
#       rich: a schema-rich database (fixtures/schema_rich.sql: ~430 tables
#             of every shape, partitions, inheritance, views, materialized
#             views, functions, triggers, types, ~150 MB).
#
#   bash tests/bench/bench_many.sh                       # RUNS=3 N_TABLES=2000 CORPUS=both
#   RUNS=1 N_TABLES=200 bash tests/bench/bench_many.sh   # a quick one
#   CORPUS=rich TOOLS="pg_dump pgcopydb" bash tests/bench/bench_many.sh
#
# Each run of each tool starts from an emptied target database; the tools
# take turns within a run, in an order that rotates from run to run, so that
# drift (cache, checkpoints, the other work on the machine) hits them alike.
# Commands, all with 2 jobs:
#   pgconvoy   pgconvoy migrate --agents 2 (embedded mode, as bench.sh),
#              which analyzes every table
#   pgconvoy_noanalyze   the same with --no-analyze, as pg_restore leaves it
#   pg_dump   pg_dump -Fd -j2, then pg_restore -j2 (the sum is timed)
#   pg_dump_analyze   the same, then vacuumdb --analyze-only -j2 (the
#             statistics pgconvoy gathers by default; the sum is timed)
#   pgcopydb  pgcopydb clone --table-jobs 2 --index-jobs 2
#
# Checks (not timed): every pgconvoy run is compared with compare_db (rows,
# checksums, sequences, index/constraint/trigger counts per table); the
# other tools' first run too, for reference. Every successful run of every
# tool also gets a schema check: an inventory of the catalogs (columns in
# order, indexes, constraints, triggers, functions, types, views,
# materialized views populated and their row counts, sequences, comments,
# policies, statistics objects, rules) on both sides, compared line by line.
#
# A tool that fails, times out or leaves a target that differs does not stop
# the benchmark: the run is reported as such (with the first error lines)
# and the next one starts. Medians are over the runs that exited 0; a run
# whose target differs still counts, flagged with '!'.
#
# Environment: RUNS (3), CORPUS (both: many|rich|both), N_TABLES (2000),
# ROWS_PER_TABLE (100), TOOLS ("pgconvoy pgconvoy_noanalyze pg_dump
# pg_dump_analyze pgcopydb"),
# PGCONVOY_TIMEOUT (1800 s per pgconvoy run), TOOL_TIMEOUT (1800 s per
# pg_dump+pg_restore or pgcopydb run), PGCONVOY_BUILD_DIR (build/),
# PGCONVOY_KEEP_TMP=1 keeps the logs and the check files.
# Prints every run's seconds, the median per tool, and the ratios
# pgconvoy/pg_restore and pgconvoy/pgcopydb per corpus (below 1: pgconvoy is
# faster; the target for both corpora is pgconvoy/pg_restore <= 1.0), and
# the two like for like: pgconvoy_noanalyze/pg_restore and
# pgconvoy/pg_restore+analyze.

RUNS=${RUNS:-3}
CORPUS=${CORPUS:-both}
N_TABLES=${N_TABLES:-2000}
ROWS_PER_TABLE=${ROWS_PER_TABLE:-100}
TOOLS=${TOOLS:-pgconvoy pgconvoy_noanalyze pg_dump pg_dump_analyze pgcopydb}
# more arguments for pgconvoy migrate, e.g. "--jobs 1"
PGCONVOY_ARGS=${PGCONVOY_ARGS:-}
PGCONVOY_TIMEOUT=${PGCONVOY_TIMEOUT:-1800}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
JOBS=2 # the machine has 2 cores; every tool gets the same parallelism

# always a fresh pair of clusters, torn down at exit by lib.sh
unset PGCONVOY_PG_DIR
PGCONVOY_SCENARIO=bench_many
# shellcheck source=../integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
# shellcheck source=bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RICH_SQL=$BENCH_DIR/fixtures/schema_rich.sql
MANY_DB=bench_many
RICH_DB=bench_many_rich

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || fail "RUNS must be a positive integer, not '$RUNS'"
if ! [[ $N_TABLES =~ ^[1-9][0-9]*$ ]] || ((N_TABLES > 100000)); then
    fail "N_TABLES must be an integer from 1 to 100000, not '$N_TABLES'"
fi
[[ $ROWS_PER_TABLE =~ ^[1-9][0-9]*$ ]] || fail "ROWS_PER_TABLE must be a positive integer, not '$ROWS_PER_TABLE'"
[[ $PGCONVOY_TIMEOUT =~ ^[1-9][0-9]*$ ]] || fail "PGCONVOY_TIMEOUT must be a positive integer (seconds)"
[[ $TOOL_TIMEOUT =~ ^[1-9][0-9]*$ ]] || fail "TOOL_TIMEOUT must be a positive integer (seconds)"
case $CORPUS in
    many | rich) CORPORA=$CORPUS ;;
    both) CORPORA="many rich" ;;
    *) fail "CORPUS must be many, rich or both, not '$CORPUS'" ;;
esac
[[ -f $RICH_SQL ]] || fail "no $RICH_SQL"
read -r -a TOOL_LIST <<<"$TOOLS"
check_tools "pgconvoy pgconvoy_noanalyze pg_dump pg_dump_analyze pgcopydb" "${TOOL_LIST[@]}"




# run_timed NAME SECONDS LOG CMD...: CMD bounded by SECONDS (TERM, then KILL
# 10 s later), its output in LOG; returns its exit code (124 or 137: timed
# out). In the background + wait, with its pid known to the exit trap, as
# pgconvoy_migrate does.
run_timed()
{
    local name=$1 secs=$2 log=$3 rc=0
    shift 3
    timeout --kill-after=10 "$secs" "$@" >"$log" 2>&1 &
    PGCONVOY_PIDS[$name]=$!
    wait "${PGCONVOY_PIDS[$name]}" || rc=$?
    unset "PGCONVOY_PIDS[$name]"
    return "$rc"
}

# first_errors LOG: the first lines of LOG that look like an error, or its
# last lines when none does.
first_errors()
{
    local lines
    lines=$(grep -E 'ERROR|FATAL|[Ee]rror:|failed|FAILED' "$1" 2>/dev/null |
        grep -v 'BUG: call to pgsql_commit' | head -n 6) || true
    [[ -n $lines ]] || lines=$(tail -n 6 "$1" 2>/dev/null) || true
    one_line "$lines"
}

# pgconvoy_errors LOG: the "errors:" section that pgconvoy migrate prints at
# the end of a failed task, else first_errors.
pgconvoy_errors()
{
    local lines
    lines=$(sed -n '/^errors:/,$p' "$1" 2>/dev/null | sed -n '2,7p' | sed 's/^ *//') || true
    if [[ -n $lines ]]; then
        one_line "$lines"
    else
        first_errors "$1"
    fi
}

# one_line TEXT: TEXT with its lines joined by " | ", at most 800 characters
one_line()
{
    local s=${1//$'\n'/ | }
    ((${#s} <= 800)) || s="${s:0:800}..."
    printf '%s' "$s"
}

# ---------------------------------------------------------------------------
# The schema check: an inventory of the catalogs, "kind<TAB>key<TAB>value",
# the same query on both sides. Names are printed schema-qualified and
# quoted where needed; OIDs never appear.

INVENTORY_SQL=$TEST_TMP/inventory.sql
F=$PGCONVOY_USER_SCHEMAS_SQL # on n (pg_namespace)
cat >"$INVENTORY_SQL" <<SQL
SELECT 'schema', quote_ident(n.nspname), coalesce(n.nspacl::text, '')
FROM pg_namespace n WHERE $F;

SELECT 'relation', format('%I.%I', n.nspname, c.relname),
       concat_ws(' ', 'kind=' || c.relkind::text, 'persistence=' || c.relpersistence::text,
                 'replident=' || c.relreplident::text,
                 'rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity,
                 'options=' || c.reloptions::text,
                 'partkey=' || pg_get_partkeydef(c.oid),
                 'bound=' || pg_get_expr(c.relpartbound, c.oid),
                 'inherits=' || (SELECT string_agg(format('%I.%I', pn.nspname, pc.relname), ',' ORDER BY i.inhseqno)
                                 FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                                 JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                                 WHERE i.inhrelid = c.oid))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND $F;

SELECT 'acl', format('%I.%I', n.nspname, c.relname), c.relacl::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relacl IS NOT NULL AND $F;

SELECT 'matview-populated', format('%I.%I', n.nspname, c.relname), c.relispopulated::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm' AND $F;

-- columns by name, and their order as a line of its own (a dropped column
-- leaves no trace; an inheritance child whose parent got a column after it
-- was made has another order after pg_dump | pg_restore, see README.md)
SELECT 'column-order', format('%I.%I', n.nspname, c.relname),
       string_agg(quote_ident(a.attname), ',' ORDER BY a.attnum)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND $F
GROUP BY n.nspname, c.relname;

SELECT 'column', format('%I.%I.%I', n.nspname, c.relname, a.attname),
       concat_ws(' ', format_type(a.atttypid, a.atttypmod),
                 CASE WHEN a.attnotnull THEN 'not-null' END,
                 'default=' || pg_get_expr(d.adbin, d.adrelid),
                 CASE a.attidentity WHEN 'a' THEN 'identity-always' WHEN 'd' THEN 'identity-by-default' END,
                 CASE WHEN a.attgenerated = 's' THEN 'generated-stored' END,
                 'collation=' || CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,
                 'storage=' || a.attstorage::text, 'compression=' || nullif(a.attcompression::text, ''),
                 'statistics=' || nullif(a.attstattarget, -1),
                 'inherited=' || nullif(a.attinhcount, 0), CASE WHEN NOT a.attislocal THEN 'not-local' END)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND $F;

SELECT 'index', format('%I.%I', n.nspname, ic.relname),
       concat_ws(' ', pg_get_indexdef(i.indexrelid), CASE WHEN i.indisclustered THEN 'clustered' END,
                 CASE WHEN i.indisreplident THEN 'replica-identity' END, CASE WHEN NOT i.indisvalid THEN 'INVALID' END)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE $F;

SELECT 'constraint', format('%I.%I', n.nspname, coalesce(c.relname, t.typname)) || ' ' || quote_ident(k.conname),
       concat_ws(' ', pg_get_constraintdef(k.oid), CASE WHEN NOT k.conislocal THEN 'not-local' END,
                 'inherited=' || nullif(k.coninhcount, 0))
FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
LEFT JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_type t ON t.oid = k.contypid
WHERE $F;

SELECT 'trigger', format('%I.%I', n.nspname, c.relname) || ' ' || quote_ident(g.tgname),
       pg_get_triggerdef(g.oid) || ' enabled=' || g.tgenabled::text
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT g.tgisinternal AND $F;

SELECT 'function', p.oid::regprocedure::text,
       concat_ws(' ', 'kind=' || p.prokind::text, 'acl=' || p.proacl::text,
                 'md5=' || md5(CASE WHEN p.prokind = 'a'
                                    THEN (SELECT a.aggtransfn::text || '/' || coalesce(a.agginitval, '')
                                          FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                                    ELSE pg_get_functiondef(p.oid) END))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE $F;

SELECT 'type', format('%I.%I', n.nspname, t.typname),
       concat_ws(' ', 'typtype=' || t.typtype::text,
                 'labels=' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                               FROM pg_enum e WHERE e.enumtypid = t.oid),
                 'base=' || CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
                 'default=' || t.typdefault, CASE WHEN t.typnotnull THEN 'not-null' END,
                 'subtype=' || (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid))
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE (t.typtype IN ('e', 'd', 'r', 'm')
       OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
  AND $F;

SELECT 'viewdef', format('%I.%I', n.nspname, c.relname), md5(pg_get_viewdef(c.oid))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND $F;

SELECT 'sequence', format('%I.%I', s.schemaname, s.sequencename),
       concat_ws(' ', s.data_type, 'start=' || s.start_value, 'min=' || s.min_value, 'max=' || s.max_value,
                 'increment=' || s.increment_by, 'cycle=' || s.cycle, 'cache=' || s.cache_size,
                 'last=' || coalesce(s.last_value::text, 'NULL'),
                 'owned-by=' || (SELECT format('%I.%I.%I', tn.nspname, tc.relname, a.attname)
                                 FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
                                 JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                                 JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                                   AND d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
                                   AND d.deptype IN ('a', 'i')
                                 LIMIT 1))
FROM pg_sequences s
WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema', 'pgconvoy');

SELECT 'comment', pg_describe_object(d.classoid, d.objoid, d.objsubid), md5(d.description)
FROM pg_description d
WHERE d.objoid >= 16384 AND pg_describe_object(d.classoid, d.objoid, d.objsubid) !~ '\mpgconvoy\M';

SELECT 'policy', format('%I.%I', p.schemaname, p.tablename) || ' ' || quote_ident(p.policyname),
       concat_ws(' ', p.permissive, p.roles::text, p.cmd, 'using=' || p.qual, 'check=' || p.with_check)
FROM pg_policies p WHERE p.schemaname <> 'pgconvoy';

SELECT 'statistics', format('%I.%I', n.nspname, s.stxname), pg_get_statisticsobjdef(s.oid)
FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE $F;

SELECT 'rule', format('%I.%I', r.schemaname, r.tablename) || ' ' || quote_ident(r.rulename), md5(r.definition)
FROM pg_rules r WHERE r.schemaname NOT IN ('pg_catalog', 'information_schema', 'pgconvoy');

SELECT 'collation', format('%I.%I', n.nspname, c.collname),
       concat_ws(' ', c.collprovider::text, c.collisdeterministic, c.collcollate, c.colliculocale)
FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
WHERE $F;

SELECT 'ts-config', format('%I.%I', n.nspname, c.cfgname), c.cfgparser::regproc::text
FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
WHERE $F;

SELECT 'extension', quote_ident(e.extname), e.extversion FROM pg_extension e;

-- the rows of every populated materialized view
SELECT format('SELECT %L, %L, count(*) FROM %I.%I', 'matview-rows', format('%I.%I', n.nspname, c.relname),
              n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm' AND c.relispopulated AND $F
\gexec
SQL

# schema_check DB TAG: the inventory of DB on both sides; prints "identical"
# or the number of differences, and writes them (key, source value, target
# value) to $TEST_TMP/schema-TAG.diff. Returns 1 on any difference.
schema_check()
{
    local db=$1 tag=$2 side
    for side in src tgt; do
        psql_side "$side" "$db" -F $'\t' -f "$INVENTORY_SQL" >"$TEST_TMP/inventory-$tag.$side" \
            2>"$TEST_TMP/inventory-$tag.$side.err" || {
            echo "schema check: the inventory query failed on $side: $(head -n 3 "$TEST_TMP/inventory-$tag.$side.err")"
            return 1
        }
    done
    awk -F '\t' '
        NR == FNR { tgt[$1 "\t" $2] = $3; next }
        {
            k = $1 "\t" $2; seen[k] = 1
            if (!(k in tgt)) { print $1 " " $2 ": missing on the target (source: " $3 ")"; n++ }
            else if (tgt[k] != $3) { print $1 " " $2 ": source [" $3 "], target [" tgt[k] "]"; n++ }
        }
        END {
            for (k in tgt) if (!(k in seen)) { split(k, p, "\t"); print p[1] " " p[2] ": only on the target [" tgt[k] "]"; n++ }
        }' "$TEST_TMP/inventory-$tag.tgt" "$TEST_TMP/inventory-$tag.src" | LC_ALL=C sort >"$TEST_TMP/schema-$tag.diff"
    local n
    n=$(wc -l <"$TEST_TMP/schema-$tag.diff")
    if ((n == 0)); then
        echo "schema: identical ($(wc -l <"$TEST_TMP/inventory-$tag.src") catalog entries)"
        return 0
    fi
    echo "schema: $n difference(s)"
    return 1
}

# ---------------------------------------------------------------------------
# The corpora

declare -A DB_OF=([many]=$MANY_DB [rich]=$RICH_DB)
declare -A DESC=() SIZE=() BUILD_SECS=()

build_many()
{
    local t0 t1
    note "building corpus many: $N_TABLES tables x $ROWS_PER_TABLE rows, a primary key and one more index each"
    new_db "$MANY_DB" src
    t0=$(now)
    psql_src "$MANY_DB" -v n="$N_TABLES" -v rows="$ROWS_PER_TABLE" >"$TEST_TMP/build-many.log" 2>&1 <<'SQL' ||
SET bench.n_tables = :'n';
SET bench.rows = :'rows';
-- COMMIT every 200 tables: one transaction would hold a lock per table
DO $$
DECLARE
    n integer := current_setting('bench.n_tables')::integer;
    r integer := current_setting('bench.rows')::integer;
    t text;
BEGIN
    FOR i IN 1..n LOOP
        t := 't' || lpad(i::text, 6, '0');
        EXECUTE format('CREATE TABLE public.%I (id integer PRIMARY KEY, k integer NOT NULL, '
                       'v text NOT NULL, ts timestamptz NOT NULL)', t);
        EXECUTE format($q$INSERT INTO public.%I SELECT g, (g * 37 + %s) %% 101, md5(%L || g),
                              timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
                          FROM generate_series(1, %s) AS g$q$, t, i, t, r);
        EXECUTE format('CREATE INDEX %I ON public.%I (k)', t || '_k_idx', t);
        IF i % 200 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$$;
VACUUM ANALYZE;
SQL
        fail "could not build corpus many: $(tail -n 5 "$TEST_TMP/build-many.log")"
    t1=$(now)
    BUILD_SECS[many]=$(elapsed "$t0" "$t1")
    SIZE[many]=$(psql_src "$MANY_DB" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
    DESC[many]="$N_TABLES tables x $ROWS_PER_TABLE rows, pk + 1 index each"
    note "corpus many ready in ${BUILD_SECS[many]} s: ${SIZE[many]}"
}

build_rich()
{
    local t0 t1 counts
    note "building corpus rich: $(basename "$RICH_SQL")"
    new_db "$RICH_DB" src
    t0=$(now)
    psql_src "$RICH_DB" -f "$RICH_SQL" >"$TEST_TMP/build-rich.log" 2>&1 ||
        fail "could not build corpus rich: $(tail -n 5 "$TEST_TMP/build-rich.log")"
    t1=$(now)
    BUILD_SECS[rich]=$(elapsed "$t0" "$t1")
    SIZE[rich]=$(psql_src "$RICH_DB" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
    counts=$(psql_src "$RICH_DB" -F ' ' -c "
        SELECT count(*) FILTER (WHERE c.relkind = 'r') || ' tables, '
            || count(*) FILTER (WHERE c.relkind = 'p') || ' partitioned, '
            || count(*) FILTER (WHERE c.relkind IN ('i', 'I')) || ' indexes, '
            || count(*) FILTER (WHERE c.relkind = 'v') || ' views, '
            || count(*) FILTER (WHERE c.relkind = 'm') || ' matviews, '
            || count(*) FILTER (WHERE c.relkind = 'S') || ' sequences'
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE $PGCONVOY_USER_SCHEMAS_SQL")
    DESC[rich]="schema_rich.sql: $counts"
    note "corpus rich ready in ${BUILD_SECS[rich]} s: ${SIZE[rich]}, $counts"
}

for corpus in $CORPORA; do
    "build_$corpus"
done

# ---------------------------------------------------------------------------
# One timed run of each tool. Each sets SECS, STATUS (ok, failed, timeout)
# and DETAIL (the first error lines). Not "prints": a $(...) subshell would
# hide the tool's pid from the exit trap that must stop it.

# run_pgconvoy CORPUS RUN [TOOL [ARG...]]: pgconvoy migrate with ARGs too,
# its log named after TOOL
run_pgconvoy()
{
    local corpus=$1 run=$2 tool=${3:-pgconvoy} db=${DB_OF[$1]} log t0 t1 rc=0
    shift $(($# < 3 ? $# : 3))
    log=$TEST_TMP/$tool-$corpus-$run.log
    t0=$(now)
    # shellcheck disable=SC2086 # PGCONVOY_ARGS: words for migrate
    PGCONVOY_MIGRATE_TIMEOUT=$PGCONVOY_TIMEOUT pgconvoy_migrate \
        --source "$(src_uri "$db")" --target "$(tgt_uri "$db")" --agents "$JOBS" \
        "$@" $PGCONVOY_ARGS >"$log" 2>&1 || rc=$?
    t1=$(now)
    SECS=$(elapsed "$t0" "$t1")
    case $rc in
        0) STATUS=ok DETAIL="" ;;
        124 | 137) STATUS=timeout DETAIL="no result after PGCONVOY_TIMEOUT=$PGCONVOY_TIMEOUT s; last lines: $(one_line "$(tail -n 3 "$log")")" ;;
        *) STATUS=failed DETAIL="pgconvoy migrate exited $rc: $(pgconvoy_errors "$log")" ;;
    esac
}

run_pgconvoy_noanalyze()
{
    run_pgconvoy "$1" "$2" pgconvoy_noanalyze --no-analyze
}

# run_pg_dump CORPUS RUN [analyze]: with analyze, vacuumdb --analyze-only
# after pg_restore, timed with them
run_pg_dump()
{
    local corpus=$1 run=$2 db=${DB_OF[$1]} dir=$BENCH_SCRATCH/dump-$1-$2 t0 t1 t2 t3 rc=0 step=pg_restore
    rm -rf "$dir"
    t0=$(now)
    run_timed pg_dump "$TOOL_TIMEOUT" "$TEST_TMP/pg_dump-$corpus-$run.log" \
        pg_dump -Fd -j "$JOBS" -f "$dir" -d "$(src_uri "$db")" || rc=$?
    t1=$(now)
    if ((rc == 0)); then
        run_timed pg_restore "$TOOL_TIMEOUT" "$TEST_TMP/pg_restore-$corpus-$run.log" \
            pg_restore -j "$JOBS" -d "$(tgt_uri "$db")" "$dir" || rc=$?
        t2=$(now)
        t3=$t2
        if ((rc == 0)) && [[ ${3:-} == analyze ]]; then
            step=vacuumdb
            run_timed vacuumdb "$TOOL_TIMEOUT" "$TEST_TMP/vacuumdb-$corpus-$run.log" \
                vacuumdb --analyze-only -j "$JOBS" -d "$(tgt_uri "$db")" || rc=$?
            t3=$(now)
        fi
        note "run $run: pg_dump $(elapsed "$t0" "$t1") s + pg_restore $(elapsed "$t1" "$t2") s${3:+ + vacuumdb $(elapsed "$t2" "$t3") s}"
        SECS=$(elapsed "$t0" "$t3")
        case $rc in
            0) STATUS=ok DETAIL="" ;;
            124 | 137) STATUS=timeout DETAIL="$step: no result after TOOL_TIMEOUT=$TOOL_TIMEOUT s" ;;
            *) STATUS=failed DETAIL="$step exited $rc: $(first_errors "$TEST_TMP/$step-$corpus-$run.log")" ;;
        esac
    else
        SECS=$(elapsed "$t0" "$t1")
        case $rc in
            124 | 137) STATUS=timeout DETAIL="pg_dump: no result after TOOL_TIMEOUT=$TOOL_TIMEOUT s" ;;
            *) STATUS=failed DETAIL="pg_dump exited $rc: $(first_errors "$TEST_TMP/pg_dump-$corpus-$run.log")" ;;
        esac
    fi
    rm -rf "$dir"
}

run_pg_dump_analyze()
{
    run_pg_dump "$1" "$2" analyze
}

run_pgcopydb()
{
    local corpus=$1 run=$2 db=${DB_OF[$1]} dir=$BENCH_SCRATCH/pgcopydb-$1-$2 log t0 t1 rc=0
    log=$TEST_TMP/pgcopydb-$corpus-$run.log
    rm -rf "$dir"
    t0=$(now)
    # pgcopydb runs pg_dump/pg_restore from PATH (lib.sh puts PGBIN first)
    run_timed pgcopydb "$TOOL_TIMEOUT" "$log" \
        pgcopydb clone --source "$(src_uri "$db")" --target "$(tgt_uri "$db")" --dir "$dir" \
        --table-jobs "$JOBS" --index-jobs "$JOBS" || rc=$?
    t1=$(now)
    SECS=$(elapsed "$t0" "$t1")
    case $rc in
        0) STATUS=ok DETAIL="" ;;
        124 | 137) STATUS=timeout DETAIL="no result after TOOL_TIMEOUT=$TOOL_TIMEOUT s" ;;
        *) STATUS=failed DETAIL="pgcopydb clone exited $rc: $(first_errors "$log")" ;;
    esac
    rm -rf "$dir"
}

# check_run CORPUS RUN TOOL: the checks of a run that exited 0 (not timed):
# compare_db for pgconvoy (every run) and for the others (first run only),
# the schema check for all. Sets CHECK (one line) and DIFFERS (0/1).
check_run()
{
    local corpus=$1 run=$2 tool=$3 db=${DB_OF[$1]} tag=$1-$3-$2 out verdict
    CHECK="" DIFFERS=0
    if [[ $tool == pgconvoy* ]] || ((run == 1)); then
        out=$TEST_TMP/compare-$tag.log
        if compare_db "$db" "$db" >"$out" 2>&1; then
            verdict=$(tail -n 1 "$out")
        else
            DIFFERS=1
            verdict="DIFFERS: $(tail -n 1 "$out")"
            note "run $run: $tool: compare_db on $corpus: $(grep -c '^compare: ' "$out") line(s), the first:"
            grep '^compare: ' "$out" | head -n 15 | sed 's/^/#     /'
        fi
        CHECK="$verdict"
    fi
    if out=$(schema_check "$db" "$tag"); then
        :
    else
        DIFFERS=1
        note "run $run: $tool: schema check on $corpus: $out, the first:"
        { head -n 15 "$TEST_TMP/schema-$tag.diff" | cut -c 1-400 | sed 's/^/#     /'; } 2>/dev/null || true
    fi
    CHECK="${CHECK:+$CHECK; }$out"
}

# ---------------------------------------------------------------------------

declare -A times=() runs=() checks=() checked=() failures=()
export PGCONVOY_MIGRATE_TIMEOUT=$PGCONVOY_TIMEOUT
for corpus in $CORPORA; do
    db=${DB_OF[$corpus]}
    for run in $(seq 1 "$RUNS"); do
        for tool in $(tool_order "$run" "${TOOL_LIST[@]}"); do
            key=$corpus/$tool
            fresh_target "$db" # the emptied target, on a new file system
            quiesce
            "run_${tool}" "$corpus" "$run"
            if [[ $STATUS == ok ]]; then
                check_run "$corpus" "$run" "$tool"
                times[$key]+="$SECS "
                if ((DIFFERS)); then
                    runs[$key]+="${SECS}! "
                else
                    runs[$key]+="$SECS "
                fi
                checks[$key/$run]="$SECS s: $CHECK"
                checked[$key/$run]=1
                note "run $run: $corpus: $tool $SECS s: $CHECK"
            else
                if [[ $STATUS == timeout ]]; then
                    runs[$key]+="TIMEOUT "
                else
                    runs[$key]+="FAILED(${SECS}) "
                fi
                checks[$key/$run]="${STATUS^^} after $SECS s: $DETAIL"
                failures[$key]=1
                note "run $run: $corpus: $tool $STATUS after $SECS s: $DETAIL"
            fi
        done
    done
done

# ---------------------------------------------------------------------------

# beyond_reference CORPUS TOOL RUN REFRUN: the differences that TOOL's run
# RUN left and pg_restore's run REFRUN did not (compare_db lines against
# pg_restore's first run, schema check lines against run REFRUN).
beyond_reference()
{
    local corpus=$1 tool=$2 run=$3 ref=$4 extra n
    local pat='^compare: (table|sequence) '
    extra=$({
        grep -E "$pat" "$TEST_TMP/compare-$corpus-$tool-$run.log" 2>/dev/null |
            grep -vxF -f <(grep -E "$pat" "$TEST_TMP/compare-$corpus-pg_dump-1.log" 2>/dev/null)
        grep -vxF -f "$TEST_TMP/schema-$corpus-pg_dump-$ref.diff" "$TEST_TMP/schema-$corpus-$tool-$run.diff" 2>/dev/null
    } || true)
    n=$(grep -c . <<<"$extra" || true)
    if ((n == 0)); then
        echo "      beyond pg_restore's own differences: none"
    else
        # per kind (the first word): how many, and the first 4
        echo "      beyond pg_restore's own differences: $n ($(awk '{ c[$1]++ } END { for (k in c) printf "%s%s %d", s++ ? ", " : "", k, c[k] }' <<<"$extra")):"
        awk '++c[$1] <= 4' <<<"$extra" | cut -c 1-300 | sed 's/^/        /'
    fi
}

ratio()
{
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

echo
echo "benchmark bench_many.sh: $RUNS run(s), $JOBS jobs each, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
for corpus in $CORPORA; do
    echo
    echo "corpus $corpus: ${DESC[$corpus]} (${SIZE[$corpus]}, built in ${BUILD_SECS[$corpus]} s)"
    printf '%-19s %-44s %s\n' tool "runs (s; !: target differs)" "median (s)"
    declare -A med=()
    for tool in "${TOOL_LIST[@]}"; do
        key=$corpus/$tool
        if [[ -n ${times[$key]:-} ]]; then
            # shellcheck disable=SC2086 # word splitting of the list is the point
            med[$tool]=$(median ${times[$key]})
        else
            med[$tool]=""
        fi
        printf '%-19s %-44s %s\n' "$tool" "${runs[$key]:-}" "${med[$tool]:-n/a}"
    done
    # tool, baseline, how the baseline is named, the target if one is set
    for pair in "pgconvoy pg_dump pg_restore <=1.00" \
        "pgconvoy_noanalyze pg_dump pg_restore like-for-like" \
        "pgconvoy pg_dump_analyze pg_restore+analyze like-for-like" \
        "pgconvoy pgcopydb pgcopydb -"; do
        read -r tool base label target <<<"$pair"
        [[ " ${TOOL_LIST[*]} " == *" $tool "* && " ${TOOL_LIST[*]} " == *" $base "* ]] || continue
        line="ratio $tool/$label:"
        if [[ -n ${med[$tool]} && -n ${med[$base]} ]]; then
            line+=" $(ratio "${med[$tool]}" "${med[$base]}")"
            [[ -n ${failures[$corpus/$tool]:-} ]] && line+=" (over $tool's successful runs only)"
        elif [[ -z ${med[$base]} ]]; then
            line+=" n/a ($base did not succeed)"
        elif [[ ${runs[$corpus/$tool]} == *TIMEOUT* ]]; then
            line+=" > $(ratio "$PGCONVOY_TIMEOUT" "${med[$base]}") ($tool timed out at $PGCONVOY_TIMEOUT s)"
        else
            line+=" n/a ($tool did not succeed)"
        fi
        case $target in
            -) ;;
            like-for-like) line+="   [the same work]" ;;
            *) line+="   [target $target]" ;;
        esac
        echo "$line"
    done
    echo "checks:"
    ref_run="" # pg_restore's differences are the reference
    for run in $(seq 1 "$RUNS"); do
        if [[ -f $TEST_TMP/schema-$corpus-pg_dump-$run.diff ]]; then
            ref_run=$run
            break
        fi
    done
    for tool in "${TOOL_LIST[@]}"; do
        echo "  $tool"
        for run in $(seq 1 "$RUNS"); do
            echo "    run $run: ${checks[$corpus/$tool/$run]:-}"
            if [[ $tool != pg_dump && -n $ref_run && -n ${checked[$corpus/$tool/$run]:-} ]]; then
                beyond_reference "$corpus" "$tool" "$run" "$ref_run"
            fi
        done
    done
    unset med
done
if [[ ${PGCONVOY_KEEP_TMP:-0} != 1 ]]; then
    echo
    echo "(PGCONVOY_KEEP_TMP=1 keeps the logs, compare-*.log and schema-*.diff)"
fi
