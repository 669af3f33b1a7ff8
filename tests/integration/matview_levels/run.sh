#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/matview_levels/run.sh
#     The order in which finalize populates materialized views at once
#     (agent/matviews.c, matviews_levels()): a view's level is one more
#     than the highest of the views it reads, directly, through a plain
#     view, or through a view that reads one; names as pg_dump quotes
#     them, a ';' and a space in one; an unknown name leaves them all to
#     run one by one. Then a migration of those views: every populated
#     one has the source's rows, the unpopulated one stays so.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=matview_levels_db
DRIVER=$PGCONVOY_BUILD_DIR/tests/levels_driver
[[ -x $DRIVER ]] || fail "no $DRIVER (build the tests first)"

new_db "$DB" src
psql_src "$DB" >/dev/null <<'SQL' || fail "could not make the views"
CREATE SCHEMA "Odd; Schema";
CREATE TABLE public.sales (id integer PRIMARY KEY, region text, amount numeric);
INSERT INTO public.sales SELECT g, 'r' || g % 5, g * 1.5 FROM generate_series(1, 1000) g;
CREATE MATERIALIZED VIEW public.base AS SELECT region, sum(amount) AS total FROM public.sales GROUP BY region;
CREATE MATERIALIZED VIEW public.other AS SELECT count(*) AS n FROM public.sales;
CREATE MATERIALIZED VIEW public.over_base AS SELECT max(total) AS top FROM public.base;
CREATE VIEW public.plain_over AS SELECT top FROM public.over_base;
CREATE MATERIALIZED VIEW "Odd; Schema"."Through View" AS SELECT top * 2 AS twice FROM public.plain_over;
CREATE MATERIALIZED VIEW public.two_sides AS
    SELECT b.region, o.n FROM public.base b CROSS JOIN public.other o;
CREATE MATERIALIZED VIEW public.never AS SELECT id FROM public.sales WITH NO DATA;
SQL
pass "source: six populated materialized views, four of them over others, and one left unpopulated"

# the levels, read on the source (the target has no views yet): the
# names in pg_dump's order, which is not the levels'
levels=$("$DRIVER" "host=127.0.0.1 port=$SRC_PORT user=postgres dbname=$DB" \
    public.two_sides '"Odd; Schema"."Through View"' public.over_base public.other public.base) ||
    fail "levels_driver exited $?"
want='public.two_sides=1
"Odd; Schema"."Through View"=2
public.over_base=1
public.other=0
public.base=0'
[[ $levels == "$want" ]] || fail "levels: expected
$want
got
$levels"
pass "levels: 0 for views over tables, 1 over one of them, 2 through a plain view over a level-1 view"
[[ $("$DRIVER" "host=127.0.0.1 port=$SRC_PORT user=postgres dbname=$DB" public.base public.gone) == none ]] ||
    fail "a view the database does not have should leave the levels unknown"
pass "levels: unknown when a view is not found"

new_db "$DB" tgt
pgconvoy_migrate --source "$(src_uri "$DB")" --target "$(tgt_uri "$DB")" --agents 2 ||
    fail "pgconvoy migrate of $DB exited $?"
compare_db "$DB" "$DB" || fail "the target differs from the source"
populated="SELECT string_agg(format('%s=%s', oid::regclass, relispopulated), ',' ORDER BY oid::regclass::text COLLATE \"C\")
             FROM pg_class WHERE relkind = 'm'"
[[ $(psql_tgt "$DB" -c "$populated") == "$(psql_src "$DB" -c "$populated")" ]] ||
    fail "populated views differ: source $(psql_src "$DB" -c "$populated"), target $(psql_tgt "$DB" -c "$populated")"
twice='SELECT twice FROM "Odd; Schema"."Through View"'
[[ $(psql_tgt "$DB" -c "$twice") == "$(psql_src "$DB" -c "$twice")" && $(psql_src "$DB" -c "$twice") == 301500.0 ]] ||
    fail "\"Odd; Schema\".\"Through View\" should read 301500.0 on both sides: source $(psql_src "$DB" -c "$twice"), target $(psql_tgt "$DB" -c "$twice")"
pass "migrated: every view populated as on the source, public.never left unpopulated"

scenario_pass
