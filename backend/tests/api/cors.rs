//! CORS on `/graphql`: an allowed origin gets its preflight and its
//! answers' headers (no credentials), any other origin gets no
//! `Access-Control-Allow-Origin`, and without `CORS_ALLOWED_ORIGINS` no
//! CORS header is sent at all; a bad origin in the setting stops startup.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::support::{Reply, TestApp};

const ALLOWED: &str = "https://app.example.com";

async fn app_with_cors() -> TestApp {
    TestApp::with_env(&[
        (
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:5173",
        ),
        ("CORS_MAX_AGE_SECS", "600"),
    ])
    .await
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/graphql")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "content-type,authorization,x-request-id",
        )
        .body(Body::empty())
        .unwrap()
}

fn post(origin: &str) -> Request<Body> {
    Request::post("/graphql")
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"query": "{ genres { name } }"}).to_string(),
        ))
        .unwrap()
}

fn get(origin: &str) -> Request<Body> {
    Request::get("/graphql?query=%7B%20genres%20%7B%20name%20%7D%20%7D")
        .header(header::ORIGIN, origin)
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap()
}

fn header_of(reply: &Reply, name: header::HeaderName) -> Option<&str> {
    reply.headers.get(name).map(|value| value.to_str().unwrap())
}

fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_origin_gets_its_preflight_and_its_answers() {
    let app = app_with_cors().await;
    let reply = app.send(preflight(ALLOWED)).await;
    assert!(
        reply.status.is_success(),
        "{}: {}",
        reply.status,
        reply.body
    );
    assert_eq!(
        header_of(&reply, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ALLOWED)
    );
    let methods = list(header_of(&reply, header::ACCESS_CONTROL_ALLOW_METHODS));
    assert_eq!(methods, ["get", "post"]);
    let headers = list(header_of(&reply, header::ACCESS_CONTROL_ALLOW_HEADERS));
    for wanted in ["content-type", "authorization", "x-request-id"] {
        assert!(headers.iter().any(|h| h == wanted), "{headers:?}");
    }
    assert_eq!(
        header_of(&reply, header::ACCESS_CONTROL_MAX_AGE),
        Some("600")
    );
    assert_eq!(
        header_of(&reply, header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        None,
        "never credentials"
    );

    for request in [post(ALLOWED), get(ALLOWED), post("http://localhost:5173")] {
        let origin = request.headers()[header::ORIGIN]
            .to_str()
            .unwrap()
            .to_owned();
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(reply.body.contains("genres"), "{}", reply.body);
        assert_eq!(
            header_of(&reply, header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(origin.as_str())
        );
        let vary: Vec<String> = reply
            .headers
            .get_all(header::VARY)
            .iter()
            .flat_map(|value| list(value.to_str().ok()))
            .collect();
        assert!(vary.contains(&"origin".to_owned()), "{vary:?}");
        assert_eq!(
            list(header_of(&reply, header::ACCESS_CONTROL_EXPOSE_HEADERS)),
            ["x-request-id"]
        );
        assert_eq!(
            header_of(&reply, header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
            None
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_origin_gets_no_allow_origin() {
    let app = app_with_cors().await;
    for origin in [
        "https://evil.example.com",
        "https://app.example.com.evil.example",
        "http://app.example.com",
        "null",
    ] {
        for request in [preflight(origin), post(origin)] {
            let reply = app.send(request).await;
            assert_eq!(
                header_of(&reply, header::ACCESS_CONTROL_ALLOW_ORIGIN),
                None,
                "{origin}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_no_cors_header_is_sent() {
    let app = TestApp::new().await;
    for request in [preflight(ALLOWED), post(ALLOWED), get(ALLOWED)] {
        let reply = app.send(request).await;
        let cors: Vec<&str> = reply
            .headers
            .keys()
            .map(|name| name.as_str())
            .filter(|name| name.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{cors:?}");
    }
}

#[test]
fn a_bad_origin_in_the_setting_stops_startup_naming_it() {
    for bad in ["*", "https://app.example.com/", "app.example.com"] {
        let error = bookstore::config::Config::from_lookup(|name| {
            (name == "CORS_ALLOWED_ORIGINS").then(|| format!("https://ok.example.com,{bad}"))
        })
        .expect_err(bad)
        .to_string();
        assert!(
            error.contains("CORS_ALLOWED_ORIGINS") && error.contains(bad),
            "{error}"
        );
    }
}
