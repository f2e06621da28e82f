-- Who may open an order (issue 9): a guest order carries the SHA-256 of a
-- random access token (the token itself is shown once, never stored), and
-- order numbers are random, made by the backend (db::orders::insert), no
-- longer a sequence anyone can count along. Existing orders keep their
-- numbers and have no token (their guests still find them by number and
-- email).
ALTER TABLE orders
    ADD COLUMN access_token_hash bytea
        CONSTRAINT orders_access_token_hash_length CHECK (octet_length(access_token_hash) = 32),
    -- A token opens a guest order only: an order with a customer has none.
    ADD CONSTRAINT orders_access_token_only_for_guests
        CHECK (access_token_hash IS NULL OR user_id IS NULL);
ALTER TABLE orders ALTER COLUMN number DROP DEFAULT;
DROP SEQUENCE order_numbers;

-- Until now, registering handed over every guest order placed with that
-- email, proven or not. An order placed before its account existed can only
-- have been such a guest order: it goes back to being one (its guest finds
-- it by number and email) until the account proves it owns the email.
UPDATE orders o SET user_id = NULL
FROM users u
WHERE o.user_id = u.id AND o.created_at < u.created_at;
