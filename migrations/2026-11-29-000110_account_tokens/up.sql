-- Verified accounts (issue 10): an account's email is verified once a link
-- sent to it was followed (or a password reset link was used, which proves
-- the same). Accounts that exist before this migration stay UNVERIFIED
-- (NULL): nothing ever proved their addresses; their owners ask for a link
-- (requestEmailVerification) or reset their password. `bookstore
-- create-staff` marks the staff it creates or updates verified.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Single-use tokens mailed to an address: verify it (verify_email), reset
-- the password (reset_password), or move the account to it (change_email).
-- Only the SHA-256 of a token is stored (the token is in the mail alone).
-- A token is used by one conditional UPDATE (used_at IS NULL AND expires_at
-- > now()), so two concurrent uses succeed once. A new request supersedes
-- (deletes) the unused tokens of the same user and purpose.
CREATE TABLE account_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    -- The address the token was mailed to (for change_email: the new one,
    -- which is the account's pending email until the link is followed).
    email      text NOT NULL CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);
