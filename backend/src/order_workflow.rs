//! The order workflow after checkout: `cancelOrder` and the staff's ship /
//! deliver / refund, orchestrated as lock (db) → refund (gateway, when the
//! change returns money) → apply (db).
//!
//! Today the refund runs inside the transaction holding the order's row
//! lock, so a failed refund rolls the whole change back and the order keeps
//! its status. Owns that sequence and the cache invalidation it causes;
//! never writes SQL itself (that is `db::order_status`, `db::payments`) and
//! never builds GraphQL responses.

use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::cache::Cache;
use crate::checkout::stock_changed;
use crate::db::order_status::{Action, Transition};
use crate::db::{self, Db};
use crate::error::Error;
use crate::payments::PaymentGateway;

/// Applies `action` to the order if its current status allows it (refunding
/// its payment through `gateway` when the change returns money).
pub async fn change_status(
    db: &Db,
    cache: &Cache,
    gateway: &dyn PaymentGateway,
    order_id: i64,
    action: Action<'_>,
) -> Result<Transition, Error> {
    let transition = {
        let mut conn = db.primary().await?;
        transition(&mut conn, gateway, order_id, action).await?
    };
    if let Transition::Done(_, restocked) = &transition
        && !restocked.is_empty()
    {
        stock_changed(cache, restocked).await;
    }
    Ok(transition)
}

/// The order's row is locked first, so of two concurrent changes (cancel
/// and ship) one wins and the other sees the new status.
async fn transition(
    conn: &mut AsyncPgConnection,
    gateway: &dyn PaymentGateway,
    order_id: i64,
    action: Action<'_>,
) -> QueryResult<Transition> {
    conn.transaction(async |conn| {
        let Some(order) = db::orders::lock(conn, order_id).await? else {
            return Ok(Transition::NotFound);
        };
        if !action.allowed_for(&order) {
            return Ok(Transition::Rejected(order));
        }
        if action.refunds(&order) {
            refund(conn, gateway, order.id).await?;
        }
        let (order, restocked) = db::order_status::apply(conn, &order, action).await?;
        Ok(Transition::Done(order, restocked))
    })
    .await
}

/// Returns the order's approved charge, if any, and records the refund.
async fn refund(
    conn: &mut AsyncPgConnection,
    gateway: &dyn PaymentGateway,
    order_id: i64,
) -> QueryResult<()> {
    let Some(charge) = db::payments::approved(conn, order_id).await? else {
        return Ok(());
    };
    let reference = charge.reference.clone().unwrap_or_default();
    if let Err(reason) = gateway.refund(&reference, charge.amount_cents).await {
        // Rolls the whole transition back: the order keeps its status.
        return Err(diesel::result::Error::QueryBuilderError(
            format!("refund failed: {reason}").into(),
        ));
    }
    db::payments::record_refund(conn, charge, gateway.name()).await
}
