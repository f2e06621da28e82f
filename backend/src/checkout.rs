//! Checkout, the one orchestration of placing an order: reserve (db) →
//! charge (gateway) → record (db).
//!
//! 1. [`db::reservations::reserve`] takes the cart's stock and creates the
//!    order (PENDING_PAYMENT) in one transaction, guarded by the idempotency
//!    key: a retry finds the first attempt's order.
//! 2. The gateway charges the order's total, keyed by the order number.
//! 3. [`db::payments::record_charge`] records the outcome and settles the
//!    order: PAID, or CANCELLED with its stock back and its cart open again.
//!
//! Today steps 2 and 3 run in one transaction holding the order's row lock
//! (so concurrent retries wait and then find it settled: one charge per
//! order). Moving the charge out of the transaction only changes [`pay`].
//!
//! Owns the order of these steps and the cache invalidation they cause.
//! Never validates GraphQL input or builds responses (that is
//! `graphql::orders::checkout`), and never writes SQL itself (that is `db`).

use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::cache::{Cache, Entry, Kind};
use crate::db::orders::{CANCELLED, Order, PENDING_PAYMENT};
use crate::db::payments::{APPROVED, ChargeRecord, DECLINED, FAILED};
use crate::db::reservations::{CheckoutRequest, Refusal, Reserved};
use crate::db::{self, Db};
use crate::error::Error;
use crate::payments::{Card, Charge, ChargeOutcome, PaymentGateway};

/// A placed order.
#[derive(Debug)]
pub struct Placed {
    pub order: Order,
    /// How its charge went: `None` when it had been settled before (a retry
    /// of a paid order).
    pub charge: Option<ChargeOutcome>,
}

/// Places the order `request` describes and charges `card` for it. A retry
/// with the same idempotency key and request answers as the first attempt
/// did, and charges once. `Ok(Err(_))` when nothing was reserved or
/// charged.
pub async fn place_order(
    db: &Db,
    cache: &Cache,
    gateway: &dyn PaymentGateway,
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
    let (order, charge, restocked) = {
        let mut conn = db.primary().await?;
        pay(&mut conn, gateway, order.id, request.cart_id, card).await?
    };
    if !restocked.is_empty() {
        stock_changed(cache, &restocked).await;
    }
    let charge = match charge {
        Some(charge) => Some(charge),
        // A retry of a declined checkout answers as the first attempt did.
        None if order.status == CANCELLED => {
            let mut conn = db.primary().await?;
            last_charge(&mut conn, order.id).await?
        }
        None => None,
    };
    Ok(Ok(Placed { order, charge }))
}

/// Charges an order awaiting payment and records the outcome, under the
/// order's row lock: concurrent retries wait, then find it settled (and
/// get `None` for the outcome). Returns the order, the outcome and the books
/// restocked.
async fn pay(
    conn: &mut AsyncPgConnection,
    gateway: &dyn PaymentGateway,
    order_id: i64,
    cart_id: i64,
    card: &Card,
) -> QueryResult<(Order, Option<ChargeOutcome>, Vec<i64>)> {
    conn.transaction(async |conn| {
        let order = db::orders::lock(conn, order_id)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
        if order.status != PENDING_PAYMENT {
            return Ok((order, None, Vec::new()));
        }
        let charge = Charge {
            idempotency_key: order.number.clone(),
            amount_cents: order.total_cents,
            currency: order.currency.clone(),
            card: card.clone(),
        };
        let outcome = gateway.charge(&charge).await;
        let (status, reference, message) = match &outcome {
            ChargeOutcome::Approved { reference } => (APPROVED, Some(reference.as_str()), None),
            ChargeOutcome::Declined { reason } => (DECLINED, None, Some(reason.as_str())),
            ChargeOutcome::Failed { reason } => (FAILED, None, Some(reason.as_str())),
        };
        let record = ChargeRecord {
            provider: gateway.name(),
            status,
            reference,
            message,
            card_last4: &card.last4(),
        };
        let (order, restocked) =
            db::payments::record_charge(conn, &order, cart_id, &record).await?;
        Ok((order, Some(outcome), restocked))
    })
    .await
}

/// The outcome of the order's last recorded charge attempt (a cancelled
/// order's: declined or failed).
async fn last_charge(
    conn: &mut AsyncPgConnection,
    order_id: i64,
) -> QueryResult<Option<ChargeOutcome>> {
    let payments = db::orders::payments_for(conn, &[order_id]).await?;
    Ok(payments
        .get(&order_id)
        .and_then(|payments| payments.last())
        .map(|payment| {
            let reason = payment.message.clone().unwrap_or_default();
            match payment.status.as_str() {
                DECLINED => ChargeOutcome::Declined { reason },
                _ => ChargeOutcome::Failed { reason },
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
