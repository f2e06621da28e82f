//! Throttles that never lock out the whole shop and never fail open: the
//! client address comes from trusted proxies only (the rightmost untrusted
//! `X-Forwarded-For` hop), successful sign-ins cost nothing, registration
//! and account changes are throttled too, and a Redis outage falls back to
//! in-process counters.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use serde_json::{Value, json};

use crate::support::TestApp;

const LOGIN: &str = "mutation($input: LoginInput!) {
  login(input: $input) { token userErrors { code } } }";
const REGISTER: &str = "mutation($input: RegisterInput!) {
  register(input: $input) { accepted userErrors { field code } } }";
const UPDATE_PROFILE: &str = "mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { email pendingEmail name } userErrors { field code message } } }";
const CHANGE_PASSWORD: &str = "mutation($input: ChangePasswordInput!) {
  changePassword(input: $input) { userErrors { field code } } }";

/// The storefront (or nginx) in these tests.
const PROXY: &str = "10.0.0.100";

/// A GraphQL POST arriving from `peer` with an optional `X-Forwarded-For`.
pub async fn from(
    app: &TestApp,
    peer: &str,
    forwarded: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let body = json!({"query": query, "variables": variables}).to_string();
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(forwarded) = forwarded {
        request = request.header("X-Forwarded-For", forwarded);
    }
    let mut request = request.body(Body::from(body)).unwrap();
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.send(request).await.json()
}

async fn login(
    app: &TestApp,
    peer: &str,
    forwarded: Option<&str>,
    email: &str,
    password: &str,
) -> Value {
    from(
        app,
        peer,
        forwarded,
        LOGIN,
        json!({"input": {"email": email, "password": password}}),
    )
    .await
}

fn refused(body: &Value) -> bool {
    body["errors"][0]["extensions"]["code"] == "TOO_MANY_ATTEMPTS"
}

fn signed_in(body: &Value) -> bool {
    body["data"]["login"]["token"].is_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_clients_failures_do_not_lock_out_other_shoppers_behind_the_storefront() {
    let app = TestApp::with_env(&[("TRUSTED_PROXIES", "10.0.0.0/24")]).await;
    app.customer_token("shopper@example.com").await;
    // 31 wrong guesses at different accounts, all through the storefront.
    for n in 0..30 {
        let body = login(
            &app,
            PROXY,
            Some("203.0.113.7"),
            &format!("u{n}@example.com"),
            "wrong guess",
        )
        .await;
        assert!(!refused(&body), "attempt {n}: {body}");
    }
    let body = login(
        &app,
        PROXY,
        Some("203.0.113.7"),
        "u31@example.com",
        "wrong guess",
    )
    .await;
    assert!(refused(&body), "{body}");
    // Another shopper, through the same storefront, still signs in.
    let body = login(
        &app,
        PROXY,
        Some("198.51.100.9"),
        "shopper@example.com",
        "correct horse battery",
    )
    .await;
    assert!(signed_in(&body), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_peers_forwarded_for_is_ignored() {
    let app = TestApp::with_env(&[
        ("TRUSTED_PROXIES", PROXY),
        // Today's setting: it trusts the header from anyone.
        ("CLIENT_IP_HEADER", "X-Forwarded-For"),
        ("LOGIN_MAX_ATTEMPTS_PER_CLIENT", "3"),
    ])
    .await;
    for n in 0..3 {
        let spoofed = format!("192.0.2.{n}");
        let body = login(
            &app,
            "203.0.113.7",
            Some(&spoofed),
            &format!("u{n}@example.com"),
            "wrong guess",
        )
        .await;
        assert!(!refused(&body), "{body}");
    }
    let body = login(
        &app,
        "203.0.113.7",
        Some("192.0.2.99"),
        "u9@example.com",
        "wrong guess",
    )
    .await;
    assert!(refused(&body), "spoofing escaped the bucket: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_is_the_rightmost_untrusted_hop_never_the_first() {
    let app = TestApp::with_env(&[
        ("TRUSTED_PROXIES", "10.0.0.0/24, 2001:db8::/32"),
        ("CLIENT_IP_HEADER", "X-Forwarded-For"),
        ("LOGIN_MAX_ATTEMPTS_PER_CLIENT", "3"),
    ])
    .await;
    // The client writes the first hops; the proxies append what they saw.
    for n in 0..3 {
        let chain = format!("192.0.2.{n}, 203.0.113.7, 10.0.0.101");
        let body = login(
            &app,
            PROXY,
            Some(&chain),
            &format!("u{n}@example.com"),
            "wrong guess",
        )
        .await;
        assert!(!refused(&body), "{body}");
    }
    let body = login(
        &app,
        PROXY,
        Some("spoofed, 203.0.113.7"),
        "u8@example.com",
        "wrong guess",
    )
    .await;
    assert!(refused(&body), "{body}");
    // A different real client through the same proxies is its own bucket.
    let body = login(
        &app,
        PROXY,
        Some("203.0.113.7, 198.51.100.1"),
        "u9@example.com",
        "wrong guess",
    )
    .await;
    assert!(!refused(&body), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn successful_sign_ins_do_not_count_against_the_client() {
    let app = TestApp::with_env(&[
        ("TRUSTED_PROXIES", PROXY),
        ("LOGIN_MAX_ATTEMPTS_PER_CLIENT", "3"),
    ])
    .await;
    app.customer_token("regular@example.com").await;
    // A shared office address: many successful sign-ins...
    for _ in 0..6 {
        let body = login(
            &app,
            PROXY,
            Some("198.51.100.5"),
            "regular@example.com",
            "correct horse battery",
        )
        .await;
        assert!(signed_in(&body), "{body}");
    }
    // ... leave the client's whole allowance for mistakes.
    for n in 0..3 {
        let body = login(
            &app,
            PROXY,
            Some("198.51.100.5"),
            &format!("typo{n}@example.com"),
            "wrong",
        )
        .await;
        assert!(!refused(&body), "{body}");
    }
    let body = login(
        &app,
        PROXY,
        Some("198.51.100.5"),
        "typo9@example.com",
        "wrong",
    )
    .await;
    assert!(refused(&body), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_is_throttled_per_client() {
    let app =
        TestApp::with_env(&[("TRUSTED_PROXIES", PROXY), ("REGISTER_MAX_PER_CLIENT", "2")]).await;
    let register = |forwarded: &'static str, email: &'static str| {
        let app = &app;
        async move {
            from(
                app,
                PROXY,
                Some(forwarded),
                REGISTER,
                json!({"input": {"email": email, "name": "Bot", "password": "correct horse battery"}}),
            )
            .await
        }
    };
    assert!(
        register("203.0.113.7", "bot1@example.com").await["data"]["register"]["accepted"] == true
    );
    assert!(
        register("203.0.113.7", "bot2@example.com").await["data"]["register"]["accepted"] == true
    );
    let body = register("203.0.113.7", "bot3@example.com").await;
    assert!(refused(&body), "{body}");
    let body = register("198.51.100.9", "human@example.com").await;
    assert!(body["data"]["register"]["accepted"] == true, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_and_password_changes_are_throttled_per_account() {
    let app = TestApp::with_env(&[("PROFILE_MAX_CHANGES_PER_ACCOUNT", "3")]).await;
    let token = app.customer_token("changer@example.com").await;
    for n in 0..3 {
        let data = app
            .data_as(
                &token,
                UPDATE_PROFILE,
                json!({"input": {"name": format!("Name {n}")}}),
            )
            .await;
        assert_eq!(data["updateProfile"]["user"]["name"], format!("Name {n}"));
    }
    let body = app
        .graphql_as(
            &token,
            UPDATE_PROFILE,
            json!({"input": {"name": "Too Many"}}),
        )
        .await
        .json();
    assert!(refused(&body), "{body}");
    let body = app
        .graphql_as(
            &token,
            CHANGE_PASSWORD,
            json!({"input": {"currentPassword": "correct horse battery", "newPassword": "another long one"}}),
        )
        .await
        .json();
    assert!(refused(&body), "{body}");
    // Another account is not affected.
    let other = app.customer_token("other@example.com").await;
    let data = app
        .data_as(&other, UPDATE_PROFILE, json!({"input": {"name": "Fine"}}))
        .await;
    assert_eq!(data["updateProfile"]["user"]["name"], "Fine");
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_email_requires_the_current_password() {
    let app = TestApp::new().await;
    let token = app.customer_token("owner@example.com").await;
    let change = |input: Value| {
        let (app, token) = (&app, &token);
        async move {
            app.data_as(token, UPDATE_PROFILE, json!({"input": input}))
                .await["updateProfile"]
                .clone()
        }
    };
    let missing = change(json!({"email": "thief@example.com"})).await;
    assert_eq!(
        missing["userErrors"][0]["field"],
        json!(["input", "currentPassword"]),
        "{missing}"
    );
    assert_eq!(missing["userErrors"][0]["code"], "INVALID", "{missing}");
    let wrong =
        change(json!({"email": "thief@example.com", "currentPassword": "not it at all"})).await;
    assert_eq!(
        wrong["userErrors"][0]["code"], "INVALID_CREDENTIALS",
        "{wrong}"
    );
    // The same email (any case) and a name need no password.
    let same = change(json!({"email": "OWNER@example.com", "name": "Owner"})).await;
    assert_eq!(same["user"]["name"], "Owner", "{same}");
    let right =
        change(json!({"email": "moved@example.com", "currentPassword": "correct horse battery"}))
            .await;
    // Right: the new address waits for its link; the account keeps the old.
    assert_eq!(right["user"]["email"], "OWNER@example.com", "{right}");
    assert_eq!(
        right["user"]["pendingEmail"], "moved@example.com",
        "{right}"
    );
}

/// Accepts connections and never answers: a hung Redis.
pub async fn stalling_listener() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("redis://{address}")
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_holds_when_redis_is_down_or_hung() {
    let hung = stalling_listener().await;
    for redis in ["redis://127.0.0.1:1", hung.as_str()] {
        let app = TestApp::with_env(&[
            ("REDIS_URL", redis),
            ("REDIS_TIMEOUT_MS", "50"),
            ("LOGIN_MAX_ATTEMPTS_PER_CLIENT", "3"),
        ])
        .await;
        for n in 0..3 {
            let body = login(
                &app,
                "203.0.113.7",
                None,
                &format!("u{n}@example.com"),
                "wrong guess",
            )
            .await;
            assert!(!refused(&body), "{redis}: {body}");
        }
        let body = login(&app, "203.0.113.7", None, "u9@example.com", "wrong guess").await;
        assert!(refused(&body), "{redis}: failed open: {body}");
        let body = login(&app, "198.51.100.9", None, "u9@example.com", "wrong guess").await;
        assert!(!refused(&body), "{redis}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_registrations_never_hashes_more_than_one_password_per_core() {
    let app = TestApp::with_env(&[("TRUSTED_PROXIES", PROXY)]).await;
    let registrations = (0..40).map(|n| {
        let app = &app;
        async move {
            let client = format!("198.51.100.{n}");
            from(
                app,
                PROXY,
                Some(&client),
                REGISTER,
                json!({"input": {"email": format!("flood{n}@example.com"), "name": "Flood", "password": "correct horse battery"}}),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(registrations).await;
    for answer in &answers {
        let registered = answer["data"]["register"]["accepted"] == true;
        let busy = answer["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE";
        assert!(registered || busy, "{answer}");
    }
    let (high_water, cores) = bookstore::auth::passwords::hashing_high_water();
    assert!(
        (1..=cores).contains(&high_water),
        "{high_water} hashes ran at once on {cores} cores"
    );
}
