//! Redis failing under a running shop: an instance that loses Redis (cut or
//! hung) loses no invalidation, a session revoked meanwhile is refused
//! everywhere afterwards, and a hung Redis costs the shopper little.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::instances::{BACKOFF, Instance};
use crate::support::{TestApp, redis_connection};

const VIEWER: &str = "{ viewer { email } }";
const LOGOUT: &str = "mutation { logout { loggedOut } }";
const PRICE: &str = "query($id: ID!) { book(id: $id) { price { amountCents } } }";
const UPDATE_PRICE: &str = "mutation($id: ID!, $cents: Int!) {
  updateBook(input: {id: $id, priceCents: $cents}) { userErrors { message } } }";

async fn some_book(app: &TestApp) -> Value {
    let data = app
        .data("{ books(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    data["books"]["edges"][0]["node"]["id"].clone()
}

fn viewer_email(body: &Value) -> Option<String> {
    body["data"]["viewer"]["email"].as_str().map(str::to_owned)
}

async fn logout_during_an_outage_is_final(hang: bool) {
    let app = TestApp::new().await;
    let one = Instance::beside(&app).await;
    let two = Instance::beside(&app).await;
    let token = app.customer_token("outage@example.com").await;
    for instance in [&one, &two] {
        let body = instance.graphql(Some(&token), VIEWER, json!({})).await;
        assert_eq!(viewer_email(&body).as_deref(), Some("outage@example.com"));
    }
    if hang {
        one.proxy.hang();
    } else {
        one.proxy.cut();
    }
    let out = one.data(Some(&token), LOGOUT, json!({})).await;
    assert_eq!(out["logout"]["loggedOut"], true);
    // Refused at once on the other instance, during the outage...
    let body = two.graphql(Some(&token), VIEWER, json!({})).await;
    assert_eq!(viewer_email(&body), None, "{body}");
    // ...and after Redis is back, on every instance.
    one.proxy.pass();
    tokio::time::sleep(BACKOFF + Duration::from_millis(300)).await;
    for instance in [&one, &two] {
        let body = instance.graphql(Some(&token), VIEWER, json!({})).await;
        assert_eq!(viewer_email(&body), None, "{body}");
    }
    let reply = app.graphql_as(&token, VIEWER, json!({})).await;
    assert_eq!(viewer_email(&reply.json()), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logout_while_redis_is_cut_is_honoured_by_every_instance() {
    logout_during_an_outage_is_final(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logout_while_redis_hangs_is_honoured_by_every_instance() {
    logout_during_an_outage_is_final(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_entry_that_redis_brings_back_does_not_revive_a_logout() {
    let app = TestApp::new().await;
    let token = app.customer_token("restored@example.com").await;
    app.data_as(&token, VIEWER, json!({})).await;
    // Whatever Redis holds now (a snapshot), it restores after the logout.
    let mut redis = redis_connection().await;
    let mut snapshot = Vec::new();
    for key in app.cache_keys().await {
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        snapshot.push((key, dump));
    }
    app.data_as(&token, LOGOUT, json!({})).await;
    for (key, dump) in snapshot {
        let _: () = redis::cmd("RESTORE")
            .arg(&key)
            .arg(60_000)
            .arg(dump)
            .arg("REPLACE")
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    let reply = app.graphql_as(&token, VIEWER, json!({})).await;
    assert_eq!(viewer_email(&reply.json()), None, "{}", reply.body);
}

async fn no_old_price_after_an_outage(hang: bool) {
    let app = TestApp::new().await;
    let book = some_book(&app).await;
    let staff = app.staff_token("outage-staff@example.com").await;
    let one = Instance::beside(&app).await;
    let two = Instance::beside(&app).await;
    let price = |body: &Value| body["book"]["price"]["amountCents"].as_i64().unwrap();
    let before = price(&two.data(None, PRICE, json!({"id": book})).await);
    price(&one.data(None, PRICE, json!({"id": book})).await);
    if hang {
        one.proxy.hang();
    } else {
        one.proxy.cut();
    }
    let cents = before + 111;
    let update = one
        .data(
            Some(&staff),
            UPDATE_PRICE,
            json!({"id": book, "cents": cents}),
        )
        .await;
    assert_eq!(update["updateBook"]["userErrors"], json!([]));
    // The instance without Redis reads Postgres.
    assert_eq!(
        price(&one.data(None, PRICE, json!({"id": book})).await),
        cents
    );
    one.proxy.pass();
    // Within a few back-offs the instance that missed the invalidation is
    // back on Redis; from then on nobody serves the old price.
    let deadline = Instant::now() + BACKOFF * 5;
    loop {
        let seen = price(&two.data(None, PRICE, json!({"id": book})).await);
        if seen == cents {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other instance still serves {seen} instead of {cents}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for instance in [&one, &two] {
        for _ in 0..3 {
            let seen = price(&instance.data(None, PRICE, json!({"id": book})).await);
            assert_eq!(seen, cents);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_price_changed_while_redis_was_cut_is_not_served_old_after_it() {
    no_old_price_after_an_outage(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_price_changed_while_redis_hung_is_not_served_old_after_it() {
    no_old_price_after_an_outage(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_backoff_only_one_request_waits_for_a_hung_redis() {
    let app = TestApp::new().await;
    let book = some_book(&app).await;
    // A long timeout makes "waited for Redis" unmistakable on a busy machine;
    // one timeout starts the back-off, to test what follows it (how many
    // start it: `cache_breaker`).
    let one = Instance::beside_with(&app, |config| {
        config.redis_timeout = Duration::from_millis(1500);
        config.breaker.timeouts_to_backoff = 1;
    })
    .await;
    one.data(None, PRICE, json!({"id": book})).await;
    one.proxy.hang();
    // The first request finds out Redis hangs; the back-off starts.
    one.data(None, PRICE, json!({"id": book})).await;
    tokio::time::sleep(BACKOFF + Duration::from_millis(100)).await;
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let router = one.router.clone();
            let book = book.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let body = crate::instances::post(&router, None, PRICE, json!({"id": book})).await;
                assert!(body.get("errors").is_none(), "{body}");
                started.elapsed()
            })
        })
        .collect();
    let mut waited = 0;
    for request in requests {
        if request.await.unwrap() >= Duration::from_millis(1000) {
            waited += 1;
        }
    }
    assert!(
        waited <= 1,
        "{waited} of 20 requests waited for the hung Redis"
    );
}
