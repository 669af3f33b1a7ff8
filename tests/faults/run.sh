#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/faults/run.sh [--seed N] [--rounds K] [--outage S] [--cut S]
#                     [--scale N] [--faults F1,F2...]
#     Fault injection. Each round is an online migration of a pgbench
#     database under a pgbench writer, with real daemons (a coordinator
#     with --secrets-key, two agents). At a moment the seed picks (while a
#     copy runs, or during change data capture) one fault strikes:
#       kill-agent        kill -9 an agent, started again under its name
#       pause-agent       SIGSTOP an agent until the coordinator declares
#                         it lost and places its units elsewhere, SIGCONT
#       kill-coordinator  kill -9 the coordinator, started again
#       restart-source    pg_ctl restart -m fast of the source
#       stop-target       the target stopped for --outage seconds
#       cut-agent         the network of an agent cut for --cut seconds
#                         (30): it runs in a network namespace of its own
#                         (tests/integration/netns.sh), whose link goes
#                         down; its lease runs out and it stops its units,
#                         which the coordinator places elsewhere
#     Then the migration must reach READY_TO_COMPLETE by itself, the
#     writer stops, `task cutover --validate` must succeed, and both sides
#     must be identical (compare_db). Round r runs fault r mod 6, so any
#     6 rounds strike each fault once (--faults: only those listed, in
#     turn); the seed moves the moments.
#
#     Prints one line per round and "faults: RUNS runs, PASSES passed"
#     per fault; exits 1 if a round failed (its logs are kept, named in
#     its line). ctest runs a short set (faults.short); the long run is
#     tests/bench/faults_long.sh.
#
#     It stops and restarts servers: it runs on clusters of its own, which
#     listen on the namespace's network too.

PGCONVOY_SCENARIO=faults
# shellcheck source=../integration/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/netns.sh"
netns_setup || { echo "FAIL faults: could not make a network namespace" >&2; exit 1; }
# shellcheck source=../integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

SEED=1
ROUNDS=6
OUTAGE=10
CUT=30
SCALE=4
FAULTS=(kill-agent pause-agent kill-coordinator restart-source stop-target cut-agent)
while (($# > 0)); do
    case $1 in
        --seed) SEED=$2 ;;
        --rounds) ROUNDS=$2 ;;
        --outage) OUTAGE=$2 ;;
        --cut) CUT=$2 ;;
        --scale) SCALE=$2 ;;
        --faults) IFS=, read -ra FAULTS <<<"$2" ;;
        *) fail "usage: run.sh [--seed N] [--rounds K] [--outage SECONDS] [--cut SECONDS] [--scale N] [--faults F1,F2...]" ;;
    esac
    shift 2
done
for fault in "${FAULTS[@]}"; do
    case $fault in
        kill-agent | pause-agent | kill-coordinator | restart-source | stop-target | cut-agent) ;;
        *) fail "unknown fault \"$fault\" (kill-agent, pause-agent, kill-coordinator, restart-source, stop-target, cut-agent)" ;;
    esac
done
RANDOM=$SEED
declare -A runs=() passes=()
KEY=$TEST_TMP/secrets.key
head -c 32 /dev/urandom >"$KEY"
chmod 600 "$KEY"
# CURVE keys for the rounds whose agents' socket listens beyond loopback
CURVE_KEYS=$TEST_TMP/curve
mkdir -p "$CURVE_KEYS/allowed"
for name in coordinator f1 f2 operator; do
    "$(s_bin pgconvoy)" keygen "$CURVE_KEYS/$name" >/dev/null || fail "keygen $name failed"
    [[ $name == coordinator ]] || cp "$CURVE_KEYS/$name" "$CURVE_KEYS/allowed/"
done
RESULTS=$TEST_TMP/results
mkdir -p "$RESULTS"
failed=0

pg_ctl_side()
{
    local data=$SRC_DATA log=$SRC_LOG side=$1
    shift
    [[ $side == tgt ]] && data=$TGT_DATA log=$TGT_LOG
    (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 120 "$@") >/dev/null
}

db_field()
{
    jq -r ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | .$1" "$TASK_JSON"
}

# wait_ready P T WANT: until the database is READY_TO_COMPLETE (or, WANT
# any, CATCHING_UP); 1 if it failed or took over 600 s
wait_ready()
{
    local p=$1 t=$2 want=$3 deadline=$((SECONDS + 600)) state
    while ((SECONDS < deadline)); do
        if task_show "$p" "$t"; then
            state=$(db_field migrationState)
            case $state in
                READY_TO_COMPLETE) return 0 ;;
                CATCHING_UP) [[ $want == any ]] && return 0 ;;
                FAILED | CANCELLED)
                    echo "database $state: $(db_field errorMessage)" >&2
                    return 1
                    ;;
            esac
        fi
        sleep 0.5
    done
    echo "not ready after 600 s: $(db_field migrationState)" >&2
    return 1
}

stop_daemons()
{
    local name
    for name in "${!PGCONVOY_PIDS[@]}"; do
        s_stop_process "${PGCONVOY_PIDS[$name]}"
        unset "PGCONVOY_PIDS[$name]"
    done
}

# strike FAULT: applies it; returns 1 if it could not be applied
strike()
{
    local victim pid deadline cut_at
    case $1 in
        kill-agent)
            victim=f$((RANDOM % 2 + 1))
            kill_agent "$victim"
            start_agent "$victim" --jobs 2
            ;;
        pause-agent)
            victim=f$((RANDOM % 2 + 1))
            pid=$(agent_pid "$victim")
            kill -STOP "$pid"
            deadline=$((SECONDS + 60))
            until grep -q "agent=$victim lost" "$TEST_TMP/coordinator.log"; do
                if ((SECONDS >= deadline)); then
                    kill -CONT "$pid"
                    return 1
                fi
                sleep 0.2
            done
            sleep 1 # its units placed elsewhere meanwhile
            kill -CONT "$pid"
            ;;
        kill-coordinator)
            pid=${PGCONVOY_PIDS[coordinator]}
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
            wait "$pid" 2>/dev/null || true
            sleep 1
            s_background coordinator "$(s_bin pgconvoy-coordinator)" \
                --state-dir "$TEST_TMP/coordinator-state" --listen "$COORD" \
                --agents "$AGENTS_EP" "${PGCONVOY_AGENT_TIMEOUT_ARGS[@]}" "${COORD_ARGS[@]}"
            ;;
        restart-source)
            pg_ctl_side src restart -m fast
            ;;
        stop-target)
            pg_ctl_side tgt stop -m fast
            sleep "$OUTAGE"
            pg_ctl_side tgt start
            ;;
        cut-agent)
            # f1 runs in the namespace (round); lost, then its units go
            # to f2 while the link stays down
            netns_link down
            cut_at=$SECONDS
            deadline=$((SECONDS + 60))
            until grep -q "agent=f1 lost" "$TEST_TMP/coordinator.log" &&
                grep -q "lease ran out" "$TEST_TMP/agent-f1.log"; do
                if ((SECONDS >= deadline)); then
                    netns_link up
                    return 1
                fi
                sleep 0.2
            done
            while ((SECONDS - cut_at < CUT)); do
                sleep 1
            done
            netns_link up
            ;;
    esac
}

# round R FAULT: one migration with one fault; 0 if it passed
round()
{
    local r=$1 fault=$2 db=faults_r$1 p=faults_p$1 t=faults_t$1
    local phase=$((RANDOM % 2)) stopfile=$TEST_TMP/stop-writer-$1

    new_db "$db"
    "$PGBIN/pgbench" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -i -q -s "$SCALE" "$db" \
        >"$TEST_TMP/pgbench-init-$r.log" 2>&1 || { echo "pgbench -i failed" >&2; return 1; }
    rm -rf "$TEST_TMP/coordinator-state"
    COORD_ARGS=(--secrets-key "$KEY")
    if [[ $fault == cut-agent ]]; then
        # the agents' socket on the pair's address, which takes CURVE;
        # f1 inside the namespace, and the servers named by that address
        COORD_ARGS+=(--curve-secret "$CURVE_KEYS/coordinator_secret" --curve-clients "$CURVE_KEYS/allowed")
        export PGCONVOY_CURVE_SECRET=$CURVE_KEYS/operator_secret PGCONVOY_CURVE_SERVER=$CURVE_KEYS/coordinator
        PGCONVOY_AGENTS_HOST=$NETNS_HOST_ADDR start_coordinator "${COORD_ARGS[@]}"
        netns_start_agent f1 --jobs 2 --curve-secret "$CURVE_KEYS/f1_secret" --curve-server "$CURVE_KEYS/coordinator"
        start_agent f2 --jobs 2 --curve-secret "$CURVE_KEYS/f2_secret" --curve-server "$CURVE_KEYS/coordinator"
        write_seed_files "$db"
        netns_seed_files
    else
        unset PGCONVOY_CURVE_SECRET PGCONVOY_CURVE_SERVER
        start_coordinator "${COORD_ARGS[@]}"
        start_agent f1 --jobs 2
        start_agent f2 --jobs 2
        write_seed_files "$db"
    fi
    pgf project create -n "$p" --source-platform PostgreSQL --target-platform PostgreSQL >/dev/null
    # pgbench_history has no key: REPLICA IDENTITY FULL for it
    pgf task create --project-name "$p" -n "$t" --task-type OnlineMigration \
        --source-connection-json s.json --target-connection-json t.json \
        --database-options-json o.json --fix-replica-identity >/dev/null
    start_writer "$db" "$stopfile"
    if ((phase == 0)); then
        wait_started_copy 300 >/dev/null
        ROUND_PHASE="while a copy ran"
    else
        wait_ready "$p" "$t" any || return 1
        ROUND_PHASE="during CDC"
    fi
    strike "$fault" || { echo "could not strike $fault" >&2; return 1; }
    wait_ready "$p" "$t" ready || return 1
    touch "$stopfile"
    wait "$WRITER_PID" || true
    pgf task cutover --project-name "$p" -n "$t" --object-name "$db" --validate \
        >"$TEST_TMP/cutover-$r.out" 2>&1 || { cat "$TEST_TMP/cutover-$r.out" >&2; return 1; }
    wait_task "$p" "$t" 300 || return 1
    task_show "$p" "$t" || return 1
    ROUND_NOTE="; full load restarted $(db_field fullLoadRestarts) time(s)"
    compare_db "$db" "$db" >"$TEST_TMP/compare-$r.out" 2>&1 || { cat "$TEST_TMP/compare-$r.out" >&2; return 1; }
    return 0
}

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"
for ((r = 0; r < ROUNDS; r++)); do
    fault=${FAULTS[r % ${#FAULTS[@]}]}
    ROUND_PHASE=""
    ROUND_NOTE=""
    runs[$fault]=$((${runs[$fault]:-0} + 1))
    start=$SECONDS
    # in this shell (the daemons it starts are this shell's to stop); a
    # function in an if runs without errexit, so each step says how it
    # fails
    if round "$r" "$fault" >"$RESULTS/round-$r.log" 2>&1; then
        passes[$fault]=$((${passes[$fault]:-0} + 1))
        echo "round $r: $fault $ROUND_PHASE: passed in $((SECONDS - start)) s$ROUND_NOTE"
    else
        failed=$((failed + 1))
        keep=/tmp/pgconvoy-faults-round-$r-$$
        mkdir -p "$keep"
        cp -r "$RESULTS/round-$r.log" "$TEST_TMP"/*.log "$TEST_TMP/coordinator-state" "$keep/" 2>/dev/null || true
        echo "round $r: $fault $ROUND_PHASE: FAILED after $((SECONDS - start)) s (logs in $keep):"
        tail -n 5 "$RESULTS/round-$r.log"
    fi
    stop_daemons
    netns_link up # a failed cut-agent round may have left it down
    rm -f "$TEST_TMP"/agent-*.log "$TEST_TMP/coordinator.log"
    # a server a failed round left stopped
    pg_ctl_side src status >/dev/null 2>&1 || pg_ctl_side src start
    pg_ctl_side tgt status >/dev/null 2>&1 || pg_ctl_side tgt start
done
for fault in "${FAULTS[@]}"; do
    [[ -n ${runs[$fault]:-} ]] &&
        echo "faults: $fault: ${runs[$fault]} runs, ${passes[$fault]:-0} passed"
done
((failed == 0)) || fail "$failed of $ROUNDS rounds failed (seed $SEED)"
scenario_pass
