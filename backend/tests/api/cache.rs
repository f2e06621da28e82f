//! The Redis read-through: what is stored, how writes invalidate it, and
//! that a missing Redis only costs speed.

use std::time::{Duration, Instant};

use bookstore::cache::{CACHE_VERSION, Entry, Kind};
use serde_json::json;

use crate::catalog::{BOOK, CATALOG, nodes};
use crate::support::{TestApp, redis_connection};

#[tokio::test(flavor = "multi_thread")]
async fn loaded_entities_are_cached_under_versioned_keys_with_a_ttl() {
    let app = TestApp::new().await;
    assert!(app.cache_keys().await.is_empty());
    app.data(CATALOG, json!({"first": 3})).await;
    let keys = app.cache_keys().await;
    let prefix = format!("{}:v{CACHE_VERSION}:", app.config.cache_namespace);
    assert!(keys.iter().all(|key| key.starts_with(&prefix)), "{keys:?}");
    assert_eq!(
        keys.iter().filter(|key| key.contains(":book:")).count(),
        3,
        "{keys:?}"
    );
    assert_eq!(
        keys.iter()
            .filter(|key| key.contains(":book-relations:"))
            .count(),
        3,
        "{keys:?}"
    );
    let mut redis = redis_connection().await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 300, "ttl {ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalidation_makes_the_next_read_see_the_database() {
    let app = TestApp::new().await;
    let book = nodes(&app.data(CATALOG, json!({"first": 1})).await).remove(0);
    let id = bookstore::graphql::ids::decode(book["id"].as_str().unwrap())
        .unwrap()
        .1;
    app.sql(&format!(
        "UPDATE books SET title = 'Renamed' WHERE id = {id}"
    ))
    .await;
    // Without invalidation the cache still answers (this is what the TTL bounds).
    let stale = app.data(BOOK, json!({"id": book["id"]})).await;
    assert_eq!(stale["book"]["title"], book["title"]);

    app.cache.invalidate(&[Entry::Entity(Kind::Book, id)]).await;
    let (fresh, statements) = app.data_counting(BOOK, json!({"id": book["id"]})).await;
    assert_eq!(fresh["book"]["title"], "Renamed");
    assert_eq!(statements, 1, "only the invalidated entry is reloaded");
    let key = app.cache.key(Kind::Book, id);
    assert!(app.cache_keys().await.contains(&key), "and cached again");
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_counts_are_cached_per_filter_until_a_write_says_otherwise() {
    let app = TestApp::new().await;
    let count = |data: &serde_json::Value| data["books"]["totalCount"].as_i64().unwrap();
    let poetry = json!({"first": 5, "filter": {"genre": "poetry"}});
    let (cold, _) = app.data_counting(CATALOG, poetry.clone()).await;
    let (warm, statements) = app.data_counting(CATALOG, poetry.clone()).await;
    assert_eq!(count(&warm), count(&cold));
    assert_eq!(statements, 1, "the warm listing runs only the page query");
    // Another filter has its own count.
    let all = app.data(CATALOG, json!({"first": 5})).await;
    assert!(count(&all) > count(&cold));

    // A new poetry book: after invalidation, the count follows.
    app.sql(
        "WITH b AS (INSERT INTO books (slug, isbn, title, format, price_cents, stock)
                    VALUES ('new-verse', '9780141439518', 'New Verse', 'paperback', 999, 3) RETURNING id)
         INSERT INTO book_genres SELECT b.id, g.id FROM b, genres g WHERE g.slug = 'poetry'",
    )
    .await;
    assert_eq!(
        count(&app.data(CATALOG, poetry.clone()).await),
        count(&cold),
        "cached until invalidated"
    );
    app.cache.invalidate(&[Entry::BookCounts]).await;
    assert_eq!(count(&app.data(CATALOG, poetry).await), count(&cold) + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undecodable_entry_is_a_miss_not_an_error() {
    let app = TestApp::new().await;
    let book = nodes(&app.data(CATALOG, json!({"first": 1})).await).remove(0);
    let id = bookstore::graphql::ids::decode(book["id"].as_str().unwrap())
        .unwrap()
        .1;
    let mut redis = redis_connection().await;
    let _: () = redis::cmd("SET")
        .arg(app.cache.key(Kind::Book, id))
        .arg("{garbage")
        .query_async(&mut redis)
        .await
        .unwrap();
    let data = app.data(BOOK, json!({"id": book["id"]})).await;
    assert_eq!(data["book"]["title"], book["title"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_redis_requests_succeed_from_postgres_promptly() {
    // Port 1: nothing listens, connections are refused at once.
    let app = TestApp::with_env(&[("REDIS_URL", "redis://127.0.0.1:1")]).await;
    for _ in 0..3 {
        let started = Instant::now();
        let (data, statements) = app.data_counting(CATALOG, json!({"first": 20})).await;
        assert_eq!(nodes(&data).len(), 20);
        assert!(statements <= 3, "{statements}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_never_answers_costs_at_most_the_timeout_then_is_bypassed() {
    // A socket that accepts connections but never replies: the worst case.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = format!("redis://{address}");
    let app = TestApp::with_env(&[
        ("REDIS_URL", url.as_str()),
        ("REDIS_TIMEOUT_MS", "100"),
        ("REDIS_BACKOFF_SECS", "60"),
    ])
    .await;
    let started = Instant::now();
    let data = app.data(CATALOG, json!({"first": 20})).await;
    assert_eq!(nodes(&data).len(), 20);
    let first = started.elapsed();
    assert!(
        first < Duration::from_secs(2),
        "first request took {first:?}"
    );
    // During the back-off Redis is not even tried.
    let started = Instant::now();
    app.data(CATALOG, json!({"first": 20})).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_on_one_instance_is_seen_by_another_right_away() {
    use axum::body::Body;
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let app = TestApp::new().await;
    // A second backend instance: same database, same Redis, its own process state.
    let other_state = bookstore::app::AppState::new(&app.config).unwrap();
    let other = bookstore::app::router(other_state, &app.config);
    let read_on_other = |query: &'static str, variables: serde_json::Value| {
        let other = other.clone();
        async move {
            let body = json!({"query": query, "variables": variables}).to_string();
            let response = other
                .oneshot(
                    Request::post("/graphql")
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["data"].clone()
        }
    };
    let staff = app.staff_token("instances@example.com").await;
    let book = nodes(&app.data(CATALOG, json!({"first": 1})).await).remove(0);
    // Both instances have it cached now.
    let before = read_on_other(BOOK, json!({"id": book["id"]})).await;
    assert_eq!(before["book"]["title"], book["title"]);
    let total_before =
        read_on_other("{ books { totalCount } }", json!({})).await["books"]["totalCount"].clone();

    let update = "mutation($id: ID!) { updateBook(input: {id: $id, title: \"Renamed Everywhere\"}) { userErrors { message } } }";
    app.data_as(&staff, update, json!({"id": book["id"]})).await;
    let archive = "mutation($id: ID!) { archiveBook(id: $id) { userErrors { message } } }";
    app.data_as(&staff, archive, json!({"id": book["id"]}))
        .await;

    let after = read_on_other(BOOK, json!({"id": book["id"]})).await;
    assert_eq!(after["book"]["title"], "Renamed Everywhere");
    assert_eq!(after["book"]["archived"], true);
    let total_after =
        read_on_other("{ books { totalCount } }", json!({})).await["books"]["totalCount"].clone();
    assert_eq!(
        total_after.as_i64().unwrap(),
        total_before.as_i64().unwrap() - 1
    );
}
