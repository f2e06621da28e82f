//! Who may read and cancel an order: its customer, staff, or — for a guest
//! order only — the holder of its access token (or its number and checkout
//! email, throttled per client and per number). Anyone else gets the same
//! "not found" as for an order that does not exist; numbers are random; the
//! token is stored only as its hash. (The lookup by number and email, and
//! order numbers: `order_lookup`; guest orders and accounts: `guest_orders`.)

use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::support::TestApp;

const APPROVE: &str = "4242 4242 4242 4242";
const ORDER: &str = "number status shippingAddress { name line1 phone }";

pub(crate) fn checkout_mutation() -> String {
    format!(
        "mutation($input: CheckoutInput!) {{ checkout(input: $input) {{
           order {{ {ORDER} }} orderAccessToken userErrors {{ code message }} }} }}"
    )
}

pub(crate) fn lookup_query() -> String {
    format!(
        "query($n: String!, $e: String, $t: String) {{ order(number: $n, email: $e, accessToken: $t) {{ {ORDER} }} }}"
    )
}

pub(crate) const CANCEL: &str = "mutation($input: OrderLookupInput!) {
    cancelOrder(input: $input) { order { number status } userErrors { field code message } } }";

/// A book with plenty of stock (the first by title).
async fn a_book(app: &TestApp) -> Value {
    let data = app
        .data(
            "{ books(first: 1, sort: TITLE) { nodes { id } } }",
            json!({}),
        )
        .await;
    let book = data["books"]["nodes"][0]["id"].clone();
    let id = bookstore::graphql::ids::decode(book.as_str().unwrap())
        .unwrap()
        .1;
    app.sql(&format!("UPDATE books SET stock = 1000 WHERE id = {id}"))
        .await;
    app.flush_cache().await;
    book
}

fn input(key: &str, cart: Option<&Value>, email: Option<&str>) -> Value {
    let mut input = json!({
        "idempotencyKey": key,
        "shippingAddress": {"name": "Ada Reader", "line1": "1 Library Way", "city": "Springfield",
                            "postalCode": "12345", "country": "US", "phone": "+1 555 0100"},
        "shippingMethod": "STANDARD",
        "payment": {"cardNumber": APPROVE},
    });
    if let Some(cart) = cart {
        input["cartId"] = cart.clone();
    }
    if let Some(email) = email {
        input["email"] = json!(email);
    }
    json!({ "input": input })
}

/// A guest checkout (a new cart) with `email`: the payload.
pub(crate) async fn guest_order(app: &TestApp, key: &str, email: &str) -> Value {
    let book = a_book(app).await;
    let data = app
        .data(
            "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } } }",
            json!({"input": {"bookId": book}}),
        )
        .await;
    let cart = data["addToCart"]["cart"]["id"].clone();
    let data = app
        .data(&checkout_mutation(), input(key, Some(&cart), Some(email)))
        .await;
    assert_eq!(data["checkout"]["userErrors"], json!([]), "{data}");
    data["checkout"].clone()
}

/// A signed-in customer's checkout: the payload.
async fn customer_order(app: &TestApp, token: &str, key: &str) -> Value {
    let book = a_book(app).await;
    app.data_as(
        token,
        "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } } }",
        json!({"input": {"bookId": book}}),
    )
    .await;
    let data = app
        .data_as(token, &checkout_mutation(), input(key, None, None))
        .await;
    assert_eq!(data["checkout"]["userErrors"], json!([]), "{data}");
    data["checkout"].clone()
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub(crate) async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    let rows: Vec<Count> = diesel::sql_query(sql)
        .bind::<Text, _>(bind)
        .load(&mut app.connection().await)
        .await
        .unwrap();
    rows[0].n
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_order_answers_only_to_them_and_staff_never_to_its_number_and_email() {
    let app = TestApp::new().await;
    let alice = app.customer_token("alice@example.com").await;
    let bob = app.customer_token("bob@example.com").await;
    let staff = app.staff_token("desk@example.com").await;
    let placed = customer_order(&app, &alice, "alice-1").await;
    assert_eq!(
        placed["orderAccessToken"],
        Value::Null,
        "a customer's order has no token"
    );
    let number = placed["order"]["number"].clone();
    let by_email = json!({"n": number, "e": "alice@example.com"});

    // Nobody else reads it, not even with its number and email.
    let anonymous = app.graphql(&lookup_query(), by_email.clone()).await.json();
    assert_eq!(anonymous, json!({"data": {"order": null}}));
    let stranger = app
        .graphql_as(&bob, &lookup_query(), by_email.clone())
        .await
        .json();
    assert_eq!(stranger, json!({"data": {"order": null}}));
    // Nor cancels it.
    let cancel_input = json!({"input": {"number": number, "email": "alice@example.com"}});
    for reply in [
        app.graphql(CANCEL, cancel_input.clone()).await.json(),
        app.graphql_as(&bob, CANCEL, cancel_input.clone())
            .await
            .json(),
    ] {
        assert_eq!(
            reply["data"]["cancelOrder"]["userErrors"][0]["code"], "NOT_FOUND",
            "{reply}"
        );
    }
    // The same answer as for an order that does not exist.
    let missing = app
        .graphql(
            CANCEL,
            json!({"input": {"number": "BK-ZZZZZZZZZZ", "email": "alice@example.com"}}),
        )
        .await
        .json();
    assert_eq!(
        missing,
        app.graphql(CANCEL, cancel_input.clone()).await.json()
    );

    // Its customer and staff do.
    for token in [&alice, &staff] {
        let data = app
            .data_as(token, &lookup_query(), json!({"n": number}))
            .await;
        assert_eq!(data["order"]["status"], "PAID");
    }
    let cancelled = app
        .data_as(&alice, CANCEL, json!({"input": {"number": number}}))
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_order_opens_with_its_token_and_no_other() {
    let app = TestApp::new().await;
    let placed = guest_order(&app, "guest-1", "grace@example.com").await;
    let number = placed["order"]["number"].clone();
    let token = placed["orderAccessToken"].as_str().unwrap().to_owned();
    assert!(token.len() >= 22, "at least 128 bits: {token}");

    let other = guest_order(&app, "guest-2", "other@example.com").await;
    let wrong_tokens = [
        other["orderAccessToken"].as_str().unwrap().to_owned(),
        // The last character changed (to another one a token may end with).
        format!(
            "{}{}",
            &token[..token.len() - 1],
            if token.ends_with('A') { 'E' } else { 'A' }
        ),
        String::new(),
        "x".repeat(5000),
    ];
    for wrong in &wrong_tokens {
        let reply = app
            .graphql(&lookup_query(), json!({"n": number, "t": wrong}))
            .await
            .json();
        assert_eq!(reply, json!({"data": {"order": null}}), "{wrong}");
        let refused = app
            .data(
                CANCEL,
                json!({"input": {"number": number, "accessToken": wrong}}),
            )
            .await;
        assert_eq!(refused["cancelOrder"]["userErrors"][0]["code"], "NOT_FOUND");
    }

    let seen = app
        .data(&lookup_query(), json!({"n": number, "t": token}))
        .await;
    assert_eq!(seen["order"]["status"], "PAID");
    assert_eq!(seen["order"]["shippingAddress"]["phone"], "+1 555 0100");
    // The number is matched as typed by a human (case, spaces).
    let typed = number.as_str().unwrap().to_lowercase();
    let seen = app
        .data(
            &lookup_query(),
            json!({"n": format!(" {typed} "), "t": token}),
        )
        .await;
    assert_eq!(seen["order"]["number"], number);

    let cancelled = app
        .data(
            CANCEL,
            json!({"input": {"number": number, "accessToken": token}}),
        )
        .await;
    assert_eq!(
        cancelled["cancelOrder"]["userErrors"],
        json!([]),
        "{cancelled}"
    );
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    // The other guest's order is untouched.
    let untouched = app
        .data(
            &lookup_query(),
            json!({"n": other["order"]["number"], "t": other["orderAccessToken"]}),
        )
        .await;
    assert_eq!(untouched["order"]["status"], "PAID");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_opens_only_a_guest_order() {
    let app = TestApp::new().await;
    let placed = guest_order(&app, "guest-1", "mallory@example.com").await;
    let alice = app.customer_token("alice@example.com").await;
    let alices = customer_order(&app, &alice, "alice-1").await;
    // Even a valid token of some order opens no customer's order.
    let reply = app
        .graphql(
            &lookup_query(),
            json!({"n": alices["order"]["number"], "t": placed["orderAccessToken"]}),
        )
        .await
        .json();
    assert_eq!(reply, json!({"data": {"order": null}}));
    // And the database holds no token for a customer's order.
    let refused = diesel::sql_query(
        "UPDATE orders SET access_token_hash = sha256('forged') WHERE user_id IS NOT NULL",
    )
    .execute(&mut app.connection().await)
    .await;
    assert!(refused.is_err(), "a customer's order took a token");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_checkout_issues_a_new_token_and_the_old_one_stops_working() {
    let app = TestApp::new().await;
    let book = a_book(&app).await;
    let data = app
        .data(
            "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } } }",
            json!({"input": {"bookId": book}}),
        )
        .await;
    let cart = data["addToCart"]["cart"]["id"].clone();
    let attempt = input("retry-key", Some(&cart), Some("grace@example.com"));
    let first = app.data(&checkout_mutation(), attempt.clone()).await;
    let second = app.data(&checkout_mutation(), attempt).await;
    let number = first["checkout"]["order"]["number"].clone();
    assert_eq!(second["checkout"]["order"]["number"], number);
    let (old, new) = (
        first["checkout"]["orderAccessToken"].as_str().unwrap(),
        second["checkout"]["orderAccessToken"].as_str().unwrap(),
    );
    assert_ne!(old, new, "the retry rotates the token");
    let with = |token: &str| json!({"n": number, "t": token});
    assert_eq!(
        app.data(&lookup_query(), with(old)).await["order"],
        Value::Null
    );
    assert_eq!(
        app.data(&lookup_query(), with(new)).await["order"]["number"],
        number
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn of_concurrent_retries_exactly_one_answer_carries_the_working_token() {
    let app = TestApp::with_env(&[("DATABASE_POOL_SIZE", "8")]).await;
    let book = a_book(&app).await;
    let data = app
        .data(
            "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } } }",
            json!({"input": {"bookId": book}}),
        )
        .await;
    let cart = data["addToCart"]["cart"]["id"].clone();
    let attempt = input("double-click", Some(&cart), Some("grace@example.com"));
    let mutation = checkout_mutation();
    let answers =
        futures_util::future::join_all((0..10).map(|_| app.data(&mutation, attempt.clone()))).await;
    let number = answers[0]["checkout"]["order"]["number"].clone();
    let mut working = 0;
    for answer in &answers {
        assert_eq!(answer["checkout"]["order"]["number"], number);
        if let Some(token) = answer["checkout"]["orderAccessToken"].as_str() {
            let seen = app
                .data(&lookup_query(), json!({"n": number, "t": token}))
                .await;
            working += usize::from(seen["order"]["number"] == number);
        }
    }
    assert_eq!(
        working, 1,
        "no answer shows a dead link but superseded ones"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_token_is_stored_only_as_its_sha256() {
    let app = TestApp::new().await;
    let placed = guest_order(&app, "guest-1", "grace@example.com").await;
    let token = placed["orderAccessToken"].as_str().unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE access_token_hash = sha256(convert_to($1, 'UTF8'))",
            token
        )
        .await,
        1
    );
    // Not in clear anywhere: no row of any table holds it as text.
    for table in [
        "orders",
        "idempotency_keys",
        "payments",
        "addresses",
        "carts",
    ] {
        assert_eq!(
            count(
                &app,
                &format!("SELECT count(*) AS n FROM {table} t WHERE strpos(t::text, $1) > 0"),
                token
            )
            .await,
            0,
            "{table}"
        );
    }
}
