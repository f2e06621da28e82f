//! The app against a real streaming replica of the test Postgres
//! (`backend/tests/replica/setup.sh`, run by the first test if needed):
//! catalog reads go to the replica; a session's own writes are read back
//! from the primary, on every instance; a replica lagging past the
//! recent-write window is left (so nothing older than an invalidation is
//! cached); a replica that stops answering sends reads to the primary, and
//! they come back with it. Replay is paused to tell the two servers apart,
//! so these tests take turns (`exclusive`).

use std::time::{Duration, Instant};

use bookstore_test_support::replica::{
    ReplayPause, ensure_replica, exclusive, replica_admin_url, replica_database_url,
    wait_for_replay,
};
use bookstore_test_support::{ChaosProxy, TestDatabase};
use serde_json::{Value, json};

use crate::instances::Instance;
use crate::support::TestApp;

const REPLAY_TIMEOUT: Duration = Duration::from_secs(60);

/// An app on a fresh database whose catalog reads go to the replica.
async fn app_on_replica(overrides: &[(&str, &str)]) -> TestApp {
    ensure_replica().await;
    let database = TestDatabase::seeded().await;
    wait_for_replay(REPLAY_TIMEOUT).await;
    let read_url = replica_database_url(&database.name);
    let mut settings = vec![("DATABASE_READ_URL", read_url.as_str())];
    settings.extend_from_slice(overrides);
    let app = TestApp::on(database, &settings).await;
    wait_until("the replica to be used", || app.db.replica_usable()).await;
    app
}

async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited 10 s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const BOOK: &str = r#"{ book(slug: "moby-dick") { id title price { amountCents } } }"#;

async fn moby_dick(app: &TestApp) -> Value {
    app.data(BOOK, json!({})).await["book"].clone()
}

fn ids(data: &Value) -> Vec<String> {
    data["books"]["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .map(|node| node["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn catalog_reads_go_to_the_replica() {
    let _turn = exclusive().await;
    let app = app_on_replica(&[]).await;
    let before = moby_dick(&app).await;
    app.flush_cache().await;

    // A change made behind the app's back (no invalidation) that only the
    // primary has while replay is paused.
    let pause = ReplayPause::start().await;
    app.sql("UPDATE books SET title = 'Zyzzyva Primary Only' WHERE slug = 'moby-dick'")
        .await;
    let search = r#"{ books(first: 5, filter: {search: "Zyzzyva"}) { nodes { id } } }"#;
    assert_eq!(moby_dick(&app).await["title"], before["title"]);
    assert!(ids(&app.data(search, json!({})).await).is_empty());

    drop(pause);
    wait_for_replay(REPLAY_TIMEOUT).await;
    app.flush_cache().await;
    assert_eq!(moby_dick(&app).await["title"], "Zyzzyva Primary Only");
    assert_eq!(
        ids(&app.data(search, json!({})).await),
        [before["id"].clone()]
    );
}

const UPDATE_PRICE: &str = "mutation($input: UpdateBookInput!) { updateBook(input: $input) { book { price { amountCents } } userErrors { message } } }";
const CHEAP: &str = "{ books(first: 20, filter: {maxPriceCents: 1}) { nodes { id } } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_sessions_own_writes_are_read_from_the_primary_on_every_instance() {
    let _turn = exclusive().await;
    let app = app_on_replica(&[]).await;
    let other = Instance::beside(&app).await;
    wait_until("the other instance to use the replica", || {
        other.db.replica_usable()
    })
    .await;
    let staff = app.staff_token("replica-staff@example.com").await;
    let id = moby_dick(&app).await["id"].as_str().unwrap().to_owned();

    let pause = ReplayPause::start().await;
    let changed = app
        .data_as(
            &staff,
            UPDATE_PRICE,
            json!({"input": {"id": id, "priceCents": 1}}),
        )
        .await;
    assert_eq!(changed["updateBook"]["book"]["price"]["amountCents"], 1);

    // The listing's SQL runs where the session reads: the primary for the
    // staff member (on either instance), the paused replica for others.
    assert_eq!(
        ids(&app.data_as(&staff, CHEAP, json!({})).await),
        vec![id.clone()]
    );
    assert_eq!(
        ids(&other.data(Some(&staff), CHEAP, json!({})).await),
        vec![id.clone()]
    );
    assert!(ids(&app.data(CHEAP, json!({})).await).is_empty());
    assert!(ids(&other.data(None, CHEAP, json!({})).await).is_empty());

    drop(pause);
    wait_for_replay(REPLAY_TIMEOUT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ids(&app.data(CHEAP, json!({})).await), [id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_lagging_past_the_window_is_left_and_its_rows_never_cached() {
    let _turn = exclusive().await;
    // Loads of a key written in the last 2 s go to the primary; a replica
    // more than 1 s behind is left.
    let app = app_on_replica(&[("CACHE_RECENT_WRITE_SECS", "2"), ("RESPONSE_CACHE_MB", "8")]).await;
    let staff = app.staff_token("lag-staff@example.com").await;
    let book = moby_dick(&app).await;
    let id = book["id"].as_str().unwrap().to_owned();
    let price = r#"query($id: ID!) { node(id: $id) { ... on Book { price { amountCents } } } }"#;
    // Cached (Redis and the response cache) at the old price.
    for _ in 0..2 {
        let data = app.data(price, json!({"id": id})).await;
        assert_eq!(data["node"]["price"], book["price"]);
    }

    let pause = ReplayPause::start().await;
    app.data_as(
        &staff,
        UPDATE_PRICE,
        json!({"input": {"id": id, "priceCents": 777}}),
    )
    .await;
    // Nobody reads it until the window is over; the replica still has the
    // old price. Every read then says 777 (and caches that).
    tokio::time::sleep(Duration::from_secs(3)).await;
    for _ in 0..5 {
        let data = app.data(price, json!({"id": id})).await;
        assert_eq!(data["node"]["price"]["amountCents"], 777);
    }
    assert!(!app.db.replica_usable(), "a replica 3 s behind is left");

    drop(pause);
    wait_for_replay(REPLAY_TIMEOUT).await;
    wait_until("the replica to be used again", || app.db.replica_usable()).await;
    let data = app.data(price, json!({"id": id})).await;
    assert_eq!(data["node"]["price"]["amountCents"], 777);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_that_stops_answering_sends_reads_to_the_primary_until_it_returns() {
    let _turn = exclusive().await;
    ensure_replica().await;
    let database = TestDatabase::seeded().await;
    wait_for_replay(REPLAY_TIMEOUT).await;
    let replica_server = replica_admin_url();
    let upstream = replica_server
        .rsplit_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(host, _)| host.to_owned())
        .unwrap();
    let proxy = ChaosProxy::start(&upstream).await;
    let read_url = format!("postgres://postgres@{}/{}", proxy.address(), database.name);
    // Without Redis every read reaches Postgres.
    let app = TestApp::on(
        database,
        &[("DATABASE_READ_URL", read_url.as_str()), ("REDIS_URL", "")],
    )
    .await;
    wait_until("the replica to be used", || app.db.replica_usable()).await;
    let title = moby_dick(&app).await["title"].clone();

    let _pause = ReplayPause::start().await;
    app.sql("UPDATE books SET title = 'Only On The Primary' WHERE slug = 'moby-dick'")
        .await;
    assert_eq!(moby_dick(&app).await["title"], title, "read on the replica");

    for outage in ["cut", "hang"] {
        match outage {
            "cut" => proxy.cut(),
            _ => proxy.hang(),
        }
        wait_until("the replica to be left", || !app.db.replica_usable()).await;
        for _ in 0..5 {
            assert_eq!(
                moby_dick(&app).await["title"],
                "Only On The Primary",
                "{outage}: read on the primary"
            );
        }
        proxy.pass();
        wait_until("the replica to be used again", || app.db.replica_usable()).await;
        assert_eq!(
            moby_dick(&app).await["title"],
            title,
            "{outage}: back on the replica"
        );
    }
}
