//! A benchmark, not run by default: the p95 of a catalog listing with
//! Redis up (warm cache), hung (accepts connections, never answers) and
//! down (connections refused), through the real router, with the shipped
//! timeout and back-off. Run it with `backend/benches/redis-outage.sh`
//! (release figures need no release build: what matters is the ratio).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::catalog::CATALOG;
use crate::instances::{Instance, post};
use crate::support::TestApp;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// `requests` catalog pages over `concurrency` workers; each one's latency.
async fn measure(instance: &Instance, requests: usize, concurrency: usize) -> Vec<Duration> {
    let per_worker = requests.div_ceil(concurrency);
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let router = instance.router.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_worker);
                for request in 0..per_worker {
                    // Different pages, so the cache holds many entries.
                    let first = 10 + (worker + request) % 11;
                    let started = Instant::now();
                    let body = post(&router, None, CATALOG, json!({"first": first})).await;
                    latencies.push(started.elapsed());
                    assert!(body.get("errors").is_none(), "{body}");
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(requests);
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    latencies.sort();
    latencies
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(phase: &str, latencies: &[Duration]) -> Duration {
    let p95 = percentile(latencies, 0.95);
    eprintln!(
        "{phase:>5}: n={} p50={:.1?} p95={:.1?} p99={:.1?} max={:.1?}",
        latencies.len(),
        percentile(latencies, 0.50),
        p95,
        percentile(latencies, 0.99),
        latencies[latencies.len() - 1],
    );
    p95
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run backend/benches/redis-outage.sh"]
async fn catalog_p95_with_redis_up_hung_and_down() {
    let requests = env("BENCH_REQUESTS", 400);
    let concurrency = env("BENCH_CONCURRENCY", 4);
    let app = TestApp::new().await;
    // The shipped defaults: REDIS_TIMEOUT_MS=100, REDIS_BACKOFF_SECS=5.
    let instance = Instance::beside_with(&app, |config| {
        config.redis_timeout = Duration::from_millis(100);
        config.redis_backoff = Duration::from_secs(5);
    })
    .await;
    eprintln!("load average before: {}", load_average().trim());
    measure(&instance, 100, concurrency).await; // warm the cache
    let up = report("up", &measure(&instance, requests, concurrency).await);

    instance.proxy.hang();
    let hung = report("hung", &measure(&instance, requests, concurrency).await);

    instance.proxy.cut();
    let down = report("down", &measure(&instance, requests, concurrency).await);

    instance.proxy.pass();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let back = report("back", &measure(&instance, requests, concurrency).await);
    eprintln!("load average after: {}", load_average().trim());
    eprintln!(
        "p95 hung/up = {:.2}, down/up = {:.2}, back/up = {:.2}",
        hung.as_secs_f64() / up.as_secs_f64(),
        down.as_secs_f64() / up.as_secs_f64(),
        back.as_secs_f64() / up.as_secs_f64(),
    );
    assert!(hung <= up * 2, "p95 with Redis hung {hung:?} vs up {up:?}");
    assert!(down <= up * 2, "p95 with Redis down {down:?} vs up {up:?}");
}
