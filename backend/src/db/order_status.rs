//! Order lifecycle transitions: PENDING_PAYMENT → PAID → SHIPPED →
//! DELIVERED, or CANCELLED (stock returns) and REFUNDED. Each is a guarded
//! change of one status on an order whose row the caller locked
//! ([`super::orders::lock`]) inside its transaction, so of two concurrent
//! changes (cancel and ship) one wins and the other sees the new status.
//!
//! Never calls a payment gateway: when a change returns money
//! ([`Action::refunds`]), `crate::order_workflow` marks the refund started
//! ([`start_refund`], committed), refunds through the gateway with no
//! transaction open, then records it (`super::payments`) and [`apply`]s the
//! change in a second transaction. While a refund is in flight (and not
//! abandoned: [`REFUND_ABANDONED_AFTER`]) no change is allowed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::orders::{CANCELLED, DELIVERED, Order, PAID, PENDING_PAYMENT, REFUNDED, SHIPPED};
use super::reservations::restock;
use super::schema::{orders, shipments};

/// A refund marked started longer ago than this was abandoned (its process
/// died before recording the gateway's answer): the change may be asked for
/// again.
pub const REFUND_ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(5);

/// The result of asking for a status change.
#[derive(Debug)]
pub enum Transition {
    /// Done; the books whose stock changed.
    Done(Order, Vec<i64>),
    /// Not allowed from the order's current status (unchanged).
    Rejected(Order),
    /// The gateway refused the refund or did not answer: the order is
    /// unchanged (with no answer, the change may be asked for again once
    /// the refund counts as abandoned).
    RefundFailed(Order, String),
    NotFound,
}

/// A status change an order can be asked for.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// From PENDING_PAYMENT or PAID: stock returns; a paid order is refunded.
    Cancel,
    /// From PAID, with the carrier and tracking number.
    Ship {
        carrier: &'a str,
        tracking_number: &'a str,
    },
    /// From SHIPPED.
    Deliver,
    /// From DELIVERED (a return): the payment is refunded; stock is not
    /// restored (returned books come back through `adjustStock` when they
    /// are resellable).
    Refund,
}

impl Action<'_> {
    /// Whether `order`'s current status allows this change. An order
    /// awaiting payment whose charge was sent cannot be cancelled: the
    /// money may have been taken (the gateway's answer, or the payment
    /// sweeper asking it, settles it).
    pub fn allowed_for(&self, order: &Order) -> bool {
        if refund_in_flight(order) {
            return false;
        }
        if matches!(self, Action::Cancel)
            && order.status == PENDING_PAYMENT
            && order.charge_started_at.is_some()
        {
            return false;
        }
        let allowed: &[&str] = match self {
            Action::Cancel => &[PENDING_PAYMENT, PAID],
            Action::Ship { .. } => &[PAID],
            Action::Deliver => &[SHIPPED],
            Action::Refund => &[DELIVERED],
        };
        allowed.contains(&order.status.as_str())
    }

    /// Whether this change returns `order`'s payment (before [`apply`]).
    pub fn refunds(&self, order: &Order) -> bool {
        match self {
            Action::Cancel => order.status == PAID,
            Action::Refund => true,
            Action::Ship { .. } | Action::Deliver => false,
        }
    }
}

/// Whether `order` has a refund in flight (started, unanswered, not
/// abandoned).
pub fn refund_in_flight(order: &Order) -> bool {
    order
        .refund_started_at
        .is_some_and(|started| Utc::now() - started < REFUND_ABANDONED_AFTER)
}

/// Marks `order_id`'s refund as sent to the gateway (commit before calling
/// it); returns the mark.
pub async fn start_refund(
    conn: &mut AsyncPgConnection,
    order_id: i64,
) -> QueryResult<DateTime<Utc>> {
    diesel::update(orders::table.find(order_id))
        .set(orders::refund_started_at.eq(Utc::now()))
        .returning(orders::refund_started_at.assume_not_null())
        .get_result(conn)
        .await
}

/// Clears a refund mark after the gateway refused the refund.
pub async fn refund_refused(conn: &mut AsyncPgConnection, order_id: i64) -> QueryResult<Order> {
    diesel::update(orders::table.find(order_id))
        .set(orders::refund_started_at.eq(None::<DateTime<Utc>>))
        .returning(Order::as_returning())
        .get_result(conn)
        .await
}

/// Applies an allowed `action` to `order` (locked by the caller): the new
/// status and what comes with it, the customer's email included (queued in
/// the caller's transaction: sent only if it commits). Returns the order and the books whose
/// stock changed.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    order: &Order,
    action: Action<'_>,
) -> QueryResult<(Order, Vec<i64>)> {
    let mut restocked = Vec::new();
    let status = match action {
        Action::Cancel => {
            restocked = restock(conn, order.id).await?;
            diesel::update(orders::table.find(order.id))
                .set(orders::cancelled_at.eq(Utc::now()))
                .execute(conn)
                .await?;
            CANCELLED
        }
        Action::Ship {
            carrier,
            tracking_number,
        } => {
            diesel::insert_into(shipments::table)
                .values((
                    shipments::order_id.eq(order.id),
                    shipments::carrier.eq(carrier),
                    shipments::tracking_number.eq(tracking_number),
                ))
                .execute(conn)
                .await?;
            SHIPPED
        }
        Action::Deliver => {
            diesel::update(shipments::table.find(order.id))
                .set(shipments::delivered_at.eq(Utc::now()))
                .execute(conn)
                .await?;
            DELIVERED
        }
        Action::Refund => REFUNDED,
    };
    let order = diesel::update(orders::table.find(order.id))
        .set((
            orders::status.eq(status),
            orders::refund_started_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(Order::as_returning())
        .get_result(conn)
        .await?;
    // The email the change calls for, in its transaction (a delivery
    // sends none).
    match action {
        Action::Ship { .. } => super::order_mail::shipped(conn, &order).await?,
        Action::Cancel => super::order_mail::cancelled_on_request(conn, &order).await?,
        Action::Refund => super::order_mail::refunded(conn, &order).await?,
        Action::Deliver => {}
    }
    Ok((order, restocked))
}
