#!/usr/bin/env bash
# Side-by-side benchmark: our backend against PostGraphile 4.14 serving the
# same database (issue #11).
#
#   backend/benches/vs-postgraphile.sh     # from anywhere; about 15 minutes
#
# Needs: Postgres and Redis (as for the tests), wrk (apt-get install wrk),
# Node.js 20 with npm, python3, curl. It:
#  1. builds the release binaries; (re)creates the database `bookstore_vs`
#     with 10,000 books, 2,000 contributors and 5,000 customers of 10 paid or
#     shipped orders each (`bookstore seed --synthetic ... --customers ...`),
#     then VACUUM ANALYZE; an existing database with that volume is reused
#     (RESEED=1 forces a new one);
#  2. gives every synthetic customer a session whose bearer token only this
#     run knows (random per run; stored as its SHA-256, as the backend does);
#  3. installs PostGraphile 4.14 with npm into $POSTGRAPHILE_DIR (outside
#     the repository; reused) and serves the same database with it
#     (NODE_ENV=production, no GraphiQL, no query log, a pool as big as ours);
#  4. walks both APIs for their own opaque cursors and ids, then for each
#     query (Q1 a catalog page of 20 books by title with contributors, genres
#     and totalCount, random pages; Q2 one book with credits and genres,
#     random books across the catalog; Q3 a customer's 10 latest orders with
#     lines and titles, random customers: ours through `viewer` with the
#     bearer token, PostGraphile through `userById`) alternates ROUNDS times:
#     ours with a warm Redis cache, ours without cache (REDIS_URL="", a
#     restart), PostGraphile (restarted too: only the server measured
#     runs); each run is wrk -t2 -cCONNECTIONS for DURATION
#     seconds after WARMUP seconds of the same load, after sample answers
#     were checked for errors;
#  5. measures req/s, p50/p99, errors and non-2xx, and CPU ms per request:
#     utime+stime (/proc) of the server (node: and its children) + Redis
#     (ours warm only) + the Postgres backends connected to `bookstore_vs`,
#     divided by the requests completed; and the server's peak RSS (VmHWM);
#  6. then the storefront (bookstore-web over ours, warm; anonymous): the
#     catalog page and random book pages, with CPU of storefront + backend
#     + Postgres + Redis; and prints one table of the medians and ratios.
# Every process it starts is stopped on exit, Ctrl-C included.
#
# Settings (environment): DURATION=15 WARMUP=5 ROUNDS=3 CONNECTIONS=32 TIMEOUT=10
# QUERIES="q1 q2 q3" STOREFRONT=1 RESEED=0 CHECK_BODIES=0 (1: wrk also counts
# every answer carrying GraphQL errors; costs wrk CPU) PG_TITLE_INDEX=1 (an
# index on books (title, id) for PostGraphile's orderBy TITLE_ASC, ID_ASC,
# as ours has one on (lower(title), id); 0: drop it) POOL_SIZE=16
# PGURL=postgres://postgres@127.0.0.1:5432 REDIS=redis://127.0.0.1:6379/4
# POSTGRAPHILE_DIR=~/.cache/bookstore-bench/postgraphile. Ports 8230 (ours),
# 8231 (storefront), 8235 (PostGraphile); database bookstore_vs; Redis
# database 4 with CACHE_NAMESPACE=vs (flushed when the database is made).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
# wrk gives up on an answer after this long (its default, 2 s, would drop
# the slowest answers from p99 and call them errors on a busy machine).
TIMEOUT=${TIMEOUT:-10}
QUERIES=${QUERIES:-q1 q2 q3}
STOREFRONT=${STOREFRONT:-1}
POOL_SIZE=${POOL_SIZE:-16}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/4}
POSTGRAPHILE_DIR=${POSTGRAPHILE_DIR:-$HOME/.cache/bookstore-bench/postgraphile}
export CHECK_BODIES=${CHECK_BODIES:-0}
DB=bookstore_vs
NAMESPACE=vs
BOOKS=10000 CONTRIBUTORS=2000 CUSTOMERS=5000 ORDERS_EACH=10
OURS_PORT=8230 WEB_PORT=8231 PG_PORT=8235
OURS_URL=http://127.0.0.1:$OURS_PORT/graphql
PG_URL=http://127.0.0.1:$PG_PORT/graphql
HERE=backend/benches
HELPER="python3 $HERE/vs_postgraphile.py"
BIN=${CARGO_TARGET_DIR:-target}/release/bookstore
WEB_BIN=${CARGO_TARGET_DIR:-target}/release/bookstore-web
REDIS_DB=${REDIS##*/}
[[ "$REDIS_DB" =~ ^[0-9]+$ ]] || REDIS_DB=0
REDIS_HOST_PORT=${REDIS#redis://}
REDIS_HOST_PORT=${REDIS_HOST_PORT%%/*}
redis() { redis-cli -h "${REDIS_HOST_PORT%%:*}" -p "${REDIS_HOST_PORT##*:}" -n "$REDIS_DB" "$@"; }

OURS='' PG='' WEB='' SAMPLER=''
WORK=$(mktemp -d -t bookstore-vs-XXXXXX)
stop() { # $1 = pid (may be empty)
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM
  stop "$SAMPLER"; stop "$WEB"; stop "$PG"; stop "$OURS"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

for tool in wrk node npm psql redis-cli curl python3; do
  command -v $tool >/dev/null || { echo "$tool is missing (wrk: apt-get install -y wrk)" >&2; exit 1; }
done
for port in $OURS_PORT $WEB_PORT $PG_PORT; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is taken" >&2; exit 1; fi
done
log() { printf '==> %s\n' "$*" >&2; }

# 1. Binaries and data.
log "building the release binaries"
cargo build --release --locked -p bookstore -p bookstore-web >&2
volume() {
  psql "$PGURL/$DB" -tAc "SELECT (SELECT count(*) FROM books WHERE NOT archived) || ' ' ||
    (SELECT count(*) FROM contributors) || ' ' ||
    (SELECT count(*) FROM users WHERE email LIKE '%@synthetic.bookstore.test') || ' ' ||
    (SELECT count(*) FROM orders)" 2>/dev/null || true
}
if [ "${RESEED:-0}" = 1 ] || [ "$(volume)" != "$BOOKS $CONTRIBUTORS $CUSTOMERS $((CUSTOMERS * ORDERS_EACH))" ]; then
  log "seeding $DB: $BOOKS books, $CONTRIBUTORS contributors, $CUSTOMERS customers x $ORDERS_EACH orders"
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >&2
  DATABASE_URL="$PGURL/$DB" RUST_LOG=warn $BIN seed --synthetic $BOOKS --contributors $CONTRIBUTORS \
    --customers $CUSTOMERS --orders-per-customer $ORDERS_EACH >&2
  redis FLUSHDB >/dev/null
else
  log "reusing $DB ($(volume))"
  DATABASE_URL="$PGURL/$DB" RUST_LOG=warn $BIN migrate >&2
fi
# Parallel workers would come and go between two reads of /proc: keep
# every query in its backend, so its CPU is counted (both sides alike).
psql "$PGURL/postgres" -qc "ALTER DATABASE $DB SET max_parallel_workers_per_gather = 0" >&2
if [ "${PG_TITLE_INDEX:-1}" = 1 ]; then
  psql "$PGURL/$DB" -qc "CREATE INDEX IF NOT EXISTS vs_postgraphile_books_title_idx ON books (title, id) WHERE NOT archived" >&2
else
  psql "$PGURL/$DB" -qc "DROP INDEX IF EXISTS vs_postgraphile_books_title_idx" >&2
fi

# 2. A session per customer: the token is a random prefix of this run plus
# the user id; the database keeps its SHA-256 only (auth/tokens.rs).
SALT=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
psql "$PGURL/$DB" -v ON_ERROR_STOP=1 -q >&2 <<SQL
DELETE FROM sessions WHERE user_agent = 'vs-postgraphile bench';
INSERT INTO sessions (token_hash, user_id, expires_at, user_agent)
SELECT sha256(convert_to('$SALT' || id, 'UTF8')), id, now() + interval '1 day', 'vs-postgraphile bench'
FROM users WHERE email LIKE '%@synthetic.bookstore.test';
SQL
psql "$PGURL/$DB" -tAc "SELECT id, '$SALT' || id FROM users WHERE email LIKE '%@synthetic.bookstore.test' ORDER BY id" \
  -F ' ' >"$WORK/users.txt"
log "VACUUM ANALYZE"
psql "$PGURL/$DB" -qc 'VACUUM ANALYZE' >&2

# 3. PostGraphile.
if [ ! -f "$POSTGRAPHILE_DIR/node_modules/postgraphile/cli.js" ] ||
  ! grep -q '"version": "4\.14\.' "$POSTGRAPHILE_DIR/node_modules/postgraphile/package.json"; then
  log "installing postgraphile@4.14 into $POSTGRAPHILE_DIR"
  mkdir -p "$POSTGRAPHILE_DIR"
  [ -f "$POSTGRAPHILE_DIR/package.json" ] || echo '{"private": true}' >"$POSTGRAPHILE_DIR/package.json"
  npm install --prefix "$POSTGRAPHILE_DIR" --no-audit --no-fund --loglevel=error postgraphile@4.14 >&2
fi

wait_for() { # $1 = pid, $2 = URL to answer, $3 = log
  for _ in $(seq 150); do
    curl -fs -o /dev/null "$2" && return 0
    kill -0 "$1" 2>/dev/null || break
    sleep 0.2
  done
  echo "the server behind $2 did not come up:" >&2; tail -30 "$3" >&2; exit 1
}
start_ours() { # $1 = REDIS_URL ("" turns the cache off)
  stop "$OURS"
  DATABASE_URL="$PGURL/$DB" REDIS_URL="$1" CACHE_NAMESPACE=$NAMESPACE BIND_ADDR=127.0.0.1:$OURS_PORT \
    DATABASE_POOL_SIZE=$POOL_SIZE RUST_LOG=warn $BIN serve >"$WORK/ours.log" 2>&1 &
  OURS=$!
  wait_for "$OURS" "http://127.0.0.1:$OURS_PORT/healthz" "$WORK/ours.log"
}
start_pg() {
  (cd "$POSTGRAPHILE_DIR" && NODE_ENV=production exec node node_modules/postgraphile/cli.js \
    --connection "$PGURL/$DB" --schema public --host 127.0.0.1 --port $PG_PORT \
    --max-pool-size "$POOL_SIZE" --disable-graphiql --disable-query-log --legacy-relations omit) \
    >"$WORK/postgraphile.log" 2>&1 &
  PG=$!
  for _ in $(seq 150); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
      -d '{"query":"{__typename}"}' "$PG_URL")" = 200 ] && return 0
    kill -0 "$PG" 2>/dev/null || break
    sleep 0.2
  done
  echo "PostGraphile did not come up:" >&2; tail -30 "$WORK/postgraphile.log" >&2; exit 1
}

log "starting both servers; walking both APIs for cursors and ids"
start_ours "$REDIS"
start_pg
$HELPER walk "$WORK" "$OURS_URL" "$PG_URL" "$WORK/users.txt"
# From here on only the server being measured runs, so every Postgres
# backend of the database is its own.
stop "$PG"; PG=''

REDIS_PID=$(redis INFO server | awk -F: '/^process_id:/ { print $2 }' | tr -d '\r')
hwm() { # pids -> peak RSS in kB, summed
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo $total
}
counter() { # a counter of ours' /metrics (summed over its labels); empty while ours is down
  { curl -fs "http://127.0.0.1:$OURS_PORT/metrics" 2>/dev/null || true; } |
    awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $2; n++ } END { if (n) printf "%d\n", sum }'
}
statements_since() { # $1 = statements before, $2 = requests before -> per request, or -
  local statements requests
  statements=$(counter bookstore_sql_statements_total)
  requests=$(counter bookstore_graphql_requests_total)
  if [ -z "$1" ] || [ -z "$statements" ] || [ -z "$requests" ] || [ "$requests" = "$2" ]; then echo -; return; fi
  awk -v s="$((statements - $1))" -v r="$((requests - $2))" 'BEGIN { printf "%.2f", s / r }'
}

RESULTS=$WORK/results.tsv
: >"$RESULTS"
RSS_PID= # whose peak RSS (VmHWM) a run reports: the server measured (the backend for the storefront)
measure() { # $1 = query, $2 = side, $3 = round, $4 = URL, $5 = wrk script, $6 = warm-up s, rest = pids whose CPU counts
  local query=$1 side=$2 round=$3 url=$4 script=$5 warmup=$6 statements0 requests0
  shift 6
  wrk -t2 -c"$CONNECTIONS" -d"${warmup}s" --timeout "${TIMEOUT}s" -s "$script" "$url" >/dev/null 2>&1
  # Sample answers must be right before anything is measured.
  if [ -f "${script%.lua}.json" ]; then
    $HELPER check "${script%.lua}.json" "$url" 5
  elif [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" != 200 ]; then
    echo "!!! $url does not answer 200" >&2; exit 1
  fi
  statements0=$(counter bookstore_sql_statements_total)
  requests0=$(counter bookstore_graphql_requests_total)
  $HELPER snapshot "$WORK/before.json" "$DB" "$@"
  $HELPER sample "$WORK/sampled.json" "$DB" &
  SAMPLER=$!
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout "${TIMEOUT}s" --latency -s "$script" "$url" >"$WORK/wrk.out" 2>&1
  $HELPER snapshot "$WORK/after.json" "$DB" "$@"
  stop "$SAMPLER"; SAMPLER=''
  $HELPER record "$RESULTS" "$query" "$side" "$round" "$WORK/wrk.out" "$WORK/before.json" "$WORK/sampled.json" \
    "$WORK/after.json" \
    "$(hwm "$RSS_PID")" "$(statements_since "$statements0" "$requests0")"
}

# 4-5. Alternating runs.
for query in $QUERIES; do
  log "$query: $ROUNDS rounds of ours warm, ours without cache, PostGraphile (${DURATION}s each, ${WARMUP}s warm-up)"
  for round in $(seq "$ROUNDS"); do
    start_ours "$REDIS"
    RSS_PID=$OURS
    # The first warm run warms longer: Redis may start empty.
    measure "$query" warm "$round" "$OURS_URL" "$WORK/$query-ours.lua" \
      $((round == 1 ? WARMUP * 3 : WARMUP)) "$OURS" "$REDIS_PID"
    start_ours ""
    RSS_PID=$OURS
    measure "$query" nocache "$round" "$OURS_URL" "$WORK/$query-ours.lua" "$WARMUP" "$OURS"
    stop "$OURS"; OURS=''
    start_pg
    RSS_PID=$PG
    measure "$query" pg "$round" "$PG_URL" "$WORK/$query-pg.lua" "$WARMUP" "$PG"
    stop "$PG"; PG=''
  done
done

# 6. The storefront over ours (warm), anonymous.
if [ "$STOREFRONT" = 1 ]; then
  log "storefront: the catalog page and random book pages through bookstore-web"
  start_ours "$REDIS"
  GRAPHQL_URL="$OURS_URL" BIND_ADDR=127.0.0.1:$WEB_PORT RUST_LOG=warn $WEB_BIN >"$WORK/web.log" 2>&1 &
  WEB=$!
  wait_for "$WEB" "http://127.0.0.1:$WEB_PORT/healthz" "$WORK/web.log"
  RSS_PID=$OURS
  printf 'wrk.method = "GET"\n' >"$WORK/web-catalog.lua"
  for round in $(seq "$ROUNDS"); do
    measure web-catalog web "$round" "http://127.0.0.1:$WEB_PORT/books" "$WORK/web-catalog.lua" \
      "$WARMUP" "$WEB" "$OURS" "$REDIS_PID"
    measure web-book web "$round" "http://127.0.0.1:$WEB_PORT" "$WORK/web-book.lua" \
      "$WARMUP" "$WEB" "$OURS" "$REDIS_PID"
  done
  echo "storefront's own peak RSS: $(( $(hwm "$WEB") / 1024 )) MiB" >&2
fi

$HELPER report "$RESULTS"
echo
echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; DURATION=${DURATION}s, ROUNDS=$ROUNDS, CONNECTIONS=$CONNECTIONS"
