-- Periodic jobs (payment sweeper, expired sessions, abandoned carts, old
-- idempotency records, finished outbox rows, expired account tokens) run on
-- every backend, but each round runs on one instance per interval
-- fleet-wide: an instance starts a round only if it moves last_started_at
-- forward by at least the job's interval (one UPDATE, so two instances
-- never both win). The row also tells an operator when each job last ran
-- and how it ended.
CREATE TABLE job_runs (
    name             text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    last_started_at  timestamptz NOT NULL,
    last_finished_at timestamptz,
    -- NULL after a round that succeeded; the error of one that failed.
    last_error       text CHECK (length(last_error) <= 2000),
    -- Rows the last finished round removed or resolved.
    last_count       bigint,
    rounds           bigint NOT NULL DEFAULT 1
);

-- The cleanups delete in batches of oldest rows: without these each batch
-- would scan the whole table.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX carts_open_updated_idx ON carts (updated_at) WHERE checked_out_at IS NULL;
