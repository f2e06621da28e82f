DROP INDEX orders_awaiting_payment_idx;
ALTER TABLE orders
    DROP COLUMN swept_at,
    DROP COLUMN declined_at,
    DROP COLUMN charge_started_at;
