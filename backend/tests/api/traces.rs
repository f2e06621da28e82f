//! Traces: a trusted proxy's W3C `traceparent` is continued (every log line
//! of the request carries its trace id), a malformed or untrusted one is
//! ignored (a new trace, never an error). The real binary with its real
//! JSON logging.

use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::TestApp;

/// The backend's JSON log of one `{ genres { name } }` request sent with
/// `headers`, by a peer the backend trusts only if `trusted_proxies`
/// names 127.0.0.1; also the answer's status.
pub async fn log_of_one_request(
    trusted_proxies: &str,
    headers: &[(&str, &str)],
) -> (reqwest::StatusCode, String) {
    let app = TestApp::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_bookstore"))
        .arg("serve")
        .env("DATABASE_URL", &app.database.url)
        .env(
            "REDIS_URL",
            app.config.redis_url.clone().unwrap_or_default(),
        )
        .env("CACHE_NAMESPACE", &app.config.cache_namespace)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("TRUSTED_PROXIES", trusted_proxies)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=debug,bookstore=debug")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        // Background jobs log their own SQL, outside any request.
        .env("SERVE_RUNS_WORKER", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let mut reply = None;
    for _ in 0..100 {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(json!({"query": "{ genres { name } }"}).to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Ok(sent) = request.send().await {
            reply = Some(sent);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let reply = reply.expect("the backend answered");
    let status = reply.status();
    reply.text().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (status, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The lines the request logged: from the trace layer's start to its end
/// (the SQL it ran included), and anything else in its span.
pub fn request_lines(logs: &str) -> Vec<&str> {
    let lines: Vec<&str> = logs.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.contains("started processing request"))
        .unwrap_or_else(|| panic!("the request was logged: {logs}"));
    let end = lines
        .iter()
        .position(|line| line.contains("finished processing request"))
        .unwrap_or_else(|| panic!("the response was logged: {logs}"));
    let request_lines: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(n, line)| (start..=end).contains(n) || line.contains("\"spans\""))
        .map(|(_, line)| *line)
        .collect();
    assert!(
        request_lines
            .iter()
            .any(|line| line.contains("bookstore::sql")),
        "the request's SQL is logged too: {logs}"
    );
    request_lines
}

/// The `trace_id` of the request's span on a JSON log line.
fn trace_id(line: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    json["span"]["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no trace_id on {line}"))
        .to_owned()
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test(flavor = "multi_thread")]
async fn every_log_line_carries_the_trace_of_a_trusted_proxys_traceparent() {
    let (status, logs) = log_of_one_request(
        "127.0.0.1",
        &[("traceparent", TRACEPARENT), ("x-request-id", "traced-1")],
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    for line in request_lines(&logs) {
        assert!(line.contains("traced-1"), "a line without the id: {line}");
        assert_eq!(trace_id(line), TRACE, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_traceparent_starts_a_new_trace_and_is_no_error() {
    let malformed = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
    let (status, logs) = log_of_one_request("127.0.0.1", &[("traceparent", malformed)]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let lines = request_lines(&logs);
    let new_trace = trace_id(lines[0]);
    assert_eq!(new_trace.len(), 32, "{new_trace}");
    assert_ne!(new_trace.to_lowercase(), TRACE.to_lowercase());
    for line in lines {
        assert_eq!(
            trace_id(line),
            new_trace,
            "one trace for the request: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_peers_traceparent_is_ignored() {
    let (status, logs) = log_of_one_request("10.9.9.9", &[("traceparent", TRACEPARENT)]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    for line in request_lines(&logs) {
        assert_ne!(trace_id(line), TRACE, "{line}");
    }
}
