-- Order emails (issue 10): a guest's confirmation email carries a link that
-- opens the order. Its token is minted in the transaction that marks the
-- order paid (checkout or the payment sweeper), apart from the checkout's
-- own token (access_token_hash), which every checkout retry replaces: a
-- retry must not kill the emailed link. Only the token's SHA-256 is kept;
-- like the checkout's, it opens a guest order only, and goes when the order
-- joins an account.
ALTER TABLE orders
    ADD COLUMN mail_access_token_hash bytea
        CONSTRAINT orders_mail_access_token_hash_length CHECK (octet_length(mail_access_token_hash) = 32),
    ADD CONSTRAINT orders_mail_access_token_only_for_guests
        CHECK (mail_access_token_hash IS NULL OR user_id IS NULL);
