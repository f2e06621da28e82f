#!/usr/bin/env bash
# Email delivery: how fast the outbox worker hands messages to a local SMTP
# server, and how long a message waits between its commit and its delivery.
#
#   backend/benches/mail-delivery.sh            # from the repository root
#   BURST=20000 RATE=100 DURATION=30 backend/benches/mail-delivery.sh
#   OUTBOX_CONCURRENCY=16 backend/benches/mail-delivery.sh   # backend settings pass through
#
# Needs: Postgres and Redis (as for the tests), python3-aiosmtpd
# (apt-get install -y python3-aiosmtpd). Builds the release binary,
# (re)creates the database `bookstore_mailbench` (1,000 synthetic books,
# plenty of stock), starts an SMTP sink on 127.0.0.1:$SMTP_PORT that
# records each message's arrival time and recipient, and the backend on
# 127.0.0.1:$PORT delivering to it (Redis db $REDIS_DB). Then measures:
#   throughput  BURST (5,000) messages committed in one transaction:
#               messages per second from the commit to the last arrival
#   idle        PROBES (200) messages committed one by one, 20 a second:
#               commit -> arrival p50 / p99 / max
#   loaded      the same, 10 a second, during RATE (200) checkouts/s for
#               DURATION (20) s (benches/checkout.rs, paced), each of which
#               enqueues its own confirmation; then how many of those arrived
# and the sink's own ceiling (a Python client sending as fast as it can), so
# a figure near it says "the sink", not "the worker". A probe's commit time
# is read from Postgres' clock right after its COMMIT; the sink stamps
# arrivals with the same machine's clock. Every wait is bounded; nothing
# listens beyond 127.0.0.1. Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT=${PORT:-18140}
SMTP_PORT=${SMTP_PORT:-18141}
REDIS_DB=${REDIS_DB:-14}
BURST=${BURST:-5000}
PROBES=${PROBES:-200}
RATE=${RATE:-200}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=bookstore_mailbench
URL="http://127.0.0.1:$PORT"
# A message kind the backend has templates for, and its data.
KIND=${KIND:-test_message}
PAYLOAD=${PAYLOAD:-'{"note": "a benchmark message"}'}
PYTHON=/usr/bin/python3 # Debian's, where python3-aiosmtpd lives
WORK=$(mktemp -d)
SERVER='' SINK=''
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; [ -n "$SINK" ] && kill "$SINK" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$PYTHON" -c 'import aiosmtpd' 2>/dev/null || { echo "aiosmtpd is missing: apt-get install -y python3-aiosmtpd" >&2; exit 1; }
cargo build --release --locked -p bookstore >&2
cargo bench --no-run --quiet --locked -p bookstore --bench checkout 2>/dev/null
BIN=target/release/bookstore
psql_db() { psql -X -q -v ON_ERROR_STOP=1 "$PGURL/$DB" "$@"; }

psql -X -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >&2
DATABASE_URL="$PGURL/$DB" RUST_LOG=warn $BIN seed --synthetic 1000 --contributors 200 >&2
psql_db -c 'UPDATE books SET stock = 1000000' -c 'VACUUM ANALYZE' \
  -c 'CREATE TABLE mail_bench_probes (recipient text PRIMARY KEY, committed_at timestamptz NOT NULL)' >&2

# The sink: accepts everything, writes "<arrival epoch> <recipient>" per recipient.
cat >"$WORK/sink.py" <<'PY'
import signal, sys, time
from aiosmtpd.controller import Controller
out = open(sys.argv[2], "a", buffering=1)
class Sink:
    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        for recipient in envelope.rcpt_tos:
            out.write(f"{now:.6f} {recipient}\n")
        return "250 OK"
controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
PY
"$PYTHON" "$WORK/sink.py" "$SMTP_PORT" "$WORK/arrivals" &
SINK=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break; sleep 0.1; done

DATABASE_URL="$PGURL/$DB" REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB" CACHE_NAMESPACE=mailbench \
  BIND_ADDR=127.0.0.1:$PORT SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" MAIL_FROM="Bench <bench@bookstore.test>" \
  PUBLIC_URL=http://127.0.0.1:8080 RUST_LOG=warn $BIN serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "$URL/healthz" >/dev/null && break; sleep 0.2; done
kill -0 "$SERVER" 2>/dev/null || { echo "the backend exited (is port $PORT taken?):" >&2; cat "$WORK/server.log" >&2; exit 1; }

arrived() { # $1 = recipient prefix
  grep -c " $1" "$WORK/arrivals" 2>/dev/null || true
}
wait_arrivals() { # $1 = prefix, $2 = count, $3 = seconds
  local deadline=$((SECONDS + $3))
  while [ "$(arrived "$1")" -lt "$2" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
}
# Probes: $1 = prefix, $2 = count, $3 = seconds between commits.
probes() {
  psql_db >/dev/null <<SQL
DO \$\$
BEGIN
  FOR i IN 1..$2 LOOP
    INSERT INTO outbox (kind, recipient, payload) VALUES ('$KIND', '$1' || i || '@bench.test', '$PAYLOAD'::jsonb);
    COMMIT;
    INSERT INTO mail_bench_probes VALUES ('$1' || i || '@bench.test', clock_timestamp());
    COMMIT;
    PERFORM pg_sleep($3);
  END LOOP;
END \$\$;
SQL
}
# Commit -> arrival percentiles of the probes with prefix $1.
delays() {
  psql_db -At -F ' ' -c "SELECT recipient, extract(epoch FROM committed_at) FROM mail_bench_probes WHERE recipient LIKE '$1%'" >"$WORK/committed"
  "$PYTHON" - "$WORK/committed" "$WORK/arrivals" "$1" <<'PY'
import sys
committed = dict(line.split() for line in open(sys.argv[1]) if line.strip())
arrivals = {}
for line in open(sys.argv[2]):
    at, recipient = line.split()
    arrivals.setdefault(recipient, float(at))
delays = sorted((arrivals[r] - float(t)) * 1000 for r, t in committed.items() if r in arrivals)
missing = len(committed) - len(delays)
pick = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))]
if delays:
    print(f"{len(delays)} delivered ({missing} missing): commit -> delivery p50 {pick(0.50):.1f} ms, p99 {pick(0.99):.1f} ms, max {delays[-1]:.1f} ms")
else:
    print(f"nothing delivered ({missing} missing)")
PY
}

echo "== mail delivery (release build, SMTP sink on 127.0.0.1:$SMTP_PORT; load average: $(cut -d' ' -f1-3 /proc/loadavg))"

# (a) throughput: one transaction, BURST messages.
committed_at=$(psql_db -At <<SQL | tail -n1
BEGIN;
INSERT INTO outbox (kind, recipient, payload)
  SELECT '$KIND', 'burst-' || i || '@bench.test', '$PAYLOAD'::jsonb FROM generate_series(1, $BURST) i;
COMMIT;
SELECT extract(epoch FROM clock_timestamp());
SQL
)
wait_arrivals burst- "$BURST" 300
"$PYTHON" - "$WORK/arrivals" "$committed_at" "$BURST" <<'PY'
import sys
times = sorted(float(l.split()[0]) for l in open(sys.argv[1]) if " burst-" in l)
start, total = float(sys.argv[2]), int(sys.argv[3])
if not times:
    print(f"throughput: nothing of {total} delivered"); sys.exit()
span = times[-1] - start
print(f"throughput: {len(times)}/{total} delivered in {span:.2f} s after the commit = {len(times) / span:.0f} messages/s (first after {(times[0] - start) * 1000:.0f} ms)")
PY

# (b) idle: one probe every 50 ms.
probes idle- "$PROBES" 0.05
wait_arrivals idle- "$PROBES" 30
printf 'idle: '; delays idle-

# (c) loaded: RATE checkouts/s for DURATION s, a probe every 100 ms meanwhile.
confirmations0=$(psql_db -At -c "SELECT count(*) FROM outbox WHERE kind <> '$KIND'")
BENCH_URL="$URL/graphql" CONNECTIONS=$CONNECTIONS RATE=$RATE CHECKOUTS=$((RATE * DURATION)) BOOKS=1000 \
  cargo bench --quiet --locked -p bookstore --bench checkout 2>/dev/null | grep '^checkouts' >"$WORK/checkouts" &
LOAD=$!
sleep 1 # the load is under way
probes loaded- $((DURATION * 10 - 20)) 0.1
wait $LOAD || true
wait_arrivals loaded- $((DURATION * 10 - 20)) 60
confirmations=$(( $(psql_db -At -c "SELECT count(*) FROM outbox WHERE kind <> '$KIND'") - confirmations0 ))
wait_arrivals bench@ "$confirmations" 60
printf 'under load: '; cat "$WORK/checkouts"
printf 'under load: '; delays loaded-
echo "under load: $confirmations messages enqueued by the checkouts, $(arrived 'bench@example.com') delivered, $(psql_db -At -c "SELECT count(*) FROM outbox WHERE status = 'pending'") pending, $(psql_db -At -c "SELECT count(*) FROM outbox WHERE status = 'dead'") dead"

# The sink's own ceiling, with nothing else sending.
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
"$PYTHON" - "$SMTP_PORT" <<'PY'
import smtplib, sys, threading, time
def send(worker, count):
    client = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
    for n in range(count):
        client.sendmail("bench@bookstore.test", [f"ceiling-{worker}-{n}@bench.test"], "Subject: ceiling\r\n\r\nbody\r\n")
    client.quit()
started = time.time()
workers = [threading.Thread(target=send, args=(worker, 500)) for worker in range(4)]
for worker in workers: worker.start()
for worker in workers: worker.join()
print(f"the sink's ceiling: {2000 / (time.time() - started):.0f} messages/s (4 Python clients)")
PY
grep -iE 'error|panic' "$WORK/server.log" | head -5 || true
