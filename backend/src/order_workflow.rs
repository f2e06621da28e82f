//! The order workflow after checkout: `cancelOrder` and the staff's ship /
//! deliver / refund, orchestrated as lock (db) → refund (gateway, when the
//! change returns money) → apply (db).
//!
//! A change that returns no money is one transaction under the order's row
//! lock. One that does runs in three steps, and the gateway is never called
//! inside a transaction or with a pooled connection held:
//!
//! 1. under the order's row lock, check the change is allowed and mark the
//!    refund started (committed): from then on no other change is allowed
//!    ([`db::order_status::refund_in_flight`]);
//! 2. ask the gateway to refund the approved charge (bounded by
//!    [`REFUND_TIMEOUT`]);
//! 3. under the row lock again: refunded → record it and apply the change;
//!    refused → clear the mark, the order is unchanged; no answer → leave
//!    the mark, so the change can be asked for again only once the refund
//!    counts as abandoned ([`db::order_status::REFUND_ABANDONED_AFTER`]).
//!
//! Owns that sequence and the cache invalidation and order event it causes; never writes SQL
//! itself (that is `db::order_status`, `db::payments`) and never builds
//! GraphQL responses.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::cache::Cache;
use crate::checkout::stock_changed;
use crate::db::order_status::{Action, Transition};
use crate::db::orders::{Order, Payment};
use crate::db::{self, Db};
use crate::error::Error;
use crate::payments::PaymentGateway;

/// A refund unanswered this long is treated as not answered (the order
/// keeps its status and its refund mark). Below the default request
/// timeout (10 s), so the answer is normally recorded before the request is
/// given up; if the request is dropped mid-call, the mark stays until it
/// counts as abandoned.
pub const REFUND_TIMEOUT: Duration = Duration::from_secs(8);

/// What the first step decided.
enum Step {
    Finished(Transition),
    /// The refund of `charge` is marked started at `mark`.
    Refund {
        order: Order,
        charge: Payment,
        mark: DateTime<Utc>,
    },
}

/// Applies `action` to the order if its current status allows it (refunding
/// its payment through `gateway` when the change returns money).
pub async fn change_status(
    db: &Db,
    cache: &Cache,
    gateway: &dyn PaymentGateway,
    order_id: i64,
    action: Action<'_>,
) -> Result<Transition, Error> {
    let step = {
        let mut conn = db.primary().await?;
        begin(&mut conn, order_id, action).await?
    };
    let transition = match step {
        Step::Finished(transition) => transition,
        Step::Refund {
            order,
            charge,
            mark,
        } => refund(db, gateway, order, charge, mark, action).await?,
    };
    if let Transition::Done(order, restocked) = &transition {
        if !restocked.is_empty() {
            stock_changed(cache, restocked).await;
        }
        crate::events::order_changed(cache, order).await;
    }
    Ok(transition)
}

/// Step 1: the order's row is locked, so of two concurrent changes (cancel
/// and ship) one wins and the other sees the new status (or the refund
/// mark). A change that returns no money is applied here.
async fn begin(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    action: Action<'_>,
) -> QueryResult<Step> {
    conn.transaction(async |conn| {
        let Some(order) = db::orders::lock(conn, order_id).await? else {
            return Ok(Step::Finished(Transition::NotFound));
        };
        if !action.allowed_for(&order) {
            return Ok(Step::Finished(Transition::Rejected(order)));
        }
        let charge = if action.refunds(&order) {
            db::payments::approved(conn, order.id).await?
        } else {
            None
        };
        let Some(charge) = charge else {
            let (order, restocked) = db::order_status::apply(conn, &order, action).await?;
            return Ok(Step::Finished(Transition::Done(order, restocked)));
        };
        let mark = db::order_status::start_refund(conn, order.id).await?;
        Ok(Step::Refund {
            order,
            charge,
            mark,
        })
    })
    .await
}

/// The refund's idempotency key: one full refund per order, so a retry
/// after a lost answer is refunded once.
pub fn refund_key(order: &Order) -> String {
    format!("refund-{}", order.number)
}

/// Steps 2 and 3: the gateway call (no connection held), then its record.
async fn refund(
    db: &Db,
    gateway: &dyn PaymentGateway,
    order: Order,
    charge: Payment,
    mark: DateTime<Utc>,
    action: Action<'_>,
) -> Result<Transition, Error> {
    let reference = charge.reference.clone().unwrap_or_default();
    let answer = tokio::time::timeout(
        REFUND_TIMEOUT,
        gateway.refund(&reference, charge.amount_cents, &refund_key(&order)),
    )
    .await;
    let mut conn = db.primary().await?;
    let transition = match answer {
        Ok(Ok(())) => {
            conn.transaction(async |conn| {
                let Some(locked) = db::orders::lock(conn, order.id).await? else {
                    return Ok(Transition::NotFound);
                };
                if locked.refund_started_at != Some(mark) || locked.status != order.status {
                    // Only an abandoned mark is taken over; this one was
                    // ours until it counted as abandoned.
                    tracing::error!(order = %order.number, "a refund was answered after its mark was taken over: check the payments");
                    return Ok(Transition::Rejected(locked));
                }
                db::payments::record_refund(conn, charge, gateway.name()).await?;
                let (order, restocked) = db::order_status::apply(conn, &locked, action).await?;
                Ok::<_, diesel::result::Error>(Transition::Done(order, restocked))
            })
            .await?
        }
        Ok(Err(reason)) => {
            let order = db::order_status::refund_refused(&mut conn, order.id).await?;
            Transition::RefundFailed(order, format!("the refund was refused: {reason}"))
        }
        Err(_) => {
            tracing::warn!(order = %order.number, "the gateway did not answer a refund; the order keeps its status and its refund mark");
            Transition::RefundFailed(
                order,
                "the card provider did not answer the refund; the order is unchanged, try again in a few minutes".to_owned(),
            )
        }
    };
    Ok(transition)
}
