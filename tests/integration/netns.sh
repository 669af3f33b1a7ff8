# shellcheck shell=bash
#
# tests/integration/netns.sh
#     A network namespace of a test's own, joined to the host by a veth
#     pair, for an agent whose network is to be cut (agent_cut, the fault
#     runner's cut-agent). Sourced before lib.sh: the clusters lib.sh
#     starts must listen on the pair's host-side address, and lib.sh's
#     exit trap removes the pair (PGCONVOY_EXIT_HOOKS).
#
# netns_setup sets NETNS_NAME, NETNS_HOST_ADDR (the host's end: the
# coordinator's agents' socket and the servers listen there) and
# NETNS_NS_ADDR, in a 10.200.X.0/24 no interface uses yet, and exports
# what clusters.sh and start_coordinator read. Needs root and iproute2.

# Removes the namespace and the pair (deleting one end deletes both).
netns_cleanup()
{
    [[ -n ${NETNS_NAME:-} ]] || return 0
    ip link del "$NETNS_HOST_IF" 2>/dev/null || true
    ip netns del "$NETNS_NAME" 2>/dev/null || true
}

netns_setup()
{
    local net addrs
    if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null; then
        echo "netns.sh: error: a network namespace needs root and ip (iproute2)" >&2
        return 1
    fi
    # a subnet of this run's own: another run beside it picks another
    # (the addresses are read once: `ip | grep -q` under pipefail fails
    # when grep quits early and ip gets SIGPIPE, which would pick a used one)
    addrs=$(ip -o addr show)
    for net in $(shuf -i 1-250 -n 250); do
        grep -q " 10\.200\.$net\." <<<"$addrs" || break
    done
    NETNS_NAME=pgconvoy-ns-$$
    NETNS_HOST_IF=pgfn$$h
    NETNS_NS_IF=pgfn$$n
    NETNS_HOST_ADDR=10.200.$net.1
    NETNS_NS_ADDR=10.200.$net.2
    # removed by lib.sh's exit trap; by this one until lib.sh is sourced
    trap netns_cleanup EXIT
    # shellcheck disable=SC2034 # lib.sh's exit trap runs them
    PGCONVOY_EXIT_HOOKS=(netns_cleanup)
    ip netns add "$NETNS_NAME" &&
        ip link add "$NETNS_HOST_IF" type veth peer name "$NETNS_NS_IF" &&
        ip link set "$NETNS_NS_IF" netns "$NETNS_NAME" &&
        ip addr add "$NETNS_HOST_ADDR/24" dev "$NETNS_HOST_IF" &&
        ip link set "$NETNS_HOST_IF" up &&
        ip netns exec "$NETNS_NAME" ip addr add "$NETNS_NS_ADDR/24" dev "$NETNS_NS_IF" &&
        ip netns exec "$NETNS_NAME" ip link set "$NETNS_NS_IF" up &&
        ip netns exec "$NETNS_NAME" ip link set lo up || return 1
    # clusters of the test's own (not the shared ones), listening there
    unset PGCONVOY_PG_DIR
    export PGCONVOY_PG_LISTEN_EXTRA=$NETNS_HOST_ADDR
    export PGCONVOY_PG_HBA_EXTRA=10.200.$net.0/24
}

# netns_link up|down: the namespace's end of the pair. Down takes its
# route with it: whatever runs inside reaches nothing, and nothing
# reaches it, while the host's end (and its address) stays.
netns_link()
{
    ip netns exec "$NETNS_NAME" ip link set "$NETNS_NS_IF" "$1"
}

# netns_start_agent NAME ARGS...: agent NAME inside the namespace (as
# start_agent does on the host), its log in $TEST_TMP/agent-NAME.log.
netns_start_agent()
{
    local name=$1
    shift
    s_background "agent-$name" ip netns exec "$NETNS_NAME" "$(s_bin pgconvoy-agent)" \
        --coordinator "$AGENTS_EP" --name "$name" "$@"
    note "agent $name started in namespace $NETNS_NAME (pid ${PGCONVOY_PIDS[agent-$name]})"
}

# netns_seed_files: s.json and t.json (write_seed_files) name the
# servers by the host's end, which the namespace reaches too.
netns_seed_files()
{
    local side
    for side in s t; do
        jq --arg h "$NETNS_HOST_ADDR" '.serverName = $h' "$side.json" >"$side.tmp" &&
            mv "$side.tmp" "$side.json"
    done
}
