#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/cli_help/run.sh
#     Every program and every pgconvoy command answers --help with exit 0,
#     its usage line and every option below (the options the issue and
#     the README promise), and every option its help lists is one its
#     parser takes; --version answers the version of CMakeLists.txt; an
#     unknown option is named, with exit 2 and nothing on stdout. The
#     manual pages render without a warning, and cpack makes a .deb with
#     the programs, the pages, the units and the Depends the agents need.
#     No PostgreSQL: only the programs run.

PGCONVOY_NO_CLUSTERS=1
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CLI=$(s_bin pgconvoy)
COORDINATOR=$(s_bin pgconvoy-coordinator)
AGENT=$(s_bin pgconvoy-agent)
VERSION=$(sed -n 's/^project(.* VERSION \([0-9][0-9.]*\).*/\1/p' "$PGCONVOY_REPO_DIR/CMakeLists.txt")
[[ -n $VERSION ]] || fail "no VERSION in CMakeLists.txt's project()"

# What each command must take, --help and -h aside.
declare -A OPTIONS=(
    [migrate]="--source --target --tables --agents --jobs --state-dir --online
               --cutover-when-ready --split-tables-larger-than
               --fix-replica-identity --validate --no-owner --no-privileges
               --no-acl --roles --role-passwords --no-analyze"
    [project create]="-n --name --source-platform --target-platform"
    [project delete]="-n --name"
    [project list]=""
    [task create]="--project-name -n --name --task-type --source-connection-json
                   --target-connection-json --database-options-json
                   --split-tables-larger-than --no-owner --no-privileges
                   --no-acl --roles --role-passwords --fix-replica-identity
                   --no-analyze"
    [task show]="--project-name -n --name --expand -o --output"
    [task watch]="--project-name -n --name"
    [task cutover]="--project-name -n --name --object-name --validate"
    [task cancel]="--project-name -n --name"
    [task delete]="--project-name -n --name"
    [agent list]="-o --output"
    [keygen]=""
)
GLOBAL_OPTIONS="--coordinator --curve-secret --curve-server --help-all --version"
COORDINATOR_OPTIONS="--state-dir --listen --agents --log-level --curve-secret
                     --curve-clients --insecure --secrets-key --slot-wal-warn --version"
AGENT_OPTIONS="--coordinator --name --labels --jobs --pg-bin --log-level
               --curve-secret --curve-server --version"

cd "$TEST_TMP" || fail "cannot cd to $TEST_TMP"

# A value its parser takes, from the help's placeholder for it.
value_for()
{
    case $1 in
        output) echo output ;;   # --expand output
        json\|table) echo json ;; # --output
        LEVEL) echo info ;;
        SIZE) echo 1GB ;;
        DURATION) echo 20s ;;
        N) echo 2 ;;
        *) echo x ;;
    esac
}

# check_help WHAT USAGE-PATTERN "OPTIONS" CMD...: CMD --help exits 0 with
# nothing on stderr, prints USAGE-PATTERN and each of OPTIONS, and every
# option it lists is taken by the parser (given before --help, it is not
# refused).
check_help()
{
    local what=$1 usage=$2 options=$3 opt rc=0 line spec placeholder args
    shift 3
    "$@" --help >help.out 2>help.err || rc=$?
    ((rc == 0)) || fail "$what --help exited $rc: $(cat help.err)"
    [[ ! -s help.err ]] || fail "$what --help wrote on stderr: $(cat help.err)"
    grep -Eq -- "$usage" help.out || fail "$what --help has no usage line /$usage/:
$(cat help.out)"
    for opt in $options --help; do
        grep -Eq -- "(^|[ ,])$opt( |,|$)" help.out ||
            fail "$what --help does not list $opt:
$(cat help.out)"
    done
    # every option line of the help: "  -n, --name T  ..." or "      --flag  ..."
    while read -r line; do
        spec=${line%%  *}
        for opt in $spec; do
            [[ $opt == -* ]] || continue
            opt=${opt%,}
            [[ $opt == --help || $opt == -h || $opt == --version || $opt == --help-all ]] && continue
            # the value's placeholder ends the spec: "-n, --name T"
            placeholder=${spec##* }
            [[ $placeholder == -* ]] && placeholder=""
            args=("$opt")
            [[ -n $placeholder ]] && args+=("$(value_for "$placeholder")")
            rc=0
            # a parser that took --help as a value would run the command:
            # timeout bounds that failure
            timeout 10 "$@" "${args[@]}" --help >/dev/null 2>parse.err || rc=$?
            ((rc == 0)) || fail "$what lists $opt but its parser refuses it (exit $rc): $(cat parse.err)"
        done
    done < <(grep -E '^ +-' help.out)
    pass "$what --help: usage, $(wc -w <<<"$options") options, each taken by the parser"
}

# --- --help ------------------------------------------------------------------
for command in "${!OPTIONS[@]}"; do
    # shellcheck disable=SC2086 # the command's words
    check_help "pgconvoy $command" "^Usage: pgconvoy $command( |$)" "${OPTIONS[$command]}" \
        "$CLI" $command
done
check_help "pgconvoy" "^Usage: pgconvoy \[OPTION\]\.\.\. COMMAND" "$GLOBAL_OPTIONS" "$CLI"
check_help "pgconvoy-coordinator" "^Usage: pgconvoy-coordinator --state-dir DIR" \
    "$COORDINATOR_OPTIONS" "$COORDINATOR"
check_help "pgconvoy-agent" "^Usage: pgconvoy-agent --coordinator ENDPOINT --name NAME" \
    "$AGENT_OPTIONS" "$AGENT"

# pgconvoy help, help COMMAND, NOUN --help, --help-all: exit 0, on stdout
{ "$CLI" help >out 2>err && [[ ! -s err ]] && grep -q '^Usage: pgconvoy \[OPTION\]' out; } ||
    fail "pgconvoy help: no overview"
{ "$CLI" help task show >out 2>err && grep -q '^Usage: pgconvoy task show' out; } ||
    fail "pgconvoy help task show: not task show's help"
for noun in project task agent; do
    { "$CLI" "$noun" --help >out 2>err && grep -q "^Usage: pgconvoy $noun COMMAND" out; } ||
        fail "pgconvoy $noun --help: not the list of its commands"
done
"$CLI" --help-all >out 2>err || fail "pgconvoy --help-all exited $?"
for command in "${!OPTIONS[@]}"; do
    grep -q "^pgconvoy $command:$" out || fail "pgconvoy --help-all has no section for $command"
done
pass "pgconvoy help, help task show, project --help, task --help, agent --help and --help-all"

# --- --version ---------------------------------------------------------------
for program in "$CLI" "$COORDINATOR" "$AGENT"; do
    name=$(basename "$program")
    rc=0
    "$program" --version >out 2>err || rc=$?
    ((rc == 0)) || fail "$name --version exited $rc"
    [[ $(head -n 1 out) == "$name $VERSION" ]] ||
        fail "$name --version: first line \"$(head -n 1 out)\", expected \"$name $VERSION\""
    grep -Eq '^protocol version [0-9]+$' out || fail "$name --version: no protocol version"
    (($(wc -l <out) <= 3)) || fail "$name --version printed more than 3 lines"
done
grep -Eq '^catalog layout [0-9]+$' <("$COORDINATOR" --version) ||
    fail "pgconvoy-coordinator --version: no catalog layout"
pass "--version of the three programs: $VERSION, the protocol, the catalog layout"

# --- unknown options -----------------------------------------------------------
# expect_unknown PATTERN CMD...: exit 2, PATTERN on stderr, nothing on stdout
expect_unknown()
{
    local pattern=$1 rc=0
    shift
    "$@" >out 2>err || rc=$?
    ((rc == 2)) || fail "expected exit 2, got $rc from: $*"
    [[ ! -s out ]] || fail "wrote on stdout: $*: $(cat out)"
    grep -Eq -- "$pattern" err || fail "stderr does not match /$pattern/: $*: $(cat err)"
}
expect_unknown '^pgconvoy: error: unknown option --foo for "task show"; see pgconvoy task show --help$' \
    "$CLI" task show --project-name P -n T --foo
expect_unknown '^pgconvoy: error: unknown option --validate for "task show"' \
    "$CLI" task show --project-name P -n T --validate
expect_unknown '^pgconvoy: error: unknown option --foo for "migrate"; see pgconvoy migrate --help$' \
    "$CLI" migrate --foo=1 --source x --target y
expect_unknown '^pgconvoy: error: unknown option -z for "project list"' "$CLI" project list -z
expect_unknown '^pgconvoy: error: unknown option --foo; see pgconvoy --help$' "$CLI" --foo task show
expect_unknown '^pgconvoy: error: option --name for "task watch" needs a value' \
    "$CLI" task watch --project-name P --name
expect_unknown '^pgconvoy: error: unknown command "task frob"' "$CLI" task frob
expect_unknown '^pgconvoy-coordinator: error: unknown option --foo; see pgconvoy-coordinator --help$' \
    "$COORDINATOR" --state-dir "$TEST_TMP/state" --foo
expect_unknown '^pgconvoy-agent: error: unknown option --foo; see pgconvoy-agent --help$' \
    "$AGENT" --coordinator tcp://127.0.0.1:1 --name a --foo
[[ ! -e $TEST_TMP/state ]] || fail "pgconvoy-coordinator made its state directory despite a bad option"
pass "unknown options and commands: named, exit 2, nothing on stdout"

# --- manual pages --------------------------------------------------------------
for page in man1/pgconvoy.1 man8/pgconvoy-coordinator.8 man8/pgconvoy-agent.8; do
    file=$PGCONVOY_BUILD_DIR/man/${page#*/}
    [[ -s $file ]] || fail "no manual page $file"
    warnings=$(MANWIDTH=80 man -l --warnings "$file" 2>&1 >/dev/null)
    [[ -z $warnings ]] || fail "man -l $file warns: $warnings"
    warnings=$(groff -man -Tutf8 -ww -z "$file" 2>&1)
    [[ -z $warnings ]] || fail "groff warns on $file: $warnings"
    MANWIDTH=80 man -l "$file" >page.txt 2>/dev/null
    grep -q "$VERSION" page.txt || fail "$file does not name version $VERSION"
done
MANWIDTH=80 man -l "$PGCONVOY_BUILD_DIR/man/pgconvoy.1" >page.txt 2>/dev/null
for command in "${!OPTIONS[@]}"; do
    grep -q "pgconvoy $command:" page.txt || fail "pgconvoy(1) has no section for $command"
done
for opt in --cutover-when-ready --state-dir --object-name --role-passwords; do
    grep -q -- "$opt" page.txt || fail "pgconvoy(1) does not list $opt"
done
pass "pgconvoy(1), pgconvoy-coordinator(8), pgconvoy-agent(8) render without warnings"

# --- the Debian package --------------------------------------------------------
cpack -G DEB -B "$TEST_TMP/pkg" --config "$PGCONVOY_BUILD_DIR/CPackConfig.cmake" \
    >cpack.log 2>&1 || fail "cpack -G DEB failed: $(tail -n 20 cpack.log)"
deb=("$TEST_TMP"/pkg/pgconvoy_"$VERSION"_*.deb)
[[ -f ${deb[0]} ]] || fail "cpack made no pgconvoy_${VERSION}_*.deb: $(ls "$TEST_TMP/pkg")"
dpkg-deb -c "${deb[0]}" >contents.txt
for path in usr/bin/pgconvoy usr/bin/pgconvoy-coordinator usr/bin/pgconvoy-agent \
    usr/share/man/man1/pgconvoy.1.gz usr/share/man/man8/pgconvoy-coordinator.8.gz \
    usr/share/man/man8/pgconvoy-agent.8.gz \
    usr/lib/systemd/system/pgconvoy-coordinator.service \
    usr/lib/systemd/system/pgconvoy-agent.service; do
    grep -q " \./$path$" contents.txt || fail "the .deb lacks /$path:
$(cat contents.txt)"
done
depends=$(dpkg-deb -f "${deb[0]}" Depends)
for pkg in libpq5 postgresql-client libzmq5 libczmq4; do
    grep -q "\b$pkg\b" <<<"$depends" || fail "Depends does not name $pkg: $depends"
done
[[ $(dpkg-deb -f "${deb[0]}" Maintainer) == *@* ]] || fail "the .deb has no maintainer"
pass "$(basename "${deb[0]}"): programs, pages and units; Depends: $depends"

scenario_pass
