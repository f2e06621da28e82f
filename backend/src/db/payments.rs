//! Payment records and settling an order's payment. Checkout's charge runs
//! outside any transaction: [`start_charge`] commits that a charge is in
//! flight before the gateway is called, and [`settle`] records the answer
//! in one transaction under the order's row lock (see
//! [`super::orders::lock`]), so however many retries, sweepers and late
//! answers race, an order is settled once (and its email, queued in that
//! transaction by `super::order_mail`, sent once). [`claim_stale`] hands the
//! payment sweeper orders awaiting payment for too long, several backends
//! never claiming the same one at once.
//!
//! Never calls a payment gateway: the caller (`crate::checkout`,
//! `crate::order_workflow`, `crate::jobs::sweeper`) talks to the gateway and
//! hands the outcome here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::order_mail::PaidConfirmation;
use super::orders::{CANCELLED, Order, PAID, PENDING_PAYMENT, Payment, REFUNDED};
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
    pub card_last4: Option<&'a str>,
}

/// How an order awaiting payment is settled.
pub enum Settlement<'a> {
    /// The charge went through: PAID, and the confirmation email queued.
    Paid(ChargeRecord<'a>),
    /// The shopper's card was refused at checkout: the order ends at once
    /// (CANCELLED, kept out of the shopper's history), its stock returns
    /// and its cart opens again for another card. No email: the shopper saw
    /// the refusal, and no order is shown.
    Declined {
        charge: ChargeRecord<'a>,
        cart_id: i64,
    },
    /// The gateway holds no charge for it (the sweeper asked): CANCELLED,
    /// stock returned, the shopper told (nothing was charged). Only while its charge is as `charge_started_at`
    /// says: a charge started since then is left to its own answer.
    Released {
        charge: Option<ChargeRecord<'a>>,
        charge_started_at: Option<DateTime<Utc>>,
    },
}

/// What [`settle`] did.
#[derive(Debug)]
pub enum Settled {
    /// Settled now; the books whose stock came back.
    Done(Order, Vec<i64>),
    /// Nothing changed: the order was settled already, or (for a release)
    /// a charge started meanwhile. The order as it is.
    Unchanged(Order),
}

/// Marks the order's charge as started, committed before the gateway is
/// called. `None` when it is not awaiting payment or a charge was started
/// already (by a concurrent retry): that charge's answer settles it.
pub async fn start_charge(
    conn: &mut AsyncPgConnection,
    order_id: i64,
) -> QueryResult<Option<Order>> {
    diesel::update(
        orders::table
            .find(order_id)
            .filter(orders::status.eq(PENDING_PAYMENT))
            .filter(orders::charge_started_at.is_null()),
    )
    .set(orders::charge_started_at.eq(Utc::now()))
    .returning(Order::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Settles an order awaiting payment, in one transaction under its row
/// lock: of racing settlements the first wins and the rest find it settled.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    settlement: &Settlement<'_>,
) -> QueryResult<Settled> {
    conn.transaction(async |conn| {
        let order = super::orders::lock(conn, order_id)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
        if order.status != PENDING_PAYMENT {
            return Ok(Settled::Unchanged(order));
        }
        let now = Utc::now();
        match settlement {
            Settlement::Paid(charge) => {
                insert_charge(conn, &order, charge).await?;
                let order = diesel::update(orders::table.find(order.id))
                    .set((orders::status.eq(PAID), orders::paid_at.eq(now)))
                    .returning(Order::as_returning())
                    .get_result(conn)
                    .await?;
                super::order_mail::paid(conn, &order).await?;
                Ok(Settled::Done(order, Vec::new()))
            }
            Settlement::Declined { charge, cart_id } => {
                insert_charge(conn, &order, charge).await?;
                reopen_cart(conn, *cart_id).await?;
                let restocked = restock(conn, order.id).await?;
                let order = diesel::update(orders::table.find(order.id))
                    .set((
                        orders::status.eq(CANCELLED),
                        orders::cancelled_at.eq(now),
                        orders::declined_at.eq(now),
                    ))
                    .returning(Order::as_returning())
                    .get_result(conn)
                    .await?;
                Ok(Settled::Done(order, restocked))
            }
            Settlement::Released {
                charge,
                charge_started_at,
            } => {
                if order.charge_started_at != *charge_started_at {
                    return Ok(Settled::Unchanged(order));
                }
                if let Some(charge) = charge {
                    insert_charge(conn, &order, charge).await?;
                }
                let restocked = restock(conn, order.id).await?;
                let order = diesel::update(orders::table.find(order.id))
                    .set((orders::status.eq(CANCELLED), orders::cancelled_at.eq(now)))
                    .returning(Order::as_returning())
                    .get_result(conn)
                    .await?;
                super::order_mail::released(conn, &order).await?;
                Ok(Settled::Done(order, restocked))
            }
        }
    })
    .await
}

/// Settles a checkout's approved charge in one statement (one implicit
/// transaction): the order becomes PAID (if it still awaits payment; the
/// update takes its row lock and re-checks), the charge is recorded and its
/// confirmation queued in the outbox, in the form that fits the order as
/// it then is (a guest's, with the link token whose hash is stored, or a
/// customer's). Nothing is read again: `confirmation` was built from what
/// checkout wrote. Of racing settlements the first wins, as with
/// [`settle`].
pub async fn settle_paid(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    charge: &ChargeRecord<'_>,
    confirmation: &PaidConfirmation,
) -> QueryResult<Settled> {
    let paid: Option<Order> = diesel::sql_query(
        "WITH paid AS (
           UPDATE orders SET status = 'PAID', paid_at = now(),
             mail_access_token_hash = CASE WHEN user_id IS NULL THEN $2 ELSE mail_access_token_hash END
           WHERE id = $1 AND status = 'PENDING_PAYMENT'
           RETURNING *),
         charge AS (
           INSERT INTO payments (order_id, provider, reference, amount_cents, currency, status,
                                 card_last4, message)
           SELECT id, $3, $4, total_cents, currency, $5, $6, $7 FROM paid),
         mail AS (
           INSERT INTO outbox (kind, recipient, payload, dedup_key)
           SELECT $8, email, CASE WHEN user_id IS NULL THEN $9 ELSE $10 END, $11 FROM paid
           ON CONFLICT DO NOTHING)
         SELECT * FROM paid",
    )
    .bind::<BigInt, _>(order_id)
    .bind::<Bytea, _>(confirmation.mail_token_hash.as_slice())
    .bind::<Text, _>(charge.provider)
    .bind::<Nullable<Text>, _>(charge.reference)
    .bind::<Text, _>(charge.status)
    .bind::<Nullable<Text>, _>(charge.card_last4)
    .bind::<Nullable<Text>, _>(charge.message)
    .bind::<Text, _>(confirmation.as_customer.kind)
    .bind::<Jsonb, _>(&confirmation.as_guest.payload)
    .bind::<Jsonb, _>(&confirmation.as_customer.payload)
    .bind::<Nullable<Text>, _>(&confirmation.as_customer.dedup_key)
    .get_result(conn)
    .await
    .optional()?;
    match paid {
        Some(order) => Ok(Settled::Done(order, Vec::new())),
        None => Ok(Settled::Unchanged(
            super::orders::find(conn, order_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?,
        )),
    }
}

async fn insert_charge(
    conn: &mut AsyncPgConnection,
    order: &Order,
    charge: &ChargeRecord<'_>,
) -> QueryResult<()> {
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
    Ok(())
}

/// Opens a checked-out cart again for another try, unless the customer has
/// opened another cart meanwhile.
async fn reopen_cart(conn: &mut AsyncPgConnection, cart_id: i64) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE carts SET checked_out_at = NULL WHERE id = $1 AND (user_id IS NULL OR NOT EXISTS
           (SELECT 1 FROM carts other WHERE other.user_id = carts.user_id AND other.checked_out_at IS NULL))",
    )
    .bind::<BigInt, _>(cart_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` orders awaiting payment since before `older_than`
/// (counting from their charge, if one started) for the sweeper, oldest
/// first. An order stays claimed for `lease_secs` (or until [`release_claim`]),
/// so concurrent sweepers on other backends skip it; a claim of a sweeper
/// that died expires.
pub async fn claim_stale(
    conn: &mut AsyncPgConnection,
    older_than: DateTime<Utc>,
    lease_secs: i32,
    limit: i64,
) -> QueryResult<Vec<Order>> {
    let ids: Vec<Id> = diesel::sql_query(
        "UPDATE orders SET swept_at = now() WHERE id IN (
           SELECT id FROM orders
           WHERE status = 'PENDING_PAYMENT' AND created_at < $1
             AND coalesce(charge_started_at, created_at) < $1
             AND (swept_at IS NULL OR swept_at < now() - make_interval(secs => $2))
           ORDER BY created_at, id LIMIT $3
           FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind::<Timestamptz, _>(older_than)
    .bind::<Integer, _>(lease_secs)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let ids: Vec<i64> = ids.into_iter().map(|row| row.id).collect();
    orders::table
        .filter(orders::id.eq_any(ids))
        .order((orders::created_at, orders::id))
        .select(Order::as_select())
        .load(conn)
        .await
}

/// Gives a claimed order back (the gateway could not be asked): the next
/// round claims it again.
pub async fn release_claim(conn: &mut AsyncPgConnection, order_id: i64) -> QueryResult<()> {
    diesel::update(orders::table.find(order_id))
        .set(orders::swept_at.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
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
