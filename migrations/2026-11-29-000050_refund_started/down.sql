ALTER TABLE orders DROP COLUMN refund_started_at;
