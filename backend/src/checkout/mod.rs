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

use std::sync::Arc;

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::cache::{Cache, Entry, Kind};
use crate::config::checkout::CheckoutConfig;
use crate::db::orders::{CANCELLED, Order, PENDING_PAYMENT};
use crate::db::payments::DECLINED;
use crate::db::reservations::{CheckoutRequest, Refusal, Reserved};
use crate::db::{self, Db};
use crate::error::Error;
use crate::payments::{Card, PaymentGateway};

/// The checkout's order and what its payment did.
#[derive(Debug)]
pub struct Placed {
    pub order: Order,
    pub payment: Payment,
}

/// What the shopper is told about the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payment {
    /// Settled (paid, now or by an earlier attempt; or changed since).
    Settled,
    /// The card was refused: nothing charged, no order placed (the cart is
    /// open again).
    Declined { reason: String },
    /// The provider failed: nothing charged, no order placed.
    Failed { reason: String },
    /// The gateway has not answered: the order awaits payment until it
    /// does (or the sweeper asks it). Not to be paid again.
    Pending,
}

/// The idempotency key the gateway gets for an order's charge: stable for
/// the order, so every attempt (and the sweeper's lookup) names one charge.
pub fn charge_key(order: &Order) -> String {
    format!("order-{}", order.number)
}

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
    let started = {
        let mut conn = db.primary().await?;
        db::payments::start_charge(&mut conn, order.id).await?
    };
    let Some(order) = started else {
        // Another attempt's charge is in flight (or its answer was lost).
        return Ok(Ok(charge::await_settlement(
            db,
            order.id,
            config.charge_timeout,
        )
        .await?));
    };
    let placed = charge::charge_and_record(
        db.clone(),
        cache.clone(),
        gateway,
        config.charge_timeout,
        order,
        request.cart_id,
        card.clone(),
    )
    .await?;
    Ok(Ok(placed))
}

/// How a settled order (or one awaiting its charge's answer) is reported:
/// a checkout whose card was refused placed no order.
async fn answer(db: &Db, order: Order) -> Result<Placed, Error> {
    let payment = match order.status.as_str() {
        PENDING_PAYMENT => Payment::Pending,
        CANCELLED => {
            let mut conn = db.primary().await?;
            last_refusal(&mut conn, order.id)
                .await?
                .unwrap_or(Payment::Settled)
        }
        _ => Payment::Settled,
    };
    Ok(Placed { order, payment })
}

/// The refusal that ended the order, if its last payment record is one.
async fn last_refusal(conn: &mut AsyncPgConnection, order_id: i64) -> QueryResult<Option<Payment>> {
    let payments = db::orders::payments_for(conn, &[order_id]).await?;
    Ok(payments
        .get(&order_id)
        .and_then(|payments| payments.last())
        .and_then(|payment| {
            let reason = payment.message.clone().unwrap_or_default();
            match payment.status.as_str() {
                DECLINED => Some(Payment::Declined { reason }),
                db::payments::FAILED => Some(Payment::Failed { reason }),
                _ => None,
            }
        }))
}

/// After stock changed (taken by a checkout, returned by a failed payment or
/// a cancellation): the books' cached rows and the listing counts.
pub async fn stock_changed(cache: &Cache, book_ids: &[i64]) {
    let mut entries: Vec<Entry> = book_ids
        .iter()
        .map(|id| Entry::Entity(Kind::Book, *id))
        .collect();
    entries.push(Entry::BookCounts);
    cache.invalidate(&entries).await;
}
