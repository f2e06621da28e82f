#!/usr/bin/env bash
# Load benchmark of the storefront's anonymous pages over a real backend, on
# the synthetic 10,000-book catalog.
#
#   frontend/benches/storefront.sh          # from the repository root
#
# Needs: Postgres and Redis (as for the tests), wrk (apt-get install wrk).
# Builds both release binaries, (re)creates the database
# `bookstore_bench_shop` seeded with 10,000 books / 2,000 contributors
# (once), starts the backend on 127.0.0.1:8240 (Redis db 5, namespace
# `shop`) and the storefront on 127.0.0.1:8241, then runs wrk (-t2,
# CONNECTIONS, DURATION seconds; no cookies, no Accept-Encoding, as a
# crawler or a first visit) against
#   catalog  /books?after=<cursor>: the first 50 pages of the catalog, at random
#   book     /books/<slug>: any of the 10,000 books, at random
# Each runs ROUNDS times, alternating. Prints requests/s, p50/p99 and CPU
# milliseconds per request (from /proc: utime + stime) of the storefront,
# the backend, the Postgres backends of its database, Redis (shared with
# whatever else runs on the machine: an upper bound) and wrk itself.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-2}
BACKEND_PORT=${BACKEND_PORT:-8240}
WEB_PORT=${WEB_PORT:-8241}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-bookstore_bench_shop}
REDIS=${REDIS:-redis://127.0.0.1:6379/5}
NAMESPACE=${NAMESPACE:-shop}
BACKEND="http://127.0.0.1:$BACKEND_PORT"
WEB="http://127.0.0.1:$WEB_PORT"
WORK=$(mktemp -d)
SERVER= STOREFRONT=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; [ -n "$STOREFRONT" ] && kill "$STOREFRONT" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --locked -p bookstore -p bookstore-web >&2
BIN=target/release/bookstore
WEB_BIN=${WEB_BIN:-target/release/bookstore-web}  # another storefront build, to compare

if [ "${RESEED:-0}" = 1 ] || ! psql "$PGURL/$DB" -tAc 'SELECT count(*) FROM books' 2>/dev/null | grep -qx 10000; then
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >&2
  DATABASE_URL="$PGURL/$DB" RUST_LOG=warn $BIN seed --synthetic 10000 --contributors 2000 >&2
  psql "$PGURL/$DB" -qc 'VACUUM ANALYZE' >&2
fi

DATABASE_URL="$PGURL/$DB" REDIS_URL="$REDIS" CACHE_NAMESPACE=$NAMESPACE BIND_ADDR=127.0.0.1:$BACKEND_PORT \
  SERVE_RUNS_WORKER=false RUST_LOG=warn $BIN serve >"$WORK/backend.log" 2>&1 &
SERVER=$!
GRAPHQL_URL="$BACKEND/graphql" BIND_ADDR=127.0.0.1:$WEB_PORT RUST_LOG=warn \
  "$WEB_BIN" >"$WORK/web.log" 2>&1 &
STOREFRONT=$!
for _ in $(seq 100); do
  curl -fs "$BACKEND/healthz" >/dev/null && curl -fs "$WEB/healthz" >/dev/null && break
  sleep 0.2
done
for pid in $SERVER $STOREFRONT; do
  kill -0 "$pid" 2>/dev/null || { echo "a server exited (ports taken?)" >&2; cat "$WORK"/*.log >&2; exit 1; }
done

# The pages: 50 catalog pages (following the next links), every book.
next=/books
: >"$WORK/catalog.paths"
for _ in $(seq 50); do
  echo "$next" >>"$WORK/catalog.paths"
  next=$(curl -fs "$WEB$next" | grep -o 'rel="next" href="[^"]*"' | sed 's/.*href="//; s/"$//; s/&amp;/\&/g; s/&#x3d;/=/g; s/&#x2f;/\//g')
  [ -n "$next" ] || break
done
psql "$PGURL/$DB" -tAc "SELECT '/books/' || slug FROM books WHERE NOT archived ORDER BY id" >"$WORK/book.paths"
for scenario in catalog book; do
  {
    echo "paths = {"
    sed 's/.*/  "&",/' "$WORK/$scenario.paths"
    echo "}"
    echo 'math.randomseed(2026)'
    echo 'request = function() return wrk.format("GET", paths[math.random(#paths)]) end'
  } >"$WORK/$scenario.lua"
done
echo "catalog: $(wc -l <"$WORK/catalog.paths") pages; book: $(wc -l <"$WORK/book.paths") pages" >&2

ticks() { # total utime + stime of the given pids, in clock ticks
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$(( total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat") ))
  done
  echo $total
}
postgres_pids() { psql "$PGURL/postgres" -tAc "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()"; }
REDIS_PID=$(pgrep -x redis-server | head -1 || true)
HZ=$(getconf CLK_TCK)

# Warm both caches (every page once) before measuring.
for scenario in catalog book; do
  wrk -t2 -c"$CONNECTIONS" -d3s -s "$WORK/$scenario.lua" "$WEB" >/dev/null 2>&1
done

printf '| page | req/s | p50 | p99 | non-2xx | CPU ms/req: storefront | backend | Postgres | Redis (shared) | wrk | total (without wrk) |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
run() { # $1 = scenario
  local pg web0 api0 pg0 redis0 out
  pg=$(postgres_pids)
  web0=$(ticks $STOREFRONT); api0=$(ticks $SERVER); pg0=$(ticks $pg); redis0=$(ticks $REDIS_PID)
  # wrk's own CPU: the subshell's children times (bash `times`, 2nd line).
  ( wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/$1.lua" "$WEB" >"$WORK/wrk.out" 2>&1 || true
    times >"$WORK/wrk.times.all"; tail -1 "$WORK/wrk.times.all" >"$WORK/wrk.times" )
  out=$(cat "$WORK/wrk.out")
  local requests rps p50 p99 errors
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  local web=$(( $(ticks $STOREFRONT) - web0 )) api=$(( $(ticks $SERVER) - api0 ))
  local pgt=$(( $(ticks $pg) - pg0 )) redis=$(( $(ticks $REDIS_PID) - redis0 ))
  local wrkt
  wrkt=$(awk -v hz="$HZ" '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * hz }' "$WORK/wrk.times")
  ms() { awk -v t="$1" -v r="$requests" -v hz="$HZ" 'BEGIN { printf "%.3f", r ? t * 1000 / hz / r : 0 }'; }
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${errors:-0}" \
    "$(ms $web)" "$(ms $api)" "$(ms $pgt)" "$(ms $redis)" "$(ms $wrkt)" "$(ms $(( web + api + pgt + redis )))"
}
for _ in $(seq "$ROUNDS"); do
  run catalog
  run book
done
echo
grep -E 'VmRSS|VmHWM' /proc/$SERVER/status | sed 's/^/backend /'
grep -E 'VmRSS|VmHWM' /proc/$STOREFRONT/status | sed 's/^/storefront /'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
