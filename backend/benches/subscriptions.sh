#!/usr/bin/env bash
# Subscription fan-out across two backend instances.
#
#   backend/benches/subscriptions.sh   # SUBSCRIPTIONS=1000 PER_CONNECTION=1 EVENTS=50 PROFILE=release
#
# Needs Postgres and Redis (as for the tests). Builds the backend
# (PROFILE=release by default; PROFILE=debug reuses the test build and is
# much slower per event), (re)creates the database `bookstore_subs_bench`
# with the demo catalog, starts instances A (127.0.0.1:8300) and B
# (127.0.0.1:8301) on it and on Redis database 6, creates a staff account,
# then runs backend/benches/subscriptions.rs: SUBSCRIPTIONS `bookUpdated`
# subscriptions on B, EVENTS stock adjustments on A one at a time. Prints
# B's RSS per open subscription and the fan-out latency (mutation sent to A
# -> event received on B) p50/p99/max.
set -euo pipefail
cd "$(dirname "$0")/../.."

PROFILE=${PROFILE:-release}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=bookstore_subs_bench
REDIS=${REDIS:-redis://127.0.0.1:6379/6}
WORK=$(mktemp -d)
A= B=
trap '[ -n "$A" ] && kill "$A" 2>/dev/null || true; [ -n "$B" ] && kill "$B" 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 4096

if [ "$PROFILE" = release ]; then
  cargo build --release --locked -p bookstore >&2
else
  cargo build --locked -p bookstore >&2
fi
BIN=target/$PROFILE/bookstore

psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >&2
export DATABASE_URL="$PGURL/$DB" REDIS_URL="$REDIS" CACHE_NAMESPACE=subs-bench RUST_LOG=warn \
  WS_MAX_CONNECTIONS_PER_CLIENT=100000 SERVE_RUNS_WORKER=false
start() { # $1 = port; prints the PID
  BIND_ADDR=127.0.0.1:$1 $BIN serve --seed-demo-if-empty >"$WORK/$1.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null && break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null || { echo "the backend on $1 exited:" >&2; cat "$WORK/$1.log" >&2; exit 1; }
  echo "$pid"
}
A=$(start 8300)
B=$(start 8301)
echo 'bench staff password' | $BIN create-staff --email bench-staff@example.com >&2
TOKEN=$(curl -fs http://127.0.0.1:8300/graphql -H 'Content-Type: application/json' \
  -d '{"query":"mutation { login(input: {email: \"bench-staff@example.com\", password: \"bench staff password\"}) { token } }"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["login"]["token"])')

A_URL=http://127.0.0.1:8300/graphql B_WS=ws://127.0.0.1:8301/graphql B_PID=$B STAFF_TOKEN=$TOKEN \
  cargo test --quiet --locked -p bookstore --bench subscriptions 2>/dev/null
grep -E 'VmRSS|VmHWM' "/proc/$B/status" | sed 's/^/instance B /'
