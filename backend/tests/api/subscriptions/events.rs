//! Each subscription receives the event after the write that causes it,
//! and only who may see it subscribes: `bookUpdated` for a staff edit, a
//! stock adjustment, a checkout's stock change and an archive (all carried
//! by the invalidation channel); `orderUpdated` for its customer, staff
//! and a guest order's token holder (anyone else: NOT_FOUND);
//! `orderPlaced` for staff only.

use serde_json::{Value, json};

use super::client::{WsClient, serve};
use super::{BOOK_UPDATED, ORDER_PLACED, ORDER_UPDATED, customer_order, guest_order};
use crate::checkout::support::book_with_stock;
use crate::support::TestApp;

const SHIP: &str = "mutation($n: String!) { markOrderShipped(input: {number: $n, carrier: \"Royal Mail\", trackingNumber: \"RM1\"}) { order { status } userErrors { message } } }";

/// The error code of the `error` message answering subscription `id`.
async fn refused(client: &mut WsClient, id: &str) -> Value {
    let message = client.message().await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["id"], id, "{message}");
    message["payload"][0]["extensions"]["code"].clone()
}

#[tokio::test]
async fn book_updated_follows_every_kind_of_book_write() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let address = serve(app.router.clone()).await;
    let (book, _) = book_with_stock(&app, 0, 10).await;
    let (other, _) = book_with_stock(&app, 1, 10).await;
    // Public: no token needed.
    let mut client = WsClient::ready(address, json!({})).await;
    client
        .subscribe("b", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // A book nobody here watches: nothing arrives.
    app.data_as(&staff, "mutation($id: ID!) { adjustStock(input: {bookId: $id, delta: 1}) { userErrors { message } } }", json!({"id": other})).await;

    // Staff edit (price).
    app.data_as(&staff, "mutation($id: ID!) { updateBook(input: {id: $id, priceCents: 1234}) { userErrors { message } } }", json!({"id": book})).await;
    let next = client.next_of("b").await;
    assert_eq!(next["data"]["bookUpdated"]["id"], book);
    assert_eq!(next["data"]["bookUpdated"]["price"]["amountCents"], 1234);

    // Stock adjustment.
    app.data_as(&staff, "mutation($id: ID!) { adjustStock(input: {bookId: $id, delta: 5}) { userErrors { message } } }", json!({"id": book})).await;
    assert_eq!(
        client.next_of("b").await["data"]["bookUpdated"]["stock"],
        15
    );

    // A checkout takes a copy.
    guest_order(&app, &book, "sub-book-1").await;
    assert_eq!(
        client.next_of("b").await["data"]["bookUpdated"]["stock"],
        14
    );

    // Archive.
    app.data_as(
        &staff,
        "mutation($id: ID!) { archiveBook(id: $id) { userErrors { message } } }",
        json!({"id": book}),
    )
    .await;
    let archived = client.next_of("b").await;
    assert_eq!(
        archived["data"]["bookUpdated"]["archived"], true,
        "{archived}"
    );
    assert_eq!(
        client
            .message_within(std::time::Duration::from_millis(300))
            .await,
        None
    );
}

#[tokio::test]
async fn order_updated_is_for_who_may_see_the_order() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let customer = app.customer_token("reader@example.com").await;
    let stranger = app.customer_token("stranger@example.com").await;
    let address = serve(app.router.clone()).await;
    let order = customer_order(&app, &customer, 0, "sub-order-1").await;

    // Another customer: NOT_FOUND, as for the `order` query.
    let mut other = WsClient::ready(address, json!({"token": stranger})).await;
    other
        .subscribe("o", ORDER_UPDATED, json!({"id": order["id"]}))
        .await;
    assert_eq!(refused(&mut other, "o").await, "NOT_FOUND");
    // No token at all: the same.
    let mut anonymous = WsClient::ready(address, json!({})).await;
    anonymous
        .subscribe("o", ORDER_UPDATED, json!({"id": order["id"]}))
        .await;
    assert_eq!(refused(&mut anonymous, "o").await, "NOT_FOUND");

    // The customer (Bearer in the payload) and staff (header on the upgrade).
    let mut own = WsClient::ready(
        address,
        json!({"authorization": format!("Bearer {customer}")}),
    )
    .await;
    own.subscribe("o", ORDER_UPDATED, json!({"id": order["id"]}))
        .await;
    let mut desk =
        WsClient::open_with(address, &[("authorization", &format!("Bearer {staff}"))]).await;
    desk.init(json!({})).await;
    desk.subscribe("o", ORDER_UPDATED, json!({"id": order["id"]}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let shipped = app
        .data_as(&staff, SHIP, json!({"n": order["number"]}))
        .await;
    assert_eq!(
        shipped["markOrderShipped"]["order"]["status"], "SHIPPED",
        "{shipped}"
    );
    for client in [&mut own, &mut desk] {
        let next = client.next_of("o").await;
        assert_eq!(next["data"]["orderUpdated"]["status"], "SHIPPED");
        assert_eq!(next["data"]["orderUpdated"]["number"], order["number"]);
    }
}

#[tokio::test]
async fn a_guest_order_opens_with_its_access_token_only() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let address = serve(app.router.clone()).await;
    let (book, _) = book_with_stock(&app, 0, 10).await;
    let (order, token) = guest_order(&app, &book, "sub-guest-1").await;

    let mut wrong = WsClient::ready(address, json!({})).await;
    wrong
        .subscribe(
            "g",
            ORDER_UPDATED,
            json!({"id": order["id"], "token": "not-it"}),
        )
        .await;
    assert_eq!(refused(&mut wrong, "g").await, "NOT_FOUND");

    let mut guest = WsClient::ready(address, json!({})).await;
    guest
        .subscribe(
            "g",
            ORDER_UPDATED,
            json!({"id": order["id"], "token": token}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.data_as(&staff, SHIP, json!({"n": order["number"]}))
        .await;
    assert_eq!(
        guest.next_of("g").await["data"]["orderUpdated"]["status"],
        "SHIPPED"
    );
}

#[tokio::test]
async fn order_placed_is_for_staff_and_announces_each_paid_order() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let customer = app.customer_token("reader@example.com").await;
    let address = serve(app.router.clone()).await;

    let mut anonymous = WsClient::ready(address, json!({})).await;
    anonymous.subscribe("p", ORDER_PLACED, json!({})).await;
    assert_eq!(refused(&mut anonymous, "p").await, "UNAUTHENTICATED");
    let mut shopper = WsClient::ready(address, json!({"token": customer})).await;
    shopper.subscribe("p", ORDER_PLACED, json!({})).await;
    assert_eq!(refused(&mut shopper, "p").await, "FORBIDDEN");

    let mut desk = WsClient::ready(address, json!({"token": staff})).await;
    desk.subscribe("p", ORDER_PLACED, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let order = customer_order(&app, &customer, 0, "sub-placed-1").await;
    let next = desk.next_of("p").await;
    assert_eq!(next["data"]["orderPlaced"]["id"], order["id"]);
    assert_eq!(next["data"]["orderPlaced"]["status"], "PAID");
    // Shipping it is no new order.
    app.data_as(&staff, SHIP, json!({"n": order["number"]}))
        .await;
    assert_eq!(
        desk.message_within(std::time::Duration::from_millis(500))
            .await,
        None
    );
}

#[tokio::test]
async fn signing_out_ends_the_subscriptions_the_session_allowed() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let customer = app.customer_token("reader@example.com").await;
    let address = serve(app.router.clone()).await;
    let order = customer_order(&app, &customer, 0, "sub-logout-1").await;

    let mut own = WsClient::ready(address, json!({"token": customer})).await;
    own.subscribe("o", ORDER_UPDATED, json!({"id": order["id"]}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let out = app
        .data_as(&customer, "mutation { logout { loggedOut } }", json!({}))
        .await;
    assert_eq!(out["logout"]["loggedOut"], true);

    app.data_as(&staff, SHIP, json!({"n": order["number"]}))
        .await;
    // No status for a signed-out session: the subscription completes.
    assert_eq!(own.message().await, json!({"id": "o", "type": "complete"}));
}

#[tokio::test]
async fn without_redis_one_instance_still_tells_its_own_subscribers() {
    let app = TestApp::with_env(&[("REDIS_URL", "")]).await;
    let staff = app.staff_token("staff@example.com").await;
    let customer = app.customer_token("reader@example.com").await;
    let address = serve(app.router.clone()).await;
    let (book, _) = book_with_stock(&app, 0, 10).await;
    let mut watcher = WsClient::ready(address, json!({})).await;
    watcher
        .subscribe("b", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    let mut desk = WsClient::ready(address, json!({"token": staff})).await;
    desk.subscribe("p", ORDER_PLACED, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    app.data_as(&staff, "mutation($id: ID!) { adjustStock(input: {bookId: $id, delta: 2}) { userErrors { message } } }", json!({"id": book})).await;
    assert_eq!(
        watcher.next_of("b").await["data"]["bookUpdated"]["stock"],
        12
    );
    let order = customer_order(&app, &customer, 1, "no-redis-1").await;
    assert_eq!(
        desk.next_of("p").await["data"]["orderPlaced"]["id"],
        order["id"]
    );
}
