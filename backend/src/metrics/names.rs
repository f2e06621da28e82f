//! The backend's metric names and their descriptions (what `# HELP` says,
//! and what README's "Operations" section and the Grafana dashboard use).

use bookstore_edge::metrics::Registry;
use metrics::Unit;

pub const GRAPHQL_REQUESTS: &str = "bookstore_graphql_requests_total";
pub const GRAPHQL_SECONDS: &str = "bookstore_graphql_request_duration_seconds";
pub const GRAPHQL_ERRORS: &str = "bookstore_graphql_errors_total";
pub const STATEMENTS_PER_REQUEST: &str = "bookstore_graphql_request_sql_statements";
pub const SQL_STATEMENTS: &str = "bookstore_sql_statements_total";
pub const RESPONSE_CACHE_HITS: &str = "bookstore_response_cache_hits_total";
pub const RESPONSE_CACHE_MISSES: &str = "bookstore_response_cache_misses_total";
pub const ENTITY_CACHE_HITS: &str = "bookstore_entity_cache_hits_total";
pub const ENTITY_CACHE_MISSES: &str = "bookstore_entity_cache_misses_total";
pub const POOL_CONNECTIONS: &str = "bookstore_db_pool_connections";
pub const POOL_WAITS: &str = "bookstore_db_pool_waits_total";
pub const POOL_TIMEOUTS: &str = "bookstore_db_pool_timeouts_total";
pub const CHECKOUTS: &str = "bookstore_checkouts_total";
pub const PAYMENTS: &str = "bookstore_payments_total";
pub const OUTBOX_MESSAGES: &str = "bookstore_outbox_messages";
pub const OUTBOX_SENT: &str = "bookstore_outbox_sent_total";
pub const OUTBOX_FAILED: &str = "bookstore_outbox_failed_total";
pub const SUBSCRIPTIONS_ACTIVE: &str = "bookstore_subscriptions_active";

pub(super) fn describe(registry: &Registry) {
    registry.describe_counter(
        GRAPHQL_REQUESTS,
        "GraphQL requests, by operation (a known name or `other`) and outcome (ok, cached, error, rejected).",
    );
    registry.describe_histogram(
        GRAPHQL_SECONDS,
        Some(Unit::Seconds),
        "Time to answer a GraphQL request, by operation and outcome.",
    );
    registry.describe_counter(
        GRAPHQL_ERRORS,
        "Errors in GraphQL answers, by extensions.code.",
    );
    registry.describe_histogram(
        STATEMENTS_PER_REQUEST,
        None,
        "SQL statements an executed GraphQL request ran (its resolvers and loaders), by operation.",
    );
    registry.describe_counter(SQL_STATEMENTS, "SQL statements sent to Postgres.");
    registry.describe_counter(
        RESPONSE_CACHE_HITS,
        "Public queries answered from the in-process response cache.",
    );
    registry.describe_counter(
        RESPONSE_CACHE_MISSES,
        "Public queries the response cache did not hold (run, then stored).",
    );
    registry.describe_counter(
        ENTITY_CACHE_HITS,
        "Entities the DataLoaders found in Redis (or got from a load they waited for).",
    );
    registry.describe_counter(
        ENTITY_CACHE_MISSES,
        "Entities the DataLoaders loaded from Postgres.",
    );
    registry.describe_gauge(
        POOL_CONNECTIONS,
        "Postgres connections of a pool (primary, replica), by state (in_use, idle).",
    );
    registry.describe_counter(
        POOL_WAITS,
        "Connection checkouts that waited for a free connection.",
    );
    registry.describe_counter(POOL_TIMEOUTS, "Connection checkouts that gave up waiting.");
    registry.describe_counter(
        CHECKOUTS,
        "Checkouts, by outcome (paid, pending, declined, payment_failed, refused, error).",
    );
    registry.describe_counter(
        PAYMENTS,
        "Charges sent to the payment gateway, by outcome (approved, declined, failed, unknown).",
    );
    registry.describe_gauge(
        OUTBOX_MESSAGES,
        "Outbox messages, by status (pending, dead).",
    );
    registry.describe_counter(OUTBOX_SENT, "Outbox messages handed to the SMTP server.");
    registry.describe_counter(
        OUTBOX_FAILED,
        "Outbox send attempts that failed, by outcome (retrying, dead).",
    );
    registry.describe_gauge(SUBSCRIPTIONS_ACTIVE, "Open GraphQL subscriptions.");
}
