#!/usr/bin/env bash
#
# tests/integration/chroots.sh
#     Debian chroots that hold PostgreSQL servers of other major versions
#     than the host's, so that tests can migrate between real servers of
#     several majors without Docker.
#
#   chroots.sh build [RELEASE...]   debootstrap RELEASE (default: bullseye
#                                   trixie) with its postgresql-N into the
#                                   cache; a built one is left as it is
#   chroots.sh dir RELEASE          prints where RELEASE's chroot is
#   chroots.sh run RELEASE CMD...   runs CMD inside the chroot (as root)
#   chroots.sh tools RELEASE        prints a directory of pg_dump,
#                                   pg_restore, psql... of RELEASE that run
#                                   on the host (see s_make_tools)
#
#   release    PostgreSQL   first build (2 cores, both at once, 2026-12)
#   bullseye   13           288 s, 413 MB
#   bookworm   15           (the host's own: no chroot needed)
#   trixie     17           242 s, 485 MB
#
# Most of the time is downloading and unpacking packages; once built, a
# chroot costs nothing more (a cluster in it starts as fast as a native
# one). The libraries pgconvoy links with are in each chroot too: the
# host's pgconvoy-agent also runs inside one (its build directory bound
# in), although the tests use the tools wrappers instead (below).
#
# PGCONVOY_CHROOT_CACHE is the cache dir (default /var/cache/pgconvoy-chroots);
# PGCONVOY_DEBIAN_MIRROR the archive (default http://deb.debian.org/debian).
# A chroot is built into RELEASE.tmp and renamed to RELEASE when complete,
# with a stamp file naming what it holds: an interrupted build is started
# over, a finished one is never touched again. A lock per release (flock)
# lets two runs at once build it only once.
#
# Mounts: whatever runs in a chroot (build, initdb, a server) runs in a
# mount namespace of its own (unshare --mount) in which /dev and /proc are
# bound into the chroot. The mounts live and die with that namespace: no
# teardown has to unmount anything, and a killed test leaves no mount
# behind on the host.
#
# When sourced (as clusters.sh does) this file only defines functions and
# changes no shell option.

PGCONVOY_CHROOT_CACHE=${PGCONVOY_CHROOT_CACHE:-/var/cache/pgconvoy-chroots}
PGCONVOY_DEBIAN_MIRROR=${PGCONVOY_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Bumped when what a chroot must hold changes: older chroots are rebuilt.
PGCONVOY_CHROOT_STAMP_VERSION=1

# Prints the Debian release whose postgresql package is major MAJOR.
pgconvoy_chroot_release_of()
{
    case $1 in
        13) echo bullseye ;;
        15) echo bookworm ;;
        17) echo trixie ;;
        *)
            echo "chroots.sh: no Debian release known for PostgreSQL $1" >&2
            return 1
            ;;
    esac
}

# Prints the PostgreSQL major of Debian RELEASE.
pgconvoy_chroot_major_of()
{
    case $1 in
        bullseye) echo 13 ;;
        bookworm) echo 15 ;;
        trixie) echo 17 ;;
        *)
            echo "chroots.sh: no PostgreSQL major known for Debian $1" >&2
            return 1
            ;;
    esac
}

pgconvoy_chroot_dir()
{
    echo "$PGCONVOY_CHROOT_CACHE/$1"
}

# Runs CMD... as root inside chroot DIR, in a mount namespace of its own
# with the host's /dev (and so /dev/shm, which the servers' shared memory
# needs) and a /proc of that namespace. A server started this way keeps the
# namespace, and so its mounts, alive until it stops.
pgconvoy_chroot_exec()
{
    local dir=$1
    shift
    # shellcheck disable=SC2016 # expanded by that sh, from its arguments
    unshare --mount --propagation private -- /bin/sh -c '
        dir=$1
        shift
        mount --rbind /dev "$dir/dev" &&
            mount -t proc proc "$dir/proc" &&
            exec chroot "$dir" "$@"' pgconvoy-chroot "$dir" "$@"
}

# ---------------------------------------------------------------------------
# Everything below runs only when the file is executed, not sourced.

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
    return 0
fi

s_die()
{
    echo "chroots.sh: error: $*" >&2
    exit 1
}

# What a chroot of RELEASE must hold, one word a package. The server and
# its client tools, and the libraries pgconvoy's binaries (built on the
# host) need, so that an agent can run inside the chroot with that
# release's pg_dump.
s_packages()
{
    local major
    major=$(pgconvoy_chroot_major_of "$1") || return 1
    echo "postgresql-$major postgresql-client-$major libpq5 libzmq5 libczmq4 libprotobuf-c1 libsqlite3-0 ca-certificates"
}

s_build_one()
{
    local release=$1 dir tmp stamp want start packages
    dir=$(pgconvoy_chroot_dir "$release")
    tmp=$dir.tmp
    stamp=$dir/.pgconvoy-chroot
    packages=$(s_packages "$release") || exit 1
    want="version=$PGCONVOY_CHROOT_STAMP_VERSION release=$release packages=$packages"

    mkdir -p "$PGCONVOY_CHROOT_CACHE"
    exec {lock}>"$PGCONVOY_CHROOT_CACHE/.$release.lock"
    if ! flock -n "$lock"; then
        echo "chroots.sh: $release is being built by another run; waiting" >&2
        flock "$lock"
    fi
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        echo "chroots.sh: $release is ready in $dir"
        exec {lock}>&-
        return 0
    fi

    start=$SECONDS
    echo "chroots.sh: building $release in $dir (debootstrap from $PGCONVOY_DEBIAN_MIRROR)"
    rm -rf "$tmp"
    debootstrap --variant=minbase "$release" "$tmp" "$PGCONVOY_DEBIAN_MIRROR" \
        >"$PGCONVOY_CHROOT_CACHE/$release.build.log" 2>&1 ||
        s_die "debootstrap $release failed; see $PGCONVOY_CHROOT_CACHE/$release.build.log"

    # No service may start inside the chroot while packages install, and
    # postgresql-common must not make a "main" cluster: tests make their own.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    mkdir -p "$tmp/etc/postgresql-common"
    echo 'create_main_cluster = false' >"$tmp/etc/postgresql-common/createcluster.conf"

    # shellcheck disable=SC2086 # one word a package
    pgconvoy_chroot_exec "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
        /bin/sh -c "apt-get update && apt-get install -y --no-install-recommends $packages && apt-get clean" \
        >>"$PGCONVOY_CHROOT_CACHE/$release.build.log" 2>&1 ||
        s_die "installing $packages into $release failed; see $PGCONVOY_CHROOT_CACHE/$release.build.log"
    rm -rf "$tmp/var/lib/apt/lists/"*

    echo "$want" >"$tmp/.pgconvoy-chroot"
    rm -rf "$dir"
    mv "$tmp" "$dir"
    echo "chroots.sh: built $release in $((SECONDS - start)) s, $(du -sh "$dir" | cut -f1) in $dir"
    exec {lock}>&-
}

# The client tools of a chroot's PostgreSQL, runnable on the host: an
# agent given this directory as --pg-bin dumps with the newer major's
# pg_dump. The binaries need their release's libc (trixie's is newer than
# the host's), so each wrapper runs its binary through the chroot's own
# dynamic loader, with the chroot's libraries first: no chroot, no mount,
# no root needed, and the agent stays a host process. Test use only: the
# binaries find nothing of the chroot but libraries (pg_dump and
# pg_restore need nothing else).
s_make_tools()
{
    local release=$1 dir major loader tools tool
    dir=$(pgconvoy_chroot_dir "$release")
    [[ -f $dir/.pgconvoy-chroot ]] || s_die "no chroot in $dir: run 'chroots.sh build $release' first"
    major=$(pgconvoy_chroot_major_of "$release")
    tools=$PGCONVOY_CHROOT_CACHE/$release.tools
    if [[ -f $tools/.stamp && $(cat "$tools/.stamp") == "$(cat "$dir/.pgconvoy-chroot")" ]]; then
        echo "$tools"
        return 0
    fi
    loader=$(chroot "$dir" readlink -f /lib64/ld-linux-x86-64.so.2)
    [[ -n $loader && -x $dir$loader ]] || s_die "no dynamic loader in $dir"
    rm -rf "$tools.tmp"
    mkdir -p "$tools.tmp"
    for tool in pg_dump pg_dumpall pg_restore psql; do
        cat >"$tools.tmp/$tool" <<EOF
#!/bin/sh
# $tool of PostgreSQL $major from the $release chroot, run on the host through
# the chroot's own loader and libraries (tests/integration/chroots.sh)
exec '$dir$loader' --library-path '$dir/lib/x86_64-linux-gnu:$dir/usr/lib/x86_64-linux-gnu' \\
    '$dir/usr/lib/postgresql/$major/bin/$tool' "\$@"
EOF
        chmod 755 "$tools.tmp/$tool"
    done
    "$tools.tmp/pg_dump" --version >/dev/null || s_die "pg_dump of $release does not run on the host"
    cp "$dir/.pgconvoy-chroot" "$tools.tmp/.stamp"
    rm -rf "$tools"
    mv "$tools.tmp" "$tools"
    echo "$tools"
}

cmd_build()
{
    local release
    command -v debootstrap >/dev/null || s_die "debootstrap is not installed (deploy/install-deps.sh installs it)"
    [[ $(id -u) -eq 0 ]] || s_die "must run as root (debootstrap, chroot, mount)"
    (($# > 0)) || set -- bullseye trixie
    for release in "$@"; do
        pgconvoy_chroot_major_of "$release" >/dev/null || exit 2
        s_build_one "$release"
    done
}

s_usage()
{
    echo "usage: chroots.sh build [RELEASE...] | dir RELEASE | run RELEASE CMD... | tools RELEASE" >&2
    exit 2
}

s_main()
{
    set -euo pipefail
    local cmd=${1:-}
    (($# > 0)) || s_usage
    shift
    case $cmd in
        build) cmd_build "$@" ;;
        dir)
            (($# == 1)) || s_usage
            pgconvoy_chroot_dir "$1"
            ;;
        tools)
            (($# == 1)) || s_usage
            local lock
            mkdir -p "$PGCONVOY_CHROOT_CACHE"
            exec {lock}>"$PGCONVOY_CHROOT_CACHE/.$1.lock"
            flock "$lock"
            s_make_tools "$1"
            ;;
        run)
            (($# >= 2)) || s_usage
            local dir
            dir=$(pgconvoy_chroot_dir "$1")
            shift
            [[ -f $dir/.pgconvoy-chroot ]] || s_die "no chroot in $dir: run 'chroots.sh build' first"
            pgconvoy_chroot_exec "$dir" "$@"
            ;;
        *) s_usage ;;
    esac
}

s_main "$@"
