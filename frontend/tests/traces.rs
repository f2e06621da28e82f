//! One trace per page across storefront → backend, exported over OTLP: a
//! fake collector (HTTP/protobuf, as the exporters send it) receives the
//! spans of both services for one storefront page, all with one trace id,
//! the backend's request span a child of the storefront's. And without an
//! exporter: the storefront continues a trusted proxy's `traceparent`
//! (only a trusted proxy's; a malformed one starts a new trace), logs its
//! `trace_id` and passes the trace on to a fake backend.
//!
//! The storefront is the real binary (its own process, its own exporter);
//! the backend runs in this test's process with the same telemetry set up
//! as its binary does (this file is a test binary of its own, so the
//! global subscriber is this test's alone).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use bookstore_test_support::TestDatabase;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

/// A span as the collector received it.
#[derive(Clone, Debug)]
struct Received {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
}

/// A fake OTLP/HTTP collector on a free port: its base URL and what it got.
async fn collector() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let router = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let store = store.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                for resource_spans in request.resource_spans {
                    let service = resource_spans
                        .resource
                        .iter()
                        .flat_map(|resource| &resource.attributes)
                        .find(|attribute| attribute.key == "service.name")
                        .and_then(|attribute| attribute.value.clone()?.value)
                        .map(|value| match value {
                            Value::StringValue(name) => name,
                            other => format!("{other:?}"),
                        })
                        .unwrap_or_default();
                    for scope in resource_spans.scope_spans {
                        for span in scope.spans {
                            store.lock().unwrap().push(Received {
                                service: service.clone(),
                                name: span.name,
                                trace_id: span.trace_id,
                                span_id: span.span_id,
                                parent_span_id: span.parent_span_id,
                            });
                        }
                    }
                }
                ([("content-type", "application/x-protobuf")], Bytes::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}"), received)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_storefront_page_is_one_trace_across_both_services() {
    let (collector_url, received) = collector().await;
    let telemetry = bookstore_telemetry::init(
        "bookstore",
        &bookstore_telemetry::Settings {
            otlp_endpoint: Some(collector_url.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let database = TestDatabase::seeded().await;
    // The storefront (on loopback) is the backend's trusted proxy.
    let graphql_url =
        support::backend_with(&database, &[("TRUSTED_PROXIES", "127.0.0.1".to_owned())]).await;

    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut storefront = Command::new(env!("CARGO_BIN_EXE_bookstore-web"))
        .env_clear()
        .env("BIND_ADDR", &address)
        .env("GRAPHQL_URL", &graphql_url)
        .env("RUST_LOG", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let page = loop {
        if let Ok(page) = client.get(format!("http://{address}/")).send().await {
            break page;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the storefront did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    page.text().await.unwrap();

    // A clean stop sends the storefront's queued spans; this process's
    // exporter is flushed by hand.
    let sent = Command::new("kill")
        .args(["-TERM", &storefront.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let stopped = tokio::task::spawn_blocking(move || storefront.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(stopped.success(), "{stopped}");
    telemetry.flush();

    let spans = received.lock().unwrap().clone();
    let storefront_spans: Vec<&Received> = spans
        .iter()
        .filter(|span| span.service == "bookstore-web" && span.name == "request")
        .collect();
    assert_eq!(storefront_spans.len(), 1, "one page request: {spans:#?}");
    let page_span = storefront_spans[0];
    let backend_spans: Vec<&Received> = spans
        .iter()
        .filter(|span| span.service == "bookstore" && span.name == "request")
        .collect();
    assert!(!backend_spans.is_empty(), "the backend's spans: {spans:#?}");
    for span in &backend_spans {
        assert_eq!(span.trace_id, page_span.trace_id, "one trace: {spans:#?}");
        assert_eq!(
            span.parent_span_id, page_span.span_id,
            "the backend's request is a child of the page's: {spans:#?}"
        );
    }
    assert!(
        page_span.parent_span_id.is_empty(),
        "the page starts the trace"
    );
}

/// A backend that records the `traceparent` of every call and answers an
/// error (the storefront shows its error page: the call is what counts).
async fn recording_backend() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().route(
        "/graphql",
        axum::routing::any(move |headers: axum::http::HeaderMap| {
            let record = record.clone();
            async move {
                let traceparent = headers
                    .get("traceparent")
                    .map(|value| value.to_str().unwrap().to_owned());
                record.lock().unwrap().push(traceparent);
                (
                    [("content-type", "application/json")],
                    r#"{"data":null,"errors":[{"message":"fake backend"}]}"#,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/graphql"), seen)
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Runs the storefront binary (JSON logs, no exporter) trusting
/// `trusted_proxies`, GETs `/` once per entry of `traceparents` (none for
/// `None`), stops it; returns the `traceparent` the backend got for each
/// page (the first call of each) and the storefront's log.
async fn pages_with(
    trusted_proxies: &str,
    rust_log: &str,
    traceparents: &[Option<&str>],
) -> (Vec<bookstore_telemetry::TraceParent>, String) {
    let (graphql_url, seen) = recording_backend().await;
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let storefront = Command::new(env!("CARGO_BIN_EXE_bookstore-web"))
        .env_clear()
        .env("BIND_ADDR", &address)
        .env("GRAPHQL_URL", &graphql_url)
        .env("TRUSTED_PROXIES", trusted_proxies)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the storefront did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut got = Vec::new();
    for traceparent in traceparents {
        let before = seen.lock().unwrap().len();
        let mut request = client.get(format!("http://{address}/"));
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", *traceparent);
        }
        let page = request.send().await.unwrap();
        assert_ne!(page.status(), reqwest::StatusCode::BAD_REQUEST);
        page.text().await.unwrap();
        let sent = seen.lock().unwrap()[before].clone();
        let sent = sent.expect("the backend call carries a traceparent");
        got.push(bookstore_telemetry::TraceParent::parse(&sent).expect(&sent));
    }
    Command::new("kill")
        .args(["-TERM", &storefront.id().to_string()])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || storefront.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    (got, String::from_utf8_lossy(&output.stderr).into_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_storefront_continues_a_trusted_proxys_trace_and_passes_it_on() {
    let malformed = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7";
    let (sent, logs) = pages_with(
        "127.0.0.1",
        "info",
        &[Some(TRACEPARENT), Some(malformed), None],
    )
    .await;
    assert_eq!(hex(&sent[0].trace_id), TRACE, "the proxy's trace goes on");
    assert_ne!(
        hex(&sent[0].parent_id),
        "00f067aa0ba902b7",
        "the parent is the storefront's own span"
    );
    assert!(sent[0].sampled);
    assert_ne!(
        hex(&sent[1].trace_id),
        TRACE,
        "a malformed header: new trace"
    );
    assert_ne!(
        sent[1].trace_id, sent[2].trace_id,
        "each page its own trace"
    );
    // The page's log lines carry the trace id the backend was sent.
    for page in &sent {
        let trace = hex(&page.trace_id);
        let lines = logs
            .lines()
            .filter(|line| line.contains(&format!("\"trace_id\":\"{trace}\"")))
            .count();
        assert!(
            lines >= 2,
            "start and end of the page logged with {trace}: {logs}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_peers_traceparent_is_not_continued() {
    let (sent, _) = pages_with("", "info", &[Some(TRACEPARENT)]).await;
    assert_ne!(hex(&sent[0].trace_id), TRACE);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trace_goes_on_even_when_the_log_filter_turns_request_spans_off() {
    let (sent, _) = pages_with("127.0.0.1", "warn", &[Some(TRACEPARENT), None]).await;
    assert_eq!(hex(&sent[0].trace_id), TRACE);
    assert_ne!(hex(&sent[0].parent_id), "00f067aa0ba902b7");
    assert_ne!(
        sent[1].trace_id, sent[0].trace_id,
        "a new trace without one"
    );
}
