#!/usr/bin/env bash
#
# tests/bench/timeline.sh
#     What a PostgreSQL server is busy with, as a timeline: its active
#     client statements sampled every 0.2 s over one kept connection
#     (psql's \watch, not a psql started per sample, which cost a
#     migration of 9 s about 1 s), then each statement with when it was
#     first and last seen. For ordering, not timing: a statement shorter
#     than a sample may be missed.
#
#   bash tests/bench/timeline.sh record 'port=5433 dbname=postgres' /tmp/tl &
#   ... run the migration ...
#   kill %1
#   bash tests/bench/timeline.sh show /tmp/tl
#
# record runs until killed; show prints, from the first sample on:
# first seen, last seen, application_name and the statement's start.

set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

usage() {
    echo "usage: timeline.sh record CONNINFO OUT | show OUT" >&2
    exit 2
}

case ${1:-} in
record)
    [[ $# -eq 3 ]] || usage
    # epoch | application | statement, one line per active backend;
    # exec: killing this script stops the sampling
    exec "$PGBIN/psql" -X -A -t -F '|' -d "$2" -o "$3" <<'SQL'
SELECT extract(epoch FROM clock_timestamp()),
       coalesce(nullif(application_name, ''), '-'),
       left(regexp_replace(query, '\s+', ' ', 'g'), 80)
  FROM pg_stat_activity
 WHERE state = 'active' AND pid <> pg_backend_pid()
   AND backend_type = 'client backend'
\watch 0.2
SQL
    ;;
show)
    [[ $# -eq 2 ]] || usage
    [[ -s $2 ]] || { echo "timeline.sh: error: $2: no samples" >&2; exit 2; }
    awk -F'|' '
        NF >= 3 {
            key = $2 "|" $3
            if (!(key in first)) { first[key] = $1; order[n++] = key }
            last[key] = $1
            if (start == "" || $1 < start) start = $1
        }
        END {
            printf "%8s %8s  %s\n", "first", "last", "application | statement"
            for (i = 0; i < n; i++) {
                k = order[i]
                printf "%8.2f %8.2f  %s\n", first[k] - start, last[k] - start, k
            }
        }' "$2"
    ;;
*)
    usage
    ;;
esac
