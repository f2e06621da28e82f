//! Pages of orders: a customer's history (newest first) and the staff's
//! list (oldest first, optionally of one status), each order with its lines
//! read in the same statement when the caller asks for them (one round trip
//! for a history page), and their counts, run only when asked for. Never
//! decides who may see an order (`graphql::orders` does) and never writes.

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Json, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::orders::{Order, OrderLine};
use super::schema::orders;

/// Which end of the order list a page starts from.
enum Chronology {
    NewestFirst,
    OldestFirst,
}

/// An order of a page, with its lines when they were asked for.
pub type Listed = (Order, Option<Vec<OrderLine>>);

/// Each order's lines as one JSON array, in the statement that reads the
/// page (one round trip for a history page and its lines).
const LINES_JSON: &str =
    "(SELECT json_agg(l ORDER BY l.position) FROM order_lines l WHERE l.order_id = orders.id)";

/// A window (`offset`, `limit`) of the orders `filtered` yields, in
/// `chronology` (ties broken by id), each with its lines if `with_lines`.
async fn page_of<'a>(
    conn: &mut AsyncPgConnection,
    filtered: orders::BoxedQuery<'a, Pg>,
    chronology: Chronology,
    offset: i64,
    limit: i64,
    with_lines: bool,
) -> QueryResult<Vec<Listed>> {
    let ordered = match chronology {
        Chronology::NewestFirst => filtered.order((orders::created_at.desc(), orders::id.desc())),
        Chronology::OldestFirst => filtered.order((orders::created_at.asc(), orders::id.asc())),
    };
    let lines = sql::<Nullable<Json>>(if with_lines { LINES_JSON } else { "NULL::json" });
    let rows: Vec<(Order, Option<serde_json::Value>)> = ordered
        .offset(offset)
        .limit(limit)
        .select((Order::as_select(), lines))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(order, lines)| {
            let lines =
                match (with_lines, lines) {
                    (false, _) => None,
                    // An order without lines aggregates to NULL.
                    (true, None) => Some(Vec::new()),
                    (true, Some(json)) => Some(serde_json::from_value(json).map_err(|error| {
                        diesel::result::Error::DeserializationError(error.into())
                    })?),
                };
            Ok((order, lines))
        })
        .collect()
}

/// A user's orders: checkouts whose card was declined are not orders to
/// them.
fn of_user<'a>(user_id: i64) -> orders::BoxedQuery<'a, Pg> {
    orders::table
        .filter(orders::user_id.eq(user_id))
        // A checkout whose card was declined placed no order.
        .filter(orders::declined_at.is_null())
        .into_boxed()
}

/// All orders, or those of one status.
fn of_status<'a>(status: Option<&str>) -> orders::BoxedQuery<'a, Pg> {
    let mut query = orders::table.into_boxed();
    if let Some(status) = status {
        query = query.filter(orders::status.eq(status.to_owned()));
    }
    query
}

/// A page of a user's orders, newest first (with their lines if
/// `with_lines`).
pub async fn page_for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    offset: i64,
    limit: i64,
    with_lines: bool,
) -> QueryResult<Vec<Listed>> {
    let filtered = of_user(user_id);
    page_of(
        conn,
        filtered,
        Chronology::NewestFirst,
        offset,
        limit,
        with_lines,
    )
    .await
}

/// How many orders a user has (as [`page_for_user`] lists them).
pub async fn count_for_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<i64> {
    of_user(user_id).count().get_result(conn).await
}

/// A page of all orders (optionally of one status), oldest first, for staff
/// working through them (with their lines if `with_lines`).
pub async fn page_by_status(
    conn: &mut AsyncPgConnection,
    status: Option<&str>,
    offset: i64,
    limit: i64,
    with_lines: bool,
) -> QueryResult<Vec<Listed>> {
    let filtered = of_status(status);
    page_of(
        conn,
        filtered,
        Chronology::OldestFirst,
        offset,
        limit,
        with_lines,
    )
    .await
}

/// How many orders (of one status, if given) there are.
pub async fn count_by_status(
    conn: &mut AsyncPgConnection,
    status: Option<&str>,
) -> QueryResult<i64> {
    of_status(status).count().get_result(conn).await
}
