#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/tls/run.sh
#     Issue 9: the libpq settings of a connection reach every connection
#     pgconvoy makes. The source takes TLS connections only (hostssl), with
#     a server certificate for 127.0.0.1 and localhost signed by a CA made
#     here:
#     1. --source '...?sslmode=verify-full&sslrootcert=<another CA>': refused
#        naming the certificate verification, nothing written (before the
#        fix, libpq's prefer connected anyway);
#     2. sslmode=disable: refused by the server, so the setting is honoured
#        both ways;
#     3. verify-full with the right CA, as a role that gives its password:
#        migrated, identical, every session of pgconvoy's (pg_dump's too)
#        logged by the server as SSL, and the password in neither the
#        catalog nor a log;
#     4. the seed's JSON with encryptConnection and sslRootCert, an online
#        task through daemons: the wrong CA refused by the checks (exit 2);
#        the right one streams, every pgconvoy session on the source shows
#        in pg_stat_ssl as SSL while connected, the walsender's too, the
#        agent's sockets to the source keep TCP keepalives; then cut over,
#        identical.

# The source's TLS settings must not reach the other scenarios, which may
# run at the same time on the shared clusters: this one starts a pair of
# its own (lib.sh does when PGCONVOY_PG_DIR is unset, and removes it at exit).
unset PGCONVOY_PG_DIR

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

command -v openssl >/dev/null || fail "no openssl (deploy/install-deps.sh installs it)"

DB=tls_shop
ONLINE_DB=tls_online
P=tls
CERTS=$TEST_TMP/certs
mkdir -p "$CERTS"

# --- a CA, a server certificate it signs, and a CA that signs nothing -----
s_make_ca()
{
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -days 2 -subj "/CN=pgconvoy test $1" -keyout "$CERTS/$1.key" -out "$CERTS/$1.crt" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        >>"$CERTS/openssl.log" 2>&1 || fail "openssl could not make $1: $(tail -n 5 "$CERTS/openssl.log")"
}
s_make_ca ca
s_make_ca other-ca
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -subj "/CN=localhost" -keyout "$CERTS/server.key" -out "$CERTS/server.csr" \
    >>"$CERTS/openssl.log" 2>&1 || fail "openssl could not make the server's key"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$CERTS/san.ext"
openssl x509 -req -in "$CERTS/server.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" \
    -CAcreateserial -days 2 -extfile "$CERTS/san.ext" -out "$CERTS/server.crt" \
    >>"$CERTS/openssl.log" 2>&1 || fail "openssl could not sign the server's certificate"
pass "a CA, a server certificate for 127.0.0.1 and localhost, and another CA"

# --- the source: TLS only ---------------------------------------------------
install -o postgres -g postgres -m 0600 "$CERTS/server.crt" "$CERTS/server.key" "$SRC_DATA/"
cat >>"$SRC_DATA/postgresql.conf" <<EOF
# --- tests/integration/tls ---
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
log_connections = on
EOF
cat >"$SRC_DATA/pg_hba.conf" <<EOF
# tests/integration/tls: over TCP, TLS or nothing
hostssl all             $PASSWORD_ROLE     127.0.0.1/32    scram-sha-256
local   all             all                     trust
hostssl all             all     127.0.0.1/32    trust
local   replication     all                     trust
hostssl replication     all     127.0.0.1/32    trust
EOF
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SRC_DATA" reload >/dev/null ||
    fail "could not reload the source"
for _ in $(seq 1 50); do
    # psql's sslmode is prefer: TLS once the server offers it
    [[ $(psql_src postgres -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>/dev/null) == t ]] && break
    sleep 0.2
done
[[ $(psql_src postgres -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == t ]] ||
    fail "the source does not take TLS connections after the reload"
pass "the source on 127.0.0.1:$SRC_PORT takes TLS connections only"

new_db "$DB"
load_fixture "$DB" sample

# assert_logged_tls FROM APP...: every session of pgconvoy's that the
# source logged from byte FROM of its log on was TLS, and each APP had one
assert_logged_tls()
{
    local from=$1 sessions not_ssl app
    shift
    sessions=$(tail -c "+$from" "$SRC_LOG" | grep 'connection authorized: .*application_name=pgconvoy-') ||
        fail "the source logged no pgconvoy session"
    not_ssl=$(grep -v 'SSL enabled' <<<"$sessions" || true)
    [[ -z $not_ssl ]] || fail "sessions of pgconvoy's without TLS: $not_ssl"
    for app in "$@"; do
        grep -q "application_name=$app " <<<"$sessions" ||
            fail "no TLS session of $app in the source's log: $sessions"
    done
    pass "all $(wc -l <<<"$sessions") sessions of pgconvoy's on the source were TLS, of $*"
}

src_tls_uri()
{
    echo "postgresql://$PASSWORD_ROLE:$PASSWORD_SECRET@127.0.0.1:$SRC_PORT/$1?sslmode=$2&sslrootcert=$3"
}

# --- 1. another CA: certificate verification fails ----------------------------
expect_fail 2 'certificate verify failed' \
    pgconvoy_migrate --source "$(src_tls_uri "$DB" verify-full "$CERTS/other-ca.crt")" \
    --target "$(tgt_uri "$DB")" --agents 1
assert_target_untouched "$DB"
pass "verify-full with another CA: refused, the target untouched"

# --- 2. sslmode=disable: the server wants TLS ---------------------------------
expect_fail 2 'no encryption' \
    pgconvoy_migrate --source "$(src_tls_uri "$DB" disable "$CERTS/ca.crt")" \
    --target "$(tgt_uri "$DB")" --agents 1
assert_target_untouched "$DB"
pass "sslmode=disable: refused by a server that wants TLS, the target untouched"

# --- 3. verify-full with the right CA ----------------------------------------
log_from=$(($(stat -c %s "$SRC_LOG") + 1))
pgconvoy_migrate --source "$(src_tls_uri "$DB" verify-full "$CERTS/ca.crt")" \
    --target "$(tgt_uri "$DB")" --agents 2 ||
    fail "pgconvoy migrate over verify-full exited $?"
pass "pgconvoy migrate over verify-full exited 0"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "target identical to the source"

assert_logged_tls "$log_from" pgconvoy-prepare pgconvoy-snapshot pgconvoy-copy pgconvoy-agent

state_dir=$TEST_TMP/migrate-$PGCONVOY_MIGRATE_RUNS
[[ -f $state_dir/pgconvoy.db ]] || fail "no catalog in $state_dir"
[[ $(sqlite3 "$state_dir/pgconvoy.db" "SELECT src_options FROM tasks") == *"sslmode='verify-full'"* ]] ||
    fail "the catalog does not keep the source's sslmode: $(sqlite3 "$state_dir/pgconvoy.db" "SELECT src_options FROM tasks")"
if grep -r -a -l -- "$PASSWORD_SECRET" "$state_dir"; then
    fail "the password was written to the files above"
fi
pass "the catalog keeps the options, but no password (nor do the logs)"

# --- 4. the seed's JSON, online, through daemons -----------------------------
new_db "$ONLINE_DB"
load_fixture "$ONLINE_DB" sample
start_coordinator
start_agent a1 --jobs 2
cd "$TEST_TMP" || fail "no TEST_TMP"
write_seed_files "$ONLINE_DB"
jq -n '[{name: $db, target_database_name: $db, selectedTables: []}]' --arg db "$ONLINE_DB" >o.json
create_project "$P"

jq --arg ca "$CERTS/other-ca.crt" '.encryptConnection = true | .sslRootCert = $ca' s.json >s_other.json
expect_fail 2 'certificate verify failed' \
    pgf task create --project-name "$P" -n wrong_ca --task-type OnlineMigration \
    --source-connection-json s_other.json --target-connection-json t.json \
    --database-options-json o.json
assert_target_untouched "$ONLINE_DB"
pass "encryptConnection with another CA's sslRootCert: refused by the checks"

jq --arg ca "$CERTS/ca.crt" '.encryptConnection = true | .sslRootCert = $ca' s.json >s_tls.json
log_from=$(($(stat -c %s "$SRC_LOG") + 1))
pgf task create --project-name "$P" -n online --task-type OnlineMigration \
    --source-connection-json s_tls.json --target-connection-json t.json \
    --database-options-json o.json || fail "task create exited $?"

# wait_online JQ-CONDITION: until the online task's DatabaseLevelOutput
# meets it (at most 120 s)
wait_online()
{
    local deadline=$((SECONDS + 120))
    while :; do
        task_show "$P" online || fail "task show failed"
        jq -e ".properties.output[] | select(.resultType == \"DatabaseLevelOutput\") | $1" \
            "$TASK_JSON" >/dev/null && return 0
        ((SECONDS < deadline)) || fail "not $1 after 120 s: $(jq -c . "$TASK_JSON")"
        sleep 0.5
    done
}
wait_online '.migrationState == "READY_TO_COMPLETE"'
psql_src "$ONLINE_DB" -c "INSERT INTO public.customers (email, full_name, country)
                          SELECT 'tls' || g || '@example.com', 'TLS ' || g, 'DE' FROM generate_series(1, 100) g"

# while streaming: the sessions as the server sees them
seen=$(psql_src postgres -F '|' -c "
    SELECT a.application_name, a.backend_type, s.ssl, s.version
    FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
    WHERE a.application_name LIKE 'pgconvoy-%' ORDER BY 1")
note "pgconvoy's sessions on the source: ${seen//$'\n'/; }"
grep -q '^pgconvoy-cdc|walsender|t|TLS' <<<"$seen" || fail "no TLS walsender session of pgconvoy-cdc: $seen"
[[ -z $(awk -F '|' '$3 != "t"' <<<"$seen") ]] || fail "sessions of pgconvoy's without TLS: $seen"
pass "while streaming, every pgconvoy session on the source is TLS, the walsender's too"

# keepalives: an idle socket with SO_KEEPALIVE shows a keepalive timer
agent=${PGCONVOY_PIDS[agent-a1]}
sockets=$(ss -Htnpo state established "( dport = :$SRC_PORT )" | grep "pid=$agent,") ||
    fail "no socket of the agent to the source"
grep -q 'timer:(keepalive' <<<"$sockets" || fail "no socket of the agent keeps TCP keepalives: $sockets"
pass "the agent's sockets to the source keep TCP keepalives"

wait_online '.migrationState == "READY_TO_COMPLETE" and .appliedChanges >= 100'
pgf task cutover --project-name "$P" -n online --object-name "$ONLINE_DB" >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "task cutover exited $?: $(cat "$TEST_TMP/cutover.out")"
wait_task "$P" online 60 || fail "the online task did not succeed"
compare_db "$ONLINE_DB" "$ONLINE_DB" || fail "the target differs from the source after the cutover"
assert_no_leftovers "$ONLINE_DB"
assert_logged_tls "$log_from" pgconvoy-prepare pgconvoy-slot pgconvoy-schema pgconvoy-agent \
    pgconvoy-copy pgconvoy-finalize pgconvoy-cdc
# Not `tail | grep -q`: grep quits at its match, and under pipefail the
# SIGPIPE that tail then gets fails the pipeline when the log is long.
grep -q 'replication connection authorized: .*application_name=pgconvoy-cdc SSL enabled' \
    <<<"$(tail -c "+$log_from" "$SRC_LOG")" ||
    fail "the source logged no TLS replication connection of pgconvoy-cdc"
pass "online over TLS: streamed, cut over, identical, no slot or publication left"

scenario_pass
