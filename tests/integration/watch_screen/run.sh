#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/watch_screen/run.sh
#     `pgconvoy task watch` as a person sees it: run in a tmux window of
#     100x20, far too small for the 40 tables of an online task, its pane
#     captured and read.
#     1. during the full load: the header at the top, the database's
#        state with bars for tables and bytes, the loading tables and a
#        "… and N more" line, no line wider than the window and no more
#        lines than it has (nothing scrolled away: the header is the first
#        line, the "more" line the last), on the alternate screen;
#     2. the window made smaller (SIGWINCH): the screen fits it; a burst
#        of resizes does not end the watch;
#     3. in change data capture, under writes: the lag in seconds and bytes
#        with its history drawn in blocks;
#     4. a second watch, in the C locale, draws in ASCII only; stopped with
#        Ctrl-C it exits 1 and gives the terminal back (main screen, cursor
#        shown);
#     5. after the cutover the watch exits 0 and leaves its last screen,
#        the task Succeeded, on the main screen;
#     6. without a terminal, a watch started with the task printed one
#        line per change: every table's move to COMPLETED exactly once,
#        and never the same line twice in a row.
# Every wait is for something to show on the screen, bounded only by a
# generous deadline that fails if it never does.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=watch_screen_db
P=watch_screen
T=watch_task
N=40
ROWS=${WATCH_SCREEN_ROWS:-30000}
COLS=100
LINES_=20

command -v tmux >/dev/null || fail "tmux is not installed (deploy/install-deps.sh installs it)"

new_db "$DB"
# 40 tables of a few MB each, copied one at a time (one agent, one job)
psql_src "$DB" -v n="$N" -v rows="$ROWS" >/dev/null <<'SQL' || fail "could not fill $DB"
SELECT format('CREATE TABLE public.%I (id int PRIMARY KEY, v text, pad text);
               INSERT INTO public.%I SELECT g, md5(g::text), repeat(md5(g::text), 3)
               FROM generate_series(1, %s) g', 'wide_table_' || lpad(i::text, 2, '0'),
              'wide_table_' || lpad(i::text, 2, '0'), :rows)
FROM generate_series(1, :n) i
\gexec
ANALYZE;
SQL
pass "$N tables of $ROWS rows on the source"

start_coordinator
start_agent a1 --jobs 1
cd "$TEST_TMP" || fail "no TEST_TMP"
write_seed_files "$DB"
create_project "$P"

CLI=$(s_bin pgconvoy)
SOCK=$TEST_TMP/tmux.sock
PGCONVOY_EXIT_HOOKS+=("tmux -S $SOCK kill-server")
# watch_in_tmux NAME LOCALE: task watch in a window of its own, in LOCALE,
# its exit code in NAME.rc, the window kept after it exits (sleep) for the
# last capture
watch_in_tmux()
{
    local name=$1 locale=$2
    tmux -S "$SOCK" -u new-session -d -s "$name" -x "$COLS" -y "$LINES_" \
        "env LANG=$locale LC_ALL=$locale TERM=screen $CLI --coordinator $COORD task watch --project-name $P -n $T 2>$TEST_TMP/$name.err; echo \$? >$TEST_TMP/$name.rc; sleep 3600" ||
        fail "tmux new-session $name failed"
}
# capture NAME: the pane's text now, in capture-NAME.txt
capture()
{
    tmux -S "$SOCK" capture-pane -p -t "$1" >"$TEST_TMP/capture-$1.txt" ||
        fail "tmux capture-pane -t $1 failed"
}
# wait_screen NAME WHAT ERE...: captures until the screen has a line
# matching each ERE, for 300 s at most
wait_screen()
{
    local name=$1 what=$2 deadline=$((SECONDS + 300)) re ok
    shift 2
    while ((SECONDS < deadline)); do
        capture "$name"
        ok=1
        for re in "$@"; do
            grep -Eq -- "$re" "$TEST_TMP/capture-$name.txt" || { ok=0 && break; }
        done
        ((ok)) && return 0
        sleep 0.2
    done
    fail "the $name window never showed $what; it shows:
$(cat "$TEST_TMP/capture-$name.txt")"
}
# check_fits NAME ROWS COLS: the last capture has at most ROWS lines of at
# most COLS columns (characters, in UTF-8), the header on its first line
# (nothing scrolled off) and, when tables are left out, the "more" line
# as its last non-empty one
check_fits()
{
    local name=$1 rows=$2 cols=$3 file=$TEST_TMP/capture-$1.txt line n=0 last=""
    local LC_ALL=C.UTF-8 # ${#line} counts characters, not bytes
    while IFS= read -r line; do
        n=$((n + 1))
        ((${#line} <= cols)) || fail "$name: line $n is wider than $cols columns: $line"
        [[ -n ${line// /} ]] && last=$line
    done <"$file"
    ((n <= rows)) || fail "$name: $n lines on a screen of $rows"
    head -n 1 "$file" | grep -Eq "^task $P/$T  OnlineMigration  " ||
        fail "$name: the header is not the first line (scrolled?):
$(cat "$file")"
    [[ $last =~ ^…\ and\ [0-9]+\ more ]] ||
        fail "$name: the last line is not the \"… and N more\" line: $last"
}

# The full load is held until its screen has been seen: the first copy to
# commit waits, LOADING, for an advisory lock that a session of the test
# holds.
psql_tgt "$DB" >/dev/null <<'SQL' || fail "could not set up the gate on the target"
CREATE SCHEMA watch_test;
CREATE FUNCTION watch_test.gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(4242);
    RETURN NULL;
END
$$;
SQL
hook_partition_done "$DB" watch_test.gate
PGAPPNAME=watch_screen_gate psql_tgt "$DB" -c "SELECT pg_advisory_lock(4242), pg_sleep(3600)" \
    >/dev/null 2>&1 &
PGCONVOY_PIDS[gate]=$!
deadline=$((SECONDS + 60))
until [[ $(psql_tgt "$DB" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                               AND objid = 4242 AND mode = 'ExclusiveLock' AND granted") == 1 ]]; do
    ((SECONDS < deadline)) || fail "the gate's session did not take its advisory lock"
    sleep 0.2
done

create_online_task "$P" "$T"
# a watch without a terminal, from the start: its lines are checked last
"$CLI" --coordinator "$COORD" task watch --project-name "$P" -n "$T" >"$TEST_TMP/watch-log.out" \
    2>"$TEST_TMP/watch-log.err" &
PGCONVOY_PIDS[watch_log]=$!
watch_in_tmux screen C.UTF-8
# every byte the watch writes, to check every frame, not only those
# captured (the pane clips what is too wide; the raw output does not)
tmux -S "$SOCK" pipe-pane -t screen -o "cat >>$TEST_TMP/screen.raw" || fail "tmux pipe-pane failed"

# --- 1. the full load --------------------------------------------------------
wait_screen screen "the full load with its bars and loading tables" \
    "^$DB  FULL_LOAD" \
    "^  tables \[[█▏▎▍▌▋▊▉░]+\] [0-9]+/$N done, [1-9][0-9]* loading" \
    "^  bytes  \[[█▏▎▍▌▋▊▉░]+\] .* of .*, .*/s, ETA " \
    "^public\.wide_table_[0-9]+ +LOADING +\[" \
    "^… and [0-9]+ more: "
check_fits screen "$LINES_" "$COLS"
[[ $(tmux -S "$SOCK" display -p -t screen '#{alternate_on}') == 1 ]] ||
    fail "the watch does not draw on the alternate screen"
grep -Eq "^agents a1 [0-9]+ units? on 1 job$" "$TEST_TMP/capture-screen.txt" ||
    fail "the header does not show agent a1: $(head -n 3 "$TEST_TMP/capture-screen.txt")"
cp "$TEST_TMP/capture-screen.txt" "$TEST_TMP/screen-loading.txt"
pass "during the full load, on ${COLS}x$LINES_:
$(cat "$TEST_TMP/screen-loading.txt")"
# the full load goes on
psql_tgt "$DB" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE application_name = 'watch_screen_gate'" >/dev/null
wait "${PGCONVOY_PIDS[gate]}" 2>/dev/null || true
unset 'PGCONVOY_PIDS[gate]'

# --- 2. a smaller window -------------------------------------------------------
tmux -S "$SOCK" resize-window -t screen -x 80 -y 14 || fail "tmux resize-window failed"
deadline=$((SECONDS + 300))
while :; do
    capture screen
    # a frame drawn for 14 lines: the header on the first, the "more" line
    # on the 14th at most (until the watch redraws, tmux shows the old
    # frame cut to the window: its top lines, or its bottom ones)
    last=$(grep -n '^… and [0-9]* more' "$TEST_TMP/capture-screen.txt" | cut -d: -f1)
    [[ -n $last ]] && ((last <= 14)) &&
        head -n 1 "$TEST_TMP/capture-screen.txt" | grep -Eq "^task $P/$T  OnlineMigration  " &&
        break
    ((SECONDS < deadline)) || fail "the screen never fitted 80x14: $(cat "$TEST_TMP/capture-screen.txt")"
    sleep 0.2
done
check_fits screen 14 80
pass "resized to 80x14, the screen fits it:
$(cat "$TEST_TMP/capture-screen.txt")"
# a burst of resizes: each SIGWINCH may come while the watch waits for the
# coordinator, which must not end the watch (it exits 0 at the end)
for i in $(seq 1 20); do
    tmux -S "$SOCK" resize-window -t screen -x $((COLS - i % 2 * 10)) -y "$LINES_" ||
        fail "tmux resize-window failed"
    sleep 0.05
done
tmux -S "$SOCK" resize-window -t screen -x "$COLS" -y "$LINES_" || fail "tmux resize-window failed"

# --- 3. change data capture under writes ---------------------------------------
cat >"$TEST_TMP/writes.sql" <<'SQL'
\set id random(1, 1000)
UPDATE public.wide_table_01 SET v = md5(random()::text) WHERE id = :id;
SQL
pgbench_start "$DB" -c 2 -T 600 -R 200 -f "$TEST_TMP/writes.sql"
# the writes applied, and a history of a few samples: at least 5 blocks in
# each sparkline
wait_screen screen "the lag and its history in CDC" \
    "^$DB  (CATCHING_UP|READY_TO_COMPLETE)" \
    "^  tables \[█+\] $N/$N done" \
    "^  lag +[0-9]+\.[0-9] s [▁▂▃▄▅▆▇█]{5,}  [0-9.]+ [kMG]?B [▁▂▃▄▅▆▇█]{5,}  [1-9][0-9]* applied, [0-9]+/s$" \
    "^… and [0-9]+ more: [0-9]+ completed"
check_fits screen "$LINES_" "$COLS"
cp "$TEST_TMP/capture-screen.txt" "$TEST_TMP/screen-cdc.txt"
pass "in CDC, under writes:
$(cat "$TEST_TMP/screen-cdc.txt")"

# --- 4. in ASCII outside UTF-8; Ctrl-C gives the terminal back -------------------
watch_in_tmux interrupted C
wait_screen interrupted "the watch in ASCII" "^$DB  (CATCHING_UP|READY_TO_COMPLETE)" \
    "^  tables \[#+\] $N/$N done" "^  lag +[0-9]+\.[0-9] s [_.~=+*#-]+  " "^\.\.\. and [0-9]+ more: "
LC_ALL=C grep -q '[^ -~]' "$TEST_TMP/capture-interrupted.txt" &&
    fail "the watch in the C locale drew more than ASCII: $(cat "$TEST_TMP/capture-interrupted.txt")"
pass "in the C locale, ASCII only:
$(cat "$TEST_TMP/capture-interrupted.txt")"
tmux -S "$SOCK" send-keys -t interrupted C-c || fail "tmux send-keys failed"
deadline=$((SECONDS + 60))
until [[ -s $TEST_TMP/interrupted.rc ]]; do
    ((SECONDS < deadline)) || fail "the watch did not end on Ctrl-C"
    sleep 0.2
done
[[ $(cat "$TEST_TMP/interrupted.rc") == 1 ]] || fail "the watch exited $(cat "$TEST_TMP/interrupted.rc") on Ctrl-C, not 1"
[[ $(tmux -S "$SOCK" display -p -t interrupted '#{alternate_on} #{cursor_flag}') == "0 1" ]] ||
    fail "after Ctrl-C the terminal is not given back (alternate screen, cursor): $(tmux -S "$SOCK" display -p -t interrupted '#{alternate_on} #{cursor_flag}')"
pass "Ctrl-C: exit 1, main screen and cursor back"

# --- 5. cutover: the watch ends with the task -----------------------------------
pgbench_stop
pgf task cutover --project-name "$P" -n "$T" --object-name "$DB" >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "task cutover exited $?: $(cat "$TEST_TMP/cutover.out")"
deadline=$((SECONDS + 120))
until [[ -s $TEST_TMP/screen.rc ]]; do
    ((SECONDS < deadline)) || fail "the watch did not end 120 s after the cutover"
    sleep 0.2
done
[[ $(cat "$TEST_TMP/screen.rc") == 0 ]] ||
    fail "the watch exited $(cat "$TEST_TMP/screen.rc") after a successful cutover: $(cat "$TEST_TMP/screen.err")"
capture screen
[[ $(tmux -S "$SOCK" display -p -t screen '#{alternate_on}') == 0 ]] || fail "the watch left the alternate screen on"
if ! grep -Eq "^task $P/$T  OnlineMigration  Succeeded" "$TEST_TMP/capture-screen.txt" ||
    ! grep -Eq "^$DB  COMPLETED" "$TEST_TMP/capture-screen.txt"; then
    fail "the last screen does not show the task Succeeded: $(cat "$TEST_TMP/capture-screen.txt")"
fi
pass "after the cutover the watch exited 0, its last screen left on the main screen"

# every frame drawn on the alternate screen (from one "cursor home" to the
# next) fits 100x20: its text, escape sequences left out
frames=$(cat "$TEST_TMP/screen.raw")
frames=${frames%%$'\e[?1049l'*} # the main screen's from there on
printf '%s' "$frames" | sed -e 's/\x1b\[H/\n@@frame@@\n/g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r$//' \
    >"$TEST_TMP/frames.txt"
check_frames()
{
    local LC_ALL=C.UTF-8 line count=0 rows=0 widest=0
    while IFS= read -r line; do
        if [[ $line == @@frame@@ ]]; then
            count=$((count + 1)) rows=0
            continue
        fi
        ((count > 0)) || continue
        rows=$((rows + 1))
        ((rows <= LINES_)) || fail "frame $count has more than $LINES_ lines"
        ((${#line} <= COLS)) || fail "frame $count has a line of ${#line} columns: $line"
        ((${#line} > widest)) && widest=${#line}
    done <"$TEST_TMP/frames.txt"
    ((count >= 5)) || fail "only $count frames in the watch's output"
    pass "all $count frames the watch drew fit ${COLS}x$LINES_ (the widest line: $widest columns)"
}
check_frames

# --- 6. without a terminal -------------------------------------------------------
deadline=$((SECONDS + 60))
while s_alive "${PGCONVOY_PIDS[watch_log]}"; do
    ((SECONDS < deadline)) || fail "the watch without a terminal did not end with the task"
    sleep 0.2
done
rc=0
wait "${PGCONVOY_PIDS[watch_log]}" || rc=$?
unset 'PGCONVOY_PIDS[watch_log]'
((rc == 0)) || fail "the watch without a terminal exited $rc: $(cat "$TEST_TMP/watch-log.err")"
log=$TEST_TMP/watch-log.out
grep -q $'\033' "$log" && fail "the watch without a terminal wrote escape sequences"
for i in $(seq -w 1 "$N"); do
    got=$(grep -c ": table public.wide_table_$i [A-Z]* -> COMPLETED, " "$log" || true)
    [[ $got == 1 ]] || fail "the log has $got lines of wide_table_$i becoming COMPLETED, not 1"
done
# the same line twice in a row, past its time
repeated=$(cut -c 10- "$log" | uniq -d)
[[ -z $repeated ]] || fail "the log repeats lines: $repeated"
grep -Eq "$DB: READY_TO_COMPLETE|$DB: CATCHING_UP" "$log" || fail "the log has no line of CDC"
grep -Eq "$DB: COMPLETED" "$log" || fail "the log has no line of the database COMPLETED"
lines=$(wc -l <"$log")
pass "without a terminal: $lines lines, each table's COMPLETED once, no line repeated; the first ones:
$(head -n 6 "$log")"
scenario_pass
