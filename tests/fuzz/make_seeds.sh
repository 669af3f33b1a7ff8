#!/usr/bin/env bash
#
# tests/fuzz/make_seeds.sh
#     Rewrites the seed corpora in tests/fuzz/corpus/<target>/ from real
#     inputs, so that the fuzzers start from messages that get deep:
#       envelope:  one Envelope of every message type (seed_envelopes.c),
#                  packed with the current protocol version;
#       config:    the seed's connection and database-options JSON (the
#                  DMS tutorial's, comments included), TLS fields, URIs,
#                  options and sizes, each behind its reader's selector byte;
#       pgoutput:  the recorded messages of tests/unit/fixtures/pgoutput,
#                  alone and as whole transactions, and the protocol v2
#                  streaming and two-phase messages the decoder refuses;
#       copy_trim: binary COPY messages (header and row, rows with NULLs
#                  and blanks, the trailer) behind a table's width and
#                  its char(n) columns.
#
#   make_seeds.sh [FUZZ_BUILD_DIR]   (default build-fuzz; run.sh builds it)
#
# Rerun it, and commit the result, when pgconvoy.proto or the protocol
# version changes (the envelope seeds would be refused as another
# version) or when the pgoutput fixtures are recorded again.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build-fuzz}
corpus=$here/corpus

cmake --build "$build" --target seed_envelopes >/dev/null
rm -rf "$corpus"
mkdir -p "$corpus/envelope" "$corpus/config" "$corpus/pgoutput" "$corpus/copy_trim"

"$build/tests/fuzz/seed_envelopes" "$corpus/envelope"

# config: selector byte (fuzz_config.c), then the text
seed_config() # NAME SELECTOR TEXT
{
    { printf '%b%s' "\\x$2" "$3"; } >"$corpus/config/$1"
}
seed_config endpoint_seed 00 '{
    // if this is missing or null, you will be prompted
    "userName": "postgres",
    "password": null,
    "serverName": "13.51.14.222",
    /* the source database */
    "databaseName": "dvdrental",
    "port": 5432
}'
seed_config endpoint_tls 00 '{"userName": " dms@builddemotarget", "password": "p\u00e9\n",
 "serverName": "builddemotarget.postgres.database.azure.com", "databaseName": "inventory",
 "port": 5432, "encryptConnection": true, "trustServerCertificate": false,
 "sslRootCert": "/etc/ssl/root.crt", "sslCert": "c.crt", "sslKey": "c.key", "sslCrl": "c.crl"}'
seed_config endpoint_sslmode 00 '{"userName": "u", "serverName": "h1,h2", "sslMode": "verify-ca", "port": 70000}'
seed_config databases_seed 01 '[
    {
        "name": "dvdrental",
        "target_database_name": "dvdrental",
        "selectedTables": [
            "public.actor",
            "\"My Schema\".\"Order \"\"Lines\"\"\""
        ]
    },
    {"name": "inventory", "selectedTables": []}
]'
seed_config databases_bad 01 '[{"name": "d", "selectedTable": ["x"]}, {"name": "d"}, 5]'
seed_config uri_full 02 'postgresql://postgres:s3cret@13.51.14.222:5432/dvdrental?sslmode=verify-full&sslrootcert=/etc/ssl/root.crt&keepalives_idle=30'
seed_config uri_conninfo 02 "host=db.example hostaddr=10.0.0.5 port=5433 dbname='my db' user=u connect_timeout=10"
seed_config uri_refused 02 'postgresql://h1,h2/db?replication=database&application_name=x'
seed_config option_sslmode 03 'sslmode=verify-full'
seed_config option_secret 03 'sslpassword=x'
seed_config option_hosts 03 'host=a,b'
seed_config size_mb 04 '256MB'
seed_config size_tb 04 '8796093022207 TB'

# pgoutput: records of a 2-byte big-endian length and the message
fixtures=$top/tests/unit/fixtures/pgoutput
record() # FILE...: the framed messages, on stdout
{
    local f size
    for f in "$@"; do
        size=$(stat -c %s "$f")
        printf "\\x$(printf %02x $((size >> 8)))\\x$(printf %02x $((size & 255)))"
        cat "$f"
    done
}
for f in "$fixtures"/*.bin; do
    record "$f" >"$corpus/pgoutput/$(basename "$f" .bin)"
done
# whole transactions, in stream order (index.txt): the change messages
# decode only after their Relation
session=
txn=()
flush()
{
    if ((${#txn[@]} > 0)); then
        record "${txn[@]}" >"$corpus/pgoutput/txn_${session}_$(basename "${txn[0]}" .bin)"
    fi
    txn=()
}
while read -r first rest; do
    case $first in
        '#' | '') continue ;;
        session) flush; session=${rest%% *} ;;
        *)
            [[ $first == *_begin.bin ]] && flush
            txn+=("$fixtures/$first")
            ;;
    esac
done <"$fixtures/index.txt"
flush
# protocol v2 and two-phase messages (PostgreSQL 15 proto.c layouts):
# refused by name, never misread as v1
v2() # NAME BYTES (printf escapes)
{
    local f=$corpus/pgoutput/v2_$1
    printf '%b' "$2" >"$f.tmp"
    record "$f.tmp" >"$f"
    rm -f "$f.tmp"
}
v2 stream_start 'S\x00\x00\x02\xdc\x01'
v2 stream_stop 'E'
v2 stream_commit 'c\x00\x00\x02\xdc\x00\x00\x00\x00\x00\x01\x53\x31\x28\x00\x00\x00\x00\x01\x53\x32\xd8\x00\x02\xa1\x6e\x2b\x3c\x4d\x5e'
v2 stream_abort 'A\x00\x00\x02\xdc\x00\x00\x02\xdd'
v2 begin_prepare 'b\x00\x00\x00\x00\x01\x53\x31\x28\x00\x00\x00\x00\x01\x53\x32\xd8\x00\x02\xa1\x6e\x2b\x3c\x4d\x5e\x00\x00\x02\xdcgid1\x00'

# copy_trim: width byte, 2-byte char(n) mask (fuzz_copy_trim.c), message
seed_trim() # NAME BYTES (printf escapes)
{
    printf '%b' "$2" >"$corpus/copy_trim/$1"
}
header='PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00'
seed_trim first_row "\x03\x00\x06$header\x00\x03\x00\x00\x00\x04\x00\x00\x00\x07\x00\x00\x00\x05ab   \x00\x00\x00\x03c  "
seed_trim nulls "\x04\x00\x0f\x00\x04\xff\xff\xff\xff\x00\x00\x00\x03   \x00\x00\x00\x00\xff\xff\xff\xff"
seed_trim untouched "\x02\x00\x01\x00\x02\x00\x00\x00\x02x \x00\x00\x00\x02y "
seed_trim trailer "\x02\x00\x03\xff\xff"

echo "make_seeds: $(find "$corpus" -type f | wc -l) seeds in $corpus"
