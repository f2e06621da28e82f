-- The transactional outbox: a message (email) is written in the same
-- transaction as the change that causes it, so it is sent if and only if
-- that change committed, and at most once per cause (dedup_key). Workers
-- claim due rows with FOR UPDATE SKIP LOCKED and a lease, send outside any
-- transaction, then mark them sent, or due again later (exponential
-- back-off), or dead after the last attempt with the last error kept.

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The template that renders it (backend/templates/mail/<kind>.txt|.html).
    kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
    recipient       text NOT NULL CHECK (length(recipient) <= 254 AND recipient ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    -- The template's data. Emptied once sent: links carry secrets.
    payload         jsonb NOT NULL,
    -- At most one message per cause (e.g. 'order_confirmation:42').
    dedup_key       text UNIQUE CHECK (length(dedup_key) <= 200),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker's claim: others skip the row until then.
    locked_until    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_finished_idx ON outbox (created_at) WHERE status <> 'pending';

-- Wake the workers when a message commits (a NOTIFY is delivered at commit
-- and dropped on rollback): delivery need not wait for the next poll.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
