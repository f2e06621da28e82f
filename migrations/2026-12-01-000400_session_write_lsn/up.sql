-- The primary's WAL position after the session's last write (set only when
-- reads go to a replica): until the replica has replayed that far, the
-- session's catalog reads go to the primary (read-your-writes, on every
-- instance).
ALTER TABLE sessions ADD COLUMN write_lsn pg_lsn;
