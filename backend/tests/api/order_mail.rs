//! Order emails: a confirmation when an order is paid (by checkout or the
//! payment sweeper), and notices when it ships, is cancelled (by its
//! customer, staff, or the sweeper releasing an unpaid order) or is
//! refunded — each queued in the transaction of its change (so never for a
//! change that rolled back), once per order however the checkout is
//! retried or sweepers race. A guest's confirmation links with a token of
//! its own, stored only hashed, that a checkout retry does not kill.

use std::time::Duration;

use bookstore::jobs::sweeper::sweep_once;
use diesel::sql_types::Text;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::{Value, json};

use crate::order_access::{CANCEL, checkout_mutation, count, lookup_query};
use crate::support::TestApp;

const APPROVE: &str = "4242 4242 4242 4242";
const DECLINE: &str = "4000 0000 0000 0002";
/// The test gateway never answers (the charge times out; nothing charged).
const HANG: &str = "4000 0000 0000 0077";
/// The test gateway charges, then never answers.
const CHARGE_THEN_HANG: &str = "4000 0000 0000 0085";

const SHIP: &str = "mutation($n: String!) { markOrderShipped(input: {number: $n, carrier: \"Royal Mail\", trackingNumber: \"RM123456789GB\"}) { order { status } userErrors { code message } } }";
const DELIVER: &str = "mutation($n: String!) { markOrderDelivered(number: $n) { order { status } userErrors { code message } } }";
const REFUND: &str = "mutation($n: String!) { refundOrder(number: $n) { order { status } userErrors { code message } } }";

/// An outbox row.
#[derive(Debug, Clone)]
struct Queued {
    kind: String,
    recipient: String,
    payload: Value,
    dedup_key: Option<String>,
}

/// Every message queued so far, oldest first.
async fn outbox(app: &TestApp) -> Vec<Queued> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        recipient: String,
        #[diesel(sql_type = Text)]
        payload: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        dedup_key: Option<String>,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT kind, recipient, payload::text AS payload, dedup_key FROM outbox ORDER BY id",
    )
    .load(&mut app.connection().await)
    .await
    .unwrap();
    rows.into_iter()
        .map(|row| Queued {
            kind: row.kind,
            recipient: row.recipient,
            payload: serde_json::from_str(&row.payload).unwrap(),
            dedup_key: row.dedup_key,
        })
        .collect()
}

/// The messages of `kind` queued so far.
async fn queued(app: &TestApp, kind: &str) -> Vec<Queued> {
    outbox(app)
        .await
        .into_iter()
        .filter(|message| message.kind == kind)
        .collect()
}

/// Two books (the first two by title), `stock` copies each; their ids.
async fn books(app: &TestApp, stock: i32) -> (Value, Value) {
    let data = app
        .data(
            "{ books(first: 2, sort: TITLE) { nodes { id } } }",
            json!({}),
        )
        .await;
    let nodes = &data["books"]["nodes"];
    for book in [&nodes[0]["id"], &nodes[1]["id"]] {
        let id = bookstore::graphql::ids::decode(book.as_str().unwrap())
            .unwrap()
            .1;
        app.sql(&format!("UPDATE books SET stock = {stock} WHERE id = {id}"))
            .await;
    }
    app.flush_cache().await;
    (nodes[0]["id"].clone(), nodes[1]["id"].clone())
}

/// A new guest cart: 2 of the first book, 1 of the second.
async fn guest_cart(app: &TestApp) -> Value {
    let (first, second) = books(app, 100).await;
    let add = "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } userErrors { message } } }";
    let data = app
        .data(add, json!({"input": {"bookId": first, "quantity": 2}}))
        .await;
    let cart = data["addToCart"]["cart"]["id"].clone();
    app.data(
        add,
        json!({"input": {"cartId": cart, "bookId": second, "quantity": 1}}),
    )
    .await;
    cart
}

fn guest_input(key: &str, cart: &Value, card: &str) -> Value {
    json!({"input": {
        "idempotencyKey": key,
        "cartId": cart,
        "email": "Grace.Reader@example.com",
        "shippingAddress": {"name": "Grace Reader", "line1": "1 Library Way", "line2": "Flat 2",
                            "city": "Springfield", "region": "IL", "postalCode": "62701", "country": "US"},
        "shippingMethod": "STANDARD",
        "payment": {"cardNumber": card},
    }})
}

/// A guest's checkout of a new cart with `card`: the payload.
async fn guest_checkout(app: &TestApp, key: &str, card: &str) -> Value {
    let cart = guest_cart(app).await;
    app.data(&checkout_mutation(), guest_input(key, &cart, card))
        .await["checkout"]
        .clone()
}

/// A signed-in customer's paid order: its number.
async fn customer_order(app: &TestApp, token: &str, key: &str) -> Value {
    let (book, _) = books(app, 100).await;
    app.data_as(
        token,
        "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } } }",
        json!({"input": {"bookId": book}}),
    )
    .await;
    let mut input = guest_input(key, &Value::Null, APPROVE);
    let fields = input["input"].as_object_mut().unwrap();
    fields.remove("cartId");
    fields.remove("email");
    let data = app.data_as(token, &checkout_mutation(), input).await;
    assert_eq!(data["checkout"]["userErrors"], json!([]), "{data}");
    data["checkout"]["order"]["number"].clone()
}

/// A count (`n`) from `sql`, which binds nothing.
async fn number_of(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<Count> = diesel::sql_query(sql)
        .load(&mut app.connection().await)
        .await
        .unwrap();
    rows[0].n
}

async fn order_id(app: &TestApp, number: &Value) -> i64 {
    count(
        app,
        "SELECT id AS n FROM orders WHERE number = $1",
        number.as_str().unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_checkout_queues_one_confirmation_with_its_lines_totals_and_address() {
    let app = TestApp::new().await;
    let placed = guest_checkout(&app, "order-1", APPROVE).await;
    assert_eq!(placed["order"]["status"], "PAID", "{placed}");
    let number = placed["order"]["number"].clone();
    let id = order_id(&app, &number).await;

    let messages = outbox(&app).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let confirmation = &messages[0];
    assert_eq!(confirmation.kind, "order_confirmation");
    assert_eq!(confirmation.recipient, "Grace.Reader@example.com");
    assert_eq!(
        confirmation.dedup_key.as_deref(),
        Some(format!("order_confirmation:{id}").as_str())
    );
    let payload = &confirmation.payload;
    assert_eq!(payload["order_number"], number);
    assert_eq!(payload["guest"], true);
    let lines = payload["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{payload}");
    let mut quantities: Vec<i64> = lines
        .iter()
        .map(|line| line["quantity"].as_i64().unwrap())
        .collect();
    quantities.sort_unstable();
    assert_eq!(quantities, [1, 2]);
    // Each line: title, quantity, unit price and line total, written with
    // the currency, as the order stored them.
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        title: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        unit_price_cents: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        quantity: i32,
        #[diesel(sql_type = Text)]
        currency: String,
    }
    let stored: Vec<Line> = diesel::sql_query(
        "SELECT l.title, l.unit_price_cents, l.quantity, o.currency FROM order_lines l
         JOIN orders o ON o.id = l.order_id WHERE o.id = $1 ORDER BY l.position",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .load(&mut app.connection().await)
    .await
    .unwrap();
    let money = bookstore::domain::money::format;
    for (line, stored) in lines.iter().zip(&stored) {
        assert_eq!(line["title"], stored.title.as_str());
        assert_eq!(line["quantity"], stored.quantity);
        assert_eq!(
            line["unit_price"],
            money(stored.unit_price_cents, &stored.currency)
        );
        assert_eq!(
            line["line_total"],
            money(stored.unit_price_cents * stored.quantity, &stored.currency)
        );
    }
    let subtotal: i32 = stored
        .iter()
        .map(|line| line.unit_price_cents * line.quantity)
        .sum();
    let total = count(
        &app,
        "SELECT total_cents::bigint AS n FROM orders WHERE number = $1",
        number.as_str().unwrap(),
    )
    .await;
    let currency = &stored[0].currency;
    assert_eq!(payload["subtotal"], money(subtotal, currency));
    assert_eq!(
        payload["total"],
        money(i32::try_from(total).unwrap(), currency)
    );
    assert_eq!(payload["currency"], currency.as_str());
    assert_eq!(payload["shipping_method"], "standard");
    assert_eq!(
        payload["ship_to"],
        json!({"name": "Grace Reader", "line1": "1 Library Way", "line2": "Flat 2", "city": "Springfield",
               "region": "IL", "postal_code": "62701", "country": "US"})
    );
    // The date in words, e.g. "29 November 2026".
    let placed_on = payload["placed_on"].as_str().unwrap();
    assert_eq!(
        placed_on,
        chrono::Utc::now().format("%-d %B %Y").to_string(),
        "{payload}"
    );
    assert!(payload["access_token"].as_str().unwrap().len() >= 43);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_checkout_queues_one_confirmation_even_when_retries_race() {
    let app = TestApp::with_env(&[("DATABASE_POOL_SIZE", "8")]).await;
    let cart = guest_cart(&app).await;
    let attempt = guest_input("double-click", &cart, APPROVE);
    let mutation = checkout_mutation();
    let answers =
        futures_util::future::join_all((0..8).map(|_| app.data(&mutation, attempt.clone()))).await;
    let number = answers[0]["checkout"]["order"]["number"].clone();
    for answer in &answers {
        assert_eq!(answer["checkout"]["order"]["number"], number, "{answer}");
    }
    // And later retries, one by one.
    for _ in 0..3 {
        let again = app.data(&mutation, attempt.clone()).await;
        assert_eq!(again["checkout"]["order"]["status"], "PAID");
    }
    let confirmations = queued(&app, "order_confirmation").await;
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    assert_eq!(confirmations[0].payload["order_number"], number);
    assert_eq!(outbox(&app).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guests_emailed_link_opens_the_order_and_still_does_after_a_retry() {
    let app = TestApp::new().await;
    let cart = guest_cart(&app).await;
    let attempt = guest_input("guest-link", &cart, APPROVE);
    let first = app.data(&checkout_mutation(), attempt.clone()).await["checkout"].clone();
    let number = first["order"]["number"].clone();
    let emailed = queued(&app, "order_confirmation").await[0].payload["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        first["orderAccessToken"].as_str().unwrap(),
        emailed,
        "the email has a token of its own"
    );
    let opens = |token: String| {
        let app = &app;
        let number = number.clone();
        async move {
            app.data(&lookup_query(), json!({"n": number, "t": token}))
                .await["order"]["number"]
                .clone()
        }
    };
    assert_eq!(opens(emailed.clone()).await, number);

    // A retry rotates the checkout's token: the emailed link still works.
    let second = app.data(&checkout_mutation(), attempt).await["checkout"].clone();
    assert_eq!(second["order"]["number"], number);
    assert_eq!(
        opens(first["orderAccessToken"].as_str().unwrap().to_owned()).await,
        Value::Null,
        "the old checkout token stopped working"
    );
    assert_eq!(
        opens(second["orderAccessToken"].as_str().unwrap().to_owned()).await,
        number
    );
    assert_eq!(opens(emailed.clone()).await, number);
    // The emailed token opens this order only.
    let other = guest_checkout(&app, "other-order", APPROVE).await;
    assert_eq!(
        app.data(
            &lookup_query(),
            json!({"n": other["order"]["number"], "t": emailed})
        )
        .await["order"],
        Value::Null
    );
    // It cancels the order too, as the storefront's link does.
    let cancelled = app
        .data(
            CANCEL,
            json!({"input": {"number": number, "accessToken": emailed}}),
        )
        .await;
    assert_eq!(
        cancelled["cancelOrder"]["order"]["status"], "CANCELLED",
        "{cancelled}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_that_joins_an_account_loses_its_emailed_token() {
    let app = TestApp::new().await;
    let placed = guest_checkout(&app, "guest-1", APPROVE).await;
    let number = placed["order"]["number"].clone();
    let emailed = queued(&app, "order_confirmation").await[0].payload["access_token"].clone();
    let customer = app.customer_token("grace.reader@example.com").await;
    let user_id = count(
        &app,
        "SELECT id AS n FROM users WHERE email = $1",
        "grace.reader@example.com",
    )
    .await;
    let attached = bookstore::db::orders::attach_guest_orders_of_verified_email(
        &mut app.connection().await,
        user_id,
        "grace.reader@example.com",
    )
    .await
    .unwrap();
    assert_eq!(attached, 1);
    let by_token = app
        .graphql(&lookup_query(), json!({"n": number, "t": emailed}))
        .await
        .json();
    assert_eq!(by_token, json!({"data": {"order": null}}));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE number = $1 AND mail_access_token_hash IS NULL",
            number.as_str().unwrap()
        )
        .await,
        1
    );
    // The customer sees it signed in.
    let seen = app
        .data_as(&customer, &lookup_query(), json!({"n": number}))
        .await;
    assert_eq!(seen["order"]["number"], number);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_confirmation_goes_to_their_email_and_carries_no_token() {
    let app = TestApp::new().await;
    let customer = app.customer_token("alice@example.com").await;
    let number = customer_order(&app, &customer, "alice-1").await;
    let confirmations = queued(&app, "order_confirmation").await;
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    assert_eq!(confirmations[0].recipient, "alice@example.com");
    assert_eq!(confirmations[0].payload["order_number"], number);
    assert_eq!(confirmations[0].payload["guest"], false);
    assert_eq!(confirmations[0].payload["access_token"], Value::Null);
    assert_eq!(
        number_of(
            &app,
            "SELECT count(*) AS n FROM orders WHERE mail_access_token_hash IS NOT NULL"
        )
        .await,
        0
    );
    // The database refuses an emailed token for a customer's order.
    let refused = diesel::sql_query(
        "UPDATE orders SET mail_access_token_hash = sha256('forged') WHERE user_id IS NOT NULL",
    )
    .execute(&mut app.connection().await)
    .await;
    assert!(refused.is_err(), "a customer's order took a token");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_declined_at_checkout_queues_nothing() {
    let app = TestApp::new().await;
    let declined = guest_checkout(&app, "declined", DECLINE).await;
    assert_eq!(
        declined["userErrors"][0]["code"], "PAYMENT_DECLINED",
        "{declined}"
    );
    assert_eq!(declined["order"], Value::Null);
    assert_eq!(
        number_of(
            &app,
            "SELECT count(*) AS n FROM orders WHERE status = 'CANCELLED'"
        )
        .await,
        1
    );
    assert!(outbox(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweeper_confirms_the_orders_it_finds_paid_and_tells_the_ones_it_releases() {
    let app = TestApp::with_env(&[("CHARGE_TIMEOUT_MS", "200"), ("DATABASE_POOL_SIZE", "8")]).await;
    let charged = guest_checkout(&app, "charged", CHARGE_THEN_HANG).await;
    let never = guest_checkout(&app, "never", HANG).await;
    for pending in [&charged, &never] {
        assert_eq!(pending["order"]["status"], "PENDING_PAYMENT", "{pending}");
    }
    assert!(
        outbox(&app).await.is_empty(),
        "nothing confirmed while payment is pending"
    );

    // Three sweepers (three backends) race.
    let sweep = || sweep_once(&app.db, &app.cache, app.gateway.as_ref(), Duration::ZERO);
    let (first, second, third) = tokio::join!(sweep(), sweep(), sweep());
    let (paid, cancelled) = [first, second, third]
        .into_iter()
        .map(Result::unwrap)
        .fold((0, 0), |(paid, cancelled), swept| {
            (paid + swept.paid, cancelled + swept.cancelled)
        });
    assert_eq!((paid, cancelled), (1, 1));

    let messages = outbox(&app).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    let confirmation = &queued(&app, "order_confirmation").await[0];
    assert_eq!(
        confirmation.payload["order_number"],
        charged["order"]["number"]
    );
    // Its link opens the order, though the sweeper, not checkout, paid it.
    let seen = app
        .data(
            &lookup_query(),
            json!({"n": charged["order"]["number"], "t": confirmation.payload["access_token"]}),
        )
        .await;
    assert_eq!(seen["order"]["status"], "PAID");

    let cancellation = &queued(&app, "order_cancelled").await[0];
    assert_eq!(cancellation.recipient, "Grace.Reader@example.com");
    assert_eq!(
        cancellation.payload["order_number"],
        never["order"]["number"]
    );
    assert_eq!(cancellation.payload["reason"], "payment_unconfirmed");
    assert_eq!(cancellation.payload["was_paid"], false);
    assert_eq!(cancellation.payload["refund"], Value::Null);

    // Later rounds find nothing more to say.
    sweep().await.unwrap();
    assert_eq!(outbox(&app).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn shipping_queues_one_email_with_the_carrier_and_tracking_number() {
    let app = TestApp::new().await;
    let staff = app.staff_token("desk@example.com").await;
    let number = guest_checkout(&app, "ship-me", APPROVE).await["order"]["number"].clone();
    let shipped = app.data_as(&staff, SHIP, json!({"n": number})).await;
    assert_eq!(shipped["markOrderShipped"]["order"]["status"], "SHIPPED");
    // Shipping again is refused, and tells no one.
    let again = app.data_as(&staff, SHIP, json!({"n": number})).await;
    assert_eq!(
        again["markOrderShipped"]["userErrors"][0]["code"],
        "INVALID_STATE"
    );
    let emails = queued(&app, "order_shipped").await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let id = order_id(&app, &number).await;
    assert_eq!(
        emails[0].dedup_key.as_deref(),
        Some(format!("order_shipped:{id}").as_str())
    );
    assert_eq!(emails[0].recipient, "Grace.Reader@example.com");
    let payload = &emails[0].payload;
    assert_eq!(payload["carrier"], "Royal Mail");
    assert_eq!(payload["tracking_number"], "RM123456789GB");
    assert_eq!(payload["order_number"], number);
    assert_eq!(payload["lines"].as_array().unwrap().len(), 2);
    assert!(payload["shipped_on"].as_str().unwrap().contains(' '));
    // A guest's later emails carry no new secret.
    assert_eq!(payload.get("access_token"), None, "{payload}");
    // Delivery sends nothing.
    app.data_as(&staff, DELIVER, json!({"n": number})).await;
    assert_eq!(outbox(&app).await.len(), 2, "confirmation and shipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_change_that_rolls_back_queues_nothing() {
    let app = TestApp::new().await;
    let staff = app.staff_token("desk@example.com").await;
    let number = guest_checkout(&app, "ship-fails", APPROVE).await["order"]["number"].clone();
    // The change fails at commit, after everything (its email included)
    // was written in its transaction.
    app.connection()
        .await
        .batch_execute(
            "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
             CREATE CONSTRAINT TRIGGER refuse_shipping AFTER UPDATE ON orders
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
               WHEN (NEW.status = 'SHIPPED') EXECUTE FUNCTION refuse_commit();",
        )
        .await
        .unwrap();
    let reply = app
        .graphql_as(&staff, SHIP, json!({"n": number}))
        .await
        .json();
    assert!(reply.get("errors").is_some(), "{reply}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE number = $1 AND status = 'PAID'",
            number.as_str().unwrap()
        )
        .await,
        1
    );
    assert!(queued(&app, "order_shipped").await.is_empty());

    app.sql("DROP TRIGGER refuse_shipping ON orders").await;
    let shipped = app.data_as(&staff, SHIP, json!({"n": number})).await;
    assert_eq!(shipped["markOrderShipped"]["order"]["status"], "SHIPPED");
    assert_eq!(queued(&app, "order_shipped").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_paid_order_queues_one_cancellation_with_its_refund() {
    let app = TestApp::new().await;
    let customer = app.customer_token("alice@example.com").await;
    let number = customer_order(&app, &customer, "alice-1").await;
    let cancel = json!({"input": {"number": number}});

    // A refused refund changes nothing and tells no one.
    app.gateway.set_refuse_refunds(true);
    let refused = app.data_as(&customer, CANCEL, cancel.clone()).await;
    assert_eq!(
        refused["cancelOrder"]["userErrors"][0]["code"],
        "PAYMENT_FAILED"
    );
    assert!(queued(&app, "order_cancelled").await.is_empty());

    app.gateway.set_refuse_refunds(false);
    let cancelled = app.data_as(&customer, CANCEL, cancel.clone()).await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    let again = app.data_as(&customer, CANCEL, cancel).await;
    assert_eq!(
        again["cancelOrder"]["userErrors"][0]["code"],
        "INVALID_STATE"
    );

    let emails = queued(&app, "order_cancelled").await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0].recipient, "alice@example.com");
    let payload = &emails[0].payload;
    assert_eq!(payload["reason"], "cancelled");
    assert_eq!(payload["was_paid"], true);
    assert_eq!(payload["refund"]["amount"], payload["total"]);
    assert_eq!(payload["refund"]["card_last4"], "4242");
    // The refund is told in the cancellation, not in a second email.
    assert!(queued(&app, "order_refunded").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_cancelling_an_order_queues_its_cancellation() {
    let app = TestApp::new().await;
    let staff = app.staff_token("desk@example.com").await;
    let number = guest_checkout(&app, "staff-cancels", APPROVE).await["order"]["number"].clone();
    let cancelled = app
        .data_as(&staff, CANCEL, json!({"input": {"number": number}}))
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    let emails = queued(&app, "order_cancelled").await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0].recipient, "Grace.Reader@example.com");
    assert_eq!(emails[0].payload["order_number"], number);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_queues_one_email_with_its_amount_and_card() {
    let app = TestApp::new().await;
    let staff = app.staff_token("desk@example.com").await;
    let number = guest_checkout(&app, "return-me", APPROVE).await["order"]["number"].clone();
    app.data_as(&staff, SHIP, json!({"n": number})).await;
    app.data_as(&staff, DELIVER, json!({"n": number})).await;
    let refunded = app.data_as(&staff, REFUND, json!({"n": number})).await;
    assert_eq!(refunded["refundOrder"]["order"]["status"], "REFUNDED");
    let again = app.data_as(&staff, REFUND, json!({"n": number})).await;
    assert_eq!(
        again["refundOrder"]["userErrors"][0]["code"],
        "INVALID_STATE"
    );

    let emails = queued(&app, "order_refunded").await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let id = order_id(&app, &number).await;
    assert_eq!(
        emails[0].dedup_key.as_deref(),
        Some(format!("order_refunded:{id}").as_str())
    );
    let payload = &emails[0].payload;
    assert_eq!(payload["refund"]["amount"], payload["total"]);
    assert_eq!(payload["refund"]["card_last4"], "4242");
    assert_eq!(payload["order_number"], number);
    let kinds: Vec<String> = outbox(&app)
        .await
        .into_iter()
        .map(|message| message.kind)
        .collect();
    assert_eq!(
        kinds,
        ["order_confirmation", "order_shipped", "order_refunded"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emailed_token_is_stored_only_as_its_sha256() {
    let app = TestApp::new().await;
    guest_checkout(&app, "guest-1", APPROVE).await;
    let token = queued(&app, "order_confirmation").await[0].payload["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE mail_access_token_hash = sha256(convert_to($1, 'UTF8'))",
            &token
        )
        .await,
        1
    );
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
                &token
            )
            .await,
            0,
            "{table}"
        );
    }
    // The outbox holds it only until the message is sent.
    let mut conn = app.connection().await;
    let claimed = bookstore::db::outbox::claim_due(&mut conn, 60, 10)
        .await
        .unwrap();
    for message in &claimed {
        assert!(
            bookstore::db::outbox::mark_sent(&mut conn, message)
                .await
                .unwrap()
        );
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox t WHERE strpos(t::text, $1) > 0",
            &token
        )
        .await,
        0
    );
}
