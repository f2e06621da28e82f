//! Pages of orders: a customer's history (newest first) and the staff's
//! list (oldest first, optionally of one status), each order with its lines
//! (and each line's book as it is now) read in the same statement when the
//! caller asks for them: one round trip for a history page. Their counts
//! run only when asked for. Never decides who may see an order
//! (`graphql::orders` does) and never writes.
//!
//! The page statements are fixed texts, kept prepared per connection
//! ([`Prepared`]): parsing and planning them on every request cost more
//! than running them.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;

use super::books::Book;
use super::orders::{Order, OrderLine};
use super::prepared::Prepared;
use super::schema::orders;

/// What a page reads besides the orders themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Details {
    /// The orders only.
    None,
    /// Each order's lines.
    Lines,
    /// Each order's lines, each with its book as it is now.
    LinesAndBooks,
}

/// A line of a listed order and, when the page read books, its book as it
/// is now (`None`: the book was deleted, or books were not read).
#[derive(Debug, Clone, Deserialize)]
pub struct ListedLine(pub OrderLine, pub Option<Book>);

/// An order of a page, with its lines when they were asked for.
pub type Listed = (Order, Option<Vec<ListedLine>>);

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(embed)]
    order: Order,
    /// `[[line, book or null], ...]` as JSON text; NULL when lines were not
    /// read or the order has none.
    #[diesel(sql_type = Nullable<Text>)]
    listed_lines: Option<String>,
}

/// A book as JSON (not `to_json(b)`: that would carry the search vector).
const BOOK_JSON: &str = "CASE WHEN b.id IS NULL THEN NULL ELSE json_build_object(
    'id', b.id, 'slug', b.slug, 'isbn', b.isbn, 'title', b.title, 'subtitle', b.subtitle,
    'description', b.description, 'format', b.format, 'publisher', b.publisher,
    'publication_date', b.publication_date, 'language', b.language, 'page_count', b.page_count,
    'price_cents', b.price_cents, 'currency', b.currency, 'stock', b.stock,
    'archived', b.archived, 'created_at', b.created_at, 'updated_at', b.updated_at) END";

/// The select list of a page: the order's columns and its lines as asked.
fn select_list(details: Details) -> String {
    let lines = match details {
        Details::None => "NULL::text".to_owned(),
        Details::Lines => "(SELECT json_agg(json_build_array(l, NULL) ORDER BY l.position)::text
             FROM order_lines l WHERE l.order_id = o.id)"
            .to_owned(),
        Details::LinesAndBooks => format!(
            "(SELECT json_agg(json_build_array(l, {BOOK_JSON}) ORDER BY l.position)::text
             FROM order_lines l LEFT JOIN books b ON b.id = l.book_id WHERE l.order_id = o.id)"
        ),
    };
    format!("SELECT o.*, {lines} AS listed_lines FROM orders o")
}

async fn run(conn: &mut AsyncPgConnection, query: Prepared<'_>) -> QueryResult<Vec<Listed>> {
    let rows: Vec<PageRow> = query.load(conn).await?;
    rows.into_iter()
        .map(|row| {
            let lines =
                match row.listed_lines {
                    None => None,
                    Some(json) => Some(serde_json::from_str(&json).map_err(|error| {
                        diesel::result::Error::DeserializationError(error.into())
                    })?),
                };
            Ok((row.order, lines))
        })
        .collect()
}

/// Turns "no lines" into an empty list when lines were asked for (an order
/// without lines aggregates to NULL).
fn with_empty_lines(mut page: Vec<Listed>, details: Details) -> Vec<Listed> {
    if details != Details::None {
        for (_, lines) in &mut page {
            lines.get_or_insert_with(Vec::new);
        }
    }
    page
}

/// A page of a user's orders, newest first, with `details`. Checkouts
/// whose card was declined placed no order, to them.
pub async fn page_for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    offset: i64,
    limit: i64,
    details: Details,
) -> QueryResult<Vec<Listed>> {
    let query = Prepared::new(select_list(details))
        .sql(" WHERE o.user_id = ")
        .bind::<BigInt, _>(user_id)
        .sql(" AND o.declined_at IS NULL ORDER BY o.created_at DESC, o.id DESC OFFSET ")
        .bind::<BigInt, _>(offset)
        .sql(" LIMIT ")
        .bind::<BigInt, _>(limit);
    Ok(with_empty_lines(run(conn, query).await?, details))
}

/// How many orders a user has (as [`page_for_user`] lists them).
pub async fn count_for_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<i64> {
    orders::table
        .filter(orders::user_id.eq(user_id))
        .filter(orders::declined_at.is_null())
        .count()
        .get_result(conn)
        .await
}

/// A page of all orders (optionally of one status), oldest first, for staff
/// working through them, with `details`.
pub async fn page_by_status(
    conn: &mut AsyncPgConnection,
    status: Option<&str>,
    offset: i64,
    limit: i64,
    details: Details,
) -> QueryResult<Vec<Listed>> {
    let mut query = Prepared::new(select_list(details));
    if let Some(status) = status {
        query = query
            .sql(" WHERE o.status = ")
            .bind::<Text, _>(status.to_owned());
    }
    let query = query
        .sql(" ORDER BY o.created_at, o.id OFFSET ")
        .bind::<BigInt, _>(offset)
        .sql(" LIMIT ")
        .bind::<BigInt, _>(limit);
    Ok(with_empty_lines(run(conn, query).await?, details))
}

/// How many orders (of one status, if given) there are.
pub async fn count_by_status(
    conn: &mut AsyncPgConnection,
    status: Option<&str>,
) -> QueryResult<i64> {
    let mut query = orders::table.into_boxed::<Pg>();
    if let Some(status) = status {
        query = query.filter(orders::status.eq(status.to_owned()));
    }
    query.count().get_result(conn).await
}
