-- deploy/demo-writes.sql
--     The demo's live writes on the sample shop (tests/integration/fixtures/
--     sample.sql), as a pgbench script: every transaction places an order
--     with one line, moves a product's stock and advances an older order,
--     and one in ten cancels (deletes) an order of its own. Inserts,
--     updates and deletes, on tables with foreign keys between them, while
--     pgconvoy copies and then streams the database.
\set cust random(1, 5000)
\set prod random(1, 1000)
\set older random(1, 20000)
\set cancel random(1, 10)
BEGIN;
INSERT INTO orders (customer_id, status, ordered_at)
    VALUES (:cust, 'new', now()) RETURNING order_id AS new_order \gset
INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
    SELECT :new_order, 1, product_id, 1 + :cust % 3, price FROM products WHERE product_id = :prod;
UPDATE products SET in_stock = in_stock + 1 WHERE product_id = :prod;
UPDATE orders SET status = 'paid' WHERE order_id = :older AND status = 'new';
DELETE FROM orders WHERE order_id = :new_order AND :cancel = 1;
END;
