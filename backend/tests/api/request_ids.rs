//! Request ids: every response carries `x-request-id` (a trusted proxy's,
//! if valid, else a new one), GraphQL errors carry it in
//! `extensions.requestId`, and every log line of the request has it.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::support::{Reply, TestApp};

fn with_peer(mut request: Request<Body>, peer: &str) -> Request<Body> {
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn request_id(reply: &Reply) -> String {
    reply
        .headers
        .get("x-request-id")
        .unwrap_or_else(|| panic!("no x-request-id on a {} answer", reply.status))
        .to_str()
        .unwrap()
        .to_owned()
}

fn graphql_post() -> axum::http::request::Builder {
    Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/graphql-response+json")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_carries_a_request_id() {
    let app = TestApp::with_env(&[("MAX_BODY_BYTES", "1000")]).await;
    let query = json!({"query": "{ genres { name } }"}).to_string();
    let replies = [
        app.send(graphql_post().body(Body::from(query.clone())).unwrap())
            .await,
        app.send(Request::get("/healthz").body(Body::empty()).unwrap())
            .await,
        app.send(Request::get("/no/such/page").body(Body::empty()).unwrap())
            .await,
        app.send(
            graphql_post()
                .body(Body::from(format!(
                    "{{\"query\": \"{}\"}}",
                    "x".repeat(5000)
                )))
                .unwrap(),
        )
        .await,
        app.send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await,
    ];
    let statuses: Vec<StatusCode> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        ]
    );
    // The plain (non-GraphQL) error bodies carry it too.
    for reply in &replies[3..] {
        assert_eq!(
            reply.json()["errors"][0]["extensions"]["requestId"],
            request_id(reply),
            "{}",
            reply.body
        );
    }
    let mut ids: Vec<String> = replies.iter().map(request_id).collect();
    for id in &ids {
        assert!(
            id.len() >= 16 && id.chars().all(|c| c.is_ascii_graphic()),
            "{id}"
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), replies.len(), "each request its own id");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_request_carries_its_id_too() {
    // Redis accepts and never answers, for longer than the request may take.
    let hung = crate::throttling::stalling_listener().await;
    let app = TestApp::with_env(&[
        ("REDIS_URL", &hung),
        ("REDIS_TIMEOUT_MS", "5000"),
        ("REQUEST_TIMEOUT_SECS", "1"),
    ])
    .await;
    let query = json!({"query": "{ books(first: 2) { nodes { title } } }"}).to_string();
    let reply = app
        .send(graphql_post().body(Body::from(query)).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!request_id(&reply).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_proxys_request_id_is_kept_and_an_untrusted_one_ignored() {
    let app = TestApp::with_env(&[("TRUSTED_PROXIES", "10.0.0.100")]).await;
    let send = |peer: &'static str, id: &'static str| {
        let app = &app;
        async move {
            let request = Request::get("/healthz")
                .header("x-request-id", id)
                .body(Body::empty())
                .unwrap();
            request_id(&app.send(with_peer(request, peer)).await)
        }
    };
    assert_eq!(
        send("10.0.0.100", "storefront-1234").await,
        "storefront-1234"
    );
    assert_ne!(
        send("203.0.113.7", "attacker-chosen").await,
        "attacker-chosen"
    );
    // Even a trusted proxy's id must be short, visible ASCII.
    let long: &'static str = Box::leak("x".repeat(300).into_boxed_str());
    assert_ne!(send("10.0.0.100", long).await, long);
    assert_ne!(send("10.0.0.100", "two words").await, "two words");
}

#[tokio::test(flavor = "multi_thread")]
async fn graphql_errors_carry_the_request_id() {
    let app = TestApp::with_env(&[("TRUSTED_PROXIES", "10.0.0.100")]).await;
    for query in [
        // A resolver error (execution): staff only.
        "{ orders(first: 1) { totalCount } }",
        // A request error (parse).
        "{ books(",
    ] {
        let body = json!({"query": query}).to_string();
        let request = graphql_post()
            .header("x-request-id", "proxy-id-42")
            .body(Body::from(body))
            .unwrap();
        let reply = app.send(with_peer(request, "10.0.0.100")).await;
        assert_eq!(request_id(&reply), "proxy-id-42");
        let json = reply.json();
        let errors = json["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{json}");
        for error in errors {
            assert_eq!(error["extensions"]["requestId"], "proxy-id-42", "{json}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_log_line_of_a_request_has_its_id() {
    // The real binary with its real (JSON) logging.
    let (status, logs) =
        crate::traces::log_of_one_request("127.0.0.1", &[("x-request-id", "log-me-7")]).await;
    assert_eq!(status, StatusCode::OK);
    for line in crate::traces::request_lines(&logs) {
        assert!(line.contains("log-me-7"), "a line without the id: {line}");
    }
}
