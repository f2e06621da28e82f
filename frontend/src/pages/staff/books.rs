//! The staff book list: search (by text, or an exact slug or ISBN, which
//! also finds archived books) and pages of books.
//!
//! Owns the list only; it never changes a book.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use super::access::{here, load, staff_viewer};
use super::operations::{StaffBooks, staff_books};
use crate::pages::page::page;
use crate::pages::params::{Paged, page_links, set};
use crate::session::Visitor;
use crate::state::AppState;

/// Rows per page of the book list.
const PAGE_SIZE: i64 = 50;

/// Whether `text` is an ISBN-13 or ISBN-10 with a valid check digit (as the
/// backend's `book(isbn:)` requires; anything else it refuses outright).
fn is_isbn(text: &str) -> bool {
    let compact: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'-' | b' '))
        .map(|b| b.to_ascii_uppercase())
        .collect();
    let digit = |b: u8| u32::from(b - b'0');
    match compact.len() {
        13 if compact.iter().all(u8::is_ascii_digit) => {
            let sum: u32 = compact
                .iter()
                .enumerate()
                .map(|(i, &b)| digit(b) * if i % 2 == 0 { 1 } else { 3 })
                .sum();
            sum.is_multiple_of(10)
        }
        10 if compact[..9].iter().all(u8::is_ascii_digit)
            && (compact[9].is_ascii_digit() || compact[9] == b'X') =>
        {
            let sum: u32 = compact
                .iter()
                .zip((1..=10).rev())
                .map(|(&b, weight)| if b == b'X' { 10 } else { digit(b) } * weight)
                .sum();
            sum.is_multiple_of(11)
        }
        _ => false,
    }
}

/// The list's own parameters; the cursors come with [`Paged`].
#[derive(Debug, Default, Deserialize, Serialize)]
pub(super) struct BooksFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
}

pub(super) async fn books(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    params: Result<Query<Paged<BooksFilter>>, QueryRejection>,
) -> Response {
    use staff_books::BookSort;
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let search: Option<String> = set(&params.filter.q).map(|text| text.chars().take(200).collect());
    let window = params.window(PAGE_SIZE);
    let first_page = window.before.is_none() && window.after.is_none();
    // `books` leaves archived books out; on the first page, an exact slug
    // or ISBN also finds the book itself, archived or not.
    let exact = search.clone().filter(|_| first_page).unwrap_or_default();
    let variables = staff_books::Variables {
        first: window.first,
        after: window.after,
        last: window.last,
        before: window.before,
        sort: Some(if search.is_some() {
            BookSort::RELEVANCE
        } else {
            BookSort::TITLE
        }),
        search,
        by_slug: !exact.is_empty(),
        by_isbn: is_isbn(&exact),
        slug: exact.clone(),
        isbn: exact,
    };
    let data = match load::<StaffBooks>(
        &state,
        &visitor,
        &here(&uri),
        variables,
        staff_viewer!(staff_books),
    )
    .await
    {
        Ok(data) => data,
        Err(response) => return response,
    };
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let exact_matches = [
        serde_json::to_value(&data.by_slug),
        serde_json::to_value(&data.by_isbn),
    ];
    let listed = data.books.nodes.iter().map(serde_json::to_value);
    for row in exact_matches.into_iter().chain(listed).flatten() {
        if !row.is_null() && !rows.iter().any(|seen| seen["id"] == row["id"]) {
            rows.push(row);
        }
    }
    let (next, previous) = page_links!(data.books.page_info, |after, before| params.with_cursors(
        "/staff/books",
        after,
        before
    ));
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "staff_books.html",
        context! {
            title => "Books",
            books => Value::from(Serde(&rows)),
            total => data.books.total_count,
            q => set(&params.filter.q),
            next,
            previous,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbns_are_checked_like_the_api_does() {
        assert!(is_isbn("978-0-14-118562-0"));
        assert!(is_isbn("0-8044-2957-X"));
        assert!(is_isbn("0306406152"));
        assert!(!is_isbn("9780141185621"));
        assert!(!is_isbn("moby-dick"));
    }
}
