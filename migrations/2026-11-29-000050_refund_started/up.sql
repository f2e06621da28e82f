-- When a status change that returns money sent its refund to the gateway
-- (committed before the call, cleared when its answer is recorded): while
-- set, no other change may touch the order.
ALTER TABLE orders ADD COLUMN refund_started_at timestamptz;
