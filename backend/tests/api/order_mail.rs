//! Order emails, read as delivered to the test SMTP sink: a confirmation
//! when an order is paid (by checkout or the payment sweeper), and notices
//! when it ships, is cancelled (by its customer, staff, or the sweeper
//! releasing an unpaid order) or is refunded — each queued in the
//! transaction of its change (so never for a change that rolled back), and
//! sent once per order however the checkout is retried or sweepers race. A
//! guest's confirmation links with a token of its own, stored only hashed,
//! that a checkout retry does not kill.

use std::time::Duration;

use bookstore::jobs::sweeper::sweep_once;
use bookstore_test_support::Mail;
use diesel::sql_types::Text;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::{Value, json};

use crate::order_access::{CANCEL, checkout_mutation, count, lookup_query};
use crate::support::{PUBLIC_URL, TestApp};

const APPROVE: &str = "4242 4242 4242 4242";
const DECLINE: &str = "4000 0000 0000 0002";
/// The test gateway never answers (the charge times out; nothing charged).
const HANG: &str = "4000 0000 0000 0077";
/// The test gateway charges, then never answers.
const CHARGE_THEN_HANG: &str = "4000 0000 0000 0085";

const GUEST: &str = "Grace.Reader@example.com";
/// How long "nothing more arrives" checks wait.
const QUIET: Duration = Duration::from_millis(700);

const SHIP: &str = "mutation($n: String!) { markOrderShipped(input: {number: $n, carrier: \"Royal Mail\", trackingNumber: \"RM123456789GB\"}) { order { status } userErrors { code message } } }";
const DELIVER: &str = "mutation($n: String!) { markOrderDelivered(number: $n) { order { status } userErrors { code message } } }";
const REFUND: &str = "mutation($n: String!) { refundOrder(number: $n) { order { status } userErrors { code message } } }";

/// The outbox's rows (their kind, recipient and dedup key: what stays
/// once a message is sent), oldest first.
async fn queued(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        recipient: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        dedup_key: Option<String>,
    }
    let rows: Vec<Row> =
        diesel::sql_query("SELECT kind, recipient, dedup_key FROM outbox ORDER BY id")
            .load(&mut app.connection().await)
            .await
            .unwrap();
    rows.into_iter()
        .map(|row| (row.kind, row.recipient, row.dedup_key))
        .collect()
}

/// The kinds of the outbox's rows, oldest first.
/// The order messages queued (a customer's registration queues its own
/// account message, which is not this file's business).
async fn queued_kinds(app: &TestApp) -> Vec<String> {
    queued(app)
        .await
        .into_iter()
        .map(|(kind, _, _)| kind)
        .filter(|kind| kind.starts_with("order_"))
        .collect()
}

/// Waits for the `count`-th message to `recipient`; then, after a quiet
/// while, returns every message to them (so a duplicate would show).
/// Account messages (a customer's verification link) are left out.
async fn delivered(app: &TestApp, recipient: &str, count: usize) -> Vec<Mail> {
    let order_mail = || {
        app.mail
            .to(recipient)
            .into_iter()
            .filter(|mail| !mail.text.contains("/verify-email?token="))
            .collect::<Vec<_>>()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while order_mail().len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "{recipient} did not get {count} order message(s): {:?}",
            app.mail
                .to(recipient)
                .iter()
                .map(|mail| &mail.subject)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.mail.settle(QUIET).await;
    order_mail()
}

/// The one message whose subject contains `subject`.
fn the<'a>(mails: &'a [Mail], subject: &str) -> &'a Mail {
    let found: Vec<&Mail> = mails
        .iter()
        .filter(|mail| mail.subject.contains(subject))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one message about {subject:?}: {:?}",
        mails.iter().map(|mail| &mail.subject).collect::<Vec<_>>()
    );
    found[0]
}

/// The token of the order link in `mail`.
fn emailed_token(mail: &Mail, number: &Value) -> String {
    mail.link_param(
        &format!("{PUBLIC_URL}/orders/{}?", number.as_str().unwrap()),
        "token",
    )
    .unwrap_or_else(|| panic!("no order link with a token: {}", mail.text))
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
    cart_of(app, &first, &second).await
}

/// A new guest cart: 2 of `first`, 1 of `second`.
async fn cart_of(app: &TestApp, first: &Value, second: &Value) -> Value {
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
        "email": GUEST,
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

async fn order_id(app: &TestApp, number: &Value) -> i64 {
    count(
        app,
        "SELECT id AS n FROM orders WHERE number = $1",
        number.as_str().unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_checkout_sends_one_confirmation_with_its_lines_totals_address_and_link() {
    let app = TestApp::new().await;
    // A title that must be escaped in HTML.
    let (first, second) = books(&app, 100).await;
    let first_id = bookstore::graphql::ids::decode(first.as_str().unwrap())
        .unwrap()
        .1;
    app.sql(&format!(
        "UPDATE books SET title = 'Pride & <Prejudice>' WHERE id = {first_id}"
    ))
    .await;
    app.flush_cache().await;
    let cart = cart_of(&app, &first, &second).await;
    let placed = app
        .data(&checkout_mutation(), guest_input("order-1", &cart, APPROVE))
        .await["checkout"]
        .clone();
    assert_eq!(placed["order"]["status"], "PAID", "{placed}");
    let number = placed["order"]["number"].clone();
    let id = order_id(&app, &number).await;
    assert_eq!(
        queued(&app).await,
        [(
            "order_confirmation".to_owned(),
            GUEST.to_owned(),
            Some(format!("order_confirmation:{id}"))
        )]
    );

    let mails = delivered(&app, GUEST, 1).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(
        mail.subject,
        format!("Order {} confirmed", number.as_str().unwrap())
    );
    // Each line (title, quantity, unit price, line total), the totals with
    // their currency, as the order stored them.
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
        #[diesel(sql_type = diesel::sql_types::Integer)]
        subtotal_cents: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        total_cents: i32,
    }
    let stored: Vec<Line> = diesel::sql_query(
        "SELECT l.title, l.unit_price_cents, l.quantity, o.currency, o.subtotal_cents, o.total_cents
         FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.id = $1 ORDER BY l.position",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .load(&mut app.connection().await)
    .await
    .unwrap();
    assert_eq!(stored.len(), 2);
    let money = |cents: i32| bookstore::domain::money::format(cents, &stored[0].currency);
    let text = &mail.text;
    for line in &stored {
        assert!(
            text.contains(&format!(
                "{} ({} each)",
                line.title,
                money(line.unit_price_cents)
            )),
            "{text}"
        );
        let quantity_row = format!(
            "  {:<28}{:>14}",
            format!("quantity {}", line.quantity),
            money(line.unit_price_cents * line.quantity)
        );
        assert!(text.contains(&quantity_row), "{quantity_row:?} in {text}");
    }
    assert!(
        text.contains(&format!(
            "{:<30}{:>14}",
            "Subtotal",
            money(stored[0].subtotal_cents)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{:<30}{:>14}",
            format!("Total paid ({})", stored[0].currency),
            money(stored[0].total_cents)
        )),
        "{text}"
    );
    for address_line in [
        "Grace Reader",
        "1 Library Way",
        "Flat 2",
        "62701 Springfield, IL",
    ] {
        assert!(text.contains(address_line), "{address_line} in {text}");
    }
    // The date in words, e.g. "29 November 2026".
    let today = chrono::Utc::now().format("%-d %B %Y").to_string();
    assert!(text.contains(&format!("placed {today}")), "{text}");
    // The link opens the order.
    let token = emailed_token(mail, &number);
    assert!(token.len() >= 43, "256 bits: {token}");
    let seen = app
        .data(&lookup_query(), json!({"n": number, "t": token}))
        .await;
    assert_eq!(seen["order"]["number"], number);
    // The HTML part: a table, the title escaped.
    assert!(mail.html.contains("<table"), "{}", mail.html);
    assert!(
        mail.html.contains("Pride &amp; &lt;Prejudice&gt;"),
        "{}",
        mail.html
    );
    assert!(!mail.html.contains("<Prejudice>"));
    assert!(mail.html.contains(&money(stored[0].total_cents)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_checkout_sends_one_confirmation_even_when_retries_race() {
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
    assert_eq!(queued_kinds(&app).await, ["order_confirmation"]);
    let mails = delivered(&app, GUEST, 1).await;
    assert_eq!(mails.len(), 1, "exactly one confirmation");
    assert!(mails[0].text.contains(number.as_str().unwrap()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guests_emailed_link_opens_the_order_and_still_does_after_a_retry() {
    let app = TestApp::new().await;
    let cart = guest_cart(&app).await;
    let attempt = guest_input("guest-link", &cart, APPROVE);
    let first = app.data(&checkout_mutation(), attempt.clone()).await["checkout"].clone();
    let number = first["order"]["number"].clone();
    let emailed = emailed_token(&delivered(&app, GUEST, 1).await[0], &number);
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
    let emailed = emailed_token(&delivered(&app, GUEST, 1).await[0], &number);
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
    let mails = delivered(&app, "alice@example.com", 1).await;
    let mail = the(&mails, "confirmed");
    let link = format!("{PUBLIC_URL}/orders/{}", number.as_str().unwrap());
    assert_eq!(
        mail.link(&link).as_deref(),
        Some(link.as_str()),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("token="), "{}", mail.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE number = $1 AND mail_access_token_hash IS NULL",
            number.as_str().unwrap()
        )
        .await,
        1
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
async fn a_card_declined_at_checkout_sends_nothing() {
    let app = TestApp::new().await;
    let declined = guest_checkout(&app, "declined", DECLINE).await;
    assert_eq!(
        declined["userErrors"][0]["code"], "PAYMENT_DECLINED",
        "{declined}"
    );
    assert_eq!(declined["order"], Value::Null);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE status = $1",
            "CANCELLED"
        )
        .await,
        1
    );
    assert!(queued(&app).await.is_empty());
    assert!(app.mail.settle(QUIET).await.is_empty());
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
        app.mail.settle(QUIET).await.is_empty(),
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

    let mails = delivered(&app, GUEST, 2).await;
    assert_eq!(mails.len(), 2);
    let confirmation = the(&mails, "confirmed");
    let charged_number = charged["order"]["number"].clone();
    assert!(
        confirmation
            .subject
            .contains(charged_number.as_str().unwrap())
    );
    // Its link opens the order, though the sweeper, not checkout, paid it.
    let token = emailed_token(confirmation, &charged_number);
    let seen = app
        .data(&lookup_query(), json!({"n": charged_number, "t": token}))
        .await;
    assert_eq!(seen["order"]["status"], "PAID");

    let cancellation = the(&mails, "cancelled");
    assert!(
        cancellation
            .subject
            .contains(never["order"]["number"].as_str().unwrap())
    );
    assert!(
        cancellation
            .text
            .contains("the card provider could not confirm the payment"),
        "{}",
        cancellation.text
    );
    assert!(cancellation.text.contains("Nothing was charged."));
    assert!(!cancellation.text.contains("refunded"));

    // Later rounds find nothing more to say.
    sweep().await.unwrap();
    assert_eq!(app.mail.settle(QUIET).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn shipping_sends_one_email_with_the_carrier_and_tracking_number() {
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
    // Delivery sends nothing.
    app.data_as(&staff, DELIVER, json!({"n": number})).await;

    let mails = delivered(&app, GUEST, 2).await;
    assert_eq!(mails.len(), 2, "confirmation and shipped");
    let mail = the(&mails, "on its way");
    assert!(mail.subject.contains(number.as_str().unwrap()));
    for expected in [
        "Carrier:         Royal Mail",
        "Tracking number: RM123456789GB",
        "1 Library Way",
    ] {
        assert!(mail.text.contains(expected), "{expected} in {}", mail.text);
    }
    assert!(mail.html.contains("RM123456789GB"));
    // Each book in the parcel.
    let titles: Vec<String> = {
        #[derive(diesel::QueryableByName)]
        struct Title {
            #[diesel(sql_type = Text)]
            title: String,
        }
        let rows: Vec<Title> = diesel::sql_query(
            "SELECT l.title FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.number = $1",
        )
        .bind::<Text, _>(number.as_str().unwrap())
        .load(&mut app.connection().await)
        .await
        .unwrap();
        rows.into_iter().map(|row| row.title).collect()
    };
    for title in &titles {
        assert!(
            mail.text.contains(title.as_str()),
            "{title} in {}",
            mail.text
        );
    }
    // A guest's later emails carry no new secret: they point to the lookup.
    assert!(!mail.text.contains("token="), "{}", mail.text);
    assert!(mail.text.contains(&format!("{PUBLIC_URL}/orders/lookup")));
    let id = order_id(&app, &number).await;
    assert!(queued(&app).await.contains(&(
        "order_shipped".to_owned(),
        GUEST.to_owned(),
        Some(format!("order_shipped:{id}"))
    )));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_change_that_rolls_back_sends_nothing() {
    let app = TestApp::new().await;
    let staff = app.staff_token("desk@example.com").await;
    let number = guest_checkout(&app, "ship-fails", APPROVE).await["order"]["number"].clone();
    delivered(&app, GUEST, 1).await;
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
    assert_eq!(queued_kinds(&app).await, ["order_confirmation"]);
    assert_eq!(
        app.mail.settle(QUIET).await.len(),
        1,
        "the confirmation only"
    );

    app.sql("DROP TRIGGER refuse_shipping ON orders").await;
    let shipped = app.data_as(&staff, SHIP, json!({"n": number})).await;
    assert_eq!(shipped["markOrderShipped"]["order"]["status"], "SHIPPED");
    let mails = delivered(&app, GUEST, 2).await;
    the(&mails, "on its way");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_paid_order_sends_one_cancellation_with_its_refund() {
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
    assert_eq!(queued_kinds(&app).await, ["order_confirmation"]);

    app.gateway.set_refuse_refunds(false);
    let cancelled = app.data_as(&customer, CANCEL, cancel.clone()).await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    let again = app.data_as(&customer, CANCEL, cancel).await;
    assert_eq!(
        again["cancelOrder"]["userErrors"][0]["code"],
        "INVALID_STATE"
    );

    let mails = delivered(&app, "alice@example.com", 2).await;
    assert_eq!(mails.len(), 2, "confirmation and cancellation");
    let mail = the(&mails, "cancelled");
    let total = count(
        &app,
        "SELECT total_cents::bigint AS n FROM orders WHERE number = $1",
        number.as_str().unwrap(),
    )
    .await;
    let refunded = bookstore::domain::money::format(i32::try_from(total).unwrap(), "USD");
    assert!(
        mail.text
            .contains(&format!("{refunded} was refunded to the card ending 4242")),
        "{}",
        mail.text
    );
    // The refund is told in the cancellation, not in a second email.
    assert_eq!(
        queued_kinds(&app).await,
        ["order_confirmation", "order_cancelled"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_cancelling_an_order_sends_its_cancellation() {
    let app = TestApp::new().await;
    let staff = app.staff_token("desk@example.com").await;
    let number = guest_checkout(&app, "staff-cancels", APPROVE).await["order"]["number"].clone();
    let cancelled = app
        .data_as(&staff, CANCEL, json!({"input": {"number": number}}))
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    let mails = delivered(&app, GUEST, 2).await;
    let mail = the(&mails, "cancelled");
    assert!(mail.subject.contains(number.as_str().unwrap()));
    assert!(mail.text.contains("refunded to the card ending 4242"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_sends_one_email_with_its_amount_and_card() {
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

    let mails = delivered(&app, GUEST, 3).await;
    assert_eq!(mails.len(), 3, "confirmation, shipped, refunded");
    let mail = the(&mails, "Refund for order");
    let total = count(
        &app,
        "SELECT total_cents::bigint AS n FROM orders WHERE number = $1",
        number.as_str().unwrap(),
    )
    .await;
    let amount = bookstore::domain::money::format(i32::try_from(total).unwrap(), "USD");
    assert_eq!(
        mail.subject,
        format!("Refund for order {}: {amount}", number.as_str().unwrap())
    );
    assert!(
        mail.text.contains(&format!("We have refunded {amount}")),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("to the card ending 4242"),
        "{}",
        mail.text
    );
    assert!(mail.html.contains(&amount));
    let id = order_id(&app, &number).await;
    assert_eq!(
        queued(&app).await.last().unwrap().2.as_deref(),
        Some(format!("order_refunded:{id}").as_str())
    );
    assert_eq!(
        queued_kinds(&app).await,
        ["order_confirmation", "order_shipped", "order_refunded"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emailed_token_is_stored_only_as_its_sha256() {
    let app = TestApp::new().await;
    let number = guest_checkout(&app, "guest-1", APPROVE).await["order"]["number"].clone();
    let token = emailed_token(&delivered(&app, GUEST, 1).await[0], &number);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE mail_access_token_hash = sha256(convert_to($1, 'UTF8'))",
            &token
        )
        .await,
        1
    );
    // Nowhere in clear: not in the order's tables, nor in the outbox once
    // the message is recorded as sent.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count(
        &app,
        "SELECT count(*) AS n FROM outbox WHERE status <> $1",
        "sent",
    )
    .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the message was not recorded as sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for table in [
        "orders",
        "idempotency_keys",
        "payments",
        "addresses",
        "carts",
        "outbox",
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
}
