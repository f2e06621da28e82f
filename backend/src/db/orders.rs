//! The order table group's rows (orders, their lines, addresses, payments,
//! shipments) and its reads: one order by id or number (pages of orders
//! are in [`super::order_pages`]),
//! and the batched lookups the order DataLoaders run. Also the order row's
//! own writes: its random number ([`random_number`], drawn by
//! `super::reservations`, which inserts orders) and a guest order's access
//! token ([`set_access_token`], only its hash).
//!
//! Other writes live by concept: [`super::reservations`] (stock and new
//! orders), [`super::payments`] (payment records) and
//! [`super::order_status`] (lifecycle transitions). Nothing here calls a
//! payment gateway or knows about GraphQL, and nothing here decides who may
//! see an order (`graphql::orders::queries::visible_order` does). Guest
//! orders join an account only through
//! [`attach_guest_orders_of_verified_email`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::TryRng;
use serde::Deserialize;

use super::id_sets::in_ids;
use super::schema::{addresses, order_lines, orders, payments, shipments};
use crate::domain::order_number;

pub const PENDING_PAYMENT: &str = "PENDING_PAYMENT";
pub const PAID: &str = "PAID";
pub const SHIPPED: &str = "SHIPPED";
pub const DELIVERED: &str = "DELIVERED";
pub const CANCELLED: &str = "CANCELLED";
pub const REFUNDED: &str = "REFUNDED";

#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable, Identifiable, Deserialize,
)]
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
    /// A guest order's access token, as its SHA-256 (never the token).
    #[serde(default)]
    pub access_token_hash: Option<Vec<u8>>,
    /// When checkout sent its charge to the gateway (committed first): from
    /// then on only the gateway's answer, or a lookup, settles the order.
    pub charge_started_at: Option<DateTime<Utc>>,
    /// When a change that returns money sent its refund to the gateway
    /// (cleared when the answer is recorded); while recent, no other change
    /// may touch the order.
    pub refund_started_at: Option<DateTime<Utc>>,
    /// A guest order's second access token, the one its confirmation email
    /// links with, as its SHA-256: minted when the order is paid
    /// (`super::order_mail`), untouched by checkout retries.
    #[serde(default)]
    pub mail_access_token_hash: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Deserialize)]
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

/// The order, its row locked until the caller's transaction ends: how a
/// payment or a status change waits for one already under way.
pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Order>> {
    orders::table
        .find(id)
        .for_update()
        .select(Order::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Order>> {
    orders::table
        .find(id)
        .select(Order::as_select())
        .first(conn)
        .await
        .optional()
}

/// The order with `number` as a person typed it (see
/// [`order_number::normalize`]).
pub async fn find_by_number(
    conn: &mut AsyncPgConnection,
    number: &str,
) -> QueryResult<Option<Order>> {
    orders::table
        .filter(orders::number.eq(order_number::normalize(number)))
        .select(Order::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lines_for(
    conn: &mut AsyncPgConnection,
    order_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<OrderLine>>> {
    let rows: Vec<OrderLine> = order_lines::table
        .filter(in_ids(order_lines::order_id, order_ids))
        .order((order_lines::order_id, order_lines::position))
        .select(OrderLine::as_select())
        .load(conn)
        .await?;
    Ok(group_by_order(rows, |line| line.order_id))
}

pub async fn addresses_by_id(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<HashMap<i64, Address>> {
    let rows: Vec<Address> = addresses::table
        .filter(in_ids(addresses::id, ids))
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
        .filter(in_ids(payments::order_id, order_ids))
        .order((payments::order_id, payments::id))
        .select(Payment::as_select())
        .load(conn)
        .await?;
    Ok(group_by_order(rows, |payment| payment.order_id))
}

/// Rows grouped by their order, in the order they came.
fn group_by_order<T>(rows: Vec<T>, order_id: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut by_order: HashMap<i64, Vec<T>> = HashMap::new();
    for row in rows {
        by_order.entry(order_id(&row)).or_default().push(row);
    }
    by_order
}

pub async fn shipments_for(
    conn: &mut AsyncPgConnection,
    order_ids: &[i64],
) -> QueryResult<HashMap<i64, Shipment>> {
    let rows: Vec<Shipment> = shipments::table
        .filter(in_ids(shipments::order_id, order_ids))
        .select(Shipment::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|row| (row.order_id, row)).collect())
}

/// A number drawn from the operating system's generator.
pub(super) fn random_number() -> String {
    let mut random = [0u8; order_number::RANDOM_CHARS];
    // Failing the operating system's generator is not recoverable.
    #[allow(clippy::expect_used)]
    rand::rngs::SysRng
        .try_fill_bytes(&mut random)
        .expect("the operating system's random generator");
    order_number::from_random_bytes(&random)
}

/// Stores the hash of a guest order's new access token, replacing any
/// before (so an earlier token stops working). `false` if the order is not
/// a guest order: a customer's order is never opened by a token.
pub async fn set_access_token(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    token_hash: &[u8; 32],
) -> QueryResult<bool> {
    let updated = diesel::update(orders::table.find(order_id))
        .filter(orders::user_id.is_null())
        .set(orders::access_token_hash.eq(token_hash.as_slice()))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Gives an account the guest orders placed with its email: to be called
/// only once the account has *proven* it owns that email (a verification
/// link followed), never on registration or sign-in, or anyone could
/// register with someone else's email and read their orders. Called inside
/// the transactions of `db::account_tokens::verify_email` and
/// `reset_password` (a link mailed to the address was followed). The
/// orders lose their access tokens, the checkout's and the emailed link's
/// (a customer's order opens by sign-in only).
pub async fn attach_guest_orders_of_verified_email(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    verified_email: &str,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE orders SET user_id = $1, access_token_hash = NULL, mail_access_token_hash = NULL
         WHERE user_id IS NULL AND lower(email) = lower($2)",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<Text, _>(verified_email)
    .execute(conn)
    .await
}
