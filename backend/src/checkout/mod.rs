//! Checkout, the one orchestration of placing an order: reserve (db) →
//! charge (gateway, no transaction, no connection held) → record (db).
//!
//! 1. [`db::reservations::reserve`] takes the cart's stock and creates the
//!    order (PENDING_PAYMENT) with its charge marked in flight, in one
//!    statement, guarded by the idempotency key: a retry finds the first
//!    attempt's order.
//! 2. Only the request that created the order (or, for an order whose
//!    charge was never marked, the one whose [`db::payments::start_charge`]
//!    marks it) calls the gateway ([`charge`]), after that commit, with an
//!    idempotency key derived from the order ([`charge_key`]), so no order
//!    is charged twice. A concurrent retry waits for that charge's answer.
//! 3. The answer is recorded: approved, by [`db::payments::settle_paid`] in
//!    one statement (PAID, the payment, the confirmation in the outbox,
//!    built from what step 1 wrote); otherwise by [`db::payments::settle`]
//!    in one transaction: card refused, the order ends (kept out of the
//!    shopper's history), its stock returns and its cart opens again. A gateway that does not
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
use crate::metrics::Metrics;
use crate::payments::{Card, PaymentGateway};
use charge::{Attempt, Gateway};
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
    metrics: &Metrics,
) -> Result<Result<Placed, Refusal>, Error> {
    let reserved = {
        let mut conn = db.primary().await?;
        db::reservations::reserve(&mut conn, request).await?
    };
    let attempt = match reserved {
        Ok(Reserved::Created(order, lines)) => {
            let books: Vec<i64> = lines.iter().filter_map(|line| line.book_id).collect();
            stock_changed(cache, &books).await;
            let confirmation = db::order_mail::paid_confirmation(&order, &lines, request.address)
                .map_err(|error| Error::Internal(error.into()))?;
            Attempt::Fresh {
                order: Box::new(order),
                confirmation: Box::new(confirmation),
            }
        }
        Ok(Reserved::Existing(order)) if order.status != PENDING_PAYMENT => {
            return Ok(Ok(answer(db, order).await?));
        }
        Ok(Reserved::Existing(order)) => Attempt::Retry { order_id: order.id },
        Err(refusal) => return Ok(Err(refusal)),
    };
    let placed = charge::pay(
        db.clone(),
        cache.clone(),
        Gateway {
            service: gateway,
            limit: config.charge_timeout,
            metrics: metrics.clone(),
        },
        attempt,
        request.cart_id,
        card.clone(),
    )
    .await?;
    Ok(Ok(placed))
}
