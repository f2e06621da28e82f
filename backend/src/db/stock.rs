//! A book's stock, changed relative to what it is at that moment, so that
//! staff adjustments racing checkouts never oversell and never overflow.
//!
//! Never: set the stock outright (that would undo a racing checkout).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::books::Book;
use super::schema::books;

/// Why [`adjust_stock`] changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockRejection {
    NotFound,
    /// The stock would have gone below zero.
    Insufficient,
    /// The stock would have exceeded what the column holds.
    Overflow,
}

/// Adds `delta` (negative to take away) to a book's stock in one
/// conditional statement, so concurrent adjustments never oversell: the row
/// lock serialises them and each re-checks the condition on the latest
/// stock. Returns the new row; its stock minus `delta` is what it was.
pub async fn adjust_stock(
    conn: &mut AsyncPgConnection,
    id: i64,
    delta: i32,
) -> QueryResult<Result<Book, StockRejection>> {
    // `stock + delta BETWEEN 0 AND i32::MAX`, rearranged so that Postgres
    // never computes a sum that overflows the integer column.
    let lowest = delta.saturating_neg().max(0);
    let highest = i32::MAX.saturating_sub(delta.max(0));
    let adjusted = diesel::update(
        books::table
            .find(id)
            .filter(books::stock.between(lowest, highest)),
    )
    .set(books::stock.eq(books::stock + delta))
    .returning(Book::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    if let Some(book) = adjusted {
        return Ok(Ok(book));
    }
    let exists = diesel::select(diesel::dsl::exists(books::table.find(id)))
        .get_result::<bool>(conn)
        .await?;
    Ok(Err(match (exists, delta < 0) {
        (false, _) => StockRejection::NotFound,
        (true, true) => StockRejection::Insufficient,
        (true, false) => StockRejection::Overflow,
    }))
}
