//! Refunds (a paid order cancelled, a delivered one returned) call the
//! gateway outside any transaction: the order's row is not locked and no
//! pooled connection is held while the provider works, and no other change
//! can slip in meanwhile.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::{Value, json};

use super::support::*;
use crate::support::TestApp;

const CANCEL: &str = "mutation($n: String!) { cancelOrder(input: {number: $n}) { order { status payments { status } } userErrors { code message } } }";
const SHIP: &str = "mutation($n: String!) { markOrderShipped(input: {number: $n, carrier: \"Post\", trackingNumber: \"T1\"}) { order { status } userErrors { code message } } }";

async fn paid_order(app: &TestApp, key: &str) -> Value {
    let (book, _) = book_with_stock(app, 0, 10).await;
    let cart = guest_cart(app, &book, 1).await;
    let data = app
        .data(&checkout_mutation(), checkout_input(key, &cart, APPROVE))
        .await;
    assert_eq!(data["checkout"]["order"]["status"], "PAID", "{data}");
    data["checkout"]["order"]["number"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_holds_no_row_lock_and_no_other_change_slips_in_meanwhile() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let order = paid_order(&app, "refund-slow").await;
    app.gateway.set_refund_delay(Duration::from_secs(2));

    let cancelling = {
        let staff = staff.clone();
        let order = order.clone();
        let app = &app;
        async move { app.data_as(&staff, CANCEL, json!({"n": order})).await }
    };
    let probe = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // While the provider works, the order's row is not locked...
        let mut other = AsyncPgConnection::establish(&app.database.url)
            .await
            .expect("connection");
        let locked = other
            .batch_execute(&format!(
                "BEGIN; SELECT id FROM orders WHERE number = '{}' FOR UPDATE NOWAIT; ROLLBACK",
                order.as_str().unwrap()
            ))
            .await;
        // ...and shipping it meanwhile is refused.
        let shipped = app.data_as(&staff, SHIP, json!({"n": order})).await;
        (locked, shipped)
    };
    let (cancelled, (locked, shipped)) = tokio::join!(cancelling, probe);

    assert!(
        locked.is_ok(),
        "the order's row was locked during the refund: {locked:?}"
    );
    assert_eq!(
        shipped["markOrderShipped"]["userErrors"][0]["code"], "INVALID_STATE",
        "{shipped}"
    );
    assert!(
        shipped["markOrderShipped"]["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("refund"),
        "{shipped}"
    );
    assert_eq!(
        cancelled["cancelOrder"]["userErrors"],
        json!([]),
        "{cancelled}"
    );
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    assert_eq!(
        cancelled["cancelOrder"]["order"]["payments"],
        json!([{"status": "APPROVED"}, {"status": "REFUNDED"}]),
        "{cancelled}"
    );
    assert_eq!(app.gateway.refunds_made(), 1);
    let mark = number(
        &app,
        &format!(
            "SELECT count(*) AS n FROM orders WHERE number = '{}' AND refund_started_at IS NULL",
            order.as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(mark, 1, "the refund mark is cleared");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_refund_can_be_asked_for_again_a_fresh_one_cannot() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let number = paid_order(&app, "refund-abandoned").await;
    let n = number.as_str().unwrap();

    // A refund in flight (another backend is waiting for the provider).
    app.sql(&format!(
        "UPDATE orders SET refund_started_at = now() WHERE number = '{n}'"
    ))
    .await;
    let data = app.data_as(&staff, CANCEL, json!({"n": number})).await;
    assert_eq!(
        data["cancelOrder"]["userErrors"][0]["code"], "INVALID_STATE",
        "{data}"
    );
    assert_eq!(app.gateway.refunds_made(), 0);

    // Its backend died after the provider refunded but before recording
    // the answer: after a while the change may be asked for again, and the
    // provider (same idempotency key) refunds once.
    {
        use bookstore::payments::PaymentGateway;
        let key = format!("refund-{n}");
        app.gateway.refund("any", 1, &key).await.expect("refund");
        assert_eq!(app.gateway.refunds_made(), 1);
    }
    app.sql(&format!(
        "UPDATE orders SET refund_started_at = now() - interval '1 hour' WHERE number = '{n}'"
    ))
    .await;
    let data = app.data_as(&staff, CANCEL, json!({"n": number})).await;
    assert_eq!(
        data["cancelOrder"]["order"]["status"], "CANCELLED",
        "{data}"
    );
    assert_eq!(app.gateway.refunds_made(), 1, "refunded twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refund_leaves_the_order_as_it_was() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let order = paid_order(&app, "refund-refused").await;
    app.gateway.set_refuse_refunds(true);
    let data = app.data_as(&staff, CANCEL, json!({"n": order})).await;
    assert_eq!(
        data["cancelOrder"]["userErrors"][0]["code"], "PAYMENT_FAILED",
        "{data}"
    );
    assert_eq!(data["cancelOrder"]["order"]["status"], "PAID", "{data}");
    assert_eq!(order_status(&app, &order).await, "PAID");
    assert_eq!(app.gateway.refunds_made(), 0);

    // Nothing is left half done: once the provider agrees, it goes through.
    app.gateway.set_refuse_refunds(false);
    let data = app.data_as(&staff, CANCEL, json!({"n": order})).await;
    assert_eq!(
        data["cancelOrder"]["order"]["status"], "CANCELLED",
        "{data}"
    );
    assert_eq!(app.gateway.refunds_made(), 1);
}
