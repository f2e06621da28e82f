-- Checkout charges the card outside any transaction. The order records,
-- committed before the gateway is called, that its charge is in flight: a
-- retry then never charges again, and nobody cancels (releasing the stock)
-- what may have been paid. A declined card ends the order at once
-- (`declined_at`): it is kept for staff and the payment record, never shown
-- in the shopper's history. `swept_at` is the payment sweeper's claim, so
-- several backends never ask the gateway about one order at once.
ALTER TABLE orders
    ADD COLUMN charge_started_at timestamptz,
    ADD COLUMN declined_at timestamptz,
    ADD COLUMN swept_at timestamptz;

-- The sweeper's work list: orders awaiting payment, oldest first.
CREATE INDEX orders_awaiting_payment_idx ON orders (created_at, id) WHERE status = 'PENDING_PAYMENT';
