//! One trace per page across storefront → backend, exported over OTLP: a
//! fake collector (HTTP/protobuf, as the exporters send it) receives the
//! spans of both services for one storefront page, all with one trace id,
//! the backend's request span a child of the storefront's.
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
