-- Numbers from a sequence again, after the highest numeric one; the guest
-- orders detached by up.sql stay guests (who owns them was never proven).
CREATE SEQUENCE order_numbers START 100001;
SELECT setval(
    'order_numbers',
    greatest(100000, coalesce(max(substring(number FROM '^BK-([0-9]{1,18})$')::bigint), 100000)),
    true
) FROM orders;
ALTER TABLE orders ALTER COLUMN number SET DEFAULT ('BK-' || nextval('order_numbers'));
ALTER TABLE orders
    DROP CONSTRAINT orders_access_token_only_for_guests,
    DROP COLUMN access_token_hash;
