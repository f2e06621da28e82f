//! The order table group's rows (orders, their lines, addresses, payments,
//! shipments) and its reads: one order by id or number, pages of orders,
//! and the batched lookups the order DataLoaders run.
//!
//! Writes live by concept: [`super::reservations`] (stock and new orders),
//! [`super::payments`] (payment records) and [`super::order_status`]
//! (lifecycle transitions). Nothing here calls a payment gateway or knows
//! about GraphQL.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{addresses, order_lines, orders, payments, shipments};

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
    /// When checkout sent its charge to the gateway (committed first): from
    /// then on only the gateway's answer, or a lookup, settles the order.
    pub charge_started_at: Option<DateTime<Utc>>,
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

/// Which end of the order list a page starts from.
enum Chronology {
    NewestFirst,
    OldestFirst,
}

/// A window (`offset`, `limit`) of the orders `filtered` yields, in
/// `chronology` (ties broken by id), and how many it yields in all.
async fn page_of<'a>(
    conn: &mut AsyncPgConnection,
    filtered: impl Fn() -> orders::BoxedQuery<'a, Pg>,
    chronology: Chronology,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Order>, i64)> {
    let ordered = match chronology {
        Chronology::NewestFirst => filtered().order((orders::created_at.desc(), orders::id.desc())),
        Chronology::OldestFirst => filtered().order((orders::created_at.asc(), orders::id.asc())),
    };
    let page = ordered
        .offset(offset)
        .limit(limit)
        .select(Order::as_select())
        .load(conn)
        .await?;
    let total = filtered().count().get_result(conn).await?;
    Ok((page, total))
}

/// A page of a user's orders, newest first, and how many they have
/// (checkouts whose card was declined are not orders to them).
pub async fn page_for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Order>, i64)> {
    let filtered = || {
        orders::table
            .filter(orders::user_id.eq(user_id))
            // A checkout whose card was declined placed no order.
            .filter(orders::declined_at.is_null())
            .into_boxed()
    };
    page_of(conn, filtered, Chronology::NewestFirst, offset, limit).await
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
    page_of(conn, filtered, Chronology::OldestFirst, offset, limit).await
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
    Ok(group_by_order(rows, |line| line.order_id))
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
