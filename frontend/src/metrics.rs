//! The storefront's Prometheus metrics: page answers by route and status
//! class, and the GraphQL calls it makes to the backend by operation and
//! outcome, both as latency histograms (their `_count` is the number of
//! requests); the live-update streams open now (a gauge). Served as `/metrics` on `METRICS_ADDR` (`app`).
//!
//! Labels are bounded: a page is its route pattern (`/books/{slug}`, never
//! the address asked for; `unmatched` for the not-found page), an operation
//! is the compile-time name of one of the storefront's own queries. Each
//! (label, label) pair registers its histogram once; recording is then a
//! read lock, a map lookup by `&str` and a lock-free push, with no
//! allocation. A leaf: imports nothing of the crate.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bookstore_edge::metrics::{CONTENT_TYPE, LATENCY_BUCKETS, Registry};
use metrics::{Gauge, Histogram};

pub const PAGE_SECONDS: &str = "bookstore_web_page_render_seconds";
pub const BACKEND_CALL_SECONDS: &str = "bookstore_web_backend_call_seconds";
pub const LIVE_STREAMS: &str = "bookstore_web_live_streams";

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// How a call to the backend ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    /// `304`: the kept page is still current.
    NotModified,
    /// The backend answered with GraphQL errors.
    Errors,
    /// No answer in time, a server error, or an unreadable answer.
    Unavailable,
}

const CALL_OUTCOMES: [&str; 4] = ["ok", "not_modified", "errors", "unavailable"];

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    pages: Family<5>,
    calls: Family<4>,
    live_streams: Gauge,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new(&[
            (PAGE_SECONDS, &LATENCY_BUCKETS),
            (BACKEND_CALL_SECONDS, &LATENCY_BUCKETS),
        ])?;
        registry.describe_histogram(
            PAGE_SECONDS,
            Some(metrics::Unit::Seconds),
            "Storefront answers, by route pattern (page) and status class.",
        );
        registry.describe_histogram(
            BACKEND_CALL_SECONDS,
            Some(metrics::Unit::Seconds),
            "GraphQL calls to the backend, by operation and outcome (ok, not_modified, errors, unavailable).",
        );
        registry.describe_gauge(
            LIVE_STREAMS,
            "Live-update streams (Server-Sent Events, each with its backend WebSocket) open now.",
        );
        // Registered here, so the series exists (at 0) before any stream.
        let live_streams = registry.gauge(LIVE_STREAMS, &[]);
        Ok(Self {
            inner: Arc::new(Inner {
                live_streams,
                pages: Family::new(PAGE_SECONDS, "page", ("status", STATUS_CLASSES)),
                calls: Family::new(
                    BACKEND_CALL_SECONDS,
                    "operation",
                    ("outcome", CALL_OUTCOMES),
                ),
                registry,
            }),
        })
    }

    /// Makes this the process's global recorder and drains histogram
    /// samples every few seconds even if nobody scrapes (`serve`: one app
    /// per process).
    pub fn install_global(&self) -> bool {
        self.inner.registry.spawn_upkeep();
        self.inner.registry.install_global()
    }

    /// A page answered with `status` after `elapsed`.
    pub fn page(&self, page: &str, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).saturating_sub(1).min(4);
        self.inner
            .pages
            .record(&self.inner.registry, page, class, elapsed);
    }

    /// A call of `operation` (a compile-time operation name) to the backend.
    pub fn backend_call(&self, operation: &'static str, outcome: CallOutcome, elapsed: Duration) {
        self.inner
            .calls
            .record(&self.inner.registry, operation, outcome as usize, elapsed);
    }

    /// The gauge of open live-update streams (`crate::live` moves it).
    pub fn live_streams(&self) -> Gauge {
        self.inner.live_streams.clone()
    }

    pub fn render(&self) -> String {
        self.inner.registry.render()
    }
}

/// Histograms of one metric keyed by a bounded first label (a route, an
/// operation) and a second one from a fixed list, registered on first use.
struct Family<const N: usize> {
    name: &'static str,
    first: &'static str,
    second: (&'static str, [&'static str; N]),
    handles: RwLock<HashMap<Box<str>, Slots<N>>>,
}

/// One first-label value's histograms, by second-label value.
type Slots<const N: usize> = Arc<[OnceLock<Histogram>; N]>;

impl<const N: usize> Family<N> {
    fn new(
        name: &'static str,
        first: &'static str,
        second: (&'static str, [&'static str; N]),
    ) -> Self {
        Self {
            name,
            first,
            second,
            handles: RwLock::default(),
        }
    }

    fn record(&self, registry: &Registry, first: &str, second: usize, elapsed: Duration) {
        let known = self
            .handles
            .read()
            .ok()
            .and_then(|handles| handles.get(first).cloned());
        let slots = match known {
            Some(slots) => slots,
            None => {
                let Ok(mut handles) = self.handles.write() else {
                    return;
                };
                handles
                    .entry(first.into())
                    .or_insert_with(|| Arc::new(std::array::from_fn(|_| OnceLock::new())))
                    .clone()
            }
        };
        let (Some(slot), Some(value)) = (slots.get(second), self.second.1.get(second)) else {
            return;
        };
        slot.get_or_init(|| {
            registry.histogram_for(self.name, &[(self.first, first), (self.second.0, value)])
        })
        .record(elapsed.as_secs_f64());
    }
}

/// Times every answer of the routes it wraps (added with `Router::layer`,
/// so the route pattern is known).
pub async fn pages(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let page = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let page = page.as_ref().map_or("unmatched", MatchedPath::as_str);
    metrics.page(page, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn serve(State(metrics): State<Metrics>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()).into_response()
}
