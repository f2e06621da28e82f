//! Payment records: what a charge or a refund did, written under the
//! order's row lock (see [`super::orders::lock`]) so one order is charged
//! once however many retries race.
//!
//! Never calls a payment gateway: the caller (`crate::checkout`,
//! `crate::order_workflow`) talks to the gateway and hands the outcome here.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::orders::{CANCELLED, Order, PAID, Payment, REFUNDED};
use super::reservations::restock;
use super::schema::{orders, payments};

/// A payment's status: the charge went through.
pub const APPROVED: &str = "APPROVED";
/// The card was refused: nothing was charged.
pub const DECLINED: &str = "DECLINED";
/// The provider failed: nothing was charged.
pub const FAILED: &str = "FAILED";

/// A charge attempt's result, as recorded.
pub struct ChargeRecord<'a> {
    /// The gateway's name.
    pub provider: &'a str,
    /// [`APPROVED`], [`DECLINED`] or [`FAILED`].
    pub status: &'static str,
    /// The provider's reference for an approved charge.
    pub reference: Option<&'a str>,
    /// Why it was declined or failed.
    pub message: Option<&'a str>,
    pub card_last4: &'a str,
}

/// Records a charge of `order` (locked, awaiting payment) and settles it:
/// approved, the order is PAID; declined or failed, it is CANCELLED, its
/// stock returned and its cart open again for another try. Returns the
/// order and the books restocked.
pub async fn record_charge(
    conn: &mut AsyncPgConnection,
    order: &Order,
    cart_id: i64,
    charge: &ChargeRecord<'_>,
) -> QueryResult<(Order, Vec<i64>)> {
    diesel::insert_into(payments::table)
        .values((
            payments::order_id.eq(order.id),
            payments::provider.eq(charge.provider),
            payments::reference.eq(charge.reference),
            payments::amount_cents.eq(order.total_cents),
            payments::currency.eq(&order.currency),
            payments::status.eq(charge.status),
            payments::card_last4.eq(charge.card_last4),
            payments::message.eq(charge.message),
        ))
        .execute(conn)
        .await?;
    let now = Utc::now();
    if charge.status == APPROVED {
        let order = diesel::update(orders::table.find(order.id))
            .set((orders::status.eq(PAID), orders::paid_at.eq(now)))
            .returning(Order::as_returning())
            .get_result(conn)
            .await?;
        return Ok((order, Vec::new()));
    }
    // Unless the customer has opened another cart meanwhile.
    diesel::sql_query(
        "UPDATE carts SET checked_out_at = NULL WHERE id = $1 AND (user_id IS NULL OR NOT EXISTS
           (SELECT 1 FROM carts other WHERE other.user_id = carts.user_id AND other.checked_out_at IS NULL))",
    )
    .bind::<BigInt, _>(cart_id)
    .execute(conn)
    .await?;
    let restocked = restock(conn, order.id).await?;
    let order = diesel::update(orders::table.find(order.id))
        .set((orders::status.eq(CANCELLED), orders::cancelled_at.eq(now)))
        .returning(Order::as_returning())
        .get_result(conn)
        .await?;
    Ok((order, restocked))
}

/// The order's approved charge, if it has one (what a refund returns).
pub async fn approved(conn: &mut AsyncPgConnection, order_id: i64) -> QueryResult<Option<Payment>> {
    payments::table
        .filter(payments::order_id.eq(order_id))
        .filter(payments::status.eq(APPROVED))
        .select(Payment::as_select())
        .first(conn)
        .await
        .optional()
}

/// Records that `charge`'s money went back, through `provider`.
pub async fn record_refund(
    conn: &mut AsyncPgConnection,
    charge: Payment,
    provider: &str,
) -> QueryResult<()> {
    diesel::insert_into(payments::table)
        .values((
            payments::order_id.eq(charge.order_id),
            payments::provider.eq(provider),
            payments::reference.eq(charge.reference),
            payments::amount_cents.eq(charge.amount_cents),
            payments::currency.eq(charge.currency),
            payments::status.eq(REFUNDED),
            payments::card_last4.eq(charge.card_last4),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
