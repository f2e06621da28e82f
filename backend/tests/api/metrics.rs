//! `/metrics`: after a few requests (a cached answer, an unknown operation,
//! errors, checkouts) the series are there with bounded labels, and every
//! backend metric the Grafana dashboard charts is exported.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::checkout::support::{
    APPROVE, DECLINE, book_with_stock, checkout_input, checkout_mutation, guest_cart,
};
use crate::support::TestApp;

const CATALOG: &str = "query Catalog { books(first: 2) { nodes { title } } }";

async fn app() -> TestApp {
    let app = TestApp::with_env(&[("RESPONSE_CACHE_MB", "8")]).await;
    let started = Instant::now();
    while !app.cache.responses().live() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the response cache never subscribed to invalidations"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app
}

async fn scrape(app: &TestApp) -> String {
    let reply = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type().starts_with("text/plain"));
    reply.body
}

/// The value of the series written exactly as `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

fn expect(text: &str, series: &str, expected: f64) {
    assert_eq!(value(text, series), Some(expected), "{series} in:\n{text}");
}

/// Every `label="value"` of the exposition, for label `label`.
fn label_values<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    let pattern = format!("{label}=\"");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(&pattern))
        .filter_map(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_errors_statements_caches_and_checkouts_are_counted_with_bounded_labels() {
    let app = app().await;
    for _ in 0..2 {
        let reply = app.graphql(CATALOG, json!({})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    // A name not on the list, from a client: counted as `other`.
    app.graphql("query DropTables_x27 { genres { name } }", json!({}))
        .await;
    let parse_error = app.graphql("{ books(", json!({})).await;
    assert_eq!(parse_error.status, StatusCode::BAD_REQUEST);
    app.graphql("query BookPage { noSuchField }", json!({}))
        .await;

    let (book, _) = book_with_stock(&app, 0, 5).await;
    let cart = guest_cart(&app, &book, 1).await;
    let paid = app
        .data(
            &checkout_mutation(),
            checkout_input("metrics-1", &cart, APPROVE),
        )
        .await;
    assert_eq!(paid["checkout"]["order"]["status"], "PAID", "{paid}");
    let cart = guest_cart(&app, &book, 1).await;
    let declined = app
        .data(
            &checkout_mutation(),
            checkout_input("metrics-2", &cart, DECLINE),
        )
        .await;
    assert_eq!(declined["checkout"]["order"], json!(null), "{declined}");

    let text = scrape(&app).await;
    let requests = "bookstore_graphql_requests_total";
    expect(
        &text,
        &format!("{requests}{{operation=\"Catalog\",outcome=\"ok\"}}"),
        1.0,
    );
    expect(
        &text,
        &format!("{requests}{{operation=\"Catalog\",outcome=\"cached\"}}"),
        1.0,
    );
    expect(
        &text,
        &format!("{requests}{{operation=\"other\",outcome=\"rejected\"}}"),
        1.0,
    );
    expect(
        &text,
        &format!("{requests}{{operation=\"BookPage\",outcome=\"error\"}}"),
        1.0,
    );
    assert!(
        value(
            &text,
            &format!("{requests}{{operation=\"other\",outcome=\"ok\"}}")
        ) >= Some(1.0),
        "{text}"
    );
    expect(
        &text,
        "bookstore_graphql_request_duration_seconds_count{operation=\"Catalog\",outcome=\"cached\"}",
        1.0,
    );
    expect(
        &text,
        "bookstore_graphql_request_sql_statements_count{operation=\"Catalog\"}",
        1.0,
    );
    assert!(
        value(
            &text,
            "bookstore_graphql_request_sql_statements_sum{operation=\"Catalog\"}"
        ) >= Some(1.0),
        "the catalog query ran SQL: {text}"
    );
    expect(
        &text,
        "bookstore_graphql_errors_total{code=\"GRAPHQL_PARSE_FAILED\"}",
        1.0,
    );
    expect(
        &text,
        "bookstore_graphql_errors_total{code=\"GRAPHQL_VALIDATION_FAILED\"}",
        1.0,
    );
    expect(&text, "bookstore_checkouts_total{outcome=\"paid\"}", 1.0);
    expect(
        &text,
        "bookstore_checkouts_total{outcome=\"declined\"}",
        1.0,
    );
    expect(&text, "bookstore_checkouts_total{outcome=\"error\"}", 0.0);
    expect(&text, "bookstore_payments_total{outcome=\"approved\"}", 1.0);
    expect(&text, "bookstore_payments_total{outcome=\"declined\"}", 1.0);
    expect(&text, "bookstore_response_cache_hits_total", 1.0);
    let entities = value(&text, "bookstore_entity_cache_hits_total").unwrap_or_default()
        + value(&text, "bookstore_entity_cache_misses_total").unwrap_or_default();
    assert!(entities >= 1.0, "the loaders read entities: {text}");
    assert!(
        value(&text, "bookstore_sql_statements_total") > Some(5.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            "bookstore_db_pool_connections{pool=\"primary\",state=\"idle\"}"
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        value(&text, "bookstore_outbox_messages{status=\"pending\"}").is_some(),
        "{text}"
    );
    expect(&text, "bookstore_subscriptions_active", 0.0);

    // Bounded: only listed names (or `other`), never what a client sent.
    assert!(!text.contains("DropTables"), "{text}");
    for operation in label_values(&text, "operation") {
        assert!(
            operation == "other" || bookstore::metrics::labels::OPERATIONS.contains(&operation),
            "unlisted operation label {operation:?}"
        );
    }
    for code in label_values(&text, "code") {
        assert!(
            bookstore::metrics::labels::ERROR_CODES.contains(&code),
            "unlisted code label {code:?}"
        );
    }
}

/// Statements are counted per request, whatever runs beside it.
#[tokio::test(flavor = "multi_thread")]
async fn statements_per_request_count_each_request_alone() {
    let app = TestApp::new().await;
    let query = "query Home { genres { name } }";
    let (_, statements) = app.data_counting(query, json!({})).await;
    let text = scrape(&app).await;
    expect(
        &text,
        "bookstore_graphql_request_sql_statements_sum{operation=\"Home\"}",
        statements as f64,
    );
}

/// The metric names the Grafana dashboard's queries use.
pub fn dashboard_metrics() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ops/grafana/dashboards/bookstore.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("a PromQL expr");
            let mut rest = expr;
            while let Some(start) = rest.find("bookstore_") {
                let tail = &rest[start..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                names.push(tail[..end].to_owned());
                rest = &tail[end..];
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn every_backend_metric_on_the_dashboard_is_exported() {
    let app = app().await;
    app.graphql(CATALOG, json!({})).await;
    app.graphql(CATALOG, json!({})).await;
    let text = scrape(&app).await;
    let names = dashboard_metrics();
    assert!(names.len() >= 15, "{names:?}");
    let backend: Vec<_> = names
        .iter()
        .filter(|name| !name.starts_with("bookstore_web_"))
        .collect();
    for name in backend {
        assert!(
            text.contains(&format!("\n{name}{{")) || text.contains(&format!("\n{name} ")),
            "the dashboard charts {name}, which /metrics does not export:\n{text}"
        );
    }
}
