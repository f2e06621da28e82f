//! The order emails, each queued in the transaction of the change that
//! causes it (`super::outbox`), so it is sent if and only if that change
//! commits, and at most once per order (`<kind>:<order id>`):
//!
//! - `order_confirmation` when the order is paid ([`paid`], from
//!   `super::payments::settle`, whether checkout or the payment sweeper
//!   settles it);
//! - `order_shipped`, `order_cancelled`, `order_refunded` when its status
//!   changes ([`shipped`], [`cancelled_on_request`], [`refunded`], from
//!   `super::order_status::apply`), and
//!   `order_cancelled` when the payment sweeper releases an order whose
//!   payment never went through ([`released`]). A card refused at checkout
//!   sends nothing: the shopper saw it, and no order is shown.
//!
//! Payloads hold what the templates (`backend/templates/mail/order_*`) show:
//! money already written with its currency, dates in words. A guest's
//! confirmation links with a token of its own, minted here (256 bits, only
//! its SHA-256 kept in `orders.mail_access_token_hash`): the checkout's token
//! changes on every retry and exists only in its answer, while the sweeper
//! may be the one that marks the order paid. Later emails to a guest send
//! no new secret: they point to that link, or to the lookup by number and
//! email. Never sends anything (the outbox worker does, after commit) and
//! never decides a status change.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::orders::{self, Address, NewAddress, Order, OrderLine, REFUNDED};
use super::outbox::{self, NewMessage};
use super::schema;
use crate::auth::{new_token, token_hash};
use crate::domain::money;

pub const CONFIRMATION: &str = "order_confirmation";
pub const SHIPPED: &str = "order_shipped";
pub const CANCELLED: &str = "order_cancelled";
pub const REFUND: &str = "order_refunded";

/// What every order email shows: the order, its lines, its totals and
/// where it goes.
#[derive(Debug, Serialize)]
struct Summary {
    order_number: String,
    /// The day it was placed, in words ("29 November 2026").
    placed_on: String,
    /// A guest's order (no account: its link needs a token, or the lookup).
    guest: bool,
    lines: Vec<Line>,
    subtotal: String,
    shipping: String,
    /// `standard`, `express` or `pickup`.
    shipping_method: String,
    total: String,
    currency: String,
    ship_to: ShipTo,
}

#[derive(Debug, Serialize)]
struct Line {
    title: String,
    isbn: String,
    quantity: i32,
    unit_price: String,
    line_total: String,
}

#[derive(Debug, Serialize)]
struct ShipTo {
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    /// ISO 3166 code.
    country: String,
}

#[derive(Debug, Serialize)]
struct Confirmation {
    #[serde(flatten)]
    order: Summary,
    /// A guest's link token (`/orders/<number>?token=`); none for a
    /// customer, whose link opens after signing in.
    access_token: Option<String>,
}

#[derive(Debug, Serialize)]
struct Shipped {
    #[serde(flatten)]
    order: Summary,
    carrier: String,
    tracking_number: String,
    shipped_on: String,
}

/// Why an order was cancelled, for its email.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum CancelReason {
    /// By the customer or staff.
    Cancelled,
    /// Released by the payment sweeper: the payment was never confirmed.
    PaymentUnconfirmed,
}

#[derive(Debug, Serialize)]
struct Cancelled {
    #[serde(flatten)]
    order: Summary,
    reason: CancelReason,
    cancelled_on: String,
    /// Whether the order was ever paid.
    was_paid: bool,
    /// The money returned, if any was.
    refund: Option<Refund>,
}

#[derive(Debug, Serialize)]
struct Refunded {
    #[serde(flatten)]
    order: Summary,
    refund: Refund,
}

#[derive(Debug, Serialize)]
struct Refund {
    amount: String,
    /// The card it went back to, if the payment had one.
    card_last4: Option<String>,
    refunded_on: String,
}

/// `order` was just marked paid: queues its confirmation (for a guest, with
/// a new link token whose hash is stored now). Inside the transaction that
/// marks it paid.
pub async fn paid(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
    let access_token = match order.user_id {
        Some(_) => None,
        None => {
            let token = new_token();
            diesel::update(schema::orders::table.find(order.id))
                .filter(schema::orders::user_id.is_null())
                .set(schema::orders::mail_access_token_hash.eq(token_hash(&token).as_slice()))
                .execute(conn)
                .await?;
            Some(token)
        }
    };
    let data = Confirmation {
        order: summary(conn, order).await?,
        access_token,
    };
    queue(conn, CONFIRMATION, order, &data).await
}

/// The payment sweeper cancelled `order`: its payment was never confirmed
/// and nothing was charged. Inside the transaction that cancels it.
pub async fn released(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
    cancelled(conn, order, CancelReason::PaymentUnconfirmed).await
}

/// `order` was just shipped: queues the shipped email (carrier, tracking
/// number). Inside the transaction of the change.
pub async fn shipped(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
    let shipment = orders::shipments_for(conn, &[order.id])
        .await?
        .remove(&order.id)
        .ok_or(diesel::result::Error::NotFound)?;
    let data = Shipped {
        order: summary(conn, order).await?,
        carrier: shipment.carrier,
        tracking_number: shipment.tracking_number,
        shipped_on: day(shipment.shipped_at),
    };
    queue(conn, SHIPPED, order, &data).await
}

/// `order` was just cancelled by its customer or staff. Inside the
/// transaction of the change (after a refund was recorded in it).
pub async fn cancelled_on_request(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
    cancelled(conn, order, CancelReason::Cancelled).await
}

/// `order` was just refunded (a return). Inside the transaction that
/// recorded the refund.
pub async fn refunded(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
    let Some(refund) = refund_of(conn, order).await? else {
        // Refunded with no payment to return (none was recorded): nothing
        // to tell.
        return Ok(());
    };
    let data = Refunded {
        order: summary(conn, order).await?,
        refund,
    };
    queue(conn, REFUND, order, &data).await
}

async fn cancelled(
    conn: &mut AsyncPgConnection,
    order: &Order,
    reason: CancelReason,
) -> QueryResult<()> {
    let data = Cancelled {
        order: summary(conn, order).await?,
        reason,
        cancelled_on: day(order.cancelled_at.unwrap_or_else(Utc::now)),
        was_paid: order.paid_at.is_some(),
        refund: refund_of(conn, order).await?,
    };
    queue(conn, CANCELLED, order, &data).await
}

/// Queues `data` as the one `kind` email of `order`, to the order's email
/// (the guest's checkout email, or the customer's at checkout).
async fn queue(
    conn: &mut AsyncPgConnection,
    kind: &'static str,
    order: &Order,
    data: &impl Serialize,
) -> QueryResult<()> {
    let message = NewMessage::new(kind, order.email.clone(), data)
        .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?
        .once_per(format!("{kind}:{}", order.id));
    outbox::enqueue(conn, &message).await?;
    Ok(())
}

/// The order's lines, totals and address, as its emails show them.
async fn summary(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<Summary> {
    let lines = orders::lines_for(conn, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    let address = orders::addresses_by_id(conn, &[order.shipping_address_id])
        .await?
        .remove(&order.shipping_address_id)
        .ok_or(diesel::result::Error::NotFound)?;
    Ok(summary_of(
        order,
        order.user_id.is_none(),
        lines,
        ship_to(address),
    ))
}

/// The summary of `order` (a guest's if `guest`) with these lines and
/// address.
fn summary_of(order: &Order, guest: bool, lines: Vec<OrderLine>, ship_to: ShipTo) -> Summary {
    let amount = |cents: i32| money::format(cents, &order.currency);
    Summary {
        order_number: order.number.clone(),
        placed_on: day(order.created_at),
        guest,
        lines: lines
            .into_iter()
            .map(|line: OrderLine| Line {
                unit_price: amount(line.unit_price_cents),
                // The order's total fits an i32, so each line's does.
                line_total: amount(line.unit_price_cents.saturating_mul(line.quantity)),
                title: line.title,
                isbn: line.isbn,
                quantity: line.quantity,
            })
            .collect(),
        subtotal: amount(order.subtotal_cents),
        shipping: amount(order.shipping_cents),
        shipping_method: order.shipping_method.clone(),
        total: amount(order.total_cents),
        currency: order.currency.clone(),
        ship_to,
    }
}

/// A confirmation built from what checkout just wrote (nothing read
/// again), for `super::payments::settle_paid` to queue in the statement
/// that marks the order paid: in two forms, as the order is then a guest's
/// (with a new link token, whose hash that statement stores) or a
/// customer's (a guest order may join an account meanwhile).
pub struct PaidConfirmation {
    pub mail_token_hash: [u8; 32],
    pub as_guest: NewMessage,
    pub as_customer: NewMessage,
}

/// The confirmation of `order` (as [`paid`] would queue it) from its
/// `lines` and `address` as checkout wrote them.
pub fn paid_confirmation(
    order: &Order,
    lines: &[OrderLine],
    address: &NewAddress,
) -> Result<PaidConfirmation, serde_json::Error> {
    let token = new_token();
    let ship_to = || ShipTo {
        name: address.name.clone(),
        line1: address.line1.clone(),
        line2: address.line2.clone().filter(|line| !line.trim().is_empty()),
        city: address.city.clone(),
        region: address
            .region
            .clone()
            .filter(|region| !region.trim().is_empty()),
        postal_code: address.postal_code.clone(),
        country: address.country.clone(),
    };
    let message = |guest: bool, access_token: Option<String>| {
        let data = Confirmation {
            order: summary_of(order, guest, lines.to_vec(), ship_to()),
            access_token,
        };
        Ok::<_, serde_json::Error>(
            NewMessage::new(CONFIRMATION, order.email.clone(), &data)?
                .once_per(format!("{CONFIRMATION}:{}", order.id)),
        )
    };
    let as_customer = message(false, None)?;
    let as_guest = match order.user_id {
        None => message(true, Some(token.clone()))?,
        // A customer's order never becomes a guest's.
        Some(_) => as_customer.clone(),
    };
    Ok(PaidConfirmation {
        mail_token_hash: token_hash(&token),
        as_guest,
        as_customer,
    })
}

fn ship_to(address: Address) -> ShipTo {
    ShipTo {
        name: address.name,
        line1: address.line1,
        line2: address.line2.filter(|line| !line.trim().is_empty()),
        city: address.city,
        region: address.region.filter(|region| !region.trim().is_empty()),
        postal_code: address.postal_code,
        country: address.country,
    }
}

/// The money returned for `order`, if a refund was recorded (the latest).
async fn refund_of(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<Option<Refund>> {
    let payments = orders::payments_for(conn, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    Ok(payments
        .into_iter()
        .rev()
        .find(|payment| payment.status == REFUNDED)
        .map(|payment| Refund {
            amount: money::format(payment.amount_cents, &payment.currency),
            card_last4: payment.card_last4,
            refunded_on: day(payment.created_at),
        }))
}

/// A day in words, as a receipt says it: "29 November 2026" (UTC).
fn day(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_written_in_words() {
        let at = DateTime::parse_from_rfc3339("2026-11-05T23:59:00Z")
            .map(|at| at.with_timezone(&Utc))
            .ok();
        assert_eq!(at.map(day).as_deref(), Some("5 November 2026"));
    }
}
