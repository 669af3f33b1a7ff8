#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
#
# tests/integration/online_premade/run.sh
#     The DMS tutorial's online migration, end to end: the target's schema
#     made beforehand with pg_dump --schema-only | psql (foreign keys, one
#     with ON DELETE CASCADE, a BEFORE UPDATE trigger that stamps rows,
#     serial keys, CHECKs), the shop's own writes (orders made, paid and
#     deleted with their items, stock changed) during the full load and
#     change data capture, then a cutover with --validate:
#     1. the task is accepted onto that schema and reaches
#        READY_TO_COMPLETE, the shop writing all along;
#     2. after the cutover every table is identical, sequences included:
#        neither the copies nor the apply fired the stamping trigger (the
#        target would hold times of its own) or a foreign key's action or
#        check (an item may arrive before its order; the source's cascade
#        arrives as deletes of its own);
#     3. the target still has its keys and trigger, once each, and nothing
#        of the stream is left.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=premade_db
P=premade
T=shop

new_db "$DB"
load_fixture "$DB" sample
psql_src "$DB" >/dev/null <<'SQL' || fail "could not add the stamping trigger"
ALTER TABLE public.orders ADD COLUMN touched timestamptz;
CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN NEW.touched := clock_timestamp(); RETURN NEW; END $$;
CREATE TRIGGER orders_stamp BEFORE UPDATE ON public.orders
    FOR EACH ROW EXECUTE FUNCTION public.stamp();
UPDATE public.orders SET status = status WHERE order_id % 10 = 0;
SQL
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres --schema-only "$DB" |
    psql_tgt "$DB" >/dev/null || fail "could not make the schema of $DB on the target"
keys_before=$(psql_tgt "$DB" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
((keys_before == 3)) || fail "the target should have the source's 3 foreign keys, it has $keys_before"
pass "source: the sample shop with a stamping trigger; the target has its schema, 3 foreign keys included"

cat >"$TEST_TMP/shop.sql" <<'SQL'
\set c random(1, 5000)
\set p random(1, 1000)
BEGIN;
INSERT INTO public.orders (customer_id, status, ordered_at) VALUES (:c, 'new', now());
INSERT INTO public.order_items VALUES (currval('public.orders_order_id_seq'), 1, :p, 1 + :p % 5, 9.99);
UPDATE public.orders SET status = 'paid' WHERE order_id = (SELECT min(order_id) FROM public.orders WHERE customer_id = :c AND status = 'new');
DELETE FROM public.orders WHERE order_id = (SELECT max(order_id) FROM public.orders WHERE customer_id = :c AND status IN ('delivered', 'cancelled'));
UPDATE public.products SET in_stock = in_stock + 1 WHERE product_id = :p;
END;
SQL

# the stamps the shop's writes make from now on are later than these
stamp0=$(psql_src "$DB" -c "SELECT max(touched) FROM public.orders")
start_coordinator
start_agent a1 --jobs 2
start_agent a2 --jobs 2
pgbench_start "$DB" -c 2 -j 2 -T 600 -R 100 -f "$TEST_TMP/shop.sql"
sleep 1

cd "$TEST_TMP" || fail "no TEST_TMP"
write_seed_files "$DB"
create_project "$P"
create_online_task "$P" "$T"

# 1. onto the schema made beforehand, under the shop's writes
wait_db_state "$P" "$T" READY_TO_COMPLETE
# more writes through the stream: until 500 changes are applied
applied=0
for _ in $(seq 1 600); do
    task_show "$P" "$T" || fail "task show failed"
    applied=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .appliedChanges' "$TASK_JSON")
    ((applied >= 500)) && break
    sleep 0.1
done
((applied >= 500)) || fail "only $applied changes applied after 60 s of the shop's writes"
kill -0 "${PGCONVOY_PIDS[pgbench]}" 2>/dev/null || fail "the shop's writes stopped: $(tail -n 5 "$TEST_TMP/pgbench.log")"
pgbench_stop
pass "READY_TO_COMPLETE under the shop's writes, then $applied changes applied"

# 2. identical after the cutover, sequences included
slot=$(jq -r '.properties.output[] | select(.resultType == "DatabaseLevelOutput") | .slotName' "$TASK_JSON")
pgf task cutover --project-name "$P" -n "$T" --object-name "$DB" --validate >"$TEST_TMP/cutover.out" 2>&1 ||
    fail "cutover exited $?: $(cat "$TEST_TMP/cutover.out")"
wait_task "$P" "$T" 120 || fail "the task did not succeed after the cutover"
stamped=$(psql_src "$DB" -c "SELECT count(*) FROM public.orders WHERE touched > '$stamp0'")
deleted=$(psql_src "$DB" -c "SELECT n_tup_del FROM pg_stat_user_tables WHERE relname = 'order_items'")
((stamped > 0 && deleted > 0)) ||
    fail "the shop stamped $stamped orders and cascaded $deleted item deletes: the test proves nothing"
compare_db "$DB" "$DB" || fail "the target differs from the source"
pass "cutover with --validate: identical, sequences too ($stamped orders stamped and $deleted items deleted by cascade on the source meanwhile, none by the target)"

# 3. the schema made beforehand is as it was, the stream gone
keys_after=$(psql_tgt "$DB" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
triggers=$(psql_tgt "$DB" -c "SELECT count(*) FROM pg_trigger WHERE tgname = 'orders_stamp'")
[[ $keys_after == 3 && $triggers == 1 ]] ||
    fail "the target should keep 3 foreign keys and 1 stamping trigger, it has $keys_after and $triggers"
assert_stream_gone "$DB" "$slot"
pass "the target keeps its 3 foreign keys and its trigger; no slot, publication, origin or pgconvoy schema left"
scenario_pass
