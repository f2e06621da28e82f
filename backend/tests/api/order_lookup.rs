//! The guest order lookup by number and checkout email: for guest orders
//! only, the same answer for a wrong email as for a missing order, and
//! throttled per order number and per client (TOO_MANY_ATTEMPTS, even for
//! the right email, until the window ends; the token still works); and
//! order numbers nobody can count along.

use serde_json::{Value, json};

use crate::order_access::{CANCEL, count, guest_order, lookup_query};
use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_finds_the_order_by_number_and_email_and_a_wrong_email_looks_like_no_order() {
    let app = TestApp::new().await;
    let placed = guest_order(&app, "guest-1", "grace@example.com").await;
    let number = placed["order"]["number"].clone();

    let found = app
        .data(
            &lookup_query(),
            json!({"n": number, "e": " Grace@Example.COM "}),
        )
        .await;
    assert_eq!(found["order"]["number"], number);

    let wrong_email = app
        .graphql(
            &lookup_query(),
            json!({"n": number, "e": "someone@example.com"}),
        )
        .await;
    let no_such_order = app
        .graphql(
            &lookup_query(),
            json!({"n": "BK-ZZZZZZZZZZ", "e": "grace@example.com"}),
        )
        .await;
    assert_eq!(wrong_email.status, no_such_order.status);
    assert_eq!(wrong_email.body, no_such_order.body);
    assert_eq!(wrong_email.json(), json!({"data": {"order": null}}));

    let cancel = |number: &Value, email: &str| json!({"input": {"number": number, "email": email}});
    let wrong_email = app
        .graphql(CANCEL, cancel(&number, "someone@example.com"))
        .await;
    let no_such_order = app
        .graphql(CANCEL, cancel(&json!("BK-ZZZZZZZZZZ"), "grace@example.com"))
        .await;
    assert_eq!(wrong_email.body, no_such_order.body);
    let cancelled = app.data(CANCEL, cancel(&number, "grace@example.com")).await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
}

/// A lookup by number and email; `Err(code)` when refused with an error.
async fn lookup(app: &TestApp, number: &Value, email: &str) -> Result<Value, String> {
    let body = app
        .graphql(&lookup_query(), json!({"n": number, "e": email}))
        .await
        .json();
    match body["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => Err(code.to_owned()),
        None => Ok(body["data"]["order"].clone()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_by_email_are_throttled_per_order_number() {
    let app = TestApp::with_env(&[
        ("ORDER_LOOKUP_MAX_ATTEMPTS_PER_NUMBER", "3"),
        ("ORDER_LOOKUP_MAX_ATTEMPTS_PER_CLIENT", "100"),
    ])
    .await;
    let target = guest_order(&app, "guest-1", "grace@example.com").await;
    let other = guest_order(&app, "guest-2", "other@example.com").await;
    let number = target["order"]["number"].clone();
    for guess in ["a@example.com", "b@example.com", "c@example.com"] {
        assert_eq!(lookup(&app, &number, guess).await, Ok(Value::Null));
    }
    // Past the limit, even the right email is refused, clearly.
    assert_eq!(
        lookup(&app, &number, "grace@example.com").await,
        Err("TOO_MANY_ATTEMPTS".to_owned())
    );
    let body = app
        .graphql(
            CANCEL,
            json!({"input": {"number": number, "email": "grace@example.com"}}),
        )
        .await
        .json();
    assert_eq!(body["errors"][0]["extensions"]["code"], "TOO_MANY_ATTEMPTS");
    // Another order's number is not held up, and the token still opens it.
    assert_eq!(
        lookup(&app, &other["order"]["number"], "other@example.com")
            .await
            .unwrap()["number"],
        other["order"]["number"]
    );
    let by_token = app
        .data(
            &lookup_query(),
            json!({"n": number, "t": target["orderAccessToken"]}),
        )
        .await;
    assert_eq!(by_token["order"]["number"], number);
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_by_email_are_throttled_per_client() {
    let app = TestApp::with_env(&[
        ("ORDER_LOOKUP_MAX_ATTEMPTS_PER_NUMBER", "100"),
        ("ORDER_LOOKUP_MAX_ATTEMPTS_PER_CLIENT", "4"),
    ])
    .await;
    let placed = guest_order(&app, "guest-1", "grace@example.com").await;
    // Guessing numbers: each counts for the client whatever the number.
    for n in 0..4 {
        let guess = json!(format!("BK-{n:0>10}"));
        assert_eq!(
            lookup(&app, &guess, "grace@example.com").await,
            Ok(Value::Null)
        );
    }
    assert_eq!(
        lookup(&app, &placed["order"]["number"], "grace@example.com").await,
        Err("TOO_MANY_ATTEMPTS".to_owned())
    );
    assert_eq!(
        lookup(&app, &json!("BK-ZZZZZZZZZZ"), "grace@example.com").await,
        Err("TOO_MANY_ATTEMPTS".to_owned()),
        "throttled answers the same whether the order exists or not"
    );
}

/// Whether `number` is `BK-` and ten characters of the order-number alphabet.
fn well_formed(number: &str) -> bool {
    const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    number
        .strip_prefix("BK-")
        .is_some_and(|rest| rest.len() == 10 && rest.chars().all(|c| ALPHABET.contains(c)))
}

#[tokio::test(flavor = "multi_thread")]
async fn order_numbers_are_random_not_sequential() {
    let app = TestApp::new().await;
    let first = guest_order(&app, "guest-1", "grace@example.com").await;
    let second = guest_order(&app, "guest-2", "grace@example.com").await;
    let numbers = [
        first["order"]["number"].as_str().unwrap(),
        second["order"]["number"].as_str().unwrap(),
    ];
    for number in numbers {
        assert!(well_formed(number), "{number}");
    }
    assert_ne!(numbers[0], numbers[1]);
    let shared_prefix = numbers[0]
        .chars()
        .zip(numbers[1].chars())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        shared_prefix < 3 + 6,
        "consecutive orders look unrelated: {numbers:?}"
    );
    // Existing orders keep their numbers; new ones never collide with them.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE number LIKE $1",
            "BK-__________"
        )
        .await,
        2
    );
}
