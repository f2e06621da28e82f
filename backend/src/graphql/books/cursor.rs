//! The cursors of book lists (`books`, a contributor's `books`): opaque
//! base64url of `k1:<order>:<book id>:<sort key>`, so the next page seeks
//! from that row (keyset pagination) instead of counting rows to skip. The
//! key is the order's: the lower-cased title, the price in cents, the
//! publication date (empty when the book has none) or the relevance rank
//! (the float8's 64 bits in hex, so it compares exactly).
//!
//! Never: accept a cursor of another order, an old `pos:` cursor, or a
//! malformed one (all `BAD_USER_INPUT`, saying which).

use chrono::NaiveDate;

use super::{Book, BookConnection};
use crate::db::catalog::{BookOrder, Position, SortKey};
use crate::error::Error;
use crate::graphql::pagination::{Page, decode_opaque, encode_opaque};

/// The cursor format's version: a change of format gets a new one, and
/// cursors of an older one are refused with a clear message.
const VERSION: &str = "k1";

fn tag(order: BookOrder) -> &'static str {
    match order {
        BookOrder::Relevance => "relevance",
        BookOrder::Title => "title",
        BookOrder::PriceAscending => "price-asc",
        BookOrder::PriceDescending => "price-desc",
        BookOrder::Newest => "newest",
    }
}

/// The order's name in the API (`BookSort`).
fn sort_name(tag: &str) -> &str {
    match tag {
        "relevance" => "RELEVANCE",
        "title" => "TITLE",
        "price-asc" => "PRICE_LOW_TO_HIGH",
        "price-desc" => "PRICE_HIGH_TO_LOW",
        "newest" => "NEWEST",
        other => other,
    }
}

pub fn encode(order: BookOrder, position: &Position) -> String {
    let key = match &position.key {
        SortKey::Relevance(rank) => format!("{:016x}", rank.to_bits()),
        SortKey::Title(title) => title.clone(),
        SortKey::Price(cents) => cents.to_string(),
        SortKey::Newest(date) => date
            .map(|date| date.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    };
    encode_opaque(&format!("{VERSION}:{}:{}:{key}", tag(order), position.id))
}

/// The position a cursor of a list in `order` holds.
pub fn decode(order: BookOrder, cursor: &str) -> Result<Position, Error> {
    let invalid = || {
        Error::BadUserInput(format!(
            "invalid cursor {cursor:?}: pass a cursor this list returned (`endCursor`, `startCursor` or an edge's `cursor`)"
        ))
    };
    let text = decode_opaque(cursor).ok_or_else(invalid)?;
    if text.starts_with("pos:") {
        return Err(Error::BadUserInput(
            "this cursor is from an older version of the list: start again from the first page"
                .to_owned(),
        ));
    }
    let mut parts = text.splitn(4, ':');
    let (Some(VERSION), Some(cursor_tag), Some(id), Some(key)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if cursor_tag != tag(order) {
        return Err(Error::BadUserInput(format!(
            "this cursor belongs to the {} order, not {}: start again from the first page of this order",
            sort_name(cursor_tag),
            sort_name(tag(order))
        )));
    }
    let id: i64 = id.parse().ok().filter(|id| *id > 0).ok_or_else(invalid)?;
    let key = match order {
        BookOrder::Relevance => u64::from_str_radix(key, 16)
            .ok()
            .filter(|_| key.len() == 16)
            .map(f64::from_bits)
            .filter(|rank| rank.is_finite())
            .map(SortKey::Relevance),
        BookOrder::Title => Some(SortKey::Title(key.to_owned())),
        BookOrder::PriceAscending | BookOrder::PriceDescending => {
            key.parse().ok().map(SortKey::Price)
        }
        BookOrder::Newest if key.is_empty() => Some(SortKey::Newest(None)),
        BookOrder::Newest => NaiveDate::parse_from_str(key, "%Y-%m-%d")
            .ok()
            .map(|date| SortKey::Newest(Some(date))),
    }
    .ok_or_else(invalid)?;
    Ok(Position { key, id })
}

/// A page of `books` (loaded for `positions`, in their order; a book that
/// vanished meanwhile is left out) with each book's cursor.
pub fn page(
    order: BookOrder,
    books: Vec<Book>,
    positions: &[Position],
    has_previous: bool,
    has_next: bool,
    total: Option<i64>,
) -> BookConnection {
    let cursors = books
        .iter()
        .map(|book| {
            positions
                .iter()
                .find(|position| position.id == book.id)
                .map(|position| encode(order, position))
                .unwrap_or_default()
        })
        .collect();
    Page::keyed(books, cursors, has_previous, has_next, total).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_in_their_own_order_only() {
        let positions = [
            (
                BookOrder::Relevance,
                SortKey::Relevance(110.123_456_789_012_34),
            ),
            (
                BookOrder::Title,
                SortKey::Title("a: title: with colons".into()),
            ),
            (BookOrder::PriceAscending, SortKey::Price(1299)),
            (BookOrder::PriceDescending, SortKey::Price(0)),
            (BookOrder::Newest, SortKey::Newest(None)),
            (
                BookOrder::Newest,
                NaiveDate::from_ymd_opt(1813, 1, 28)
                    .map(|date| SortKey::Newest(Some(date)))
                    .unwrap_or(SortKey::Newest(None)),
            ),
        ];
        for (order, key) in positions {
            let position = Position { key, id: 42 };
            let cursor = encode(order, &position);
            assert_eq!(decode(order, &cursor).ok(), Some(position.clone()));
            let other = match order {
                BookOrder::Title => BookOrder::Newest,
                _ => BookOrder::Title,
            };
            assert!(
                decode(other, &cursor).is_err(),
                "{order:?} cursor as {other:?}"
            );
        }
        for bad in [
            "",
            "bm9wZQ",
            "cG9zOjM",
            "azE6dGl0bGU6eDp5",
            "azE6bmV3ZXN0OjE6MjAyMC0xMy0wMQ",
        ] {
            assert!(decode(BookOrder::Newest, bad).is_err(), "{bad}");
        }
    }
}
