//! What a checkout reports, shared by its steps: the order and what its
//! payment did ([`Placed`], [`Payment`]), how a settled order is reported
//! ([`answer`]), the gateway key of an order's charge ([`charge_key`]) and
//! the cache invalidation after stock moved ([`stock_changed`]). A leaf of
//! `checkout`: never calls the gateway.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::cache::{Cache, Entry, Kind};
use crate::db::orders::{CANCELLED, Order, PENDING_PAYMENT};
use crate::db::payments::DECLINED;
use crate::db::{self, Db};
use crate::error::Error;

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

/// How a settled order (or one awaiting its charge's answer) is reported:
/// a checkout whose card was refused placed no order.
pub(super) async fn answer(db: &Db, order: Order) -> Result<Placed, Error> {
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
