#!/usr/bin/env bash
# Load benchmark of the catalog API on the synthetic 10,000-book catalog.
#
#   backend/benches/load.sh            # from the repository root
#
# Needs: Postgres and Redis (as for the tests), wrk (apt-get install wrk).
# Builds the release binary, (re)creates the database `bookstore_bench`
# seeded with 10,000 books / 2,000 contributors, starts the backend on
# 127.0.0.1:8100, then runs wrk (32 connections, DURATION seconds each) for:
#   catalog  books(first: 20) with contributors and genres, random pages
#   book     book(id) with contributors and genres, random books
# each three ways: no cache (Redis off: every request reaches Postgres),
# cold-ish (Redis on, cache flushed just before), warm (the same run again).
# Reports requests/s, p50/p99 latency, SQL statements per request (from
# /metrics) and the backend's resident memory. Then checkouts: orders per
# second and checkout p99 (backend/benches/checkout.rs), after giving every
# book plenty of stock.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-8100}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=bookstore_bench
NAMESPACE=bench
URL="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --locked -p bookstore -p bookstore-web >&2
BIN=target/release/bookstore

if [ "${RESEED:-0}" = 1 ] || ! psql "$PGURL/$DB" -tAc 'SELECT count(*) FROM books' 2>/dev/null | grep -qx 10000; then
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >&2
  DATABASE_URL="$PGURL/$DB" RUST_LOG=warn $BIN seed --synthetic 10000 --contributors 2000 >&2
  psql "$PGURL/$DB" -qc 'VACUUM ANALYZE' >&2
fi

# Earlier runs' checkouts leave updated rows behind: clean up so every run
# measures the same table (index-only scans need a fresh visibility map).
psql "$PGURL/$DB" -qc 'VACUUM ANALYZE' >&2

# Request bodies, from the API itself (run once the server is up): 50
# catalog pages, after the cursors the API hands out (opaque: never made up
# here), and every book by the id the API gives it.
write_bodies() {
  python3 - "$WORK" "$URL/graphql" <<'PY'
import json, sys, urllib.request
work, url = sys.argv[1], sys.argv[2]
catalog = """query Catalog($after: String) { books(first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id slug title isbn format inStock price { amountCents currency formatted }
  credits { role contributor { id name slug } } genres { name slug } } } } }"""
book = """query Book($id: ID!) { book(id: $id) { id slug title subtitle description isbn format publisher publicationDate
  pageCount language stock inStock price { amountCents currency formatted }
  credits { role contributor { id name slug } } genres { name slug } } }"""
walk = """query Walk($after: String) { books(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }"""
def post(query, variables):
    request = urllib.request.Request(url, json.dumps({"query": query, "variables": variables}).encode(),
                                     {"Content-Type": "application/json"})
    reply = json.load(urllib.request.urlopen(request, timeout=30))
    if reply.get("errors"):
        sys.exit(f"walking the catalog failed: {reply['errors']}")
    return reply["data"]["books"]
edges, after = [], None
while True:
    page = post(walk, {"after": after})
    edges += page["edges"]
    if not page["pageInfo"]["hasNextPage"]:
        break
    after = page["pageInfo"]["endCursor"]
pages = [None] + [edges[i]["cursor"] for i in range(19, min(len(edges) - 1, 49 * 20), 20)]
ids = [edge["node"]["id"] for edge in edges]
def lua(name, bodies):
    with open(f"{work}/{name}.lua", "w") as out:
        out.write("bodies = {\n")
        for body in bodies:
            out.write("  %s,\n" % json.dumps(json.dumps(body)))
        out.write("}\n")
        out.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        out.write('wrk.headers["Accept"] = "application/graphql-response+json"\n')
        out.write("math.randomseed(2026)\n")
        out.write("request = function()\n  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])\nend\n")
lua("catalog", [{"query": catalog, "variables": {"after": after}} for after in pages])
lua("book", [{"query": book, "variables": {"id": id}} for id in ids])
# One of each, to check they answer without errors before measuring.
json.dump({"query": catalog, "variables": {"after": pages[1] if len(pages) > 1 else None}}, open(f"{work}/catalog.json", "w"))
json.dump({"query": book, "variables": {"id": ids[0]}}, open(f"{work}/book.json", "w"))
PY
}

start_server() { # $1 = REDIS_URL ("" disables the cache)
  if [ -n "$SERVER" ]; then kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; fi
  DATABASE_URL="$PGURL/$DB" REDIS_URL="$1" CACHE_NAMESPACE=$NAMESPACE BIND_ADDR=127.0.0.1:$PORT \
    DATABASE_POOL_SIZE=${POOL_SIZE:-16} RUST_LOG=warn $BIN serve >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 50); do curl -fs "$URL/healthz" >/dev/null && break; sleep 0.2; done
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "the backend exited (is port $PORT taken?):" >&2; cat "$WORK/server.log" >&2; exit 1
  fi
  [ -f "$WORK/catalog.json" ] || write_bodies
  for scenario in catalog book; do
    local reply
    reply=$(curl -s "$URL/graphql" -H 'Content-Type: application/json' -d @"$WORK/$scenario.json")
    if [[ "$reply" != '{"data":{'* ]] || [[ "$reply" == *'"errors"'* ]]; then
      echo "the $scenario query failed: ${reply:0:300}" >&2; cat "$WORK/server.log" >&2; exit 1
    fi
  done
}
flush() { redis-cli --scan --pattern "$NAMESPACE:*" | xargs -r -n 500 redis-cli del >/dev/null; }
# A counter's total over all its labelled series (requests are labelled by
# operation and outcome).
counter() { curl -fs "$URL/metrics" | awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $2 } END { printf "%d\n", sum }'; }

printf '| scenario | cache | req/s | p50 | p99 | SQL/request | non-2xx |\n|---|---|---|---|---|---|---|\n'
run() { # $1 = scenario, $2 = cache state label
  local requests0 statements0 out
  requests0=$(counter bookstore_graphql_requests_total)
  statements0=$(counter bookstore_sql_statements_total)
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/$1.lua" "$URL/graphql" 2>&1)
  local requests=$(( $(counter bookstore_graphql_requests_total) - requests0 ))
  local statements=$(( $(counter bookstore_sql_statements_total) - statements0 ))
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$rps" "$p50" "$p99" \
    "$(awk -v s="$statements" -v r="$requests" 'BEGIN { printf "%.2f", r ? s / r : 0 }')" "${errors:-0}"
}

start_server ""
run catalog "none (Postgres only)"
run book "none (Postgres only)"
start_server "${REDIS_URL:-redis://127.0.0.1:6379}"
for scenario in catalog book; do
  flush
  run $scenario "cold-ish (flushed)"
  run $scenario "warm"
done
echo
grep -E 'VmRSS|VmHWM' /proc/$SERVER/status | sed 's/^/backend /'

# The storefront over the warm backend: the catalog page and a book page.
WEB_PORT=$((PORT + 80))
GRAPHQL_URL="$URL/graphql" BIND_ADDR=127.0.0.1:$WEB_PORT RUST_LOG=warn target/release/bookstore-web >"$WORK/web.log" 2>&1 &
WEB=$!
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; kill "$WEB" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$WEB_PORT/healthz" >/dev/null && break; sleep 0.2; done
SLUG=$(psql "$PGURL/$DB" -tAc "SELECT slug FROM books ORDER BY id LIMIT 1")
echo
printf '| storefront page | req/s | p50 | p99 | HTML bytes |\n|---|---|---|---|---|\n'
for path in "/books" "/books/$SLUG"; do
  curl -fs "http://127.0.0.1:$WEB_PORT$path" >/dev/null  # warm the cache
  bytes=$(curl -fs "http://127.0.0.1:$WEB_PORT$path" | wc -c)
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$WEB_PORT$path" 2>&1)
  printf '| %s | %s | %s | %s | %s |\n' "$path" "$(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
    "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" "$bytes"
done
kill "$WEB" 2>/dev/null || true

# Checkouts: every book gets plenty of stock (the catalog runs are done).
psql "$PGURL/$DB" -qc 'UPDATE books SET stock = 1000000' >&2
flush
requests0=$(counter bookstore_graphql_requests_total)
statements0=$(counter bookstore_sql_statements_total)
BENCH_URL="$URL/graphql" CONNECTIONS=$CONNECTIONS CHECKOUTS=${CHECKOUTS:-3000} \
  cargo bench --quiet --locked -p bookstore --bench checkout 2>/dev/null | grep '^checkouts'
echo "SQL statements per GraphQL request in the checkout run (addToCart + checkout): $(awk -v s="$(( $(counter bookstore_sql_statements_total) - statements0 ))" -v r="$(( $(counter bookstore_graphql_requests_total) - requests0 ))" 'BEGIN { printf "%.1f", s / r }')"
grep -E 'VmRSS|VmHWM' /proc/$SERVER/status | sed 's/^/backend after checkouts /'
