#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/clusters.sh
#     Starts and stops the throw-away source and target PostgreSQL clusters
#     that the integration tests, the benchmark and the demo run against.
#
#   clusters.sh setup DIR      initdb + start "src" and "tgt", write DIR/env
#   clusters.sh teardown DIR   stop both (immediate) and remove DIR
#
# PGCONVOY_SRC_MAJOR and PGCONVOY_TGT_MAJOR (default: the major of PGBIN)
# choose each side's PostgreSQL major version. One other than PGBIN's runs
# from the Debian chroot that tests/integration/chroots.sh built for it
# (13: bullseye, 17: trixie), with its data directory inside the chroot;
# it listens on 127.0.0.1 like the others, so the host's psql, agents and
# scenario helpers reach it the same way. DIR/env then also says
# SRC_MAJOR, SRC_CHROOT and SRC_PGBIN (the server's binaries as seen from
# inside its chroot), and the same for TGT.
#
# DIR/env is a shell fragment (SRC_PORT, TGT_PORT, PGBIN, ...) that lib.sh
# sources. Both clusters listen on 127.0.0.1 only, on ports picked at random
# among the free ones below the kernel's ephemeral range, so two setups can run
# side by side and neither touches a Debian default cluster on 5432.
#
# PGCONVOY_PG_LISTEN_EXTRA (addresses, comma-separated) and
# PGCONVOY_PG_HBA_EXTRA (networks, CIDR, space-separated) make setup's
# clusters also listen on those addresses and trust those networks, for a
# scenario whose agents reach the servers from a network namespace of
# its own (tests/integration/agent_cut).
#
# When sourced (as lib.sh does) this file only defines pgconvoy_free_port and
# pgconvoy_release_port and changes no shell option.

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# pgconvoy_chroot_* (sourcing defines functions only)
# shellcheck source=chroots.sh
source "$(dirname "${BASH_SOURCE[0]}")/chroots.sh"

# Port reservations are directories here: mkdir is atomic, so two runs that
# pick the same free port at the same moment cannot both get it.
PGCONVOY_PORT_LOCKS=${PGCONVOY_PORT_LOCKS:-/tmp/pgconvoy-ports}

# Prints a free loopback TCP port and reserves it until pgconvoy_release_port.
# A role that logs in with a password (scram-sha-256) on both clusters.
PASSWORD_ROLE=pgconvoy_pw
PASSWORD_SECRET=pgconvoy-Secret-4711

pgconvoy_free_port()
{
    local used port attempt
    mkdir -p "$PGCONVOY_PORT_LOCKS"
    # reservations of runs that died without cleaning up expire after a day
    find "$PGCONVOY_PORT_LOCKS" -mindepth 1 -maxdepth 1 -mmin +1440 \
        -exec rm -rf {} + 2>/dev/null || true
    # every local port in any state (LISTEN, ESTABLISHED, TIME_WAIT, ...)
    used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
    for attempt in $(seq 1 500); do
        # 20000-32767: above most well-known services, below the ephemeral
        # range (32768-60999) that outgoing connections take ports from
        port=$((20000 + SRANDOM % 12768))
        if grep -qx "$port" <<<"$used"; then
            continue
        fi
        if mkdir "$PGCONVOY_PORT_LOCKS/$port" 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "clusters.sh: could not find a free TCP port after $attempt attempts" >&2
    return 1
}

pgconvoy_release_port()
{
    local port
    for port in "$@"; do
        if [[ -n $port ]]; then
            rmdir "$PGCONVOY_PORT_LOCKS/$port" 2>/dev/null || true
        fi
    done
    return 0
}

# ---------------------------------------------------------------------------
# Everything below runs only when the file is executed, not sourced.

s_die()
{
    echo "clusters.sh: error: $*" >&2
    exit 1
}

s_as_postgres()
{
    runuser -u postgres -- "$@"
}

# Side state, set by s_side_init: the chroot a side's server runs in (empty:
# the host), its binaries and data directory as the server sees them, and
# the data directory as the host sees it.
declare -A S_CHROOT=() S_BIN=() S_DATA=() S_HOST_DATA=() S_MAJOR=()

# s_side_pg SIDE TOOL ARGS...: runs the side's TOOL as its postgres user.
s_side_pg()
{
    local side=$1 tool=$2
    shift 2
    if [[ -n ${S_CHROOT[$side]} ]]; then
        pgconvoy_chroot_exec "${S_CHROOT[$side]}" runuser -u postgres -- "${S_BIN[$side]}/$tool" "$@"
    else
        s_as_postgres "${S_BIN[$side]}/$tool" "$@"
    fi
}

# The major version of the PostgreSQL binaries in DIR.
s_bin_major()
{
    "$1/postgres" --version | sed -n 's/^postgres (PostgreSQL) \([0-9]*\).*/\1/p'
}

# s_side_init SIDE MAJOR RUN: where SIDE's cluster lives. RUN is the
# host's run directory; a chroot side lives in a directory of the same
# name inside its chroot, recorded in DIR/.pgconvoy-chroot-SIDE so that
# teardown finds it even after a failed setup.
s_side_init()
{
    local side=$1 major=$2 run=$3 dir=$4 host_major release chroot
    host_major=$(s_bin_major "$PGBIN")
    S_MAJOR[$side]=$major
    if [[ $major == "$host_major" ]]; then
        S_CHROOT[$side]=""
        S_BIN[$side]=$PGBIN
        S_DATA[$side]=$run/$side
        S_HOST_DATA[$side]=$run/$side
        return 0
    fi
    release=$(pgconvoy_chroot_release_of "$major") || s_die "no chroot for PostgreSQL $major"
    chroot=$(pgconvoy_chroot_dir "$release")
    [[ -f $chroot/.pgconvoy-chroot ]] ||
        s_die "no $release chroot in $chroot for PostgreSQL $major: run tests/integration/chroots.sh build $release"
    S_CHROOT[$side]=$chroot
    S_BIN[$side]=/usr/lib/postgresql/$major/bin
    S_DATA[$side]=/var/lib/pgconvoy-clusters/$(basename "$run")/$side
    S_HOST_DATA[$side]=$chroot${S_DATA[$side]}
    printf '%s\n%s\n' "$chroot" "${S_DATA[$side]}" >"$dir/.pgconvoy-chroot-$side"
    pgconvoy_chroot_exec "$chroot" install -d -o postgres -g postgres -m 700 "${S_DATA[$side]%/*}"
}

# Appends our settings to DATA/postgresql.conf (later lines win) and replaces
# pg_hba.conf with trust for loopback, including replication connections.
s_configure()
{
    local data=$1 port=$2 sockdir=$3
    cat >>"$data/postgresql.conf" <<EOF

# --- pgconvoy test cluster (tests/integration/clusters.sh) ---
port = $port
listen_addresses = '127.0.0.1${PGCONVOY_PG_LISTEN_EXTRA:+,$PGCONVOY_PG_LISTEN_EXTRA}'
unix_socket_directories = '$sockdir'
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_connections = 200
max_wal_size = 4GB
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%a '
EOF
    cat >"$data/pg_hba.conf" <<EOF
# pgconvoy test cluster: trust on loopback only, but for one role that
# needs its password, so that tests can check how passwords travel
host    all             $PASSWORD_ROLE     127.0.0.1/32    scram-sha-256
local   all             all                     trust
host    all             all     127.0.0.1/32    trust
local   replication     all                     trust
host    replication     all     127.0.0.1/32    trust
EOF
    local net
    for net in ${PGCONVOY_PG_HBA_EXTRA:-}; do
        printf 'host    all             all     %s    trust\nhost    replication     all     %s    trust\n' \
            "$net" "$net" >>"$data/pg_hba.conf"
    done
    # the owner of the data directory: a chroot's postgres has a uid of its own
    chown --reference="$data/PG_VERSION" "$data/postgresql.conf" "$data/pg_hba.conf"
}

# Starts SIDE's cluster on a free port, retrying with another port if the
# one we picked was taken in the meantime. Prints the port. Its log is
# SIDE.log beside its data directory.
s_start()
{
    local side=$1 attempt port
    local data=${S_DATA[$side]} host_data=${S_HOST_DATA[$side]}
    local log=${S_DATA[$side]}.log host_log=${S_HOST_DATA[$side]}.log
    for attempt in 1 2 3; do
        port=$(pgconvoy_free_port) || return 1
        s_configure "$host_data" "$port" "${data%/*}"
        if s_side_pg "$side" pg_ctl -D "$data" -l "$log" -w -t 30 start >/dev/null 2>&1; then
            echo "$port"
            return 0
        fi
        pgconvoy_release_port "$port"
        if grep -q 'could not bind\|could not create listen socket' "$host_log" 2>/dev/null; then
            echo "clusters.sh: port $port was taken, retrying" >&2
            continue
        fi
        break
    done
    echo "clusters.sh: error: could not start the cluster in $host_data; its log ($host_log):" >&2
    cat "$host_log" >&2 2>/dev/null || true
    return 1
}

# Stops SIDE's cluster if it runs. Immediate mode: the data is thrown away.
s_stop()
{
    local side=$1 pid data
    data=${S_HOST_DATA[$side]}
    [[ -f $data/postmaster.pid ]] || return 0
    if ! s_side_pg "$side" pg_ctl -D "${S_DATA[$side]}" -m immediate -w -t 20 stop >/dev/null 2>&1; then
        # pg_ctl gave up: kill the postmaster we started, by its own pid file
        pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
        if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            echo "clusters.sh: pg_ctl stop failed for $data, killing postmaster $pid" >&2
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    fi
}

cmd_setup()
{
    local dir=$1 run side sockdir
    local -A port=()

    [[ -x $PGBIN/initdb ]] || s_die "no PostgreSQL binaries in $PGBIN (set PGBIN)"
    id postgres >/dev/null 2>&1 || s_die "there is no 'postgres' user to run the servers as"
    [[ $(id -u) -eq 0 ]] || s_die "must run as root (the servers run as user postgres via runuser)"

    if [[ -e $dir/env || -e $dir/.pgconvoy-clusters ]]; then
        echo "clusters.sh: $dir holds clusters of an earlier run; tearing them down first" >&2
        cmd_teardown "$dir"
    fi
    if [[ -e $dir ]] && [[ -n $(ls -A "$dir" 2>/dev/null) ]]; then
        s_die "$dir exists and is not empty; refusing to use it"
    fi
    mkdir -p "$dir"
    chmod 700 "$dir"
    dir=$(cd "$dir" && pwd)
    touch "$dir/.pgconvoy-clusters" # marks DIR as ours, so teardown may rm -rf it
    chown -R postgres:postgres "$dir"

    # The servers run as postgres, which needs to reach DIR, and a socket path
    # must stay under 108 bytes. Otherwise put the clusters in a short /tmp
    # directory and remember it in DIR/env.
    run=$dir
    if ! s_as_postgres test -w "$dir" || ((${#dir} > 80)); then
        run=$(mktemp -d /tmp/pgconvoy-pg.XXXXXX)
        chown postgres:postgres "$run"
        chmod 700 "$run"
        echo "$run" >"$dir/.pgconvoy-run-dir"
    fi
    sockdir=$run

    # Whatever fails from here on (set -e), the EXIT trap removes what was
    # made so far. (An EXIT trap, unlike ERR, does not run in subshells.)
    S_SETUP_DIR=$dir
    trap 's_setup_failed' EXIT

    local host_major
    host_major=$(s_bin_major "$PGBIN")
    s_side_init src "${PGCONVOY_SRC_MAJOR:-$host_major}" "$run" "$dir"
    s_side_init tgt "${PGCONVOY_TGT_MAJOR:-$host_major}" "$run" "$dir"

    # Both initdbs at once: each is mostly single-threaded.
    local -A initdb_pid=()
    for side in src tgt; do
        s_side_pg "$side" initdb -D "${S_DATA[$side]}" -U postgres -A trust \
            -E UTF8 --locale=C.UTF-8 --no-sync \
            >"$run/$side.initdb.log" 2>&1 &
        initdb_pid[$side]=$!
    done
    for side in src tgt; do
        if ! wait "${initdb_pid[$side]}"; then
            echo "clusters.sh: error: initdb of the $side cluster failed:" >&2
            cat "$run/$side.initdb.log" >&2
            exit 1
        fi
    done

    for side in src tgt; do
        port[$side]=$(s_start "$side")
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
            -p "${port[$side]}" -U postgres -d postgres \
            -c "CREATE ROLE $PASSWORD_ROLE LOGIN SUPERUSER PASSWORD '$PASSWORD_SECRET'" \
            >/dev/null
    done

    # Written last: its presence means setup completed.
    {
        printf 'SRC_PORT=%q\n' "${port[src]}"
        printf 'TGT_PORT=%q\n' "${port[tgt]}"
        printf 'PGBIN=%q\n' "$PGBIN"
        printf 'PG_RUN_DIR=%q\n' "$run"
        for side in src tgt; do
            printf '%s_DATA=%q\n' "${side^^}" "${S_HOST_DATA[$side]}"
            printf '%s_LOG=%q\n' "${side^^}" "${S_HOST_DATA[$side]}.log"
            printf '%s_MAJOR=%q\n' "${side^^}" "${S_MAJOR[$side]}"
            printf '%s_CHROOT=%q\n' "${side^^}" "${S_CHROOT[$side]}"
            printf '%s_PGBIN=%q\n' "${side^^}" "${S_BIN[$side]}"
        done
        printf 'PASSWORD_ROLE=%q\n' "$PASSWORD_ROLE"
        printf 'PASSWORD_SECRET=%q\n' "$PASSWORD_SECRET"
    } >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    trap - EXIT
    echo "clusters.sh: source (PostgreSQL ${S_MAJOR[src]}) on 127.0.0.1:${port[src]}, target (PostgreSQL ${S_MAJOR[tgt]}) on 127.0.0.1:${port[tgt]} ($run)"
}

s_setup_failed()
{
    local rc=$?
    echo "clusters.sh: setup failed; removing $S_SETUP_DIR" >&2
    cmd_teardown "$S_SETUP_DIR"
    exit "$rc"
}

cmd_teardown()
{
    local dir=$1 run side port
    if [[ ! -d $dir ]]; then
        return 0
    fi
    if [[ ! -e $dir/.pgconvoy-clusters && ! -e $dir/env ]]; then
        s_die "$dir was not made by 'clusters.sh setup'; refusing to remove it"
    fi
    run=$dir
    if [[ -f $dir/.pgconvoy-run-dir ]]; then
        run=$(cat "$dir/.pgconvoy-run-dir")
    fi
    for side in src tgt; do
        if [[ -f $dir/.pgconvoy-chroot-$side ]]; then
            S_CHROOT[$side]=$(sed -n 1p "$dir/.pgconvoy-chroot-$side")
            S_DATA[$side]=$(sed -n 2p "$dir/.pgconvoy-chroot-$side")
            S_HOST_DATA[$side]=${S_CHROOT[$side]}${S_DATA[$side]}
            S_BIN[$side]=/usr/lib/postgresql/$(cat "${S_HOST_DATA[$side]}/PG_VERSION" 2>/dev/null)/bin
        else
            S_CHROOT[$side]=""
            S_DATA[$side]=$run/$side
            S_HOST_DATA[$side]=$run/$side
            S_BIN[$side]=$PGBIN
        fi
        if [[ -d ${S_HOST_DATA[$side]} ]]; then
            port=$(sed -n "s/^port = \([0-9]*\)$/\1/p" "${S_HOST_DATA[$side]}/postgresql.conf" 2>/dev/null | tail -n 1)
            s_stop "$side"
            pgconvoy_release_port "$port"
        fi
        if [[ -n ${S_CHROOT[$side]} && ${S_DATA[$side]} == /var/lib/pgconvoy-clusters/*/"$side" ]]; then
            rm -rf "${S_HOST_DATA[$side]}" "${S_HOST_DATA[$side]}.log"
            rmdir "${S_HOST_DATA[$side]%/*}" 2>/dev/null || true
        fi
    done
    if [[ $run != "$dir" && $run == /tmp/pgconvoy-pg.* ]]; then
        rm -rf "$run"
    fi
    rm -rf "$dir"
}

s_main()
{
    set -euo pipefail
    local cmd=${1:-} dir=${2:-}
    if [[ -z $cmd || -z $dir || $# -ne 2 ]]; then
        echo "usage: clusters.sh setup|teardown DIR" >&2
        exit 2
    fi
    case $cmd in
        setup) cmd_setup "$dir" ;;
        teardown) cmd_teardown "$dir" ;;
        *)
            echo "usage: clusters.sh setup|teardown DIR" >&2
            exit 2
            ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    s_main "$@"
fi
