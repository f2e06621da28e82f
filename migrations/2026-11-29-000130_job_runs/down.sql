DROP INDEX carts_open_updated_idx;
DROP INDEX idempotency_keys_created_idx;
DROP TABLE job_runs;
