//! The storefront's `/metrics`: pages by route pattern and status class,
//! backend calls by operation and outcome (a checkout, a not-found page
//! and a backend that is gone included); never on the public address in
//! production; every storefront metric the Grafana dashboard charts is
//! exported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use support::{Browser, Shop, input, storefront};

const BOOK: &str = "/books/middlemarch";

/// The value of the series written exactly as `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

fn at_least(text: &str, series: &str, minimum: f64) {
    let found = value(text, series);
    assert!(found >= Some(minimum), "{series} = {found:?} in:\n{text}");
}

async fn metrics(browser: &mut Browser) -> String {
    let page = browser.get("/metrics").await;
    assert_eq!(page.status, StatusCode::OK);
    page.html
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_and_backend_calls_are_timed_with_bounded_labels() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    assert_eq!(browser.get(BOOK).await.status, StatusCode::OK);
    let missing = browser.get("/no/such/page-x27").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let no_book = browser.get("/books/no-such-book-x27").await;
    assert_eq!(no_book.status, StatusCode::NOT_FOUND);

    // A checkout, through the forms.
    let book = browser.get(BOOK).await;
    let added = browser
        .submit(
            BOOK,
            "/cart/add",
            &[
                ("book_id", &input(&book, "book_id")),
                ("slug", "middlemarch"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let form = browser.get("/checkout").await;
    let csrf = form.csrf();
    let key = input(&form, "idempotency_key");
    let placed = browser
        .post(
            "/checkout",
            &[
                ("csrf", &csrf),
                ("idempotency_key", &key),
                ("shipping_method", "STANDARD"),
                ("name", "Ada Reader"),
                ("line1", "1 Library Way"),
                ("line2", ""),
                ("city", "Springfield"),
                ("postal_code", "12345"),
                ("country", "US"),
                ("email", "guest@example.com"),
                ("card_number", "4242 4242 4242 4242"),
            ],
        )
        .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.html);

    let text = metrics(&mut browser).await;
    let pages = "bookstore_web_page_render_seconds_count";
    at_least(&text, &format!("{pages}{{page=\"/\",status=\"2xx\"}}"), 1.0);
    at_least(
        &text,
        &format!("{pages}{{page=\"/books/{{slug}}\",status=\"2xx\"}}"),
        1.0,
    );
    at_least(
        &text,
        &format!("{pages}{{page=\"/books/{{slug}}\",status=\"4xx\"}}"),
        1.0,
    );
    at_least(
        &text,
        &format!("{pages}{{page=\"unmatched\",status=\"4xx\"}}"),
        1.0,
    );
    at_least(
        &text,
        &format!("{pages}{{page=\"/checkout\",status=\"3xx\"}}"),
        1.0,
    );
    assert!(
        value(
            &text,
            "bookstore_web_page_render_seconds_bucket{page=\"/\",status=\"2xx\",le=\"+Inf\"}"
        ) >= Some(1.0),
        "{text}"
    );
    let calls = "bookstore_web_backend_call_seconds_count";
    at_least(
        &text,
        &format!("{calls}{{operation=\"Home\",outcome=\"ok\"}}"),
        1.0,
    );
    at_least(
        &text,
        &format!("{calls}{{operation=\"BookPage\",outcome=\"ok\"}}"),
        1.0,
    );
    at_least(
        &text,
        &format!("{calls}{{operation=\"Checkout\",outcome=\"ok\"}}"),
        1.0,
    );
    // Addresses asked for never become labels.
    assert!(!text.contains("x27"), "{text}");
    assert!(!text.contains("middlemarch"), "{text}");

    // A backend that is gone: the calls are `unavailable`.
    let mut offline = Browser::for_router(storefront("http://127.0.0.1:9/graphql", 500));
    assert_eq!(
        offline.get("/").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let text = metrics(&mut offline).await;
    at_least(
        &text,
        "bookstore_web_backend_call_seconds_count{operation=\"Home\",outcome=\"unavailable\"}",
        1.0,
    );
    at_least(
        &text,
        "bookstore_web_page_render_seconds_count{page=\"/\",status=\"5xx\"}",
        1.0,
    );
}

#[tokio::test]
async fn production_serves_metrics_only_on_the_internal_address() {
    let config = bookstore_web::config::Config::from_lookup(|name| match name {
        "APP_ENV" => Some("production".to_owned()),
        "CSRF_SECRET" => Some("a production secret".to_owned()),
        "PUBLIC_URL" => Some("https://shop.example.com".to_owned()),
        _ => None,
    })
    .unwrap();
    assert_eq!(
        config.metrics_address(),
        Some("127.0.0.1:9101".parse().unwrap())
    );
    let state = bookstore_web::AppState::new(&config).unwrap();
    let mut public = Browser::for_router(bookstore_web::router(state.clone()));
    assert_eq!(public.get("/metrics").await.status, StatusCode::NOT_FOUND);
    let mut internal = Browser::for_router(bookstore_web::app::metrics_router(state));
    let page = internal.get("/metrics").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("bookstore_web_page_render_seconds"),
        "{}",
        page.html
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_storefront_metric_on_the_dashboard_is_exported() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backend/ops/grafana/dashboards/bookstore.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("valid JSON");
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for (start, _) in expr.match_indices("bookstore_web_") {
                let tail = &expr[start..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                names.push(tail[..end].to_owned());
            }
        }
    }
    assert!(names.len() >= 3, "{names:?}");

    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.get("/").await;
    let text = metrics(&mut browser).await;
    for name in names {
        assert!(
            text.contains(&format!("\n{name}{{")),
            "the dashboard charts {name}, which the storefront does not export:\n{text}"
        );
    }
}
