use serde_json::json;

use crate::catalog::{CATALOG, nodes};
use crate::support::TestApp;

async fn search(app: &TestApp, text: &str) -> Vec<serde_json::Value> {
    nodes(
        &app.data(CATALOG, json!({"first": 50, "filter": {"search": text}}))
            .await,
    )
}

fn by(book: &serde_json::Value, name: &str) -> bool {
    book["credits"]
        .as_array()
        .unwrap()
        .iter()
        .any(|credit| credit["contributor"]["name"] == name)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exact_isbn_ranks_first() {
    let app = TestApp::new().await;
    let book = search(&app, "Moby Dick").await.remove(0);
    let isbn = book["isbn"].as_str().unwrap().to_owned();
    let found = search(&app, &isbn).await;
    assert_eq!(found[0]["id"], book["id"]);
    let hyphenated = format!(
        "{}-{}-{}-{}",
        &isbn[..3],
        &isbn[3..4],
        &isbn[4..12],
        &isbn[12..]
    );
    assert_eq!(search(&app, &hyphenated).await[0]["id"], book["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_author_name_hit_ranks_above_plain_text_matches() {
    let app = TestApp::new().await;
    // "London" is Jack London, and also the setting of many other books.
    let found = search(&app, "London").await;
    let jack_london = found
        .iter()
        .take_while(|book| by(book, "Jack London"))
        .count();
    assert!(jack_london >= 3, "Jack London's books come first");
    assert!(found.len() > jack_london, "text matches follow");
    assert!(
        found[jack_london..]
            .iter()
            .all(|book| !by(book, "Jack London"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn search_tolerates_typos_in_titles_and_names() {
    let app = TestApp::new().await;
    let found = search(&app, "pride and prejudise").await;
    assert_eq!(found[0]["title"], "Pride and Prejudice");
    let found = search(&app, "jane austin").await;
    assert!(
        !found.is_empty() && found.iter().all(|book| by(book, "Jane Austen")),
        "{found:?}"
    );
    let found = search(&app, "dostoyevsky").await;
    assert!(!found.is_empty() && by(&found[0], "Fyodor Dostoevsky"));
}

#[tokio::test(flavor = "multi_thread")]
async fn search_matches_words_of_the_description_and_combines_with_filters() {
    let app = TestApp::new().await;
    let found = search(&app, "whale").await;
    assert_eq!(found[0]["title"], "Moby-Dick");
    let none = search(&app, "xyzzyplugh").await;
    assert!(none.is_empty());
    let poetry = nodes(
        &app.data(
            CATALOG,
            json!({"first": 50, "filter": {"search": "love", "genre": "poetry"}}),
        )
        .await,
    );
    assert!(poetry.iter().all(|book| {
        book["genres"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["slug"] == "poetry")
    }));
    let body = app
        .graphql(CATALOG, json!({"filter": {"search": "a".repeat(201)}}))
        .await
        .json();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    // Operators and quotes are search syntax, never SQL.
    let _ = search(&app, "'; DROP TABLE books; --").await;
    let _ = search(&app, "\"moby dick\" -whale or (").await;
    assert!(!search(&app, "Moby").await.is_empty());
}
