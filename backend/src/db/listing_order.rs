//! The orders of the book listing and positions in them (a sort key and
//! the book id), as `catalog` pages through them and cursors carry them;
//! and a contributor's books as positions in NEWEST order.
//!
//! Never: build a listing query (that is `catalog`) or know a cursor's
//! text (that is the API's).

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::id_sets::in_ids;
use super::schema::{book_contributors, books};

/// The orders of the listing. Each is a key plus the book id (the tie
/// breaker), both ascending or both descending, so a page starts right
/// after (or before) a cursor's row with one row comparison that a partial
/// index on live books serves (`books_title_idx`, `books_price_idx`,
/// `books_newest_idx`); relevance ranks the (searched) matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookOrder {
    Relevance,
    Title,
    PriceAscending,
    PriceDescending,
    Newest,
}

impl BookOrder {
    /// Whether the key (and id) ascend.
    pub(super) fn ascending(self) -> bool {
        matches!(self, BookOrder::Title | BookOrder::PriceAscending)
    }

    /// The key as the inner query selects it, in the row's four key columns.
    pub(super) fn key_columns(self) -> &'static str {
        match self {
            BookOrder::Title => {
                "lower(b.title) AS key_text, NULL::int AS key_int, NULL::float8 AS key_float, NULL::date AS key_date"
            }
            BookOrder::PriceAscending | BookOrder::PriceDescending => {
                "NULL::text AS key_text, b.price_cents AS key_int, NULL::float8 AS key_float, NULL::date AS key_date"
            }
            BookOrder::Newest => {
                "NULL::text AS key_text, NULL::int AS key_int, NULL::float8 AS key_float, b.publication_date AS key_date"
            }
            // The rank is appended by the caller (it needs the search's binds).
            BookOrder::Relevance => {
                "NULL::text AS key_text, NULL::int AS key_int, NULL::date AS key_date, "
            }
        }
    }

    /// The sort expression over the inner query's columns.
    pub(super) fn sort_expression(self) -> &'static str {
        match self {
            BookOrder::Title => "s.key_text",
            BookOrder::PriceAscending | BookOrder::PriceDescending => "s.key_int",
            // Undated books last, whatever the direction of the scan.
            BookOrder::Newest => "coalesce(s.key_date, '-infinity'::date)",
            BookOrder::Relevance => "s.key_float",
        }
    }
}

/// A book's key in an order. Relevance is the exact rank (a float8 that
/// the same search computes again, bit for bit); NEWEST's date may be
/// missing (undated books sort last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SortKey {
    Relevance(f64),
    Title(String),
    Price(i32),
    Newest(Option<NaiveDate>),
}

/// Where a book sits in an order: its key and its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub key: SortKey,
    pub id: i64,
}

/// Which rows a page takes: those strictly after `after` and before
/// `before` (either may be open), the first `limit` of them in the order, or
/// the last `limit` when `backward` (returned in reverse order: nearest to
/// `before`, or to the end, first).
#[derive(Debug, Clone, Default)]
pub struct Seek {
    pub after: Option<Position>,
    pub before: Option<Position>,
    pub backward: bool,
    pub limit: i64,
}

/// The live books credited to each contributor, as NEWEST positions in
/// that order (a contributor credited twice on one book lists it once).
pub async fn newest_of_contributors(
    conn: &mut AsyncPgConnection,
    contributor_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<Position>>> {
    let rows: Vec<(i64, i64, Option<NaiveDate>)> = book_contributors::table
        .inner_join(books::table)
        .filter(in_ids(book_contributors::contributor_id, contributor_ids))
        .filter(books::archived.eq(false))
        .order((
            book_contributors::contributor_id,
            books::publication_date.desc().nulls_last(),
            books::id.desc(),
        ))
        .select((
            book_contributors::contributor_id,
            books::id,
            books::publication_date,
        ))
        .load(conn)
        .await?;
    let mut by_contributor: HashMap<i64, Vec<Position>> =
        contributor_ids.iter().map(|id| (*id, Vec::new())).collect();
    for (contributor_id, book_id, date) in rows {
        let books = by_contributor.entry(contributor_id).or_default();
        if books.last().map(|last| last.id) != Some(book_id) {
            books.push(Position {
                key: SortKey::Newest(date),
                id: book_id,
            });
        }
    }
    Ok(by_contributor)
}
