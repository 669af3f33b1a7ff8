#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/schema_fidelity/run.sh
#     The schema arrives as pg_restore would make it, owners and privileges
#     included, and the checks refuse a target without the roles it names.
#     1. the type zoo plus a schema of objects owned by other roles, with
#        table, column, sequence, function and schema privileges, default
#        privileges, a row security policy and an event trigger: migrated
#        online (with a cutover) and offline, each target's
#        pg_dump --schema-only equals that of a pg_restore of the same
#        source, the data are identical, and the application's roles read
#        what they were granted and nothing more; large objects arrive
#        with their contents, owners, privileges and comments;
#     1b. the object zoo (one object or more of every kind pg_dump dumps:
#        and a column of every built-in base type, array and range type,
#        extensions, collations, operators, text search, partitions of
#        every kind, every index method, rules, triggers, policies,
#        publications, foreign tables…), migrated offline, then (once its
#        unlogged table is made logged, as an online migration requires)
#        online with --fix-replica-identity and --validate: each time the same schema dump as
#        pg_restore's, identical data, sequences and large objects;
#     2. --no-owner --no-privileges: every object belongs to the migrating
#        role and no privilege is granted;
#     3. roles missing on the target (an owner, a grantee, a policy's
#        role), and a migrating role that is no member of the owners: each
#        named by the checks, exit 2, nothing written;
#     4. --roles --role-passwords: the missing roles are made with their
#        attributes, memberships and password verifiers (the password in
#        no log), and the objects arrive owned and granted as on the
#        source; --role-passwords without --roles is bad usage.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# Roles belong to the cluster: these names are this scenario's own, made
# on both clusters unless they exist (a run before this one made them).
make_roles()
{
    local side=$1
    shift
    local role
    for role in "$@"; do
        psql_side "$side" postgres -v role="$role" >/dev/null <<'SQL' ||
SELECT format('CREATE ROLE %I NOLOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL
            fail "could not create role $role on $side"
    done
}
make_roles src sf_owner sf_reader sf_writer sf_policy sf_only_src_owner \
    sf_only_src_reader sf_only_src_policy
make_roles tgt sf_owner sf_reader sf_writer sf_policy
psql_tgt postgres >/dev/null <<'SQL' || fail "could not create role sf_weak on the target"
SELECT 'CREATE ROLE sf_weak LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sf_weak') \gexec
SQL

# schema_dump SIDE DB: the schema as pg_dump prints it, without the
# random \restrict key of newer pg_dump releases and pgconvoy's own schema
schema_dump()
{
    local port=$SRC_PORT
    [[ $1 == tgt ]] && port=$TGT_PORT
    "$PGBIN/pg_dump" -h 127.0.0.1 -p "$port" -U postgres --schema-only \
        --exclude-schema=pgconvoy "$2" | grep -v '^\\\(un\)\?restrict '
}

# --- 1. owners and privileges, online and offline ---------------------------
DB=schema_fidelity
new_db "$DB" src
load_fixture "$DB" typezoo src
psql_src "$DB" >/dev/null <<'SQL' || fail "could not set up the owned objects in $DB"
CREATE SCHEMA app AUTHORIZATION sf_owner;
SET ROLE sf_owner;
CREATE TABLE app.accounts (id integer PRIMARY KEY, name text, secret text);
INSERT INTO app.accounts SELECT g, 'name ' || g, md5(g::text) FROM generate_series(1, 100) g;
CREATE VIEW app.public_accounts AS SELECT id, name FROM app.accounts;
CREATE SEQUENCE app.invoice_no;
CREATE FUNCTION app.next_invoice() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('app.invoice_no') $$;
CREATE MATERIALIZED VIEW app.account_count AS SELECT count(*) AS n FROM app.accounts;
CREATE TABLE app.notes (id integer PRIMARY KEY, owner_name name, body text);
INSERT INTO app.notes VALUES (1, 'sf_policy', 'visible'), (2, 'someone else', 'hidden');
ALTER TABLE app.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON app.notes TO sf_policy USING (owner_name = current_user);
GRANT USAGE ON SCHEMA app TO sf_reader, sf_writer, sf_policy;
GRANT SELECT ON app.accounts, app.public_accounts, app.account_count TO sf_reader;
GRANT SELECT (id, name), INSERT, UPDATE ON app.accounts TO sf_writer;
GRANT USAGE ON SEQUENCE app.invoice_no TO sf_writer;
GRANT SELECT ON app.notes TO sf_policy;
REVOKE EXECUTE ON FUNCTION app.next_invoice() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.next_invoice() TO sf_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO sf_reader;
RESET ROLE;
ALTER TABLE public.scalars OWNER TO sf_owner;
REVOKE ALL ON TABLE public.arrays FROM PUBLIC;
GRANT SELECT ON TABLE public.arrays TO sf_reader WITH GRANT OPTION;
COMMENT ON TABLE app.accounts IS 'accounts, owned by sf_owner';
CREATE FUNCTION public.ddl_noted() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'ddl: %', tg_tag;
END
$$;
CREATE EVENT TRIGGER ddl_noted ON ddl_command_end EXECUTE FUNCTION public.ddl_noted();
SELECT lo_from_bytea(424242, 'hello'::bytea), lo_from_bytea(424243, ''::bytea),
       lo_from_bytea(424244, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 100000) g)::bytea);
ALTER LARGE OBJECT 424242 OWNER TO sf_owner;
GRANT SELECT ON LARGE OBJECT 424242 TO sf_reader;
COMMENT ON LARGE OBJECT 424244 IS 'three chunks and a bit';
SQL
lo_sql="SELECT string_agg(oid || ':' || pg_get_userbyid(lomowner) || ':' || coalesce(lomacl::text, '-') || ':'
                          || md5(lo_get(oid)) || ':' || coalesce(obj_description(oid, 'pg_largeobject'), '-'),
                          ',' ORDER BY oid)
          FROM pg_largeobject_metadata"

# online first: the checks set REPLICA IDENTITY FULL on public.nopk, which
# every later dump then shows too
new_db "${DB}_online" tgt
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "${DB}_online")" --agents 2 \
    --online --fix-replica-identity --cutover-when-ready ||
    fail "pgconvoy migrate --online of $DB exited $?"
pass "pgconvoy migrate --online of $DB exited 0"
new_db "${DB}_offline" tgt
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "${DB}_offline")" --agents 2 ||
    fail "pgconvoy migrate of $DB exited $?"
pass "pgconvoy migrate of $DB exited 0"

# the reference: what pg_dump | pg_restore makes of the same source
new_db "${DB}_ref" tgt
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -Fc "$DB" |
    "$PGBIN/pg_restore" -h 127.0.0.1 -p "$TGT_PORT" -U postgres -d "${DB}_ref" ||
    fail "pg_dump | pg_restore of $DB failed"
want=$(schema_dump tgt "${DB}_ref")
[[ $want == *"ALTER TABLE app.accounts OWNER TO sf_owner;"* &&
    $want == *"GRANT SELECT(id) ON TABLE app.accounts TO sf_writer;"* &&
    $want == *"ALTER DEFAULT PRIVILEGES FOR ROLE sf_owner IN SCHEMA app GRANT SELECT ON TABLES"*"TO sf_reader;"* ]] ||
    fail "the reference schema lacks the owners and privileges this test is about"
for target in "${DB}_online" "${DB}_offline"; do
    got=$(schema_dump tgt "$target")
    if [[ $got != "$want" ]]; then
        fail "target $target: pg_dump --schema-only differs from that of a pg_restore of $DB:
$(diff <(echo "$want") <(echo "$got") | head -40)"
    fi
    pass "target $target: pg_dump --schema-only equals pg_restore's, owners and privileges included"
    compare_db "$DB" "$target" || fail "target $target differs from source $DB"
    pass "target $target: identical data, materialized views included"
    lo_src=$(psql_src "$DB" -c "$lo_sql")
    lo_tgt=$(psql_tgt "$target" -c "$lo_sql")
    [[ $lo_src == *"424242:sf_owner:{sf_owner=rw/sf_owner,sf_reader=r/sf_owner}:"* && $lo_tgt == "$lo_src" ]] ||
        fail "target $target: large objects differ: source $lo_src, target $lo_tgt"
    pass "target $target: large objects with their contents, owners, privileges and comments"
    # what the application's roles may do, tried as them
    got=$(psql_tgt "$target" <<'SQL' 2>&1
SET ROLE sf_reader;
SELECT 'reader accounts ' || count(*) FROM app.accounts;
SELECT 'reader count ' || n FROM app.account_count;
RESET ROLE;
SET ROLE sf_policy;
SELECT 'policy notes ' || string_agg(body, ',') FROM app.notes;
RESET ROLE;
SET ROLE sf_writer;
SELECT 'writer next ' || app.next_invoice();
SELECT 'writer secret ' || secret FROM app.accounts LIMIT 1;
SQL
    ) && fail "target $target: sf_writer could read app.accounts.secret, which it was never granted"
    expected="reader accounts 100
reader count 100
policy notes visible
writer next 1
ERROR:  permission denied for table accounts"
    [[ $got == "$expected" ]] ||
        fail "target $target: the roles' privileges differ from the source's: got
$got
expected
$expected"
    pass "target $target: the roles read what they were granted, the policy filters, a column not granted is refused"
    assert_no_leftovers "$DB"
done

# --- 1b. every kind of object, offline then online ---------------------------
ZOO=schema_fidelity_objects
new_db "$ZOO" src
load_fixture "$ZOO" objectzoo src
# and a column of every built-in base type, with an array of each
load_fixture "$ZOO" basetypes src
# values that binary COPY sends but their own receive functions refuse:
# an empty int2vector, oidvector or tsquery (public.basetypes has an
# aclitem column, so it is copied as text whatever its other columns)
psql_src "$ZOO" >/dev/null <<'SQL' || fail "could not set up public.vectors in $ZOO"
CREATE TABLE public.vectors (id integer PRIMARY KEY, iv int2vector, ov oidvector, q tsquery,
                             qa tsquery[]);
INSERT INTO public.vectors VALUES (1, '', '', '', '{""}'), (2, '1 2', '3 4', 'a & !b <-> c', '{a|b}');
SQL
seq_sql="SELECT string_agg(format('%s.%s=%s', schemaname, sequencename, last_value), ','
                           ORDER BY schemaname COLLATE \"C\", sequencename COLLATE \"C\")
           FROM pg_sequences WHERE schemaname <> 'pgconvoy'"

index_sql="SELECT line FROM (
             SELECT format('%s:%s:%s', i.indexrelid::regclass, i.indisvalid, h.inhparent::regclass)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid
              WHERE c.relnamespace::regnamespace::text NOT IN ('pg_catalog', 'pg_toast', 'pgconvoy')
           ) s (line) ORDER BY line COLLATE \"C\""

# check_zoo TARGET: the target's schema is pg_restore's, its data the source's
check_zoo()
{
    local target=$1
    new_db "${target}_ref" tgt
    "$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -Fc "$ZOO" |
        "$PGBIN/pg_restore" -h 127.0.0.1 -p "$TGT_PORT" -U postgres -d "${target}_ref" ||
        fail "pg_dump | pg_restore of $ZOO failed"
    want=$(schema_dump tgt "${target}_ref")
    got=$(schema_dump tgt "$target")
    if [[ $got != "$want" ]]; then
        fail "target $target: pg_dump --schema-only differs from that of a pg_restore:
$(diff <(echo "$want") <(echo "$got") | head -60)"
    fi
    pass "target $target: pg_dump --schema-only equals pg_restore's for every kind of object"
    # partitions' indexes attached to their parents' (in batches), every
    # index valid, as after a pg_restore
    want=$(psql_tgt "${target}_ref" -c "$index_sql")
    got=$(psql_tgt "$target" -c "$index_sql")
    [[ -n $want && $got == "$want" ]] ||
        fail "target $target: indexes differ from pg_restore's (index:valid:parent):
$(diff <(echo "$want") <(echo "$got") | head -20)"
    grep -q ':t:zoo_parts\.' <<<"$got" || fail "target $target: no index attached to a partitioned one: $got"
    compare_db "$ZOO" "$target" || fail "target $target differs from source $ZOO"
    [[ $(psql_tgt "$target" -c "$seq_sql") == "$(psql_src "$ZOO" -c "$seq_sql")" ]] ||
        fail "target $target: sequences differ: source $(psql_src "$ZOO" -c "$seq_sql"), target $(psql_tgt "$target" -c "$seq_sql")"
    [[ $(psql_tgt "$target" -c "$lo_sql") == "$(psql_src "$ZOO" -c "$lo_sql")" ]] ||
        fail "target $target: large objects differ"
    pass "target $target: identical data, sequences and large objects"
}

new_db "$ZOO" tgt
pgconvoy_migrate --source "$(src_uri "$ZOO")" --target "$(tgt_uri "$ZOO")" --agents 2 ||
    fail "pgconvoy migrate of $ZOO exited $?"
check_zoo "$ZOO"
psql_src "$ZOO" -c 'ALTER TABLE "Zoo Objects".scratch SET LOGGED' >/dev/null ||
    fail "could not make the unlogged table of $ZOO logged"
new_db "${ZOO}_online" tgt
pgconvoy_migrate --source "$(src_uri "$ZOO")" --target "$(tgt_uri "${ZOO}_online")" --agents 2 \
    --online --fix-replica-identity --cutover-when-ready --validate ||
    fail "pgconvoy migrate --online --validate of $ZOO exited $?"
check_zoo "${ZOO}_online"
assert_no_leftovers "$ZOO"

# --- 2. --no-owner --no-privileges ------------------------------------------
new_db "${DB}_bare" tgt
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "${DB}_bare")" --agents 2 \
    --no-owner --no-privileges ||
    fail "pgconvoy migrate --no-owner --no-privileges of $DB exited $?"
got=$(psql_tgt "${DB}_bare" <<'SQL'
SELECT count(*) FILTER (WHERE c.relowner <> 'postgres'::regrole) || ' foreign-owned, '
       || count(*) FILTER (WHERE c.relacl IS NOT NULL) || ' with privileges, '
       || (SELECT count(*) FROM pg_default_acl) || ' default privileges, '
       || (SELECT count(*) FROM pg_namespace WHERE nspname = 'app' AND nspowner <> 'postgres'::regrole)
       || ' schema foreign-owned, '
       || (SELECT count(*) FILTER (WHERE lomowner <> 'postgres'::regrole OR lomacl IS NOT NULL) || ' of '
                  || count(*) FROM pg_largeobject_metadata)
       || ' large objects foreign-owned or granted'
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('app', 'public');
SQL
)
[[ $got == "0 foreign-owned, 0 with privileges, 0 default privileges, 0 schema foreign-owned, 0 of 3 large objects foreign-owned or granted" ]] ||
    fail "with --no-owner --no-privileges the target still has: $got"
pass "--no-owner --no-privileges: everything owned by the migrating role, nothing granted"
compare_db "$DB" "${DB}_bare" || fail "target ${DB}_bare differs from source $DB"

# --- 3. roles the target lacks ------------------------------------------------
DB=schema_fidelity_roles
new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not set up $DB"
CREATE TABLE owned (id integer PRIMARY KEY);
ALTER TABLE owned OWNER TO sf_only_src_owner;
CREATE TABLE shared (id integer PRIMARY KEY);
GRANT SELECT ON shared TO sf_only_src_reader, sf_reader;
CREATE TABLE guarded (id integer PRIMARY KEY);
CREATE POLICY only_some ON guarded TO sf_only_src_policy USING (true);
SQL
expect_fail 2 'has no role "sf_only_src_owner", owner of objects of the source database "schema_fidelity_roles".*--no-owner' \
    pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")"
grep -q 'has no role "sf_only_src_reader", granted privileges on objects of the source database "schema_fidelity_roles".*--no-privileges' <<<"$LAST_OUTPUT" ||
    fail "the checks did not name the grantee missing on the target: $LAST_OUTPUT"
grep -q 'has no role "sf_only_src_policy", named by row security policies' <<<"$LAST_OUTPUT" ||
    fail "the checks did not name the policy's role missing on the target: $LAST_OUTPUT"
pass "each role missing on the target named, by what names it"
assert_target_untouched "$DB"

# --no-owner and --no-privileges need neither of the first two; the
# policy still names its role
expect_fail 2 'has no role "sf_only_src_policy"' \
    pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --no-owner --no-privileges
if grep -q 'sf_only_src_owner\|sf_only_src_reader' <<<"$LAST_OUTPUT"; then
    fail "with --no-owner --no-privileges the checks still asked for the owner or the grantee: $LAST_OUTPUT"
fi
pass "--no-owner and --no-privileges: only the policy's role is still asked for"
assert_target_untouched "$DB"

# a migrating role that is neither superuser nor member of the owners
psql_src "$DB" >/dev/null <<'SQL' || fail "could not change $DB"
DROP POLICY only_some ON guarded;
ALTER TABLE owned OWNER TO sf_owner;
REVOKE ALL ON shared FROM sf_only_src_reader;
SQL
psql_tgt "$DB" >/dev/null <<SQL || fail "could not let sf_weak create schemas in $DB"
GRANT CREATE ON DATABASE $DB TO sf_weak;
SQL
expect_fail 2 'role "sf_weak" cannot give objects to roles "postgres", "sf_owner", owners of objects of the source database "schema_fidelity_roles".*GRANT owner TO "sf_weak"' \
    pgconvoy_migrate --source "$(src_uri "$DB")" \
    --target "postgresql://sf_weak@127.0.0.1:$TGT_PORT/$DB"
assert_target_untouched "$DB"

# --- 4. --roles ----------------------------------------------------------------
DB=schema_fidelity_create
new_db "$DB"
psql_src "$DB" >/dev/null <<'SQL' || fail "could not set up $DB"
ALTER ROLE sf_only_src_owner LOGIN CONNECTION LIMIT 3 PASSWORD 'sf-Secret-Owner-7';
GRANT sf_reader TO sf_only_src_reader;
CREATE TABLE public.owned (id integer PRIMARY KEY, v text);
INSERT INTO public.owned SELECT g, 'v' || g FROM generate_series(1, 10) g;
ALTER TABLE public.owned OWNER TO sf_only_src_owner;
GRANT SELECT ON public.owned TO sf_only_src_reader;
ALTER TABLE public.owned ENABLE ROW LEVEL SECURITY;
CREATE POLICY some_rows ON public.owned TO sf_only_src_policy USING (id < 5);
SQL
expect_fail 2 'role-passwords applies to --roles only' \
    pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --role-passwords
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --roles --role-passwords ||
    fail "pgconvoy migrate --roles --role-passwords of $DB exited $?"
verifier_sql="SELECT rolpassword FROM pg_authid WHERE rolname = 'sf_only_src_owner'"
verifier=$(psql_src postgres -c "$verifier_sql")
[[ $verifier == SCRAM-SHA-256* && $(psql_tgt postgres -c "$verifier_sql") == "$verifier" ]] ||
    fail "sf_only_src_owner's password verifier on the target is not the source's"
if grep -rlF -e "sf-Secret-Owner-7" -e "$verifier" "$TEST_TMP" >/dev/null 2>&1; then
    fail "the password or its verifier shows in $(grep -rlF -e "sf-Secret-Owner-7" -e "$verifier" "$TEST_TMP" | head -3)"
fi
pass "--role-passwords: the owner's password verifier arrived as on the source, in no log"
got=$(psql_tgt "$DB" <<'SQL'
SELECT string_agg(format('%s login=%s limit=%s in=%s', r.rolname, r.rolcanlogin, r.rolconnlimit,
                         coalesce((SELECT string_agg(g.rolname, '+' ORDER BY g.rolname)
                                     FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                                    WHERE m.member = r.oid), '-')),
                  '; ' ORDER BY r.rolname)
  FROM pg_roles r WHERE r.rolname LIKE 'sf\_only\_src\_%';
SELECT 'owner ' || pg_get_userbyid(relowner) || ' acl ' || relacl::text FROM pg_class WHERE oid = 'public.owned'::regclass;
SQL
)
want="sf_only_src_owner login=t limit=3 in=-; sf_only_src_policy login=f limit=-1 in=-; sf_only_src_reader login=f limit=-1 in=sf_reader
owner sf_only_src_owner acl {sf_only_src_owner=arwdDxt/sf_only_src_owner,sf_only_src_reader=r/sf_only_src_owner}"
[[ $got == "$want" ]] || fail "after --roles the target has:
$got
expected:
$want"
compare_db "$DB" "$DB" || fail "target $DB differs from the source"
pass "--roles: the three roles made with their attributes and membership, the table owned and granted as on the source"
# the roles are the cluster's: gone, so that a run on these clusters again
# finds them missing
s_drop_db tgt "$DB" >/dev/null || fail "could not drop $DB on the target"
psql_tgt postgres >/dev/null <<'SQL' || fail "could not drop the roles --roles made"
DROP ROLE sf_only_src_owner, sf_only_src_policy, sf_only_src_reader;
SQL

scenario_pass
