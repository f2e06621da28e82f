//! The client's discipline without a real Redis: outages logged once,
//! a disabled cache always loads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing_subscriber::layer::SubscriberExt;

use std::collections::HashMap;

use super::*;

/// Counts WARN events.
struct Warnings(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test]
async fn an_outage_is_logged_once_not_per_request() {
    let warnings = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Warnings(warnings.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);
    // Nothing listens on port 1; no back-off, so every call tries Redis.
    let cache = Cache::new(
        Some("redis://127.0.0.1:1"),
        "test",
        Duration::from_secs(60),
        Duration::from_millis(100),
        Duration::ZERO,
    )
    .unwrap();
    for _ in 0..5 {
        let found: HashMap<i64, String> = cache
            .read_through(Kind::Book, &[1, 2], |ids| async move {
                Ok::<_, ()>(ids.into_iter().map(|id| (id, id.to_string())).collect())
            })
            .await
            .unwrap();
        assert_eq!(found.len(), 2, "values come from the loader");
    }
    assert_eq!(warnings.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_disabled_cache_always_loads() {
    let cache = Cache::disabled();
    let found: HashMap<i64, i64> = cache
        .read_through(Kind::Genre, &[7], |ids| async move {
            Ok::<_, ()>(ids.into_iter().map(|id| (id, id * 2)).collect())
        })
        .await
        .unwrap();
    assert_eq!(found.get(&7), Some(&14));
    assert_eq!(cache.status().await, CacheStatus::Disabled);
}
