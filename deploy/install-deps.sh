#!/usr/bin/env bash
#
# deploy/install-deps.sh
#     Installs the Debian 12 packages that pgconvoy builds, tests, benchmarks
#     and demos with. Idempotent: when every package is already installed it
#     does nothing (no apt-get update), so reruns take a second.
#
# Never prompts (no terminal in CI). Installing postgresql-15 may create and
# start Debian's default cluster on port 5432; we leave it alone and depend
# on it for nothing (the tests run their own clusters, tests/integration/
# clusters.sh).

set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libpq-dev libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
    libjson-c-dev libsqlite3-dev sqlite3 libsodium-dev
    libmicrohttpd-dev curl # pgconvoy-coordinator --http; the metrics scenario scrapes it
    postgresql-15 postgresql-client-15 postgresql-contrib
    pgcopydb jq
    openssl # tests/integration/tls makes its CA and certificates
    clang libclang-rt-14-dev # tests/fuzz: libFuzzer and its runtime
    iproute2 # ip netns: tests/integration/netns.sh cuts an agent's network
    debootstrap # tests/integration/chroots.sh: PostgreSQL 13 and 17 from bullseye and trixie
    help2man man-db groff-base # the manual pages, made and checked at build time
    dpkg-dev                   # cpack -G DEB: dpkg-shlibdeps finds the Depends
    tmux                       # tests/integration/watch_screen reads task watch's screen
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

sudo=()
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
        echo "install-deps: error: run as root (or install sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo -n) # -n: fail instead of asking for a password
fi

echo "install-deps: installing ${missing[*]}"
apt_opts=(
    -q -y
    -o DPkg::Lock::Timeout=300 # wait for another apt run instead of failing
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" \
    install --no-install-recommends "${missing[@]}"
echo "install-deps: done"
