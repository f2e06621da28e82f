#!/bin/sh
# p95 of a catalog listing with Redis up, hung and down, through the real
# router with the shipped timeout (100 ms) and back-off (5 s). Needs the test
# Postgres and Redis (TEST_DATABASE_URL, TEST_REDIS_URL; defaults: local).
# Redis is hung and cut through an in-process proxy, never for real.
#
#   backend/benches/redis-outage.sh            # 400 requests per phase, 4 at a time
#   BENCH_REQUESTS=1000 BENCH_CONCURRENCY=8 backend/benches/redis-outage.sh
#
# Prints p50/p95/p99/max per phase and the load average: on a shared machine
# compare the ratios, not the absolute figures.
set -eu
cd "$(dirname "$0")/../.."
cargo test -p bookstore --test api -- --ignored --nocapture \
    cache_bench::catalog_p95_with_redis_up_hung_and_down
