#!/usr/bin/env bash
# Builds (or reuses) a streaming read replica of the test Postgres, for the
# replica tests (`cargo test -p bookstore --test replica`) and by hand:
#
#   backend/tests/replica/setup.sh          # idempotent; about 5 s the first time
#   backend/tests/replica/setup.sh stop     # stops it (keeps its directory)
#   backend/tests/replica/setup.sh destroy  # stops it, deletes it and its slot
#
# The primary is the local cluster on PRIMARY_PORT (5432). Its configuration
# is changed only where replication needs it, and only by a reload:
# a `host replication` trust line for 127.0.0.1 in pg_hba.conf. wal_level
# (`replica` or `logical`) and max_wal_senders must already allow a standby
# (Debian's defaults do); changing them needs a restart, which this script
# refuses to do to a cluster other sessions use: it says so and stops.
#
# The replica: `pg_basebackup -R` into REPLICA_DIR, a physical replication
# slot (bookstore_replica_<port>) so the primary keeps the WAL it still
# needs, `hot_standby_feedback` so long replica reads are not cancelled, on
# REPLICA_PORT (5433), run as the postgres user. A replica that is running,
# in recovery and streaming from the primary is reused as it is.
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/replica-$REPLICA_PORT}
SLOT=bookstore_replica_$REPLICA_PORT
PG_USER=postgres

bin_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$bin_dir" ] || { echo "no PostgreSQL server binaries under /usr/lib/postgresql" >&2; exit 1; }
as_postgres() { if [ "$(id -un)" = "$PG_USER" ]; then "$@"; else runuser -u "$PG_USER" -- "$@"; fi; }
primary() { psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_USER" -d postgres -XAtqc "$1"; }
replica() { psql -h 127.0.0.1 -p "$REPLICA_PORT" -U "$PG_USER" -d postgres -XAtqc "$1"; }
log() { echo "replica: $*"; }

stop_replica() {
  if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
    as_postgres "$bin_dir/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null || true
  fi
}

case "${1:-up}" in
  stop) stop_replica; log "stopped"; exit 0 ;;
  destroy)
    stop_replica
    rm -rf "$REPLICA_DIR"
    primary "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active" >/dev/null
    log "deleted"; exit 0 ;;
  up) ;;
  *) echo "usage: $0 [up|stop|destroy]" >&2; exit 2 ;;
esac

pg_isready -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -q || {
  echo "the primary Postgres is not answering on $PRIMARY_HOST:$PRIMARY_PORT; start it first (.ci/run does)" >&2
  exit 1
}

healthy() { # running, in recovery, and streaming from the primary
  [ "$(replica 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ] &&
    [ "$(replica "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = 1 ]
}

if healthy; then log "reusing the running replica on port $REPLICA_PORT"; exit 0; fi

# The primary: what a standby needs.
wal_level=$(primary 'SHOW wal_level')
senders=$(primary 'SHOW max_wal_senders')
if [ "$wal_level" = minimal ] || [ "$senders" -lt 2 ]; then
  echo "the primary has wal_level=$wal_level, max_wal_senders=$senders: set wal_level=replica and" \
    "max_wal_senders>=2 (e.g. in conf.d) and restart it; this script does not restart a shared cluster" >&2
  exit 1
fi
hba=$(primary 'SHOW hba_file')
if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|postgres)[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  log "allowing local replication connections in $hba (reload)"
  printf '# bookstore test replica (backend/tests/replica/setup.sh)\nhost replication postgres 127.0.0.1/32 trust\n' >>"$hba"
  primary 'SELECT pg_reload_conf()' >/dev/null
fi

# A replica directory that only needs starting (after a reboot, `stop`).
if [ -f "$REPLICA_DIR/standby.signal" ] && ! replica 'SELECT 1' >/dev/null 2>&1; then
  log "starting the existing replica"
  rm -f "$REPLICA_DIR/postmaster.pid"
  as_postgres "$bin_dir/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/log" -w -t 30 start >/dev/null || true
  for _ in $(seq 50); do healthy && { log "ready on port $REPLICA_PORT"; exit 0; }; sleep 0.1; done
  log "the existing replica does not stream; building it anew"
fi

# Build it anew.
stop_replica
rm -rf "$REPLICA_DIR"
primary "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active" >/dev/null
mkdir -p "$REPLICA_DIR"
chown "$PG_USER:" "$REPLICA_DIR"
chmod 700 "$REPLICA_DIR"
log "pg_basebackup from $PRIMARY_HOST:$PRIMARY_PORT into $REPLICA_DIR"
as_postgres "$bin_dir/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_USER" \
  -D "$REPLICA_DIR" -R -X stream -C -S "$SLOT" --checkpoint=fast
# Debian keeps the configuration in /etc, so the copy has none of its own.
as_postgres tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $REPLICA_PORT
max_connections = $(primary 'SHOW max_connections')
max_worker_processes = $(primary 'SHOW max_worker_processes')
max_wal_senders = $senders
max_prepared_transactions = $(primary 'SHOW max_prepared_transactions')
max_locks_per_transaction = $(primary 'SHOW max_locks_per_transaction')
shared_buffers = 64MB
hot_standby = on
hot_standby_feedback = on
autovacuum = off
unix_socket_directories = '/var/run/postgresql'
logging_collector = off
CONF
as_postgres tee "$REPLICA_DIR/pg_hba.conf" >/dev/null <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
: | as_postgres tee "$REPLICA_DIR/pg_ident.conf" >/dev/null
as_postgres "$bin_dir/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/log" -w -t 60 start >/dev/null
for _ in $(seq 100); do
  if healthy; then log "ready on port $REPLICA_PORT (slot $SLOT)"; exit 0; fi
  sleep 0.1
done
echo "the replica started but does not stream; see $REPLICA_DIR/log" >&2
exit 1
