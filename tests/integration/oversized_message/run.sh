#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/oversized_message/run.sh
#     Hostile bytes on the coordinator's sockets (issue 9): a raw ZMTP peer
#     whose frame header claims 2^62 bytes (it aborted the sanitizer build:
#     libzmq allocated what the header said), one claiming just over
#     PGCONVOY_MAX_MESSAGE_SIZE with bytes behind it, a payload that is no
#     Envelope and an Assign without its Endpoints. Each one is refused
#     (the peer disconnected by ZMQ_MAXMSGSIZE, or the message logged and
#     dropped) and the coordinator lives on: the CLI gets its answers and
#     an agent still registers.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

start_coordinator

# coordinator_logged REGEX [SECONDS]: waits up to SECONDS (default 60: a
# loaded machine, a sanitizer build) for a line of the coordinator's log.
coordinator_logged()
{
    local deadline=$((SECONDS + ${2:-60}))
    until grep -q -- "$1" "$TEST_TMP/coordinator.log"; do
        ((SECONDS < deadline)) || fail "the coordinator's log has no line matching \"$1\" after ${2:-60} s"
        sleep 0.1
    done
}

# zmtp_peer ENDPOINT FRAMES [PAD_BYTES [LOG_REGEX]]: connects as a ZMTP 3.0
# DEALER with the NULL mechanism (what an insecure coordinator on loopback
# speaks), and once the handshake is done sends FRAMES (printf escapes:
# frame headers and payloads) and PAD_BYTES zero bytes behind them. Then
# it holds the connection until the coordinator has dealt with them: until
# LOG_REGEX is in its log, or, without one, until the coordinator hangs up
# (as it must on a message over the bound). Hanging up first would race
# the coordinator's reading. The coordinator may hang up mid-send: a
# failed write is expected.
#
# The handshake waits for the coordinator's greeting and READY before the
# first frame, as a real peer does. libzmq takes a frame that comes before
# it has sent its own READY for a second READY and drops the connection
# (EPROTO), silently: on a loaded machine, where all of these bytes were
# in one read, a frame sent without waiting was lost one run in several.
zmtp_peer()
{
    local hostport=${1#tcp://} frames=$2 pad=${3:-0} logged=${4:-} rc=0
    (
        trap '' PIPE
        exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || exit 3
        # greeting (64 bytes): signature, version 3.0, mechanism "NULL"
        # padded to 20 bytes, as-server 0, 31 bytes of filler
        printf '\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x03\x00NULL' >&3
        head -c 48 /dev/zero >&3
        # READY command: flags 0x04 (command), 28 bytes, Socket-Type DEALER
        printf '\x04\x1c\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER' >&3
        # the coordinator's greeting, then its READY (a short command:
        # flags 0x04, one byte of size); head -c reads no byte beyond
        local greeting ready flags size
        greeting=$(head -c 64 <&3 | od -An -v -tx1 | tr -d ' \n')
        [[ ${#greeting} -eq 128 && $greeting == ff*7f03??4e554c4c* ]] || exit 3
        read -r flags size < <(head -c 2 <&3 | od -An -tu1)
        [[ ${flags:-} == 4 ]] || exit 3
        ready=$(head -c "$size" <&3 | od -An -v -c | tr -d ' \n')
        [[ $ready == 005READY* ]] || exit 3
        printf '%b' "$frames" >&3
        if ((pad > 0)); then
            head -c "$pad" /dev/zero >&3
        fi
        if [[ -n $logged ]]; then
            coordinator_logged "$logged" 20
        else
            timeout 120 cat <&3 >/dev/null
        fi
    ) 2>/dev/null || rc=$?
    ((rc != 3)) || fail "no ZMTP handshake with the coordinator on $1"
}

# coordinator_answers WHAT: the coordinator process lives and answers the CLI.
coordinator_answers()
{
    s_alive "${PGCONVOY_PIDS[coordinator]}" ||
        fail "the coordinator died after $1; its log ends:
$(tail -n 30 "$TEST_TMP/coordinator.log")"
    pgf project list >/dev/null ||
        fail "the coordinator did not answer 'project list' after $1"
    pass "coordinator alive and answering after $1"
}

for ep in "$AGENTS_EP" "$COORD"; do
    # a long frame (flags 0x02) of 2^62 bytes
    zmtp_peer "$ep" '\x02\x40\x00\x00\x00\x00\x00\x00\x00'
    coordinator_answers "a frame header of 2^62 bytes on $ep"
    # 256 MiB + 1 (PGCONVOY_MAX_MESSAGE_SIZE + 1), and a MiB of it sent
    zmtp_peer "$ep" '\x02\x00\x00\x00\x00\x10\x00\x00\x01' $((1024 * 1024))
    coordinator_answers "a message of 256 MiB + 1 byte on $ep"
done

# within the bound, but no Envelope: refused with a log line
zmtp_peer "$AGENTS_EP" '\x00\x11\xff\xff\xff\xff not protobuf' 0 \
    'refused a message of 17 bytes: not a protobuf Envelope'
coordinator_answers "a payload that is no Envelope"
# an Envelope of our version (field 1, from common/envelope.h) holding an
# empty Assign (field 23)
version=$(sed -n 's/^#define PGCONVOY_PROTOCOL_VERSION \([0-9]*\)$/\1/p' \
    "$(dirname "${BASH_SOURCE[0]}")/../../../common/envelope.h")
((version > 0 && version < 128)) || fail "no one-byte protocol version in common/envelope.h: '$version'"
assign="\\x00\\x05\\x08\\x$(printf '%02x' "$version")\\xba\\x01\\x00"
zmtp_peer "$AGENTS_EP" "$assign" 0 \
    'refused a message of 5 bytes: Assign unit=0 kind=0 has no source'
coordinator_answers "an Assign without its Endpoints"
coordinator_logged 'refused a message of 17 bytes: not a protobuf Envelope'
coordinator_logged 'refused a message of 5 bytes: Assign unit=0 kind=0 has no source'
pass "the coordinator logged why it refused each malformed message"

# the agents' socket still takes a real agent
start_agent a1
coordinator_logged 'agent=a1 .*registered'
pass "an agent registers after the hostile peers"

scenario_pass
