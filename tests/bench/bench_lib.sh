# shellcheck shell=bash
#
# tests/bench/bench_lib.sh
#     Sourced by the benchmarks after tests/integration/lib.sh: clocks,
#     medians and the check of the tools they are asked to run.

now()
{
    date +%s.%N
}

# CPU seconds the whole machine has been busy (user, nice, system, irq
# and softirq in /proc/stat): between two readings, the servers' work and
# the tool's together. Steadier than the wall clock on a shared machine,
# and it shows what a tool costs beside how long it takes.
cpu_busy()
{
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat
}

# seconds between two now() values, 2 decimals
elapsed()
{
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

# median of numbers ("-" and other non-numbers are skipped; none left: "-")
median()
{
    printf '%s\n' "$@" | { grep -E '^-?[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) printf "-";
              else if (NR % 2) printf "%.2f", v[(NR + 1) / 2];
              else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# quiesce: both clusters' dirty buffers written and the kernel's written
# back, untimed, before a timed run. Without it the data set's load (700 MB
# in bench.sh) or the run before was still being written back during the
# next run: the first run of bench.sh had 1-1.5 s more of idle CPU than
# the others, and it was always the same tool's.
quiesce()
{
    psql_src postgres -c "CHECKPOINT" >/dev/null || fail "CHECKPOINT failed on the source"
    psql_tgt postgres -c "CHECKPOINT" >/dev/null || fail "CHECKPOINT failed on the target"
    sync
}

# tool_order RUN TOOL...: the tools in the order they take turns in run
# RUN (from 1), rotated by one each run so that none always goes first
tool_order()
{
    local run=$1
    shift
    local tools=("$@") i
    for ((i = 0; i < ${#tools[@]}; i++)); do
        echo "${tools[$(((i + run - 1) % ${#tools[@]}))]}"
    done
}

# check_tools "KNOWN..." TOOL...: each TOOL is one of the KNOWN ones (the
# benchmark's run_TOOL functions), and can run
check_tools()
{
    local known=$1 tool
    shift
    (($# > 0)) || fail "TOOLS is empty"
    for tool in "$@"; do
        [[ " $known " == *" $tool "* ]] || fail "unknown tool '$tool' in TOOLS (${known// /, })"
        case $tool in
            pgconvoy*) s_bin pgconvoy >/dev/null ;;
            pgcopydb) command -v pgcopydb >/dev/null || fail "pgcopydb is not installed (deploy/install-deps.sh)" ;;
        esac
    done
}

# fresh_target DB: the emptied target database DB for a timed run, on a
# file system of its own, and BENCH_SCRATCH, a directory there for a
# tool's own files (pg_dump -Fd, pgcopydb --dir).
#
# Why: before it reuses an inode, ext4 looks through the group's recently
# deleted ones (recently_deleted(): deleted within dirty_expire_interval,
# taken as seconds, so 50 minutes), reading each one's inode block. A
# benchmark that drops a database of thousands of files before each run
# makes every later run's file creations dearer: the runs of 2,000 tables
# grew from 4 to 11 s within a set, whatever the tool, perf putting a
# quarter of the time in recently_deleted and find_get_block_common. A new
# ext4 per run (a loop device, its inode tables made at mkfs, not by a
# background thread during the run) keeps the runs apart. Needs root;
# BENCH_FRESH_FS=0 uses a plain new database on the clusters' file
# system instead.
BENCH_FS_DB=""
BENCH_FS_MNT=""
# shellcheck disable=SC2034 # BENCH_SCRATCH: for the benchmark that sources this
fresh_target()
{
    local db=$1 image
    if [[ ${BENCH_FRESH_FS:-1} == 0 ]]; then
        new_db "$db" tgt
        BENCH_SCRATCH=$TEST_TMP
        return
    fi
    s_bench_fs_release
    if [[ -z $BENCH_FS_MNT ]]; then
        # not under TEST_TMP, which the servers' user may not enter
        BENCH_FS_MNT=$(mktemp -d /tmp/pgconvoy-benchfs.XXXXXX)
        chmod 755 "$BENCH_FS_MNT"
        PGCONVOY_EXIT_HOOKS+=(s_bench_fs_release s_bench_fs_remove)
    fi
    image=$BENCH_FS_MNT.img
    fallocate -l "${BENCH_FS_SIZE:-4G}" "$image" || fail "could not make $image"
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$image" ||
        fail "could not make a file system in $image"
    mount -o loop "$image" "$BENCH_FS_MNT" || fail "could not mount $image (run as root, or BENCH_FRESH_FS=0)"
    mkdir "$BENCH_FS_MNT/pg" "$BENCH_FS_MNT/scratch"
    chown postgres "$BENCH_FS_MNT/pg"
    chmod 700 "$BENCH_FS_MNT/pg"
    s_drop_db tgt "$db" >/dev/null || fail "could not drop database $db on tgt"
    psql_tgt postgres -v dir="$BENCH_FS_MNT/pg" -v db="$db" >/dev/null <<'SQL' ||
CREATE TABLESPACE bench_fresh LOCATION :'dir';
CREATE DATABASE :"db" TEMPLATE template0 TABLESPACE bench_fresh;
SQL
        fail "could not make database $db in a tablespace on $BENCH_FS_MNT"
    BENCH_FS_DB=$db
    PGCONVOY_DBS+=("tgt:$db")
    BENCH_SCRATCH=$BENCH_FS_MNT/scratch
}

# The last run's file system, with its database and tablespace, gone.
s_bench_fs_release()
{
    [[ -n $BENCH_FS_MNT ]] && mountpoint -q "$BENCH_FS_MNT" || return 0
    if [[ -n $BENCH_FS_DB ]]; then
        s_drop_db tgt "$BENCH_FS_DB" >/dev/null 2>&1
    fi
    psql_tgt postgres -c "DROP TABLESPACE IF EXISTS bench_fresh" >/dev/null 2>&1
    umount "$BENCH_FS_MNT" || fail "could not unmount $BENCH_FS_MNT"
    rm -f "$BENCH_FS_MNT.img"
}

s_bench_fs_remove()
{
    [[ -n $BENCH_FS_MNT ]] && rmdir "$BENCH_FS_MNT" 2>/dev/null
    return 0
}
