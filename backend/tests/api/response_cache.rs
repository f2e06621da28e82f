//! The in-process response cache: public queries answered from memory,
//! every kind of catalog write retiring exactly what it changed on every
//! instance (Redis pub/sub), nothing that depended on the viewer ever
//! shared, HTTP caching of public `GET`s (ETag, 304), and a bypass while
//! an instance is not subscribed.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::catalog::{CATALOG, nodes};
use crate::instances::Instance;
use crate::support::TestApp;

const BOOK: &str = "query($id: ID!) { book(id: $id) { id title stock price { amountCents } \
    credits { contributor { id name } } genres { id name } } }";

async fn app() -> TestApp {
    let app = TestApp::with_env(&[("RESPONSE_CACHE_MB", "8")]).await;
    subscribed(&app.cache).await;
    app
}

async fn subscribed(cache: &bookstore::cache::Cache) {
    let started = Instant::now();
    while !cache.responses().live() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the response cache never subscribed to invalidations"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn hits(cache: &bookstore::cache::Cache) -> u64 {
    cache.responses().counts().0
}

#[tokio::test]
async fn a_repeated_public_query_is_answered_from_memory_and_a_write_retires_it() {
    let app = app().await;
    let staff = app.staff_token("responses@example.com").await;
    let book = nodes(&app.data(CATALOG, json!({"first": 1})).await).remove(0);
    let first = app.data(BOOK, json!({"id": book["id"]})).await;
    let before = hits(&app.cache);
    let (again, statements) = app.data_counting(BOOK, json!({"id": book["id"]})).await;
    assert_eq!(again, first);
    assert_eq!(statements, 0);
    assert_eq!(
        hits(&app.cache),
        before + 1,
        "the second answer came from memory"
    );

    let update = "mutation($id: ID!) { updateBook(input: {id: $id, priceCents: 4321}) { userErrors { message } } }";
    app.data_as(&staff, update, json!({"id": book["id"]})).await;
    // On the instance that wrote: at once.
    let after = app.data(BOOK, json!({"id": book["id"]})).await;
    assert_eq!(after["book"]["price"]["amountCents"], 4321);
}

/// Polls `instance` until `check` holds for its answer, within 1 s.
async fn sees(instance: &Instance, query: &str, variables: Value, check: impl Fn(&Value) -> bool) {
    let started = Instant::now();
    loop {
        let data = instance.data(None, query, variables.clone()).await;
        if check(&data) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the other instance still answers {data} a second after the write"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Asks `instance` twice, so its answer is stored (the second is a hit).
async fn stored(instance: &Instance, query: &str, variables: Value) -> Value {
    let first = instance.data(None, query, variables.clone()).await;
    let before = hits(&instance.cache);
    assert_eq!(instance.data(None, query, variables).await, first);
    assert_eq!(
        hits(&instance.cache),
        before + 1,
        "not answered from memory"
    );
    first
}

/// A write (mutation, variables), the query whose answer it changes, and
/// how the changed answer looks.
type Write = (
    &'static str,
    Value,
    &'static str,
    Box<dyn Fn(&Value) -> bool>,
);

#[tokio::test]
async fn every_kind_of_catalog_write_retires_the_answers_it_changed_on_every_instance() {
    let app = app().await;
    let other = Instance::beside(&app).await;
    subscribed(&other.cache).await;
    let staff = app.staff_token("instances@example.com").await;
    let page = nodes(&app.data(CATALOG, json!({"first": 20})).await);
    let book = page[0].clone();
    let id = json!({"id": book["id"]});
    let shown = stored(&other, BOOK, id.clone()).await;
    let contributor = shown["book"]["credits"][0]["contributor"]["id"].clone();
    let genre = shown["book"]["genres"][0]["id"].clone();
    assert!(contributor.is_string() && genre.is_string(), "{shown}");
    // A book sharing no contributor or genre with it: its answer stays
    // stored through all of it.
    let related = |node: &Value, other: &Value| {
        let ids = |node: &Value, list: &str, field: &str| -> Vec<Value> {
            node[list]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| match field {
                    "contributor" => item["contributor"]["id"].clone(),
                    _ => item["slug"].clone(),
                })
                .collect()
        };
        ids(node, "credits", "contributor")
            .iter()
            .any(|id| ids(other, "credits", "contributor").contains(id))
            || ids(node, "genres", "slug")
                .iter()
                .any(|slug| ids(other, "genres", "slug").contains(slug))
    };
    let unrelated = page[1..]
        .iter()
        .find(|node| !related(node, &book))
        .expect("a book sharing no contributor or genre")
        .clone();

    let writes: [Write; 5] = [
        (
            "mutation($id: ID!) { updateBook(input: {id: $id, title: \"Retitled\"}) { userErrors { message } } }",
            id.clone(),
            BOOK,
            Box::new(|data: &Value| data["book"]["title"] == "Retitled"),
        ),
        (
            "mutation($id: ID!) { adjustStock(input: {bookId: $id, delta: 7}) { userErrors { message } } }",
            id.clone(),
            BOOK,
            Box::new({
                let stock = shown["book"]["stock"].as_i64().unwrap_or_default();
                move |data: &Value| data["book"]["stock"].as_i64() == Some(stock + 7)
            }),
        ),
        (
            "mutation($id: ID!) { updateContributor(input: {id: $id, name: \"Renamed Author\"}) { userErrors { message } } }",
            json!({"id": contributor}),
            BOOK,
            Box::new(|data: &Value| {
                data["book"]["credits"][0]["contributor"]["name"] == "Renamed Author"
            }),
        ),
        (
            "mutation($id: ID!) { updateGenre(input: {id: $id, name: \"Renamed Genre\"}) { userErrors { message } } }",
            json!({"id": genre}),
            BOOK,
            Box::new(|data: &Value| {
                data["book"]["genres"]
                    .as_array()
                    .is_some_and(|genres| genres.iter().any(|g| g["name"] == "Renamed Genre"))
            }),
        ),
        (
            "mutation($id: ID!) { archiveBook(id: $id) { userErrors { message } } }",
            id.clone(),
            CATALOG,
            Box::new({
                let archived = book["id"].clone();
                move |data: &Value| nodes(data).iter().all(|node| node["id"] != archived)
            }),
        ),
    ];
    let unrelated_id = json!({"id": unrelated["id"]});
    for (write, variables, query, check) in writes {
        let read = if query == CATALOG {
            json!({"first": 20})
        } else {
            id.clone()
        };
        stored(&other, query, read.clone()).await;
        stored(&other, BOOK, unrelated_id.clone()).await;
        app.data_as(&staff, write, variables).await;
        sees(&other, query, read, check).await;
        let before = hits(&other.cache);
        other.data(None, BOOK, unrelated_id.clone()).await;
        assert_eq!(
            hits(&other.cache),
            before + 1,
            "an unrelated answer was dropped by {write}"
        );
    }

    // A new genre joins the list of genres.
    let genres = "{ genres { name } }";
    stored(&other, genres, json!({})).await;
    let create =
        "mutation { createGenre(input: {name: \"Brand New Genre\"}) { userErrors { message } } }";
    app.data_as(&staff, create, json!({})).await;
    sees(&other, genres, json!({}), |data| {
        data["genres"]
            .as_array()
            .is_some_and(|genres| genres.iter().any(|g| g["name"] == "Brand New Genre"))
    })
    .await;
}

#[tokio::test]
async fn nothing_that_depended_on_the_viewer_is_ever_shared() {
    let app = app().await;
    let staff = app.staff_token("viewer@example.com").await;
    // Staff may list archived books: that answer depended on who asked.
    let archived = r#"{ books(first: 1, filter: {includeArchived: true}) { totalCount } }"#;
    let staff_answer = app.data_as(&staff, archived, json!({})).await;
    assert!(staff_answer["books"]["totalCount"].is_number());
    let anonymous = app.graphql(archived, json!({})).await.json();
    assert!(
        anonymous["errors"].is_array(),
        "served the staff's answer: {anonymous}"
    );

    // A document that also asks for the viewer is never stored.
    let mixed = r#"{ genres { name } viewer { email } }"#;
    app.data_as(&staff, mixed, json!({})).await;
    let before = hits(&app.cache);
    let other = app.data(mixed, json!({})).await;
    assert_eq!(other["viewer"], Value::Null);
    assert_eq!(hits(&app.cache), before);

    // A public query sent with a token is the same for everyone.
    let genres = "{ genres { name } }";
    let signed_in = app.data_as(&staff, genres, json!({})).await;
    let before = hits(&app.cache);
    assert_eq!(app.data(genres, json!({})).await, signed_in);
    assert_eq!(hits(&app.cache), before + 1);
}

async fn get(
    app: &TestApp,
    query: &str,
    token: Option<&str>,
    etag: Option<&str>,
) -> crate::support::Reply {
    let uri = format!("/graphql?query={}", url_escape(query));
    let mut request = Request::get(uri).header(header::ACCEPT, "application/graphql-response+json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn public_gets_carry_an_etag_and_answer_304_until_the_data_changes() {
    let app = app().await;
    let staff = app.staff_token("etag@example.com").await;
    let query = "{ genres { id name } }";
    let first = get(&app, query, None, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = first.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(
        first.headers[header::CACHE_CONTROL],
        "public, max-age=0, must-revalidate"
    );
    for token in [None, Some(staff.as_str())] {
        let again = get(&app, query, token, Some(&etag)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.body.is_empty());
    }
    let genre = first.json()["data"]["genres"][0]["id"].clone();
    let rename = "mutation($id: ID!) { updateGenre(input: {id: $id, name: \"Another Name\"}) { userErrors { message } } }";
    app.data_as(&staff, rename, json!({"id": genre})).await;
    let changed = get(&app, query, None, Some(&etag)).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.headers[header::ETAG].to_str().unwrap(), etag);

    // What depends on the viewer is never kept by any cache.
    let private = get(&app, "{ viewer { email } }", Some(&staff), None).await;
    assert_eq!(private.status, StatusCode::OK);
    assert_eq!(private.headers[header::CACHE_CONTROL], "no-store");
    assert!(private.headers.get(header::ETAG).is_none());
}

#[tokio::test]
async fn without_redis_the_response_cache_stays_out_of_the_way() {
    let app = TestApp::with_env(&[
        ("RESPONSE_CACHE_MB", "8"),
        ("REDIS_URL", "redis://127.0.0.1:1"),
    ])
    .await;
    let query = "{ genres { name } }";
    app.data(query, json!({})).await;
    let (_, statements) = app.data_counting(query, json!({})).await;
    assert!(statements > 0, "answered from memory without invalidations");
    assert!(!app.cache.responses().live());
}

#[tokio::test]
async fn an_instance_cut_off_from_redis_bypasses_its_answers_and_forgets_them_on_return() {
    let app = app().await;
    let other = Instance::beside(&app).await;
    subscribed(&other.cache).await;
    let staff = app.staff_token("cut@example.com").await;
    let genres = "{ genres { id name } }";
    let shown = stored(&other, genres, json!({})).await;
    other.proxy.cut();
    let started = Instant::now();
    while other.cache.responses().live() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "still serving from memory while cut off"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A write it cannot hear of.
    let rename = "mutation($id: ID!) { updateGenre(input: {id: $id, name: \"Renamed While Away\"}) { userErrors { message } } }";
    app.data_as(&staff, rename, json!({"id": shown["genres"][0]["id"]}))
        .await;
    let renamed = |data: &Value| {
        data["genres"]
            .as_array()
            .is_some_and(|genres| genres.iter().any(|g| g["name"] == "Renamed While Away"))
    };
    assert!(renamed(&other.data(None, genres, json!({})).await));
    other.proxy.pass();
    subscribed(&other.cache).await;
    assert!(renamed(&other.data(None, genres, json!({})).await));
}
