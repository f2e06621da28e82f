//! The payment sweeper, in-process: orders left awaiting payment by a
//! gateway timeout are resolved by asking the gateway — paid when it
//! charged, cancelled with the stock back when it did not, left alone while
//! it cannot be reached or the order is younger than the configured age.

use std::time::Duration;

use bookstore::jobs::sweeper::{Swept, sweep_once};
use bookstore::payments::{BoxFuture, Charge, ChargeOutcome, Lookup, PaymentGateway};
use serde_json::{Value, json};

use super::support::*;
use crate::support::TestApp;

/// A gateway that cannot be reached at all.
struct Unreachable;

impl PaymentGateway for Unreachable {
    fn name(&self) -> &'static str {
        "test"
    }
    fn charge<'a>(&'a self, _charge: &'a Charge) -> BoxFuture<'a, ChargeOutcome> {
        Box::pin(async {
            ChargeOutcome::Unknown {
                reason: "unreachable".to_owned(),
            }
        })
    }
    fn lookup<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Lookup> {
        Box::pin(async {
            Lookup::Unreachable {
                reason: "connection refused".to_owned(),
            }
        })
    }
    fn refund<'a>(
        &'a self,
        _reference: &'a str,
        _amount: i32,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Err("unreachable".to_owned()) })
    }
}

async fn pending_order(app: &TestApp, book: &Value, key: &str, card: &str) -> Value {
    let cart = guest_cart(app, book, 1).await;
    let data = app
        .data(&checkout_mutation(), checkout_input(key, &cart, card))
        .await;
    assert_eq!(
        data["checkout"]["order"]["status"], "PENDING_PAYMENT",
        "{data}"
    );
    data["checkout"]["order"]["number"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweeper_resolves_timed_out_orders_by_asking_the_gateway() {
    let app = TestApp::with_env(&[("CHARGE_TIMEOUT_MS", "200")]).await;
    let (book, book_id) = book_with_stock(&app, 0, 10).await;
    let charged = pending_order(&app, &book, "charged", CHARGE_THEN_HANG).await;
    let never = pending_order(&app, &book, "never", HANG).await;
    assert_eq!(stock_of(&app, book_id).await, 8);

    // Too young for the configured age: untouched.
    let swept = sweep_once(
        &app.db,
        &app.cache,
        app.gateway.as_ref(),
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    assert_eq!(swept, Swept::default());
    // The gateway cannot be reached: left for the next round.
    let swept = sweep_once(&app.db, &app.cache, &Unreachable, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(swept.unresolved, 2, "{swept:?}");
    assert_eq!(order_status(&app, &charged).await, "PENDING_PAYMENT");
    assert_eq!(order_status(&app, &never).await, "PENDING_PAYMENT");
    assert_eq!(stock_of(&app, book_id).await, 8);

    let swept = sweep_once(&app.db, &app.cache, app.gateway.as_ref(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!((swept.paid, swept.cancelled), (1, 1), "{swept:?}");
    assert_eq!(order_status(&app, &charged).await, "PAID");
    assert_eq!(order_status(&app, &never).await, "CANCELLED");
    assert_eq!(stock_of(&app, book_id).await, 9, "the unpaid copy is back");
    let shown = app
        .data(
            "query($id: ID!) { book(id: $id) { stock } }",
            json!({"id": book}),
        )
        .await;
    assert_eq!(shown["book"]["stock"], 9, "the cache follows");
    assert_eq!(
        number(
            &app,
            "SELECT count(*) AS n FROM payments WHERE status = 'APPROVED'"
        )
        .await,
        1
    );
    // Nothing left to do; the gateway saw one charge per order.
    let swept = sweep_once(&app.db, &app.cache, app.gateway.as_ref(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(swept, Swept::default());
    assert_eq!(app.gateway.charges_made(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sweepers_of_several_backends_resolve_each_order_once() {
    let app = TestApp::with_env(&[("CHARGE_TIMEOUT_MS", "100"), ("DATABASE_POOL_SIZE", "8")]).await;
    let (book, book_id) = book_with_stock(&app, 0, 10).await;
    for n in 0..6 {
        pending_order(&app, &book, &format!("stuck-{n}"), HANG).await;
    }
    assert_eq!(stock_of(&app, book_id).await, 4);
    let sweep = || sweep_once(&app.db, &app.cache, app.gateway.as_ref(), Duration::ZERO);
    let (first, second, third) = tokio::join!(sweep(), sweep(), sweep());
    let cancelled: usize = [first, second, third]
        .into_iter()
        .map(|swept| swept.unwrap().cancelled)
        .sum();
    assert_eq!(cancelled, 6, "each order resolved by one sweeper");
    assert_eq!(stock_of(&app, book_id).await, 10, "each copy returned once");
    assert_eq!(
        number(
            &app,
            "SELECT count(*) AS n FROM orders WHERE status = 'CANCELLED'"
        )
        .await,
        6
    );
}
