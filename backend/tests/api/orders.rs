//! Carts, checkout, payment and the order lifecycle, including the
//! concurrency rules: never oversell, never charge twice.

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::TestApp;

const CART_FIELDS: &str = "id itemCount readyForCheckout subtotal { amountCents currency }
  lines { quantity problem availableQuantity unitPrice { amountCents } lineTotal { amountCents } book { id title stock } }";
const ORDER_FIELDS: &str = "id number status email canCancel subtotal { amountCents } shipping { amountCents } total { amountCents }
  shippingMethod lines { title isbn quantity unitPrice { amountCents } lineTotal { amountCents } book { id stock } }
  shippingAddress { name city country } payments { status cardLast4 amount { amountCents } }
  shipment { carrier trackingNumber deliveredAt }";

fn add_to_cart() -> String {
    format!(
        "mutation($input: AddToCartInput!) {{ addToCart(input: $input) {{ cart {{ {CART_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

fn checkout_mutation() -> String {
    format!(
        "mutation($input: CheckoutInput!) {{ checkout(input: $input) {{ order {{ {ORDER_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

fn checkout_input(key: &str, cart_id: &Value, card: &str) -> Value {
    json!({"input": {
        "idempotencyKey": key,
        "cartId": cart_id,
        "email": "guest@example.com",
        "shippingAddress": {"name": "Ada Reader", "line1": "1 Library Way", "city": "Springfield", "postalCode": "12345", "country": "us"},
        "shippingMethod": "STANDARD",
        "payment": {"cardNumber": card},
    }})
}

const APPROVE: &str = "4242 4242 4242 4242";
const DECLINE: &str = "4000 0000 0000 0002";
const FAIL: &str = "4000 0000 0000 0119";

#[derive(diesel::QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn number(app: &TestApp, sql: &str) -> i64 {
    let rows: Vec<Number> = diesel::sql_query(sql)
        .load(&mut app.connection().await)
        .await
        .unwrap();
    rows[0].n
}

/// A live book given `stock` copies; returns (global id, database id, price).
async fn book_with_stock(app: &TestApp, offset: usize, stock: i32) -> (Value, i64, i64) {
    let data = app
        .data("query($n: Int) { books(first: $n, sort: TITLE) { nodes { id price { amountCents } } } }", json!({"n": offset + 1}))
        .await;
    let book = data["books"]["nodes"][offset].clone();
    let id = bookstore::graphql::ids::decode(book["id"].as_str().unwrap())
        .unwrap()
        .1;
    app.sql(&format!("UPDATE books SET stock = {stock} WHERE id = {id}"))
        .await;
    app.cache
        .invalidate(&[bookstore::cache::Entry::Entity(
            bookstore::cache::Kind::Book,
            id,
        )])
        .await;
    (
        book["id"].clone(),
        id,
        book["price"]["amountCents"].as_i64().unwrap(),
    )
}

/// A new guest cart holding `quantity` of `book`; returns its id.
async fn guest_cart(app: &TestApp, book: &Value, quantity: i32) -> Value {
    let data = app
        .data(
            &add_to_cart(),
            json!({"input": {"bookId": book, "quantity": quantity}}),
        )
        .await;
    assert_eq!(data["addToCart"]["userErrors"], json!([]), "{data}");
    data["addToCart"]["cart"]["id"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_fills_a_cart_with_server_prices_and_limits() {
    let app = TestApp::new().await;
    let (book, _, price) = book_with_stock(&app, 0, 5).await;
    let (other, _, other_price) = book_with_stock(&app, 1, 50).await;
    let cart = guest_cart(&app, &book, 2).await;

    let data = app
        .data(
            &add_to_cart(),
            json!({"input": {"cartId": cart, "bookId": other, "quantity": 1}}),
        )
        .await;
    let view = &data["addToCart"]["cart"];
    assert_eq!(view["itemCount"], 3);
    assert_eq!(view["subtotal"]["amountCents"], 2 * price + other_price);
    assert_eq!(view["lines"][0]["lineTotal"]["amountCents"], 2 * price);

    // Quantities: 1..=99 and no more than in stock; adding accumulates.
    for (quantity, code) in [(0, "INVALID"), (100, "INVALID"), (4, "INSUFFICIENT_STOCK")] {
        let data = app
            .data(
                &add_to_cart(),
                json!({"input": {"cartId": cart, "bookId": book, "quantity": quantity}}),
            )
            .await;
        assert_eq!(
            data["addToCart"]["userErrors"][0]["code"], code,
            "{quantity}: {data}"
        );
    }
    let update = format!(
        "mutation($input: UpdateCartLineInput!) {{ updateCartLine(input: $input) {{ cart {{ {CART_FIELDS} }} userErrors {{ code }} }} }}"
    );
    let data = app
        .data(
            &update,
            json!({"input": {"cartId": cart, "bookId": book, "quantity": 5}}),
        )
        .await;
    assert_eq!(data["updateCartLine"]["cart"]["lines"][0]["quantity"], 5);
    let data = app
        .data(
            &update,
            json!({"input": {"cartId": cart, "bookId": book, "quantity": 6}}),
        )
        .await;
    assert_eq!(
        data["updateCartLine"]["userErrors"][0]["code"],
        "INSUFFICIENT_STOCK"
    );

    let remove = format!(
        "mutation($input: RemoveCartLineInput!) {{ removeCartLine(input: $input) {{ cart {{ {CART_FIELDS} }} userErrors {{ code }} }} }}"
    );
    let data = app
        .data(&remove, json!({"input": {"cartId": cart, "bookId": other}}))
        .await;
    assert_eq!(data["removeCartLine"]["cart"]["itemCount"], 5);

    // Stock that falls below the line, or an archived book, is flagged, not dropped.
    app.sql("UPDATE books SET stock = 2").await;
    app.flush_cache().await;
    let query = format!("query($id: ID) {{ cart(id: $id) {{ {CART_FIELDS} }} }}");
    let data = app.data(&query, json!({"id": cart})).await;
    assert_eq!(data["cart"]["lines"][0]["problem"], "INSUFFICIENT_STOCK");
    assert_eq!(data["cart"]["lines"][0]["availableQuantity"], 2);
    assert_eq!(data["cart"]["readyForCheckout"], false);
    app.sql("UPDATE books SET archived = true").await;
    app.flush_cache().await;
    let data = app.data(&query, json!({"id": cart})).await;
    assert_eq!(data["cart"]["lines"][0]["problem"], "UNAVAILABLE");
    assert_eq!(
        app.data(&query, json!({"id": "no-such-cart-token-at-all-000000000"}))
            .await["cart"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_merges_the_guest_cart_and_says_what_happened() {
    let app = TestApp::new().await;
    let token = app.customer_token("merger@example.com").await;
    let (plenty, _, _) = book_with_stock(&app, 0, 50).await;
    let (scarce, scarce_id, _) = book_with_stock(&app, 1, 3).await;
    let (gone, gone_id, _) = book_with_stock(&app, 2, 10).await;
    // The customer's cart already holds two of the scarce book.
    app.data_as(
        &token,
        &add_to_cart(),
        json!({"input": {"bookId": scarce, "quantity": 2}}),
    )
    .await;

    let cart = guest_cart(&app, &plenty, 2).await;
    app.data(
        &add_to_cart(),
        json!({"input": {"cartId": cart, "bookId": scarce, "quantity": 3}}),
    )
    .await;
    app.data(
        &add_to_cart(),
        json!({"input": {"cartId": cart, "bookId": gone, "quantity": 1}}),
    )
    .await;
    app.sql(&format!(
        "UPDATE books SET archived = true WHERE id = {gone_id}"
    ))
    .await;
    app.cache
        .invalidate(&[bookstore::cache::Entry::Entity(
            bookstore::cache::Kind::Book,
            gone_id,
        )])
        .await;

    let login = "mutation($input: LoginInput!) { login(input: $input) { token cartMerge {
        cart { itemCount } lines { book { id } requested quantity outcome } } userErrors { code } } }";
    let data = app
        .data(login, json!({"input": {"email": "merger@example.com", "password": "correct horse battery", "cartId": cart}}))
        .await;
    let merge = &data["login"]["cartMerge"];
    let outcome = |book: &Value| {
        merge["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|line| line["book"]["id"] == *book)
            .unwrap()
            .clone()
    };
    assert_eq!(outcome(&plenty)["outcome"], "MERGED");
    assert_eq!(outcome(&scarce)["outcome"], "REDUCED");
    assert_eq!(
        (
            outcome(&scarce)["requested"].clone(),
            outcome(&scarce)["quantity"].clone()
        ),
        (json!(5), json!(3))
    );
    assert_eq!(outcome(&gone)["outcome"], "DROPPED");
    assert_eq!(merge["cart"]["itemCount"], 5);
    // The guest cart is gone; the customer's cart holds the result.
    let query = "query($id: ID) { cart(id: $id) { itemCount } }";
    assert_eq!(
        app.data(query, json!({"id": cart})).await["cart"],
        Value::Null
    );
    assert_eq!(
        app.data_as(&token, query, json!({})).await["cart"]["itemCount"],
        5
    );
    let _ = scarce_id;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_cart_is_theirs_alone() {
    let app = TestApp::new().await;
    let owner = app.customer_token("owner@example.com").await;
    let stranger = app.customer_token("stranger@example.com").await;
    let (book, _, _) = book_with_stock(&app, 0, 10).await;
    let data = app
        .data_as(&owner, &add_to_cart(), json!({"input": {"bookId": book}}))
        .await;
    let cart = data["addToCart"]["cart"]["id"].clone();
    let query = "query($id: ID) { cart(id: $id) { itemCount } }";
    assert_eq!(
        app.data_as(&owner, query, json!({"id": cart})).await["cart"]["itemCount"],
        1
    );
    assert_eq!(
        app.data_as(&stranger, query, json!({"id": cart})).await["cart"],
        Value::Null
    );
    assert_eq!(
        app.data(query, json!({"id": cart})).await["cart"],
        Value::Null
    );
    let data = app
        .data_as(
            &stranger,
            &add_to_cart(),
            json!({"input": {"cartId": cart, "bookId": book}}),
        )
        .await;
    assert_eq!(data["addToCart"]["userErrors"][0]["code"], "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_checks_out_and_finds_the_order_by_number_and_email() {
    let app = TestApp::new().await;
    let (book, book_id, price) = book_with_stock(&app, 0, 4).await;
    let cart = guest_cart(&app, &book, 3).await;
    let methods = app
        .data(
            "{ shippingMethods { code price { amountCents } estimate } }",
            json!({}),
        )
        .await;
    assert_eq!(methods["shippingMethods"].as_array().unwrap().len(), 3);
    let shipping = methods["shippingMethods"][0]["price"]["amountCents"]
        .as_i64()
        .unwrap();

    let data = app
        .data(
            &checkout_mutation(),
            checkout_input("key-1", &cart, APPROVE),
        )
        .await;
    let order = &data["checkout"]["order"];
    assert_eq!(data["checkout"]["userErrors"], json!([]), "{data}");
    assert_eq!(order["status"], "PAID");
    assert_eq!(order["subtotal"]["amountCents"], 3 * price);
    assert_eq!(order["shipping"]["amountCents"], shipping);
    assert_eq!(order["total"]["amountCents"], 3 * price + shipping);
    assert_eq!(order["lines"][0]["quantity"], 3);
    assert_eq!(
        order["lines"][0]["book"]["stock"], 1,
        "the cached stock follows the sale"
    );
    assert_eq!(order["payments"][0]["cardLast4"], "4242");
    assert_eq!(order["shippingAddress"]["country"], "US");
    assert!(order["number"].as_str().unwrap().starts_with("BK-"));
    assert_eq!(
        number(
            &app,
            &format!("SELECT stock::bigint AS n FROM books WHERE id = {book_id}")
        )
        .await,
        1
    );

    // Prices are snapshotted: a later price change does not touch the order.
    app.sql(&format!(
        "UPDATE books SET price_cents = 1 WHERE id = {book_id}"
    ))
    .await;
    let lookup = format!(
        "query($n: String!, $e: String) {{ order(number: $n, email: $e) {{ {ORDER_FIELDS} }} }}"
    );
    let found = app
        .data(
            &lookup,
            json!({"n": order["number"], "e": "GUEST@example.com"}),
        )
        .await;
    assert_eq!(
        found["order"]["lines"][0]["unitPrice"]["amountCents"],
        price
    );
    assert_eq!(
        app.data(
            &lookup,
            json!({"n": order["number"], "e": "other@example.com"})
        )
        .await["order"],
        Value::Null
    );
    assert_eq!(
        app.data(&lookup, json!({"n": order["number"]})).await["order"],
        Value::Null
    );

    // The cart is closed; checking it out again with a new key is refused.
    let again = app
        .data(
            &checkout_mutation(),
            checkout_input("key-2", &cart, APPROVE),
        )
        .await;
    assert_eq!(
        again["checkout"]["userErrors"][0]["code"], "NOT_FOUND",
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_checkout_returns_the_same_order_and_charges_once() {
    let app = TestApp::new().await;
    let (book, _, _) = book_with_stock(&app, 0, 10).await;
    let cart = guest_cart(&app, &book, 1).await;
    let first = app
        .data(
            &checkout_mutation(),
            checkout_input("retry-key", &cart, APPROVE),
        )
        .await;
    let second = app
        .data(
            &checkout_mutation(),
            checkout_input("retry-key", &cart, APPROVE),
        )
        .await;
    assert_eq!(
        first["checkout"]["order"]["number"],
        second["checkout"]["order"]["number"]
    );
    assert_eq!(number(&app, "SELECT count(*) AS n FROM payments").await, 1);
    assert_eq!(number(&app, "SELECT count(*) AS n FROM orders").await, 1);

    let mut different = checkout_input("retry-key", &cart, APPROVE);
    different["input"]["shippingMethod"] = json!("EXPRESS");
    let reused = app.data(&checkout_mutation(), different).await;
    assert_eq!(
        reused["checkout"]["userErrors"][0]["code"],
        "IDEMPOTENCY_KEY_REUSED"
    );
    assert_eq!(number(&app, "SELECT count(*) AS n FROM orders").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_or_failed_payment_leaves_no_paid_order_and_returns_the_stock() {
    let app = TestApp::new().await;
    let (book, book_id, _) = book_with_stock(&app, 0, 2).await;
    let cart = guest_cart(&app, &book, 2).await;
    for (key, card, code) in [
        ("declined", DECLINE, "PAYMENT_DECLINED"),
        ("failed", FAIL, "PAYMENT_FAILED"),
    ] {
        let data = app
            .data(&checkout_mutation(), checkout_input(key, &cart, card))
            .await;
        assert_eq!(data["checkout"]["userErrors"][0]["code"], code, "{data}");
        assert_eq!(data["checkout"]["order"], Value::Null, "no order placed");
        let retry = app
            .data(&checkout_mutation(), checkout_input(key, &cart, card))
            .await;
        assert_eq!(
            retry["checkout"]["userErrors"][0]["code"], code,
            "a retry answers the same"
        );
        assert_eq!(retry["checkout"]["order"], Value::Null);
        assert_eq!(
            number(
                &app,
                &format!("SELECT stock::bigint AS n FROM books WHERE id = {book_id}")
            )
            .await,
            2
        );
        let shown = app
            .data(
                "query($id: ID!) { book(id: $id) { stock } }",
                json!({"id": book}),
            )
            .await;
        assert_eq!(
            shown["book"]["stock"], 2,
            "the cache shows the returned stock"
        );
    }
    assert_eq!(
        number(
            &app,
            "SELECT count(*) AS n FROM orders WHERE status = 'PAID'"
        )
        .await,
        0
    );
    // The cart is still there for another try.
    let data = app
        .data(
            &checkout_mutation(),
            checkout_input("approved", &cart, APPROVE),
        )
        .await;
    assert_eq!(data["checkout"]["order"]["status"], "PAID", "{data}");
    let invalid = app
        .data(
            &checkout_mutation(),
            checkout_input("bad-card", &cart, "1234 5678"),
        )
        .await;
    assert_eq!(
        invalid["checkout"]["userErrors"][0]["field"],
        json!(["input", "payment", "cardNumber"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_checkouts_of_five_copies_make_exactly_five_orders() {
    let app = TestApp::with_env(&[("DATABASE_POOL_SIZE", "12")]).await;
    let (book, book_id, _) = book_with_stock(&app, 0, 5).await;
    let mut carts = Vec::new();
    for _ in 0..200 {
        carts.push(guest_cart(&app, &book, 1).await);
    }
    let replies = join_all(carts.iter().enumerate().map(|(n, cart)| {
        let app = &app;
        async move {
            app.graphql(
                &checkout_mutation(),
                checkout_input(&format!("rush-{n}"), cart, APPROVE),
            )
            .await
        }
    }))
    .await;
    let mut paid = 0;
    let mut out_of_stock = 0;
    for reply in &replies {
        assert_eq!(reply.status, axum::http::StatusCode::OK);
        let body = reply.json();
        assert!(
            body.get("errors").is_none(),
            "no errors, only userErrors: {body}"
        );
        match body["data"]["checkout"]["userErrors"][0]["code"].as_str() {
            None => {
                assert_eq!(body["data"]["checkout"]["order"]["status"], "PAID");
                paid += 1;
            }
            Some("INSUFFICIENT_STOCK") => out_of_stock += 1,
            Some(other) => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((paid, out_of_stock), (5, 195));
    assert_eq!(
        number(
            &app,
            &format!("SELECT stock::bigint AS n FROM books WHERE id = {book_id}")
        )
        .await,
        0
    );
    assert_eq!(number(&app, "SELECT count(*) AS n FROM orders").await, 5);
    assert_eq!(number(&app, "SELECT count(*) AS n FROM payments").await, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_retries_with_one_key_make_one_order_and_one_payment() {
    let app = TestApp::with_env(&[("DATABASE_POOL_SIZE", "12")]).await;
    let (book, book_id, _) = book_with_stock(&app, 0, 10).await;
    let cart = guest_cart(&app, &book, 2).await;
    let replies = join_all((0..50).map(|_| {
        let app = &app;
        let cart = &cart;
        async move {
            app.data(
                &checkout_mutation(),
                checkout_input("same-key", cart, APPROVE),
            )
            .await
        }
    }))
    .await;
    let numbers: std::collections::HashSet<String> = replies
        .iter()
        .map(|data| {
            data["checkout"]["order"]["number"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(numbers.len(), 1);
    assert!(
        replies
            .iter()
            .all(|data| data["checkout"]["order"]["status"] == "PAID")
    );
    assert_eq!(number(&app, "SELECT count(*) AS n FROM orders").await, 1);
    assert_eq!(number(&app, "SELECT count(*) AS n FROM payments").await, 1);
    assert_eq!(
        number(
            &app,
            &format!("SELECT stock::bigint AS n FROM books WHERE id = {book_id}")
        )
        .await,
        8
    );
}

async fn customer_order(app: &TestApp, token: &str, stock: i32, key: &str) -> Value {
    let (book, _, _) = book_with_stock(app, 0, stock).await;
    app.data_as(token, &add_to_cart(), json!({"input": {"bookId": book}}))
        .await;
    let mut input = checkout_input(key, &Value::Null, APPROVE);
    input["input"].as_object_mut().unwrap().remove("cartId");
    input["input"].as_object_mut().unwrap().remove("email");
    let data = app.data_as(token, &checkout_mutation(), input).await;
    assert_eq!(data["checkout"]["userErrors"], json!([]), "{data}");
    data["checkout"]["order"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_order_lifecycle_allows_only_its_transitions() {
    let app = TestApp::new().await;
    let customer = app.customer_token("lifecycle@example.com").await;
    let staff = app.staff_token("clerk@example.com").await;
    let order = customer_order(&app, &customer, 10, "life-1").await;
    assert_eq!(order["email"], "lifecycle@example.com");
    let n = order["number"].clone();
    let cancel = format!(
        "mutation($n: String!) {{ cancelOrder(input: {{number: $n}}) {{ order {{ {ORDER_FIELDS} }} userErrors {{ code message }} }} }}"
    );
    let ship = format!(
        "mutation($n: String!) {{ markOrderShipped(input: {{number: $n, carrier: \"Post\", trackingNumber: \"TRACK1\"}}) {{ order {{ {ORDER_FIELDS} }} userErrors {{ code }} }} }}"
    );
    let deliver = format!(
        "mutation($n: String!) {{ markOrderDelivered(number: $n) {{ order {{ {ORDER_FIELDS} }} userErrors {{ code }} }} }}"
    );
    let refund = format!(
        "mutation($n: String!) {{ refundOrder(number: $n) {{ order {{ {ORDER_FIELDS} }} userErrors {{ code }} }} }}"
    );

    // Delivering a paid (unshipped) order is not a transition.
    let data = app.data_as(&staff, &deliver, json!({"n": n})).await;
    assert_eq!(
        data["markOrderDelivered"]["userErrors"][0]["code"],
        "INVALID_STATE"
    );
    assert_eq!(data["markOrderDelivered"]["order"]["status"], "PAID");
    // Customers cannot ship.
    let body = app
        .graphql_as(&customer, &ship, json!({"n": n}))
        .await
        .json();
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let shipped = app.data_as(&staff, &ship, json!({"n": n})).await;
    assert_eq!(shipped["markOrderShipped"]["order"]["status"], "SHIPPED");
    assert_eq!(
        shipped["markOrderShipped"]["order"]["shipment"]["trackingNumber"],
        "TRACK1"
    );
    let refused = app.data_as(&customer, &cancel, json!({"n": n})).await;
    assert_eq!(
        refused["cancelOrder"]["userErrors"][0]["code"],
        "INVALID_STATE"
    );
    assert_eq!(refused["cancelOrder"]["order"]["status"], "SHIPPED");
    let delivered = app.data_as(&staff, &deliver, json!({"n": n})).await;
    assert_eq!(
        delivered["markOrderDelivered"]["order"]["status"],
        "DELIVERED"
    );
    assert!(delivered["markOrderDelivered"]["order"]["shipment"]["deliveredAt"].is_string());
    let refunded = app.data_as(&staff, &refund, json!({"n": n})).await;
    assert_eq!(refunded["refundOrder"]["order"]["status"], "REFUNDED");
    let statuses: Vec<Value> = refunded["refundOrder"]["order"]["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("APPROVED"), json!("REFUNDED")]);

    // A paid order cancelled by its customer: stock back, payment refunded.
    let second = customer_order(&app, &customer, 3, "life-2").await;
    let book = second["lines"][0]["book"]["id"].clone();
    let cancelled = app
        .data_as(&customer, &cancel, json!({"n": second["number"]}))
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    assert_eq!(
        cancelled["cancelOrder"]["order"]["payments"][1]["status"],
        "REFUNDED"
    );
    let stock = app
        .data(
            "query($id: ID!) { book(id: $id) { stock } }",
            json!({"id": book}),
        )
        .await;
    assert_eq!(stock["book"]["stock"], 3);
    let again = app
        .data_as(&customer, &cancel, json!({"n": second["number"]}))
        .await;
    assert_eq!(
        again["cancelOrder"]["userErrors"][0]["code"],
        "INVALID_STATE"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_and_ship_racing_end_with_exactly_one() {
    let app = TestApp::with_env(&[("DATABASE_POOL_SIZE", "8")]).await;
    let customer = app.customer_token("racer@example.com").await;
    let staff = app.staff_token("racer-staff@example.com").await;
    for round in 0..5 {
        let order = customer_order(&app, &customer, 10, &format!("race-{round}")).await;
        let n = order["number"].clone();
        let cancel = "mutation($n: String!) { cancelOrder(input: {number: $n}) { order { status } userErrors { code } } }";
        let ship = "mutation($n: String!) { markOrderShipped(input: {number: $n, carrier: \"Post\", trackingNumber: \"T\"}) { order { status } userErrors { code } } }";
        let (cancelled, shipped) = tokio::join!(
            app.data_as(&customer, cancel, json!({"n": n})),
            app.data_as(&staff, ship, json!({"n": n})),
        );
        let won = [
            cancelled["cancelOrder"]["userErrors"]
                .as_array()
                .unwrap()
                .is_empty(),
            shipped["markOrderShipped"]["userErrors"]
                .as_array()
                .unwrap()
                .is_empty(),
        ];
        assert_eq!(
            won.iter().filter(|won| **won).count(),
            1,
            "{cancelled} {shipped}"
        );
        let status = number(&app, &format!("SELECT (status IN ('CANCELLED', 'SHIPPED'))::int::bigint AS n FROM orders WHERE number = '{}'", n.as_str().unwrap())).await;
        assert_eq!(status, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_are_private_and_listed_newest_first() {
    let app = TestApp::new().await;
    let alice = app.customer_token("alice@example.com").await;
    let bob = app.customer_token("bob@example.com").await;
    let staff = app.staff_token("desk@example.com").await;
    let first = customer_order(&app, &alice, 10, "a-1").await;
    let second = customer_order(&app, &alice, 10, "a-2").await;
    customer_order(&app, &bob, 10, "b-1").await;

    let history =
        "{ viewer { orders(first: 10) { totalCount nodes { number lines { title } } } } }";
    let (data, statements) = {
        let before = app.db.statements_executed();
        let data = app.data_as(&alice, history, json!({})).await;
        (data, app.db.statements_executed() - before)
    };
    let numbers: Vec<Value> = data["viewer"]["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["number"].clone())
        .collect();
    assert_eq!(numbers, [second["number"].clone(), first["number"].clone()]);
    assert!(statements <= 5, "order history ran {statements} statements");

    let lookup = "query($n: String!) { order(number: $n) { number } }";
    assert_eq!(
        app.data_as(&bob, lookup, json!({"n": first["number"]}))
            .await["order"],
        Value::Null
    );
    assert_eq!(
        app.data_as(&alice, lookup, json!({"n": first["number"]}))
            .await["order"]["number"],
        first["number"]
    );
    let cancel = "mutation($n: String!) { cancelOrder(input: {number: $n}) { order { status } userErrors { code } } }";
    let data = app
        .data_as(&bob, cancel, json!({"n": first["number"]}))
        .await;
    assert_eq!(data["cancelOrder"]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(data["cancelOrder"]["order"], Value::Null);

    let all = "{ orders(first: 10, status: PAID) { totalCount nodes { number } } }";
    assert_eq!(
        app.data_as(&staff, all, json!({})).await["orders"]["totalCount"],
        3
    );
    let body = app.graphql_as(&alice, all, json!({})).await.json();
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
}
