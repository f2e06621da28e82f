//! Checkout, the one orchestration of placing an order: reserve (db) →
//! charge (gateway, no transaction, no connection held) → record (db).
//!
//! 1. [`db::reservations::reserve`] takes the cart's stock and creates the
//!    order (PENDING_PAYMENT) in one transaction, guarded by the idempotency
//!    key: a retry finds the first attempt's order.
//! 2. [`db::payments::start_charge`] commits that the charge is in flight;
//!    only the request that sets it calls the gateway ([`charge`]), with an
//!    idempotency key derived from the order ([`charge_key`]), so no order
//!    is charged twice. A concurrent retry waits for that charge's answer.
//! 3. [`db::payments::settle`] records the answer in one transaction: PAID;
//!    or, card refused, the order ends (kept out of the shopper's history),
//!    its stock returns and its cart opens again. A gateway that does not
//!    answer within the charge timeout leaves the order awaiting payment
//!    ("unknown", never "declined"): the payment sweeper
//!    (`crate::jobs::sweeper`) asks the gateway later.
//!
//! Owns the order of these steps and the cache invalidation they cause.
//! Never validates GraphQL input or builds responses (that is
//! `graphql::orders::checkout`), and never writes SQL itself (that is `db`).

mod charge;
mod outcome;

use std::sync::Arc;

pub use outcome::{Payment, Placed, charge_key, stock_changed};

use crate::cache::Cache;
use crate::config::checkout::CheckoutConfig;
use crate::db::orders::PENDING_PAYMENT;
use crate::db::reservations::{CheckoutRequest, Refusal, Reserved};
use crate::db::{self, Db};
use crate::error::Error;
use crate::payments::{Card, PaymentGateway};
use outcome::answer;

/// Places the order `request` describes and charges `card` for it. A retry
/// with the same idempotency key and request answers as the first attempt
/// did, and charges once. `Ok(Err(_))` when nothing was reserved or
/// charged.
pub async fn place_order(
    db: &Db,
    cache: &Cache,
    gateway: Arc<dyn PaymentGateway>,
    config: &CheckoutConfig,
    request: &CheckoutRequest<'_>,
    card: &Card,
) -> Result<Result<Placed, Refusal>, Error> {
    let reserved = {
        let mut conn = db.primary().await?;
        db::reservations::reserve(&mut conn, request).await?
    };
    let order = match reserved {
        Ok(Reserved::Created(order, books)) => {
            stock_changed(cache, &books).await;
            order
        }
        Ok(Reserved::Existing(order)) => order,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if order.status != PENDING_PAYMENT {
        return Ok(Ok(answer(db, order).await?));
    }
    let placed = charge::pay(
        db.clone(),
        cache.clone(),
        gateway,
        config.charge_timeout,
        order.id,
        request.cart_id,
        card.clone(),
    )
    .await?;
    Ok(Ok(placed))
}
