//! The storefront tells the backend who the shopper is and which request
//! this is: `X-Forwarded-For` with the shopper's address (the peer, or what
//! its own trusted proxies vouch for) and its `X-Request-Id`, which it also
//! sets on its own answers. A fake backend records what it was sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::http::{HeaderMap, Request};
use axum::routing::any;
use bookstore_test_support::TestDatabase;
use bookstore_web::config::Config;
use tower::ServiceExt;

use support::Browser;

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    forwarded_for: Option<String>,
    request_id: Option<String>,
}

/// A backend that records the headers of every call and answers an error.
async fn fake_backend() -> (String, Arc<Mutex<Vec<Seen>>>) {
    fake_backend_answering(r#"{"data":null,"errors":[{"message":"fake backend"}]}"#).await
}

async fn fake_backend_answering(answer: &'static str) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().route(
        "/graphql",
        // Public pages GET their query, forms POST theirs.
        any(move |headers: HeaderMap| {
            let record = record.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .map(|value| value.to_str().unwrap().to_owned())
                };
                record.lock().unwrap().push(Seen {
                    forwarded_for: header("x-forwarded-for"),
                    request_id: header("x-request-id"),
                });
                ([("content-type", "application/json")], answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/graphql"), seen)
}

fn storefront(graphql_url: &str, trusted_proxies: &str) -> axum::Router {
    let config = Config::from_lookup(|name| match name {
        "GRAPHQL_URL" => Some(graphql_url.to_owned()),
        "CSRF_SECRET" => Some("test secret".to_owned()),
        "TRUSTED_PROXIES" => Some(trusted_proxies.to_owned()),
        _ => None,
    })
    .unwrap();
    bookstore_web::router(bookstore_web::AppState::new(&config).unwrap())
}

/// GETs the home page (which calls the backend) from `peer`; returns the
/// storefront's `x-request-id` and what the backend saw.
async fn visit(
    router: &axum::Router,
    seen: &Mutex<Vec<Seen>>,
    peer: &str,
    headers: &[(&str, &str)],
) -> (Option<String>, Seen) {
    let mut request = Request::get("/");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = format!("{peer}:50000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    seen.lock().unwrap().clear();
    let response = router.clone().oneshot(request).await.unwrap();
    let id = response
        .headers()
        .get("x-request-id")
        .map(|value| value.to_str().unwrap().to_owned());
    let calls = seen.lock().unwrap().clone();
    assert!(!calls.is_empty(), "the page called the backend");
    assert!(calls.iter().all(|call| *call == calls[0]), "{calls:?}");
    (id, calls[0].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backend_is_told_the_shoppers_address_and_the_request_id() {
    let (url, seen) = fake_backend().await;
    // Behind nginx at 10.0.0.1: the shopper is the rightmost untrusted hop.
    let behind_nginx = storefront(&url, "10.0.0.0/24");
    let (id, backend) = visit(
        &behind_nginx,
        &seen,
        "10.0.0.1",
        &[
            ("x-forwarded-for", "6.6.6.6, 203.0.113.9"),
            ("x-request-id", "nginx-abc-1"),
        ],
    )
    .await;
    assert_eq!(backend.forwarded_for.as_deref(), Some("203.0.113.9"));
    assert_eq!(backend.request_id.as_deref(), Some("nginx-abc-1"));
    assert_eq!(id.as_deref(), Some("nginx-abc-1"));

    // An untrusted peer: its own address, and a fresh id of ours.
    let (id, backend) = visit(
        &behind_nginx,
        &seen,
        "198.51.100.2",
        &[("x-forwarded-for", "6.6.6.6"), ("x-request-id", "evil")],
    )
    .await;
    assert_eq!(backend.forwarded_for.as_deref(), Some("198.51.100.2"));
    let id = id.expect("the storefront's answer carries an id");
    assert_ne!(id, "evil");
    assert_eq!(backend.request_id.as_deref(), Some(id.as_str()));

    // Trusting nobody (the default): the peer, whatever it claims.
    let exposed = storefront(&url, "");
    let (_, backend) = visit(
        &exposed,
        &seen,
        "10.0.0.1",
        &[("x-forwarded-for", "6.6.6.6")],
    )
    .await;
    assert_eq!(backend.forwarded_for.as_deref(), Some("10.0.0.1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_backend_gets_the_try_again_page() {
    let (url, _) = fake_backend_answering(
        r#"{"data":null,"errors":[{"message":"the service is busy, try again in a moment","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}"#,
    )
    .await;
    let response = storefront(&url, "")
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
}

/// A real backend that trusts the storefront (on 127.0.0.1) to say who
/// the shopper is.
async fn backend_trusting_the_storefront(database: &TestDatabase) -> String {
    let config = bookstore::config::Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(database.url.clone()),
        "CACHE_NAMESPACE" => Some(database.name.clone()),
        "REDIS_URL" => Some(bookstore_test_support::redis_url()),
        "DATABASE_POOL_SIZE" => Some("4".into()),
        "TRUSTED_PROXIES" => Some("127.0.0.1".into()),
        "LOGIN_MAX_ATTEMPTS_PER_CLIENT" => Some("4".into()),
        _ => None,
    })
    .unwrap();
    let state = bookstore::app::AppState::new(&config).unwrap();
    let router = bookstore::app::router(state, &config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    format!("http://{address}/graphql")
}

/// A browser whose requests reach the storefront from `peer`.
fn browser_at(storefront: &axum::Router, peer: &str) -> Browser {
    let peer: SocketAddr = format!("{peer}:50000").parse().unwrap();
    Browser::for_router(storefront.clone().layer(axum::middleware::from_fn(
        move |mut request: axum::extract::Request, next: axum::middleware::Next| {
            request.extensions_mut().insert(ConnectInfo(peer));
            next.run(request)
        },
    )))
}

#[tokio::test(flavor = "multi_thread")]
async fn one_shoppers_failed_sign_ins_do_not_lock_out_another() {
    let database = TestDatabase::seeded().await;
    let url = backend_trusting_the_storefront(&database).await;
    let shop = storefront(&url, "");
    let fields =
        |email: &'static str, password: &'static str| [("email", email), ("password", password)];
    let mut shopper = browser_at(&shop, "198.51.100.1");
    let registered = shopper
        .submit(
            "/register",
            "/register",
            &[
                ("email", "shopper@example.com"),
                ("name", "Shopper"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::SEE_OTHER,
        "{}",
        registered.html
    );
    assert!(!shopper.cookies.contains_key("bookstore_session"));

    let mut attacker = browser_at(&shop, "203.0.113.66");
    for n in 0..4 {
        let email: &'static str = Box::leak(format!("victim{n}@example.com").into_boxed_str());
        let page = attacker
            .submit("/login", "/login", &fields(email, "wrong guess"))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {n}");
    }
    let page = attacker
        .submit(
            "/login",
            "/login",
            &fields("victim9@example.com", "wrong guess"),
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);

    // The shopper, through the same storefront, signs in as usual.
    let page = shopper
        .submit(
            "/login",
            "/login",
            &fields("shopper@example.com", "correct horse battery"),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_log_line_of_a_page_request_has_its_id() {
    use std::process::{Command, Stdio};

    let (url, seen) = fake_backend().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_bookstore-web"))
        .env("GRAPHQL_URL", &url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("TRUSTED_PROXIES", "127.0.0.1")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut answer = String::new();
    for _ in 0..100 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(address).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let request = "GET / HTTP/1.0\r\nx-request-id: page-log-9\r\n\r\n";
            stream.write_all(request.as_bytes()).await.unwrap();
            stream.read_to_string(&mut answer).await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(answer.contains("x-request-id: page-log-9"), "{answer}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let logs = child.wait_with_output().unwrap().stderr;
    let logs = String::from_utf8_lossy(&logs);
    let lines: Vec<&str> = logs.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.contains("started processing request"))
        .expect("the request was logged");
    let end = lines
        .iter()
        .position(|line| line.contains("finished processing request"))
        .expect("the response was logged");
    // The page's own complaint about the backend's answer is among them.
    assert!(end > start + 1, "{logs}");
    for line in &lines[start..=end] {
        assert!(line.contains("page-log-9"), "a line without the id: {line}");
    }
    assert_eq!(
        seen.lock().unwrap()[0].request_id.as_deref(),
        Some("page-log-9")
    );
}
