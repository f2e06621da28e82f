//! Prometheus metrics: what the backend records, and the `/metrics` text.
//!
//! Each app state owns its registry (`bookstore_edge::metrics::Registry`),
//! so two app instances in one process (the tests) count separately; `serve`
//! and `worker` also install it as the process's global recorder, so code
//! without the state (the outbox worker) records with the `metrics` macros.
//!
//! The request path's handles are registered once per (operation, outcome)
//! and kept: recording a request is two atomic adds and a lock-free push,
//! no allocation, no lock. Figures other parts already keep (SQL
//! statements, the caches' hits and misses, the pools) are read when
//! scraped. Owns: metric names, descriptions, buckets. Must never: block or
//! fail a request, or label anything with request data ([`labels`]).

pub mod labels;
mod names;
mod scrape;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bookstore_edge::metrics::{LATENCY_BUCKETS, Registry};
use metrics::{Counter, Gauge, Histogram};

pub use labels::{CheckoutOutcome, Operation, Outcome, PaymentOutcome};
use labels::{ERROR_CODES, OPERATION_LABELS, error_code};
pub use names::*;

/// SQL statements one request runs.
const STATEMENT_BUCKETS: [f64; 12] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0,
];

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    /// Per operation, per outcome: registered on first use.
    requests: Vec<[OnceLock<(Counter, Histogram)>; 4]>,
    statements_per_request: Vec<OnceLock<Histogram>>,
    errors: Vec<Counter>,
    checkouts: Vec<Counter>,
    payments: Vec<Counter>,
    subscriptions_active: Gauge,
    scraped: scrape::Scraped,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new(&[
            (GRAPHQL_SECONDS, &LATENCY_BUCKETS),
            (STATEMENTS_PER_REQUEST, &STATEMENT_BUCKETS),
        ])?;
        names::describe(&registry);
        let requests = (0..OPERATION_LABELS)
            .map(|_| std::array::from_fn(|_| OnceLock::new()))
            .collect();
        let statements_per_request = (0..OPERATION_LABELS).map(|_| OnceLock::new()).collect();
        let errors = ERROR_CODES
            .iter()
            .map(|code| registry.counter(GRAPHQL_ERRORS, &[("code", code)]))
            .collect();
        let checkouts = CheckoutOutcome::ALL
            .iter()
            .map(|outcome| registry.counter(CHECKOUTS, &[("outcome", outcome.label())]))
            .collect();
        let payments = PaymentOutcome::ALL
            .iter()
            .map(|outcome| registry.counter(PAYMENTS, &[("outcome", outcome.label())]))
            .collect();
        // Registered here (at 0) so the series exists before anyone
        // subscribes; subscriptions set it through this handle or the
        // global `metrics::gauge!` of the same name.
        let subscriptions_active = registry.gauge(SUBSCRIPTIONS_ACTIVE, &[]);
        // The outbox worker counts with the global macros (same names).
        drop(registry.counter(OUTBOX_SENT, &[]));
        for outcome in ["retrying", "dead"] {
            drop(registry.counter(OUTBOX_FAILED, &[("outcome", outcome)]));
        }
        let scraped = scrape::Scraped::new(&registry);
        Ok(Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                statements_per_request,
                errors,
                checkouts,
                payments,
                subscriptions_active,
                scraped,
            }),
        })
    }

    /// Makes this the process's global recorder (`serve`, `worker`: one app
    /// per process) and drains histogram samples every few seconds even if
    /// nobody scrapes. False when another recorder was installed first.
    pub fn install_global(&self) -> bool {
        self.inner.registry.spawn_upkeep();
        self.inner.registry.install_global()
    }

    /// One GraphQL request of `operation` that ended as `outcome` after
    /// `elapsed`.
    pub fn graphql_request(&self, operation: Operation, outcome: Outcome, elapsed: Duration) {
        let Some(slot) = self
            .inner
            .requests
            .get(operation.index())
            .and_then(|outcomes| outcomes.get(outcome.index()))
        else {
            return;
        };
        let (count, seconds) = slot.get_or_init(|| {
            let labels = [
                ("operation", operation.label()),
                ("outcome", outcome.label()),
            ];
            (
                self.inner.registry.counter(GRAPHQL_REQUESTS, &labels),
                self.inner.registry.histogram(GRAPHQL_SECONDS, &labels),
            )
        });
        count.increment(1);
        seconds.record(elapsed.as_secs_f64());
    }

    /// The SQL statements an executed request of `operation` ran.
    pub fn statements_per_request(&self, operation: Operation, statements: u64) {
        if let Some(slot) = self.inner.statements_per_request.get(operation.index()) {
            slot.get_or_init(|| {
                let labels = [("operation", operation.label())];
                self.inner
                    .registry
                    .histogram(STATEMENTS_PER_REQUEST, &labels)
            })
            .record(statements as f64);
        }
    }

    /// An error in an answer, by its `extensions.code`.
    pub fn graphql_error(&self, code: &str) {
        if let Some(counter) = self.inner.errors.get(error_code(code)) {
            counter.increment(1);
        }
    }

    pub fn checkout(&self, outcome: CheckoutOutcome) {
        if let Some(counter) = self.inner.checkouts.get(outcome as usize) {
            counter.increment(1);
        }
    }

    pub fn payment(&self, outcome: PaymentOutcome) {
        if let Some(counter) = self.inner.payments.get(outcome as usize) {
            counter.increment(1);
        }
    }

    /// The gauge of open subscriptions (`bookstore_subscriptions_active`).
    pub fn subscriptions_active(&self) -> &Gauge {
        &self.inner.subscriptions_active
    }

    /// The Prometheus text exposition, with the figures read at scrape time
    /// (see [`scrape`]) brought up to date first.
    pub async fn render(&self, db: &crate::db::Db, cache: &crate::cache::Cache) -> String {
        self.inner.scraped.update(db, cache).await;
        self.inner.registry.render()
    }
}
