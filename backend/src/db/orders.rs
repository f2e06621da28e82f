//! Orders: checkout (stock reservation and the order, in one transaction),
//! payment (under the order's row lock, so a retried checkout charges once),
//! and the lifecycle transitions, each a guarded change of one status.
//!
//! Stock is only ever taken with a conditional `UPDATE ... WHERE stock >=
//! quantity`: it never goes negative and is never oversold, however many
//! checkouts race.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::schema::{
    addresses, cart_lines, carts, idempotency_keys, order_lines, orders, payments, shipments,
};
use crate::payments::{Card, Charge, ChargeOutcome, PaymentGateway};

pub const PENDING_PAYMENT: &str = "PENDING_PAYMENT";
pub const PAID: &str = "PAID";
pub const SHIPPED: &str = "SHIPPED";
pub const DELIVERED: &str = "DELIVERED";
pub const CANCELLED: &str = "CANCELLED";
pub const REFUNDED: &str = "REFUNDED";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = orders)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Order {
    pub id: i64,
    pub number: String,
    pub user_id: Option<i64>,
    pub email: String,
    pub status: String,
    pub currency: String,
    pub subtotal_cents: i32,
    pub shipping_cents: i32,
    pub total_cents: i32,
    pub shipping_method: String,
    pub shipping_address_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = order_lines)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct OrderLine {
    pub order_id: i64,
    pub position: i16,
    pub book_id: Option<i64>,
    pub title: String,
    pub isbn: String,
    pub unit_price_cents: i32,
    pub quantity: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = addresses)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Address {
    pub id: i64,
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = addresses)]
pub struct NewAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = payments)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Payment {
    pub id: i64,
    pub order_id: i64,
    pub provider: String,
    pub reference: Option<String>,
    pub amount_cents: i32,
    pub currency: String,
    pub status: String,
    pub card_last4: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = shipments)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Shipment {
    pub order_id: i64,
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Everything checkout needs, already validated.
pub struct CheckoutRequest<'a> {
    /// Whose idempotency keys these are: `user:<id>` or `guest:<email>`.
    pub scope: &'a str,
    pub key: &'a str,
    /// SHA-256 of the request's canonical form.
    pub request_hash: &'a [u8],
    pub cart_id: i64,
    pub user_id: Option<i64>,
    pub email: &'a str,
    pub address: &'a NewAddress,
    pub shipping_method: &'a str,
    pub shipping_cents: i32,
}

#[derive(Debug)]
pub enum Reservation {
    /// Stock taken (from these books), order created, awaiting payment.
    Created(Order, Vec<i64>),
    /// The same request was made before with this key: its order.
    Existing(Order),
    /// The key was used before for a different request.
    KeyReused,
    EmptyCart,
    /// The cart was checked out already (by another request).
    CartClosed,
    /// These books are archived or have less stock than the cart wants.
    Unavailable(Vec<i64>),
    MixedCurrencies,
    /// The order's total does not fit the money type.
    TooLarge,
}

/// Why the reservation transaction rolled back.
enum Abort {
    Database(diesel::result::Error),
    Outcome(Box<Reservation>),
}

fn abort(reservation: Reservation) -> Abort {
    Abort::Outcome(Box::new(reservation))
}

impl From<diesel::result::Error> for Abort {
    fn from(error: diesel::result::Error) -> Self {
        Abort::Database(error)
    }
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    isbn: String,
    #[diesel(sql_type = Integer)]
    price_cents: i32,
    #[diesel(sql_type = Text)]
    currency: String,
}

/// Reserves the cart's stock and creates the order (status
/// PENDING_PAYMENT), all or nothing, in one transaction.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    request: &CheckoutRequest<'_>,
) -> QueryResult<Reservation> {
    let result = conn
        .transaction(async |conn| {
            // Concurrent requests with one key wait here for the first to
            // commit, then find its order.
            let claimed = diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::scope.eq(request.scope),
                    idempotency_keys::key.eq(request.key),
                    idempotency_keys::request_hash.eq(request.request_hash),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if claimed == 0 {
                let (hash, order_id): (Vec<u8>, Option<i64>) = idempotency_keys::table
                    .find((request.scope, request.key))
                    .select((idempotency_keys::request_hash, idempotency_keys::order_id))
                    .first(conn)
                    .await?;
                if hash != request.request_hash {
                    return Err(abort(Reservation::KeyReused));
                }
                let order_id = order_id.ok_or(diesel::result::Error::NotFound)?;
                return Ok(Reservation::Existing(
                    find(conn, order_id)
                        .await?
                        .ok_or(diesel::result::Error::NotFound)?,
                ));
            }

            // Closing the cart now (it reopens if the payment fails) keeps two
            // checkouts of one cart, with different keys, from both ordering.
            let closed = diesel::update(carts::table.find(request.cart_id))
                .filter(carts::checked_out_at.is_null())
                .set(carts::checked_out_at.eq(Utc::now()))
                .execute(conn)
                .await?;
            if closed == 0 {
                return Err(abort(Reservation::CartClosed));
            }
            let lines: Vec<(i64, i32)> = cart_lines::table
                .filter(cart_lines::cart_id.eq(request.cart_id))
                .order(cart_lines::book_id) // one lock order for every checkout: no deadlocks
                .select((cart_lines::book_id, cart_lines::quantity))
                .load(conn)
                .await?;
            if lines.is_empty() {
                return Err(abort(Reservation::EmptyCart));
            }
            let mut taken = Vec::with_capacity(lines.len());
            let mut unavailable = Vec::new();
            for (book_id, quantity) in &lines {
                let row: Option<Taken> = diesel::sql_query(
                    "UPDATE books SET stock = stock - $2
                     WHERE id = $1 AND NOT archived AND stock >= $2
                     RETURNING id, title, isbn, price_cents, currency",
                )
                .bind::<BigInt, _>(book_id)
                .bind::<Integer, _>(quantity)
                .get_result(conn)
                .await
                .optional()?;
                match row {
                    Some(row) => taken.push((row, *quantity)),
                    None => unavailable.push(*book_id),
                }
            }
            if !unavailable.is_empty() {
                return Err(abort(Reservation::Unavailable(unavailable)));
            }
            let currency = taken[0].0.currency.clone();
            if taken.iter().any(|(book, _)| book.currency != currency) {
                return Err(abort(Reservation::MixedCurrencies));
            }
            let subtotal: i64 = taken
                .iter()
                .map(|(book, quantity)| i64::from(book.price_cents) * i64::from(*quantity))
                .sum();
            let (Ok(subtotal), Some(total)) = (
                i32::try_from(subtotal),
                i32::try_from(subtotal)
                    .ok()
                    .and_then(|s| s.checked_add(request.shipping_cents)),
            ) else {
                return Err(abort(Reservation::TooLarge));
            };

            let address_id: i64 = diesel::insert_into(addresses::table)
                .values(request.address)
                .returning(addresses::id)
                .get_result(conn)
                .await?;
            let order: Order = diesel::insert_into(orders::table)
                .values((
                    orders::user_id.eq(request.user_id),
                    orders::email.eq(request.email),
                    orders::status.eq(PENDING_PAYMENT),
                    orders::currency.eq(&currency),
                    orders::subtotal_cents.eq(subtotal),
                    orders::shipping_cents.eq(request.shipping_cents),
                    orders::total_cents.eq(total),
                    orders::shipping_method.eq(request.shipping_method),
                    orders::shipping_address_id.eq(address_id),
                ))
                .returning(Order::as_returning())
                .get_result(conn)
                .await?;
            let rows: Vec<_> = taken
                .iter()
                .enumerate()
                .map(|(position, (book, quantity))| {
                    (
                        order_lines::order_id.eq(order.id),
                        order_lines::position.eq(i16::try_from(position).unwrap_or(i16::MAX)),
                        order_lines::book_id.eq(Some(book.id)),
                        order_lines::title.eq(&book.title),
                        order_lines::isbn.eq(&book.isbn),
                        order_lines::unit_price_cents.eq(book.price_cents),
                        order_lines::quantity.eq(*quantity),
                    )
                })
                .collect();
            diesel::insert_into(order_lines::table)
                .values(rows)
                .execute(conn)
                .await?;
            diesel::update(idempotency_keys::table.find((request.scope, request.key)))
                .set(idempotency_keys::order_id.eq(order.id))
                .execute(conn)
                .await?;
            let books = taken.iter().map(|(book, _)| book.id).collect();
            Ok(Reservation::Created(order, books))
        })
        .await;
    match result {
        Ok(reservation) => Ok(reservation),
        Err(Abort::Outcome(reservation)) => Ok(*reservation),
        Err(Abort::Database(error)) => Err(error),
    }
}

/// Charges an order awaiting payment and records the outcome: PAID or,
/// declined or failed, CANCELLED with its stock returned and its cart open
/// again for another try.
/// The order's row stays locked during the charge, so concurrent retries
/// wait and then find it settled: one charge per order. Returns the order and
/// the outcome (`None` when it was already settled) and the books restocked.
pub async fn pay(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    cart_id: i64,
    gateway: &dyn PaymentGateway,
    card: &Card,
) -> QueryResult<(Order, Option<ChargeOutcome>, Vec<i64>)> {
    conn.transaction(async |conn| {
        let order: Order = orders::table
            .find(order_id)
            .for_update()
            .select(Order::as_select())
            .first(conn)
            .await?;
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
        let (payment_status, reference, message) = match &outcome {
            ChargeOutcome::Approved { reference } => ("APPROVED", Some(reference.clone()), None),
            ChargeOutcome::Declined { reason } => ("DECLINED", None, Some(reason.clone())),
            ChargeOutcome::Failed { reason } => ("FAILED", None, Some(reason.clone())),
        };
        diesel::insert_into(payments::table)
            .values((
                payments::order_id.eq(order.id),
                payments::provider.eq(gateway.name()),
                payments::reference.eq(reference),
                payments::amount_cents.eq(order.total_cents),
                payments::currency.eq(&order.currency),
                payments::status.eq(payment_status),
                payments::card_last4.eq(card.last4()),
                payments::message.eq(message),
            ))
            .execute(conn)
            .await?;
        let now = Utc::now();
        let (order, restocked) = if matches!(outcome, ChargeOutcome::Approved { .. }) {
            let order = diesel::update(orders::table.find(order.id))
                .set((orders::status.eq(PAID), orders::paid_at.eq(now)))
                .returning(Order::as_returning())
                .get_result(conn)
                .await?;
            (order, Vec::new())
        } else {
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
            (order, restocked)
        };
        Ok((order, Some(outcome), restocked))
    })
    .await
}

/// Returns an order's stock; the books it touched.
async fn restock(conn: &mut AsyncPgConnection, order_id: i64) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "UPDATE books b SET stock = b.stock + l.quantity
         FROM order_lines l WHERE l.order_id = $1 AND l.book_id = b.id
         RETURNING b.id",
    )
    .bind::<BigInt, _>(order_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// The result of asking for a status change.
#[derive(Debug)]
pub enum Transition {
    /// Done; the books whose stock changed.
    Done(Order, Vec<i64>),
    /// Not allowed from the order's current status (unchanged).
    Rejected(Order),
    NotFound,
}

/// A status change an order can be asked for.
pub enum Action<'a> {
    /// From PENDING_PAYMENT or PAID: stock returns; a paid order is refunded.
    Cancel(&'a dyn PaymentGateway),
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
    Refund(&'a dyn PaymentGateway),
}

impl Action<'_> {
    fn allowed_from(&self) -> &'static [&'static str] {
        match self {
            Action::Cancel(_) => &[PENDING_PAYMENT, PAID],
            Action::Ship { .. } => &[PAID],
            Action::Deliver => &[SHIPPED],
            Action::Refund(_) => &[DELIVERED],
        }
    }
}

/// Applies `action` if the order's current status allows it. The order's
/// row is locked first, so of two concurrent changes (cancel and ship) one
/// wins and the other sees the new status.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    action: Action<'_>,
) -> QueryResult<Transition> {
    conn.transaction(async |conn| {
        let Some(order) = orders::table
            .find(order_id)
            .for_update()
            .select(Order::as_select())
            .first(conn)
            .await
            .optional()?
        else {
            return Ok(Transition::NotFound);
        };
        if !action.allowed_from().contains(&order.status.as_str()) {
            return Ok(Transition::Rejected(order));
        }
        let mut restocked = Vec::new();
        let status = match action {
            Action::Cancel(gateway) => {
                if order.status == PAID {
                    refund_payment(conn, &order, gateway).await?;
                }
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
            Action::Refund(gateway) => {
                refund_payment(conn, &order, gateway).await?;
                REFUNDED
            }
        };
        Ok(Transition::Done(
            set_status(conn, order.id, status).await?,
            restocked,
        ))
    })
    .await
}

async fn set_status(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    status: &str,
) -> QueryResult<Order> {
    diesel::update(orders::table.find(order_id))
        .set(orders::status.eq(status))
        .returning(Order::as_returning())
        .get_result(conn)
        .await
}

async fn refund_payment(
    conn: &mut AsyncPgConnection,
    order: &Order,
    gateway: &dyn PaymentGateway,
) -> QueryResult<()> {
    let approved: Option<Payment> = payments::table
        .filter(payments::order_id.eq(order.id))
        .filter(payments::status.eq("APPROVED"))
        .select(Payment::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(payment) = approved else {
        return Ok(());
    };
    let reference = payment.reference.clone().unwrap_or_default();
    if let Err(reason) = gateway.refund(&reference, payment.amount_cents).await {
        // Rolls the whole transition back: the order keeps its status.
        return Err(diesel::result::Error::QueryBuilderError(
            format!("refund failed: {reason}").into(),
        ));
    }
    diesel::insert_into(payments::table)
        .values((
            payments::order_id.eq(order.id),
            payments::provider.eq(gateway.name()),
            payments::reference.eq(payment.reference),
            payments::amount_cents.eq(payment.amount_cents),
            payments::currency.eq(payment.currency),
            payments::status.eq(REFUNDED),
            payments::card_last4.eq(payment.card_last4),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Order>> {
    orders::table
        .find(id)
        .select(Order::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_number(
    conn: &mut AsyncPgConnection,
    number: &str,
) -> QueryResult<Option<Order>> {
    orders::table
        .filter(orders::number.eq(number.trim().to_uppercase()))
        .select(Order::as_select())
        .first(conn)
        .await
        .optional()
}

/// A page of a user's orders, newest first, and how many they have.
pub async fn page_for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Order>, i64)> {
    let page = orders::table
        .filter(orders::user_id.eq(user_id))
        .order((orders::created_at.desc(), orders::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(Order::as_select())
        .load(conn)
        .await?;
    let total = orders::table
        .filter(orders::user_id.eq(user_id))
        .count()
        .get_result(conn)
        .await?;
    Ok((page, total))
}

/// A page of all orders (optionally of one status), oldest first, for staff
/// working through them.
pub async fn page_by_status(
    conn: &mut AsyncPgConnection,
    status: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Order>, i64)> {
    let filtered = || {
        let mut query = orders::table.into_boxed();
        if let Some(status) = status {
            query = query.filter(orders::status.eq(status.to_owned()));
        }
        query
    };
    let page = filtered()
        .order((orders::created_at.asc(), orders::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(Order::as_select())
        .load(conn)
        .await?;
    let total = filtered().count().get_result(conn).await?;
    Ok((page, total))
}

pub async fn lines_for(
    conn: &mut AsyncPgConnection,
    order_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<OrderLine>>> {
    let rows: Vec<OrderLine> = order_lines::table
        .filter(order_lines::order_id.eq_any(order_ids))
        .order((order_lines::order_id, order_lines::position))
        .select(OrderLine::as_select())
        .load(conn)
        .await?;
    let mut by_order: HashMap<i64, Vec<OrderLine>> = HashMap::new();
    for row in rows {
        by_order.entry(row.order_id).or_default().push(row);
    }
    Ok(by_order)
}

pub async fn addresses_by_id(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<HashMap<i64, Address>> {
    let rows: Vec<Address> = addresses::table
        .filter(addresses::id.eq_any(ids))
        .select(Address::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// Each order's payments, oldest first.
pub async fn payments_for(
    conn: &mut AsyncPgConnection,
    order_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<Payment>>> {
    let rows: Vec<Payment> = payments::table
        .filter(payments::order_id.eq_any(order_ids))
        .order((payments::order_id, payments::id))
        .select(Payment::as_select())
        .load(conn)
        .await?;
    let mut by_order: HashMap<i64, Vec<Payment>> = HashMap::new();
    for row in rows {
        by_order.entry(row.order_id).or_default().push(row);
    }
    Ok(by_order)
}

pub async fn shipments_for(
    conn: &mut AsyncPgConnection,
    order_ids: &[i64],
) -> QueryResult<HashMap<i64, Shipment>> {
    let rows: Vec<Shipment> = shipments::table
        .filter(shipments::order_id.eq_any(order_ids))
        .select(Shipment::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|row| (row.order_id, row)).collect())
}

/// Gives a newly registered user the guest orders placed with their email.
pub async fn attach_guest_orders(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    email: &str,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE orders SET user_id = $1 WHERE user_id IS NULL AND lower(email) = lower($2)",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<Text, _>(email)
    .execute(conn)
    .await
}
