//! Prometheus metrics: the counters and histograms the service records, and
//! their text exposition for `/metrics`.
//!
//! Each app state owns its recorder (not a process-global one), so two app
//! instances in one process (tests, or the checks in CI) count separately.
//! Owns: metric names, descriptions and buckets. Must never: block, fail a
//! request, or hold request data (metrics carry no user input).

use std::time::Duration;

use metrics::{Counter, Histogram, Key, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::db::Db;

const GRAPHQL_REQUESTS: &str = "bookstore_graphql_requests_total";
const GRAPHQL_SECONDS: &str = "bookstore_graphql_request_duration_seconds";
const SQL_STATEMENTS: &str = "bookstore_sql_statements_total";
const RESPONSE_CACHE_HITS: &str = "bookstore_response_cache_hits_total";
const RESPONSE_CACHE_MISSES: &str = "bookstore_response_cache_misses_total";

/// Latency buckets, in seconds: from a warm cache hit to the request timeout.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    graphql_requests: Counter,
    graphql_seconds: Histogram,
    sql_statements: Counter,
    response_cache_hits: Counter,
    response_cache_misses: Counter,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&LATENCY_BUCKETS)?
            .build_recorder();
        let metadata = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));
        recorder.describe_counter(
            GRAPHQL_REQUESTS.into(),
            None,
            "GraphQL requests executed.".into(),
        );
        recorder.describe_histogram(
            GRAPHQL_SECONDS.into(),
            Some(Unit::Seconds),
            "Time to execute a GraphQL request (parsing to response).".into(),
        );
        recorder.describe_counter(
            SQL_STATEMENTS.into(),
            None,
            "SQL statements sent to Postgres.".into(),
        );
        recorder.describe_counter(
            RESPONSE_CACHE_HITS.into(),
            None,
            "Public queries answered from the in-process response cache.".into(),
        );
        recorder.describe_counter(
            RESPONSE_CACHE_MISSES.into(),
            None,
            "Public queries the response cache did not hold (run, then stored).".into(),
        );
        Ok(Self {
            response_cache_hits: recorder
                .register_counter(&Key::from_static_name(RESPONSE_CACHE_HITS), &metadata),
            response_cache_misses: recorder
                .register_counter(&Key::from_static_name(RESPONSE_CACHE_MISSES), &metadata),
            handle: recorder.handle(),
            graphql_requests: recorder
                .register_counter(&Key::from_static_name(GRAPHQL_REQUESTS), &metadata),
            graphql_seconds: recorder
                .register_histogram(&Key::from_static_name(GRAPHQL_SECONDS), &metadata),
            sql_statements: recorder
                .register_counter(&Key::from_static_name(SQL_STATEMENTS), &metadata),
        })
    }

    /// One GraphQL request executed in `elapsed`.
    pub fn graphql_request(&self, elapsed: Duration) {
        self.graphql_requests.increment(1);
        self.graphql_seconds.record(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition. The SQL statement count is read from
    /// the pools' own counter (which the N+1 tests read too), the response
    /// cache's (`hits`, `misses`) from the cache.
    pub fn render(&self, db: &Db, (hits, misses): (u64, u64)) -> String {
        self.sql_statements.absolute(db.statements_executed());
        self.response_cache_hits.absolute(hits);
        self.response_cache_misses.absolute(misses);
        self.handle.render()
    }
}
