# shellcheck shell=bash source-path=SCRIPTDIR
#
# tests/integration/lib.sh
#     Sourced by every integration scenario (tests/integration/<name>/run.sh),
#     by tests/bench/bench.sh and by deploy/demo.sh.
#
# Environment it reads:
#   PGCONVOY_BUILD_DIR  holds pgconvoy, pgconvoy-coordinator, pgconvoy-agent
#                      (default: <repo>/build)
#   PGCONVOY_PG_DIR     DIR of a running 'clusters.sh setup DIR' (ctest fixture);
#                      when unset, lib.sh starts its own pair and removes it
#                      at exit, so a scenario can run alone
#   PGCONVOY_SCENARIO   name used in messages, temp dir and database names
#                      (default: the name of the directory of the script)
#   PGCONVOY_KEEP_TMP   1 keeps the scenario's temp dir (logs) at exit
#   PGCONVOY_EXIT_HOOKS array of commands the exit trap runs once the
#                      processes are stopped (a scenario's own cleanup:
#                      network namespaces); set before sourcing or appended
#   PGCONVOY_AGENTS_HOST the address start_coordinator binds the agents'
#                      socket to (default 127.0.0.1; another needs CURVE)
#   PGCONVOY_NO_CLUSTERS 1: the scenario runs no SQL, so no clusters (below)
#
# What it guarantees: whatever happens (failure, ctest timeout sending TERM,
# ^C), every process started here is killed, and the temp dir and any
# clusters lib.sh started itself are removed. Databases a scenario created are
# dropped when it passes and kept for a post-mortem when it fails (the shared
# clusters' teardown removes them anyway).

set -Eeuo pipefail

PGCONVOY_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PGCONVOY_REPO_DIR=$(cd "$PGCONVOY_LIB_DIR/../.." && pwd)
PGCONVOY_FIXTURES=$PGCONVOY_LIB_DIR/fixtures

# pgconvoy_free_port / pgconvoy_release_port (sourcing defines functions only)
# shellcheck source=clusters.sh
source "$PGCONVOY_LIB_DIR/clusters.sh"

if [[ -z ${PGCONVOY_SCENARIO:-} ]]; then
    PGCONVOY_SCENARIO=$(basename "$(cd "$(dirname "${BASH_SOURCE[1]:-$0}")" && pwd)")
fi
SCENARIO=$PGCONVOY_SCENARIO

PGCONVOY_BUILD_DIR=${PGCONVOY_BUILD_DIR:-$PGCONVOY_REPO_DIR/build}
# absolute, because scenarios cd into their temp dir
if [[ -d $PGCONVOY_BUILD_DIR ]]; then
    PGCONVOY_BUILD_DIR=$(cd "$PGCONVOY_BUILD_DIR" && pwd)
fi
export PGCONVOY_BUILD_DIR

# psql, pg_dump and pgconvoy's children must never wait for a password or a
# server that does not answer
export PGCONNECT_TIMEOUT=10
unset PGPASSWORD PGSERVICE PGHOST PGPORT PGUSER PGDATABASE PGOPTIONS

# ---------------------------------------------------------------------------
# Messages

# Prints "ok - MSG" for a check that passed.
pass()
{
    echo "ok - $*"
}

# Prints the failure and ends the scenario with exit 1 (the EXIT trap then
# shows the logs and cleans up).
fail()
{
    echo "FAIL $SCENARIO: $*" >&2
    exit 1
}

# Ends a scenario that passed: prints "PASS <scenario>" and exits 0.
scenario_pass()
{
    echo "PASS $SCENARIO"
    exit 0
}

note()
{
    echo "# $*"
}

# ---------------------------------------------------------------------------
# Cleanup, registered before anything is started

TEST_TMP=$(mktemp -d "/tmp/pgconvoy-$SCENARIO.XXXXXX")
export TEST_TMP

declare -gA PGCONVOY_PIDS=()  # name -> pid (also the process group id)
declare -ga PGCONVOY_PORTS=() # ports we reserved
declare -ga PGCONVOY_DBS=()   # "src:name" / "tgt:name" made by new_db
PGCONVOY_OWN_PG_DIR=""        # clusters we started ourselves
# a scenario's own cleanup, run by the exit trap (kept if set before)
declare -p PGCONVOY_EXIT_HOOKS >/dev/null 2>&1 || declare -ga PGCONVOY_EXIT_HOOKS=()

s_stop_process()
{
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    # the group first: it also reaches children (pg_dump, psql) of the process
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

s_on_exit()
{
    local rc=$? name log entry
    set +e
    trap - ERR
    if ((rc != 0)); then
        echo "FAIL $SCENARIO (exit $rc)" >&2
        for log in "$TEST_TMP"/*.log "$TEST_TMP"/*/*.log; do
            [[ -s $log ]] || continue
            echo "----- last lines of ${log#"$TEST_TMP"/} -----" >&2
            tail -n 40 "$log" >&2
        done
    fi
    for name in "${!PGCONVOY_PIDS[@]}"; do
        s_stop_process "${PGCONVOY_PIDS[$name]}"
    done
    for entry in "${PGCONVOY_EXIT_HOOKS[@]}"; do
        $entry
    done
    pgconvoy_release_port "${PGCONVOY_PORTS[@]}"
    if ((rc == 0)) && [[ -z $PGCONVOY_OWN_PG_DIR ]]; then
        for entry in "${PGCONVOY_DBS[@]}"; do
            s_drop_db "${entry%%:*}" "${entry#*:}" >/dev/null 2>&1
        done
    fi
    if [[ -n $PGCONVOY_OWN_PG_DIR ]]; then
        bash "$PGCONVOY_LIB_DIR/clusters.sh" teardown "$PGCONVOY_OWN_PG_DIR" >/dev/null
    fi
    if [[ ${PGCONVOY_KEEP_TMP:-0} == 1 ]]; then
        echo "# kept $TEST_TMP" >&2
    else
        rm -rf "$TEST_TMP"
    fi
    exit "$rc"
}
trap s_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'echo "error: line $LINENO: command failed: $BASH_COMMAND" >&2' ERR

# ---------------------------------------------------------------------------
# Clusters

# A scenario that runs no SQL (cli_help) sets PGCONVOY_NO_CLUSTERS=1 before
# sourcing this file: it then neither needs nor starts clusters.
if [[ ${PGCONVOY_NO_CLUSTERS:-0} != 1 ]]; then
    if [[ -n ${PGCONVOY_PG_DIR:-} ]]; then
        [[ -f $PGCONVOY_PG_DIR/env ]] ||
            fail "PGCONVOY_PG_DIR=$PGCONVOY_PG_DIR has no env file: run tests/integration/clusters.sh setup $PGCONVOY_PG_DIR first"
    else
        PGCONVOY_OWN_PG_DIR=$(mktemp -d "/tmp/pgconvoy-pg-$SCENARIO.XXXXXX")
        bash "$PGCONVOY_LIB_DIR/clusters.sh" setup "$PGCONVOY_OWN_PG_DIR" >/dev/null ||
            fail "could not start the test clusters"
        PGCONVOY_PG_DIR=$PGCONVOY_OWN_PG_DIR
    fi
    # shellcheck source=/dev/null
    source "$PGCONVOY_PG_DIR/env"
    export SRC_PORT TGT_PORT PGBIN
    export PATH="$PGBIN:$PATH" # pg_dump/pg_restore of the servers' major version
fi

# ---------------------------------------------------------------------------
# SQL

# psql_src DB [psql args...] / psql_tgt DB [...]: unaligned, tuples only,
# stops at the first error. The session time zone is UTC on both sides and
# the other settings that shape values' text are pinned (a database may set
# its own), so the text of a row is comparable.
PGCONVOY_TEST_PGOPTIONS="-c client_min_messages=warning -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3"
# compare_db's sessions also read with an empty search_path: a reg* value
# then prints schema-qualified, so the same name in another schema shows
PGCONVOY_COMPARE_PGOPTIONS="$PGCONVOY_TEST_PGOPTIONS -c search_path=pg_catalog"
psql_src()
{
    local db=$1
    shift
    PGTZ=UTC PGOPTIONS=$PGCONVOY_TEST_PGOPTIONS "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -qAt -h 127.0.0.1 -p "$SRC_PORT" -U postgres -d "$db" "$@"
}

psql_tgt()
{
    local db=$1
    shift
    PGTZ=UTC PGOPTIONS=$PGCONVOY_TEST_PGOPTIONS "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -qAt -h 127.0.0.1 -p "$TGT_PORT" -U postgres -d "$db" "$@"
}

# psql_side src|tgt DB [...]
psql_side()
{
    case $1 in
        src) shift && psql_src "$@" ;;
        tgt) shift && psql_tgt "$@" ;;
        *) fail "psql_side: side must be src or tgt, not '$1'" ;;
    esac
}

# Quotes S as an SQL string literal (standard_conforming_strings is on).
sql_literal()
{
    local s=${1//\'/\'\'}
    printf "'%s'" "$s"
}

# Drops database NAME on SIDE, first removing what would block DROP DATABASE:
# replication slots in it (an earlier failed run may leave one) and sessions.
s_drop_db()
{
    local side=$1 db=$2
    psql_side "$side" postgres -v db="$db" <<'SQL'
SELECT set_config('pgconvoy_test.db', :'db', false);
DO $$
DECLARE
    s record;
    tries integer := 0;
BEGIN
    LOOP
        tries := tries + 1;
        BEGIN
            FOR s IN SELECT slot_name, active_pid FROM pg_replication_slots
                     WHERE database = current_setting('pgconvoy_test.db')
            LOOP
                IF s.active_pid IS NOT NULL THEN
                    PERFORM pg_terminate_backend(s.active_pid);
                    PERFORM pg_sleep(0.2);
                END IF;
                PERFORM pg_drop_replication_slot(s.slot_name);
            END LOOP;
            EXIT;
        EXCEPTION WHEN object_in_use THEN
            IF tries >= 50 THEN
                RAISE;
            END IF;
            PERFORM pg_sleep(0.2);
        END;
    END LOOP;
END
$$;
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
SQL
}

# new_db NAME [both|src|tgt]: a fresh, empty database NAME (dropped first if
# it exists) on both clusters, or only on one. Scenarios may run in parallel
# on the same clusters, so NAME must start with the scenario's name.
new_db()
{
    local db=$1 where=${2:-both} side sides
    case $where in
        both) sides="src tgt" ;;
        src | tgt) sides=$where ;;
        *) fail "new_db: where must be both, src or tgt, not '$where'" ;;
    esac
    for side in $sides; do
        s_drop_db "$side" "$db" >/dev/null || fail "could not drop database $db on $side"
        psql_side "$side" postgres -v db="$db" <<<'CREATE DATABASE :"db" TEMPLATE template0' >/dev/null ||
            fail "could not create database $db on $side"
        PGCONVOY_DBS+=("$side:$db")
    done
}

# load_fixture DB NAME [src|tgt]: loads tests/integration/fixtures/NAME.sql.
load_fixture()
{
    local db=$1 name=$2 side=${3:-src}
    local file=$PGCONVOY_FIXTURES/$name.sql
    [[ -f $file ]] || fail "no fixture $file"
    psql_side "$side" "$db" -f "$file" >"$TEST_TMP/fixture-$name-$db.out" 2>&1 ||
        fail "loading $name.sql into $side/$db failed: $(tail -n 5 "$TEST_TMP/fixture-$name-$db.out")"
}

# The schemas whose tables are the user's: not the catalogs, not pgconvoy's
# own bookkeeping schema on the target.
PGCONVOY_USER_SCHEMAS_SQL="n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgconvoy')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"

# Prints an SQL condition on n (pg_namespace) and c (pg_class) that keeps the
# named tables, or TRUE for no names. A name may be written quoted
# ("Sales Dept".orders, as format('%I.%I') prints it) or plain
# (Sales Dept.orders, as tableName in the status JSON prints it).
s_table_filter_sql()
{
    local names=() t
    if (($# == 0)); then
        echo "TRUE"
        return
    fi
    for t in "$@"; do
        names+=("$(sql_literal "$t")")
    done
    local arr
    arr=$(IFS=,; echo "${names[*]}")
    echo "(format('%I.%I', n.nspname, c.relname) = ANY (ARRAY[$arr]::text[])
        OR n.nspname || '.' || c.relname = ANY (ARRAY[$arr]::text[]))"
}

# list_tables src|tgt DB [KINDS]: user tables as "schema.table" (plain, as in
# the status JSON), sorted. KINDS is a relkind list, default 'r,p' (tables,
# partitioned parents); pass 'r,p,v,m,S,f' for every relation.
list_tables()
{
    local side=$1 db=$2 kinds=${3:-r,p} k list=()
    for k in ${kinds//,/ }; do
        list+=("'$k'")
    done
    psql_side "$side" "$db" -c "
        SELECT n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ($(IFS=,; echo "${list[*]}")) AND $PGCONVOY_USER_SCHEMAS_SQL
        ORDER BY (n.nspname || '.' || c.relname) COLLATE \"C\""
}

# hook_partition_done DB FUNCTION: on target database DB, pgconvoy's
# pgconvoy.partition_done made beforehand (as an earlier attempt leaves
# it), with a statement trigger after each insert that runs FUNCTION (a
# trigger function the caller made): it fires in every copy's commit,
# enabled ALWAYS for the copies' session_replication_role = replica.
hook_partition_done()
{
    local db=$1 function=$2
    psql_tgt "$db" >/dev/null <<SQL || fail "could not hook $function to pgconvoy.partition_done in $db"
CREATE SCHEMA pgconvoy;
CREATE TABLE pgconvoy.partition_done (
    task_key text, schema_name text, table_name text, part int,
    rows bigint, bytes bigint, done_at timestamptz DEFAULT now(),
    PRIMARY KEY (task_key, schema_name, table_name, part));
CREATE TRIGGER test_hook AFTER INSERT ON pgconvoy.partition_done
    FOR EACH STATEMENT EXECUTE FUNCTION $function();
ALTER TABLE pgconvoy.partition_done ENABLE ALWAYS TRIGGER test_hook;
SQL
}

# not_analyzed DB [SCHEMA...]: the leaf tables (relkind r) of target database
# DB, outside the named schemas, that no ANALYZE statement has analyzed,
# as "schema.table" lines (autovacuum's sets last_autoanalyze instead).
not_analyzed()
{
    local db=$1 s skip="''"
    shift
    for s in "$@"; do
        skip+=", '$s'"
    done
    psql_side tgt "$db" -c "
        SELECT n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_stat_user_tables st ON st.relid = c.oid
        WHERE c.relkind = 'r' AND st.last_analyze IS NULL
          AND n.nspname NOT IN ($skip) AND $PGCONVOY_USER_SCHEMAS_SQL
        ORDER BY (n.nspname || '.' || c.relname) COLLATE \"C\""
}

# source_row_counts src|tgt DB [TABLE...]: "schema.table<TAB>count(*)" for
# every leaf table (relkind r) of DB, or the named ones.
source_row_counts()
{
    local side=$1 db=$2
    shift 2
    psql_side "$side" "$db" -F $'\t' <<SQL
SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND $PGCONVOY_USER_SCHEMAS_SQL AND $(s_table_filter_sql "$@")
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
\gexec
SQL
}

# ---------------------------------------------------------------------------
# compare_db SRCDB TGTDB [TABLE...]
#
# For each leaf table of SRCDB and each materialized view populated there
# (or only the named ones; see s_table_filter_sql for the name forms): row
# count and content checksum on both sides, md5(string_agg(row::text,
# E'\n' ORDER BY row::text)), each row taken as a ROW() of the source's
# columns by name, whatever their order on the target (a materialized view
# left unpopulated on the target fails the comparison). Tables over 64 MB
# use an order-free checksum instead (the sum of each row's md5, two 60-bit
# halves): string_agg of a big table would sort gigabytes and hit the 1 GB
# text limit. Then sequences (last_value; with names, only those
# owned by the named tables) and, per table and partitioned parent, the
# numbers of indexes, constraints and user triggers.
#
# Prints every difference, then "compare: N tables, M rows identical".
# Returns 1 on any difference or any table missing on the target. Tables
# that exist only on the target are not a difference.
compare_db()
{
    local src=$1 tgt=$2
    shift 2
    local dir=$TEST_TMP/compare.$src.$tgt filter
    mkdir -p "$dir"
    filter=$(s_table_filter_sql "$@")

    # A named table must exist on the source, or the filter would silently
    # compare nothing.
    if (($# > 0)); then
        local t found
        for t in "$@"; do
            found=$(psql_src "$src" -c "
                SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND $(s_table_filter_sql "$t")") ||
                return 1
            if [[ $found != 1 ]]; then
                echo "compare: table $t not found on the source database $src" >&2
                return 1
            fi
        done
    fi

    # The source writes the comparison script, quoting every identifier and
    # literal itself; the same script then runs on both sides.
    psql_src "$src" >"$dir/script.sql" <<SQL || return 1
SELECT format(
\$f\$SELECT to_regclass(%L) IS NOT NULL AS present \gset
\if :present
SELECT %L, count(*), %s FROM %s;
\else
SELECT %L, 'MISSING', '';
\endif\$f\$,
    format('%I.%I', n.nspname, c.relname),
    format('%I.%I', n.nspname, c.relname),
    CASE WHEN pg_table_size(c.oid) <= 64 * 1024 * 1024
         THEN 'md5(string_agg(_row::text, E''\\n'' ORDER BY _row::text COLLATE "C"))'
         ELSE '''sum:'' || coalesce(sum((''x'' || substr(_h, 1, 15))::bit(60)::bigint), 0)'
              || ' || '':'' || coalesce(sum((''x'' || substr(_h, 16, 15))::bit(60)::bigint), 0)'
    END,
    CASE WHEN pg_table_size(c.oid) <= 64 * 1024 * 1024
         THEN format('(SELECT %s AS _row FROM %I.%I _t) _rows', k.expr, n.nspname, c.relname)
         ELSE format('(SELECT md5((%s)::text) AS _h FROM %I.%I _t) _hashes', k.expr, n.nspname, c.relname)
    END,
    format('%I.%I', n.nspname, c.relname))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
-- each row as a ROW() of the source's columns, by name: a target table
-- whose columns stand in another order holds the same rows
CROSS JOIN LATERAL (
    SELECT coalesce('ROW(' || string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) || ')', '_t') AS expr
    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) k
WHERE (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated))
  AND $PGCONVOY_USER_SCHEMAS_SQL AND $filter
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C";
SQL

    # Sequences: all of them, or those owned by the named tables (serial and
    # identity columns), which are the ones that travel with a table.
    local seq_sql
    if (($# == 0)); then
        seq_sql="SELECT format('%I.%I', s.schemaname, s.sequencename), coalesce(s.last_value::text, 'NULL')
                 FROM pg_sequences s
                 WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema', 'pgconvoy')
                 ORDER BY 1"
    else
        seq_sql="SELECT format('%I.%I', s.schemaname, s.sequencename), coalesce(s.last_value::text, 'NULL')
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
                                 AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                 JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
                 JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                 JOIN pg_sequences s ON s.schemaname = sn.nspname AND s.sequencename = sc.relname
                 WHERE $filter
                 ORDER BY 1"
    fi
    local objects_sql="
        SELECT format('%I.%I', n.nspname, c.relname),
               format('indexes=%s constraints=%s triggers=%s',
                      (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid),
                      (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid),
                      (SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND $PGCONVOY_USER_SCHEMAS_SQL AND $filter
        ORDER BY 1"

    # Both sides at once: on big tables this halves the wait.
    local side rc_src=0 rc_tgt=0 pid_src pid_tgt
    for side in src tgt; do
        local db=$src
        [[ $side == tgt ]] && db=$tgt
        {
            PGCONVOY_TEST_PGOPTIONS=$PGCONVOY_COMPARE_PGOPTIONS \
                psql_side "$side" "$db" -F $'\t' -f "$dir/script.sql" >"$dir/$side.tables" &&
                psql_side "$side" "$db" -F $'\t' -c "$seq_sql" >"$dir/$side.sequences" &&
                psql_side "$side" "$db" -F $'\t' -c "$objects_sql" >"$dir/$side.objects"
        } 2>"$dir/$side.err" &
        if [[ $side == src ]]; then pid_src=$!; else pid_tgt=$!; fi
    done
    wait "$pid_src" || rc_src=$?
    wait "$pid_tgt" || rc_tgt=$?
    if ((rc_src != 0)); then
        echo "compare: queries on the source database $src failed: $(cat "$dir/src.err")" >&2
        return 1
    fi
    if ((rc_tgt != 0)); then
        echo "compare: queries on the target database $tgt failed: $(cat "$dir/tgt.err")" >&2
        return 1
    fi

    local diffs=0 tables=0 rows=0 key
    local -A tgt_val=() missing=()
    local name count sum value

    # tables
    while IFS=$'\t' read -r name count sum; do
        tgt_val[$name]="$count"$'\t'"$sum"
    done <"$dir/tgt.tables"
    while IFS=$'\t' read -r name count sum; do
        tables=$((tables + 1))
        if [[ ${tgt_val[$name]+set} != set || ${tgt_val[$name]} == MISSING$'\t' ]]; then
            echo "compare: table $name: missing on the target (source has $count rows)"
            missing[$name]=1
            diffs=$((diffs + 1))
        elif [[ ${tgt_val[$name]} != "$count"$'\t'"$sum" ]]; then
            echo "compare: table $name: source rows=$count checksum=$sum, target rows=${tgt_val[$name]%%$'\t'*} checksum=${tgt_val[$name]#*$'\t'}"
            diffs=$((diffs + 1))
        else
            rows=$((rows + count))
        fi
    done <"$dir/src.tables"

    # sequences and per-table object counts: "key<TAB>value" on each side
    local what
    for what in sequences objects; do
        tgt_val=()
        while IFS=$'\t' read -r key value; do
            tgt_val[$key]=$value
        done <"$dir/tgt.$what"
        while IFS=$'\t' read -r key value; do
            if [[ ${tgt_val[$key]+set} != set ]]; then
                if [[ $what == sequences ]]; then
                    echo "compare: sequence $key: missing on the target (source last_value=$value)"
                elif [[ ${missing[$key]+set} == set ]]; then
                    continue # already reported with its rows
                else
                    echo "compare: table $key: missing on the target (source has $value)"
                fi
                diffs=$((diffs + 1))
            elif [[ ${tgt_val[$key]} != "$value" ]]; then
                if [[ $what == sequences ]]; then
                    echo "compare: sequence $key: source last_value=$value, target last_value=${tgt_val[$key]}"
                else
                    echo "compare: table $key: source has $value, target has ${tgt_val[$key]}"
                fi
                diffs=$((diffs + 1))
            fi
        done <"$dir/src.$what"
    done

    if ((diffs > 0)); then
        echo "compare: $diffs difference(s) between source $src and target $tgt ($tables tables checked)"
        return 1
    fi
    echo "compare: $tables tables, $rows rows identical"
    return 0
}

# ---------------------------------------------------------------------------
# Checks

# expect_fail CODE PATTERN CMD...: runs CMD (a command or a function), fails
# the scenario unless it exits with CODE and its stdout+stderr matches the
# extended regex PATTERN. The output is left in LAST_OUTPUT.
expect_fail()
{
    local want=$1 pattern=$2 rc=0
    shift 2
    LAST_OUTPUT=$("$@" 2>&1) || rc=$?
    if ((rc != want)); then
        fail "expected exit $want, got $rc from: $*
--- its output ---
$LAST_OUTPUT
------------------"
    fi
    if ! grep -Eq -- "$pattern" <<<"$LAST_OUTPUT"; then
        fail "exit $rc as expected, but the output does not match /$pattern/: $*
--- its output ---
$LAST_OUTPUT
------------------"
    fi
    pass "exit $want, /$pattern/: $(grep -Em 1 -- "$pattern" <<<"$LAST_OUTPUT")"
}

# assert_target_untouched DB [TABLE...]: DB on the target holds no user
# relation but the named ones, and no "pgconvoy" schema.
assert_target_untouched()
{
    local db=$1 got want
    shift
    got=$(list_tables tgt "$db" 'r,p,v,m,S,f')
    want=$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort)
    if [[ $got != "$want" ]]; then
        fail "target database $db was changed: it holds [${got//$'\n'/, }], expected [${want//$'\n'/, }]"
    fi
    if [[ -n $(psql_tgt "$db" -c "SELECT 1 FROM pg_namespace WHERE nspname = 'pgconvoy'") ]]; then
        fail "target database $db was changed: it has a \"pgconvoy\" schema"
    fi
}

# assert_no_leftovers SRCDB: no replication slot for SRCDB and no pgconvoy
# publication in it on the source (an offline or finished task must not leave any: a
# forgotten slot holds WAL on the source forever).
# drop_cdc_objects DB SLOT PUB ORIGIN: drops what a change-data-capture
# test made (the slot, once its walsender has let go, and the publication
# on the source; the replication origin on the target) and checks that
# nothing of it is left.
drop_cdc_objects()
{
    local db=$1 slot=$2 pub=$3 origin=$4
    for _ in $(seq 1 50); do
        [[ $(psql_src postgres -c "SELECT count(*) FROM pg_replication_slots
                                   WHERE slot_name = '$slot' AND active") == 0 ]] && break
        sleep 0.1
    done
    psql_src "$db" <<SQL >/dev/null || fail "could not drop the slot and publication"
SELECT pg_drop_replication_slot('$slot');
DROP PUBLICATION $pub;
SQL
    psql_tgt "$db" -c "SELECT pg_replication_origin_drop('$origin')" >/dev/null ||
        fail "could not drop the origin"
    assert_no_leftovers "$db"
    [[ $(psql_src postgres -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'") == 0 ]] ||
        fail "slot $slot left on the source"
    [[ $(psql_tgt postgres -c "SELECT count(*) FROM pg_replication_origin WHERE roname = '$origin'") == 0 ]] ||
        fail "origin $origin left on the target"
}

assert_no_leftovers()
{
    local db=$1 slots pubs
    slots=$(psql_src postgres -v db="$db" <<<"SELECT string_agg(slot_name, ', ') FROM pg_replication_slots WHERE database = :'db'")
    [[ -z $slots ]] || fail "replication slot(s) left on the source for $db: $slots"
    # the database's own publications are the user's
    pubs=$(psql_src "$db" -c "SELECT string_agg(pubname, ', ') FROM pg_publication WHERE pubname LIKE 'pgconvoy\_%'")
    [[ -z $pubs ]] || fail "publication(s) left in the source database $db: $pubs"
}

# assert_stream_gone DB SLOT: after an online task's cutover, nothing of its
# stream is left: no slot or publication on the source (assert_no_leftovers),
# no replication origin SLOT and no pgconvoy schema on the target.
assert_stream_gone()
{
    local db=$1 slot=$2
    assert_no_leftovers "$db"
    [[ $(psql_tgt postgres -c "SELECT count(*) FROM pg_replication_origin WHERE roname = '$slot'") == 0 ]] ||
        fail "replication origin $slot left on the target"
    [[ $(psql_tgt "$db" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgconvoy'") == 0 ]] ||
        fail "schema pgconvoy left on the target"
}

# pgbench_init DB SCALE: pgbench -i -s SCALE of DB on the source, or fail
# with its last lines.
pgbench_init()
{
    local db=$1 scale=$2
    "$PGBIN/pgbench" -i -s "$scale" -q -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$db" \
        >"$TEST_TMP/pgbench-init.log" 2>&1 ||
        fail "pgbench -i -s $scale of $db failed: $(tail -n 5 "$TEST_TMP/pgbench-init.log")"
}

# pgbench_start DB ARG...: pgbench -n with ARGs (clients, rate, duration,
# script) writing to DB on the source in the background, its output in
# $TEST_TMP/pgbench.log, its pid PGCONVOY_PIDS[pgbench] (stopped at exit
# if pgbench_stop was not called).
pgbench_start()
{
    local db=$1
    shift
    "$PGBIN/pgbench" -n "$@" -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$db" \
        >"$TEST_TMP/pgbench.log" 2>&1 &
    PGCONVOY_PIDS[pgbench]=$!
}

# pgbench_stop: stops pgbench_start's pgbench (TERM: background jobs ignore
# SIGINT) and waits for it.
pgbench_stop()
{
    kill -TERM "${PGCONVOY_PIDS[pgbench]}" 2>/dev/null
    wait "${PGCONVOY_PIDS[pgbench]}" 2>/dev/null || true
    unset 'PGCONVOY_PIDS[pgbench]'
}

# start_writer DB STOPFILE: writes to DB on the source (pgbench -i made
# it) in short pgbench runs, again after a failed one (the source
# restarted), until STOPFILE exists; WRITER_PID is the loop's pid, to
# wait for once STOPFILE is made.
start_writer()
{
    local db=$1 stopfile=$2
    rm -f "$stopfile"
    (
        while [[ ! -e $stopfile ]]; do
            "$PGBIN/pgbench" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -n -c 2 -T 3 "$db" \
                >/dev/null 2>&1 || sleep 0.5
        done
    ) &
    # shellcheck disable=SC2034 # the caller waits for it
    WRITER_PID=$!
}

# ---------------------------------------------------------------------------
# pgconvoy processes

# s_bin NAME: path of executable NAME in PGCONVOY_BUILD_DIR, or fail.
s_bin()
{
    local path=$PGCONVOY_BUILD_DIR/$1
    [[ -x $path ]] || fail "no executable $path (build first, or set PGCONVOY_BUILD_DIR)"
    echo "$path"
}

# s_background NAME CMD...: starts CMD as its own process group, output in
# $TEST_TMP/NAME.log, and remembers its pid for the exit trap.
s_background()
{
    local name=$1
    shift
    # setsid: its own process group, so that stopping it also stops its
    # children, and ^C on the terminal does not reach it before the trap does.
    # Its own working directory: a daemon must not depend on the CLI's.
    mkdir -p "$TEST_TMP/cwd-$name"
    (cd "$TEST_TMP/cwd-$name" && exec setsid "$@") </dev/null >>"$TEST_TMP/$name.log" 2>&1 &
    PGCONVOY_PIDS[$name]=$!
}

# daemon_process_args: the arguments and environments of this scenario's
# daemons and of every process they started, a line each. Each daemon leads its own
# process group (s_background); processes of other scenarios running
# beside this one are not looked at.
daemon_process_args()
{
    local groups=" ${PGCONVOY_PIDS[*]} "
    ps -e e -ww -o pgid=,args= | while read -r pgid args; do
        if [[ $groups == *" $pgid "* ]]; then
            printf '%s\n' "$args"
        fi
    done
}

# wait_started_copy [TIMEOUT]: waits (default 180 s) until the catalog
# says a copy unit runs and has started reading, and prints "UNIT AGENT".
# Polled fast: a range can take a fraction of a second, so the status can
# show a table LOADING after its agent moved on.
wait_started_copy()
{
    local catalog=$TEST_TMP/coordinator-state/pgconvoy.db row=""
    local deadline=$((SECONDS + ${1:-180}))
    while [[ -z $row ]]; do
        ((SECONDS < deadline)) || fail "no copy unit started within ${1:-180} s"
        row=$(sqlite3 -separator ' ' "$catalog" "SELECT id, agent FROM units WHERE kind = 4 AND state = 'running' AND started = 1 LIMIT 1" 2>/dev/null || true)
        [[ -n $row ]] || sleep 0.02
    done
    echo "$row"
}

# start_coordinator: a coordinator on two free ports with its state dir in
# $TEST_TMP; exports COORD (for the CLI) and AGENTS_EP (for agents) and
# returns once 'pgconvoy project list' answers.
# Scenarios strike agents and wait for the coordinator to notice: a short
# agent timeout (and so lease) keeps them quick. The default, 20 s, rides
# out a busy coordinator; PGCONVOY_AGENT_TIMEOUT sets another.
PGCONVOY_AGENT_TIMEOUT_ARGS=(--agent-timeout "${PGCONVOY_AGENT_TIMEOUT:-6s}")

start_coordinator()
{
    local bin cli listen_port agents_port
    bin=$(s_bin pgconvoy-coordinator)
    cli=$(s_bin pgconvoy)
    listen_port=$(pgconvoy_free_port) || fail "no free port"
    agents_port=$(pgconvoy_free_port) || fail "no free port"
    PGCONVOY_PORTS+=("$listen_port" "$agents_port")
    COORD=tcp://127.0.0.1:$listen_port
    AGENTS_EP=tcp://${PGCONVOY_AGENTS_HOST:-127.0.0.1}:$agents_port
    export COORD AGENTS_EP
    mkdir -p "$TEST_TMP/coordinator-state"
    # extra arguments (e.g. CURVE options) go to the coordinator
    s_background coordinator "$bin" --state-dir "$TEST_TMP/coordinator-state" \
        --listen "$COORD" --agents "$AGENTS_EP" "${PGCONVOY_AGENT_TIMEOUT_ARGS[@]}" "$@"
    for _ in $(seq 1 100); do
        if ! kill -0 "${PGCONVOY_PIDS[coordinator]}" 2>/dev/null; then
            fail "pgconvoy-coordinator exited at start; its log:
$(cat "$TEST_TMP/coordinator.log")"
        fi
        if timeout 5 "$cli" --coordinator "$COORD" project list >/dev/null 2>&1; then
            note "coordinator up: $COORD, agents on $AGENTS_EP"
            return 0
        fi
        sleep 0.2
    done
    fail "pgconvoy-coordinator did not answer 'project list' on $COORD within 20 s"
}

# start_agent NAME [ARGS...]: an agent named NAME in the background, its log in
# $TEST_TMP/agent-NAME.log. Extra ARGS go to pgconvoy-agent (e.g. --jobs 1).
start_agent()
{
    local name=$1 bin
    shift
    [[ -n ${AGENTS_EP:-} ]] || fail "start_agent: start_coordinator first"
    bin=$(s_bin pgconvoy-agent)
    s_background "agent-$name" "$bin" --coordinator "$AGENTS_EP" --name "$name" "$@"
    sleep 0.2
    kill -0 "${PGCONVOY_PIDS[agent-$name]}" 2>/dev/null ||
        fail "pgconvoy-agent $name exited at start; its log:
$(cat "$TEST_TMP/agent-$name.log")"
    note "agent $name started (pid ${PGCONVOY_PIDS[agent-$name]})"
}

# agent_pid NAME: the pid of agent NAME.
agent_pid()
{
    echo "${PGCONVOY_PIDS[agent-$1]:?no agent named $1}"
}

# kill_agent NAME: kill -9 agent NAME and its children, as a machine dying.
kill_agent()
{
    local pid
    pid=$(agent_pid "$1")
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    unset "PGCONVOY_PIDS[agent-$1]"
    note "agent $1 (pid $pid) killed with SIGKILL"
}

# s_alive PID: the process runs (a zombie does not count).
s_alive()
{
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) } # the state follows "(comm) "
    [[ ${stat:0:1} != Z ]]
}

# pgf ARGS...: the CLI against the coordinator started by start_coordinator;
# returns the CLI's exit code. If the coordinator dies meanwhile, stops the
# CLI (which would wait for an answer for minutes) and fails the scenario
# with the coordinator's log.
pgf()
{
    local cli pid rc=0 coord_pid=${PGCONVOY_PIDS[coordinator]:-}
    cli=$(s_bin pgconvoy)
    "$cli" --coordinator "${COORD:?start_coordinator first}" "$@" &
    pid=$!
    while s_alive "$pid"; do
        if [[ -n $coord_pid ]] && ! s_alive "$coord_pid"; then
            kill -TERM "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            fail "pgconvoy-coordinator died during 'pgconvoy $*'; its log ends:
$(tail -n 30 "$TEST_TMP/coordinator.log")"
        fi
        sleep 0.05
    done
    wait "$pid" || rc=$?
    return "$rc"
}

# pgconvoy_migrate ARGS...: embedded mode ('pgconvoy migrate ...'), bounded by
# PGCONVOY_MIGRATE_TIMEOUT seconds (default 600); returns its exit code.
# Its state dir (catalog and logs, which pgconvoy keeps when a run fails) is
# $TEST_TMP/migrate-N, so the exit trap shows those logs and removes them.
pgconvoy_migrate()
{
    local cli rc=0
    cli=$(s_bin pgconvoy)
    # a state directory of its own: a run in a subshell (expect_fail)
    # cannot count its runs, so look for the first one not taken
    PGCONVOY_MIGRATE_RUNS=$((${PGCONVOY_MIGRATE_RUNS:-0} + 1))
    while [[ -e $TEST_TMP/migrate-$PGCONVOY_MIGRATE_RUNS ]]; do
        PGCONVOY_MIGRATE_RUNS=$((PGCONVOY_MIGRATE_RUNS + 1))
    done
    set -- --state-dir "$TEST_TMP/migrate-$PGCONVOY_MIGRATE_RUNS" "$@"
    # timeout leads its own process group and signals all of it, so the
    # coordinator and agents that migrate starts die with it. In the
    # background + wait, because bash runs a TERM trap (ctest's timeout) only
    # after a foreground command ends, and wait returns at once.
    timeout --kill-after=10 "${PGCONVOY_MIGRATE_TIMEOUT:-600}" "$cli" migrate "$@" &
    PGCONVOY_PIDS[migrate]=$!
    wait "${PGCONVOY_PIDS[migrate]}" || rc=$?
    unset 'PGCONVOY_PIDS[migrate]'
    return "$rc"
}

# src_uri DB / tgt_uri DB: connection URIs for embedded mode.
src_uri()
{
    echo "postgresql://postgres@127.0.0.1:$SRC_PORT/$1"
}

tgt_uri()
{
    echo "postgresql://postgres@127.0.0.1:$TGT_PORT/$1"
}

# write_conn_json FILE DB PORT: a connection JSON in the seed's format.
write_conn_json()
{
    local file=$1 db=$2 port=$3
    jq -n --arg db "$db" --argjson port "$port" \
        '{userName: "postgres", password: null, serverName: "127.0.0.1", databaseName: $db, port: $port}' >"$file"
}

# write_seed_files DB: the seed's three files for 'task create', in the
# current directory: s.json and t.json (the test clusters, database postgres)
# and o.json migrating every table of DB to a database of the same name on the
# target.
write_seed_files()
{
    local db=$1
    write_conn_json s.json postgres "$SRC_PORT"
    write_conn_json t.json postgres "$TGT_PORT"
    jq -n --arg db "$db" '[{name: $db, target_database_name: $db, selectedTables: []}]' >o.json
}

# create_project PROJECT: 'project create' as in the seed, or fail.
create_project()
{
    pgf project create -n "$1" --source-platform PostgreSQL --target-platform PostgreSQL ||
        fail "project create exited $?"
}

# create_task P T [ARGS…]: an OfflineMigration task of the seed files in the
# current directory (write_seed_files), with ARGS added; fails the test if
# task create does not exit 0. create_online_task: the same, OnlineMigration.
create_task()
{
    s_create_task OfflineMigration "$@"
}

create_online_task()
{
    s_create_task OnlineMigration "$@"
}

s_create_task()
{
    local type=$1 project=$2 task=$3
    shift 3
    pgf task create --project-name "$project" -n "$task" --task-type "$type" \
        --source-connection-json s.json --target-connection-json t.json \
        --database-options-json o.json "$@" ||
        fail "task create of $task exited $?"
}

# ---------------------------------------------------------------------------
# Task status

# task_show PROJECT TASK: 'task show --expand output -o json' into
# $TEST_TMP/task-TASK.json (path in TASK_JSON); returns the CLI's exit code.
task_show()
{
    local project=$1 task=$2 rc=0
    TASK_JSON=$TEST_TMP/task-$task.json
    pgf task show --project-name "$project" -n "$task" --expand output -o json \
        >"$TASK_JSON.tmp" 2>"$TEST_TMP/task-$task.err" || rc=$?
    if ((rc == 0)) && ! jq -e . "$TASK_JSON.tmp" >/dev/null 2>&1; then
        echo "task show printed something that is not JSON:" >&2
        cat "$TASK_JSON.tmp" >&2
        return 1
    fi
    mv "$TASK_JSON.tmp" "$TASK_JSON"
    return "$rc"
}

# migration_state: MigrationLevelOutput.state of TASK_JSON.
migration_state()
{
    jq -r '[.properties.output[] | select(.resultType == "MigrationLevelOutput") | .state][0] // "none"' "$TASK_JSON"
}

# wait_db_state PROJECT TASK STATE...: polls until the task's (one)
# database is in one of the STATEs; fails the scenario, with the
# database's output, if it is FAILED or CANCELLED first, or after
# WAIT_DB_TIMEOUT s (300), asking every WAIT_DB_POLL s (0.5).
wait_db_state()
{
    local project=$1 task=$2 limit=${WAIT_DB_TIMEOUT:-300} state want
    local deadline=$((SECONDS + limit))
    shift 2
    while ((SECONDS < deadline)); do
        task_show "$project" "$task" || fail "task show failed: $(cat "$TEST_TMP/task-$task.err")"
        state=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .migrationState' "$TASK_JSON")
        for want in "$@"; do
            [[ $state == "$want" ]] && return 0
        done
        [[ $state == FAILED || $state == CANCELLED ]] &&
            fail "database of task $task is $state: $(jq -c '.properties.output[] | select(.resultType == "DatabaseLevelOutput")' "$TASK_JSON")"
        sleep "${WAIT_DB_POLL:-0.5}"
    done
    fail "database of task $task not in $* after $limit s: $(jq -c '.properties.output[] | select(.resultType == "DatabaseLevelOutput")' "$TASK_JSON")"
}

# wait_until WHAT CMD...: polls CMD every 0.1 s until it succeeds; fails the
# scenario, saying it is not WHAT, after WAIT_UNTIL_TIMEOUT s (120).
wait_until()
{
    local what=$1 limit=${WAIT_UNTIL_TIMEOUT:-120}
    local deadline=$((SECONDS + limit))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || fail "not $what after $limit s"
        sleep 0.1
    done
}

# wait_task PROJECT TASK [TIMEOUT]: polls until the MigrationLevelOutput state
# is Succeeded (returns 0) or Failed/Canceled (prints the JSON, returns 1);
# on timeout (default 300 s) prints the JSON and returns 1. Prints a line
# whenever the states change.
wait_task()
{
    local project=$1 task=$2 timeout=${3:-300}
    local deadline=$((SECONDS + timeout)) state summary last=""
    while ((SECONDS < deadline)); do
        if ! task_show "$project" "$task"; then
            echo "task show failed: $(cat "$TEST_TMP/task-$task.err")" >&2
            return 1
        fi
        state=$(migration_state)
        summary=$(jq -r '[.properties.output[] | select(.resultType == "DatabaseLevelOutput")
                          | "\(.databaseName)=\(.migrationState)"] | join(" ")' "$TASK_JSON")
        if [[ "$state $summary" != "$last" ]]; then
            note "task $task: $state $summary"
            last="$state $summary"
        fi
        case $state in
            Succeeded) return 0 ;;
            Failed | Canceled)
                echo "task $task ended $state:" >&2
                jq . "$TASK_JSON" >&2
                return 1
                ;;
        esac
        sleep 1
    done
    echo "task $task not finished after ${timeout} s (state $state):" >&2
    jq . "$TASK_JSON" >&2
    return 1
}

# check_task_output SRCDB TGTDB [TABLE...]: in TASK_JSON, the DatabaseLevelOutput
# for this database (databaseName = SRCDB or TGTDB) is COMPLETED with
# fullLoadCompletedTables = the number of leaf tables of SRCDB (or of the
# named ones) and no errored table; there is one TableLevelOutput per such
# table, COMPLETED, with fullLoadTotalRows = its count(*) on the source, and
# none for any other table.
check_task_output()
{
    local src=$1 tgt=$2
    shift 2
    # shellcheck disable=SC2016 # $s and $t are jq variables
    local dbsel='select(.databaseName == $s or .databaseName == $t)'
    local db_json expected_n counts name count got state rows

    db_json=$(jq -c --arg s "$src" --arg t "$tgt" \
        "[.properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | $dbsel]" "$TASK_JSON")
    [[ $(jq length <<<"$db_json") == 1 ]] ||
        fail "expected one DatabaseLevelOutput for $src/$tgt, got: $db_json"

    counts=$(source_row_counts src "$src" "$@") || fail "could not count the rows of $src"
    expected_n=$(grep -c . <<<"$counts" || true)
    jq -e --argjson n "$expected_n" \
        '.[0] | .migrationState == "COMPLETED" and .fullLoadCompletedTables == $n and .fullLoadErroredTables == 0' \
        <<<"$db_json" >/dev/null ||
        fail "database $src: expected migrationState COMPLETED, fullLoadCompletedTables $expected_n, fullLoadErroredTables 0; got $(jq -c '.[0] | {migrationState, fullLoadCompletedTables, fullLoadErroredTables}' <<<"$db_json")"

    # tableName<TAB>state<TAB>rows for this database's tables
    local -A out_state=() out_rows=()
    while IFS=$'\t' read -r name state rows; do
        [[ ${out_state[$name]+set} == set ]] && fail "database $src: table $name listed twice in the status"
        out_state[$name]=$state
        out_rows[$name]=$rows
    done < <(jq -r --arg s "$src" --arg t "$tgt" \
        ".properties.output[] | select(.resultType == \"TableLevelOutput\") | $dbsel
         | [.tableName, .state, (.fullLoadTotalRows | tostring)] | @tsv" "$TASK_JSON")

    local -A expected=()
    while IFS=$'\t' read -r name count; do
        [[ -n $name ]] || continue
        expected[$name]=1
        got=${out_state[$name]:-}
        [[ -n $got ]] || fail "database $src: no TableLevelOutput for table $name"
        [[ $got == COMPLETED ]] || fail "database $src: table $name is $got, expected COMPLETED"
        [[ ${out_rows[$name]} == "$count" ]] ||
            fail "database $src: table $name fullLoadTotalRows=${out_rows[$name]}, but the source has $count rows"
    done <<<"$counts"
    for name in "${!out_state[@]}"; do
        [[ ${expected[$name]+set} == set ]] ||
            fail "database $src: TableLevelOutput for $name, which was not to be migrated"
    done
    pass "status of $src: COMPLETED, $expected_n tables, every row count matches the source"
}
