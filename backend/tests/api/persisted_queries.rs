//! Automatic persisted queries (Apollo's protocol, version 1): a query
//! registered with its SHA-256 runs by hash alone, on POST and GET, on every
//! instance; unknown hashes ask for the text; a text never lands under
//! another text's hash; Redis failing only means sending the text again.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::instances::Instance;
use crate::support::{TestApp, redis_connection};

const GENRES: &str = "{ genres { name } }";
const BOOK_TITLE: &str = "query Title($id: ID!) { book(id: $id) { title } }";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    Answer { status, body }
}

/// POSTs `body` as a modern client does.
async fn post(router: &Router, body: Value) -> Answer {
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/graphql-response+json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(router, request).await
}

/// GETs `/graphql` with these URL parameters.
async fn get(router: &Router, params: &[(&str, String)]) -> Answer {
    let url = reqwest::Url::parse_with_params("http://shop.test/graphql", params).unwrap();
    let request = Request::get(format!("/graphql?{}", url.query().unwrap_or_default()))
        .header(header::ACCEPT, "application/graphql-response+json")
        .body(Body::empty())
        .unwrap();
    send(router, request).await
}

async fn some_book_id(app: &TestApp) -> Value {
    let data = app
        .data("{ books(first: 1) { nodes { id } } }", json!({}))
        .await;
    data["books"]["nodes"][0]["id"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_registered_with_its_hash_then_runs_by_hash_on_post_and_get() {
    let app = TestApp::new().await;
    let book = some_book_id(&app).await;
    let hash = sha256(BOOK_TITLE);
    let variables = json!({"id": book});

    // The first try by hash alone: the server asks for the text, with 200.
    let unknown = post(
        &app.router,
        json!({"variables": variables, "extensions": persisted(&hash)}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::OK, "{}", unknown.body);
    assert_eq!(unknown.code(), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(
        unknown.body["errors"][0]["message"],
        "PersistedQueryNotFound"
    );
    assert!(unknown.body.get("data").is_none());

    // Then with the text: it runs, and is registered.
    let registered = post(
        &app.router,
        json!({"query": BOOK_TITLE, "variables": variables, "extensions": persisted(&hash)}),
    )
    .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);
    let title = registered.body["data"]["book"]["title"].clone();
    assert!(title.is_string(), "{}", registered.body);

    // From then on the hash is enough, on POST...
    let by_hash = post(
        &app.router,
        json!({"variables": variables, "operationName": "Title", "extensions": persisted(&hash)}),
    )
    .await;
    assert_eq!(by_hash.status, StatusCode::OK, "{}", by_hash.body);
    assert_eq!(by_hash.body["data"]["book"]["title"], title);

    // ...and on GET (uppercase hex is the same hash).
    let by_get = get(
        &app.router,
        &[
            ("variables", variables.to_string()),
            ("extensions", persisted(&hash.to_uppercase()).to_string()),
        ],
    )
    .await;
    assert_eq!(by_get.status, StatusCode::OK, "{}", by_get.body);
    assert_eq!(by_get.body["data"]["book"]["title"], title);

    // GET registers too.
    let genres_hash = sha256(GENRES);
    let genres = get(
        &app.router,
        &[
            ("query", GENRES.to_owned()),
            ("extensions", persisted(&genres_hash).to_string()),
        ],
    )
    .await;
    assert!(genres.body["data"]["genres"].is_array(), "{}", genres.body);
    let genres = post(&app.router, json!({"extensions": persisted(&genres_hash)})).await;
    assert!(genres.body["data"]["genres"].is_array(), "{}", genres.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_mutation_never_runs_over_get_and_stored_queries_meet_every_limit() {
    let app = TestApp::new().await;
    let logout = "mutation { logout { loggedOut } }";
    let hash = sha256(logout);
    let registered = post(
        &app.router,
        json!({"query": logout, "extensions": persisted(&hash)}),
    )
    .await;
    assert_eq!(registered.body["data"]["logout"]["loggedOut"], false);
    let by_get = get(&app.router, &[("extensions", persisted(&hash).to_string())]).await;
    assert_eq!(by_get.status, StatusCode::METHOD_NOT_ALLOWED);

    // Deeper than GRAPHQL_MAX_DEPTH (10): refused with its text, and by hash.
    let deep = "{ books(first: 1) { nodes { credits { contributor { books(first: 1) { nodes { \
                credits { contributor { books(first: 1) { nodes { title } } } } } } } } } } }";
    let hash = sha256(deep);
    for body in [
        json!({"query": deep, "extensions": persisted(&hash)}),
        json!({"extensions": persisted(&hash)}),
    ] {
        let refused = post(&app.router, body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("deep"), "{}", refused.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_text_is_never_stored_under_another_texts_hash() {
    let app = TestApp::new().await;
    let planted = "{ viewer { email } }";
    let wrong = post(
        &app.router,
        json!({"query": planted, "extensions": persisted(&sha256(GENRES))}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert_eq!(wrong.code(), "BAD_USER_INPUT");
    assert_eq!(
        wrong.body["errors"][0]["message"],
        "provided sha does not match query"
    );
    assert!(wrong.body.get("data").is_none());
    // Nothing was kept, under either hash.
    for hash in [sha256(GENRES), sha256(planted)] {
        let asked = post(&app.router, json!({"extensions": persisted(&hash)})).await;
        assert_eq!(asked.code(), "PERSISTED_QUERY_NOT_FOUND", "{}", asked.body);
    }
    // A text planted in Redis under a hash not its own is not believed.
    let mut redis = redis_connection().await;
    let key = format!(
        "{}:v{}:apq:{}",
        app.config.cache_namespace,
        bookstore::cache::CACHE_VERSION,
        sha256(GENRES)
    );
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(planted)
        .arg("EX")
        .arg(60)
        .query_async(&mut redis)
        .await
        .unwrap();
    let asked = post(
        &app.router,
        json!({"extensions": persisted(&sha256(GENRES))}),
    )
    .await;
    assert_eq!(asked.code(), "PERSISTED_QUERY_NOT_FOUND", "{}", asked.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_versions_and_malformed_hashes_get_clear_errors() {
    let app = TestApp::new().await;
    let version_two = json!({"persistedQuery": {"version": 2, "sha256Hash": sha256(GENRES)}});
    for body in [
        json!({"extensions": version_two}),
        json!({"query": GENRES, "extensions": version_two}),
    ] {
        let answer = post(&app.router, body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.code(), "PERSISTED_QUERY_NOT_SUPPORTED");
    }
    for hash in [json!("abc"), json!(42), json!(null), json!("zz".repeat(32))] {
        let body = json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}});
        let answer = post(&app.router, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        assert_eq!(answer.code(), "BAD_USER_INPUT", "{}", answer.body);
    }
    let answer = post(&app.router, json!({"query": GENRES, "extensions": "x"})).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    let answer = get(&app.router, &[("extensions", "{not json".to_owned())]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    // Other extensions are no persisted query: the text runs as usual.
    let answer = post(
        &app.router,
        json!({"query": GENRES, "extensions": {"clientLibrary": "x"}}),
    )
    .await;
    assert!(answer.body["data"]["genres"].is_array(), "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_instance_finds_a_query_the_first_registered() {
    let app = TestApp::new().await;
    let other = Instance::beside(&app).await;
    let hash = sha256(GENRES);
    let registered = post(
        &app.router,
        json!({"query": GENRES, "extensions": persisted(&hash)}),
    )
    .await;
    assert!(registered.body["data"]["genres"].is_array());
    let found = post(&other.router, json!({"extensions": persisted(&hash)})).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["data"], registered.body["data"]);
    // Kept in Redis with a TTL (a day by default).
    let mut redis = redis_connection().await;
    let key = format!(
        "{}:v{}:apq:{hash}",
        app.config.cache_namespace,
        bookstore::cache::CACHE_VERSION
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!((86_000..=86_400).contains(&ttl), "TTL {ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_cut_or_hung_the_text_still_works_and_a_hash_is_only_not_found() {
    let app = TestApp::new().await;
    let cut = Instance::beside(&app).await;
    cut.proxy.cut();
    let hung = Instance::beside(&app).await;
    hung.proxy.hang();
    let hash = sha256(GENRES);
    for instance in [&cut, &hung] {
        let started = Instant::now();
        let asked = post(&instance.router, json!({"extensions": persisted(&hash)})).await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        assert_eq!(asked.code(), "PERSISTED_QUERY_NOT_FOUND", "{}", asked.body);
        let sent = post(
            &instance.router,
            json!({"query": GENRES, "extensions": persisted(&hash)}),
        )
        .await;
        assert!(sent.body["data"]["genres"].is_array(), "{}", sent.body);
        // What this instance was sent, it knows without Redis.
        let again = post(&instance.router, json!({"extensions": persisted(&hash)})).await;
        assert!(again.body["data"]["genres"].is_array(), "{}", again.body);
        // Each Redis call gave up within its timeout (200 ms here).
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn turned_off_a_hash_alone_is_not_supported_and_a_text_still_runs() {
    let app = TestApp::with_env(&[("PERSISTED_QUERIES", "false")]).await;
    let hash = sha256(GENRES);
    let sent = post(
        &app.router,
        json!({"query": GENRES, "extensions": persisted(&hash)}),
    )
    .await;
    assert!(sent.body["data"]["genres"].is_array(), "{}", sent.body);
    let asked = post(&app.router, json!({"extensions": persisted(&hash)})).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert_eq!(
        asked.code(),
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "{}",
        asked.body
    );
}
