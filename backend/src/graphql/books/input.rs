//! The inputs of the staff's book writes and their checks: ISBN, language,
//! price and currency, stock, the credit and genre lists, and the
//! `userErrors` of a refused write.
//!
//! Never: write; the resolvers in `mutations` do, after these checks.

use std::collections::HashSet;

use async_graphql::{ID, InputObject, MaybeUndefined};

use super::{BookFormat, ContributorRole, Date};
use crate::db::books::BookRejection;
use crate::db::credits::BookCredit;
use crate::domain::{isbn, money};
use crate::graphql::ids::{NodeType, decode_as};
use crate::graphql::user_errors::{UserError, UserErrorCode};
use crate::graphql::validation::{Checks, not_found};

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_SUBTITLE_CHARS: usize = 300;
pub const MAX_PUBLISHER_CHARS: usize = 200;
const MAX_CREDITS: usize = 50;
const MAX_GENRES: usize = 20;
pub const MAX_STOCK_DELTA: i32 = 1_000_000;

/// A contributor's credit on a book being written.
#[derive(InputObject)]
pub struct CreditInput {
    pub contributor_id: ID,
    pub role: ContributorRole,
}

#[derive(InputObject)]
pub struct CreateBookInput {
    /// 1 to 300 characters.
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    /// ISBN-13 or ISBN-10, hyphens and spaces allowed; stored as ISBN-13.
    pub isbn: String,
    pub format: BookFormat,
    pub publisher: Option<String>,
    pub publication_date: Option<Date>,
    /// ISO 639 code of two or three lowercase letters.
    #[graphql(default = "en")]
    pub language: String,
    pub page_count: Option<i32>,
    /// More than zero, in minor units of `currency`.
    pub price_cents: i32,
    /// ISO 4217 code.
    #[graphql(default = "USD")]
    pub currency: String,
    #[graphql(default = 0)]
    pub stock: i32,
    /// Everyone credited, in credit order.
    pub contributors: Option<Vec<CreditInput>>,
    pub genre_ids: Option<Vec<ID>>,
    /// Lowercase letters and digits in hyphen-joined words. Derived from the
    /// title when omitted (with `-2`, `-3`, ... if taken).
    pub slug: Option<String>,
}

/// Only the fields given change; `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateBookInput {
    pub id: ID,
    pub title: Option<String>,
    pub subtitle: MaybeUndefined<String>,
    pub description: Option<String>,
    pub isbn: Option<String>,
    pub format: Option<BookFormat>,
    pub publisher: MaybeUndefined<String>,
    pub publication_date: MaybeUndefined<Date>,
    pub language: Option<String>,
    pub page_count: MaybeUndefined<i32>,
    pub price_cents: Option<i32>,
    pub currency: Option<String>,
    // No stock here: setting it outright would undo a checkout racing the
    // edit. `adjustStock` changes it relative to what it is at that moment.
    /// When given, replaces every credit.
    pub contributors: Option<Vec<CreditInput>>,
    /// When given, replaces every genre.
    pub genre_ids: Option<Vec<ID>>,
    /// The book's URL changes with it.
    pub slug: Option<String>,
}

#[derive(InputObject)]
pub struct AdjustStockInput {
    pub book_id: ID,
    /// Copies to add (positive) or take away (negative); not zero, at most
    /// 1,000,000 either way.
    pub delta: i32,
}

pub fn isbn(value: &str) -> Result<String, UserError> {
    isbn::normalize(value).ok_or_else(|| {
        UserError::invalid(
            "isbn",
            "enter a valid ISBN-13 or ISBN-10 (the check digit does not match)",
        )
    })
}

pub fn language(value: &str) -> Result<String, UserError> {
    let ok = (2..=3).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_lowercase());
    ok.then(|| value.to_owned()).ok_or_else(|| {
        UserError::invalid(
            "language",
            "use an ISO 639 code of 2 or 3 lowercase letters",
        )
    })
}

pub fn currency(value: &str) -> Result<String, UserError> {
    money::is_currency_code(value)
        .then(|| value.to_owned())
        .ok_or_else(|| {
            UserError::invalid("currency", "use an ISO 4217 code of 3 uppercase letters")
        })
}

pub fn stock(value: i32) -> Result<i32, UserError> {
    if value >= 0 {
        Ok(value)
    } else {
        Err(UserError::invalid("stock", "must not be negative"))
    }
}

/// The credits in input order. An id that is malformed or of another type
/// names no contributor, so it is NOT_FOUND like an unknown one.
pub fn credits(checks: &mut Checks, list: Vec<CreditInput>) -> Vec<BookCredit> {
    if list.len() > MAX_CREDITS {
        checks.add(UserError::invalid(
            "contributors",
            format!("credit at most {MAX_CREDITS} contributors"),
        ));
    }
    let mut seen = HashSet::new();
    let mut credits = Vec::with_capacity(list.len());
    for (index, credit) in list.into_iter().enumerate() {
        let index = index.to_string();
        let Ok(contributor_id) = decode_as(NodeType::Contributor, &credit.contributor_id) else {
            checks.add(not_found(
                &["input", "contributors", &index, "contributorId"],
                "contributor",
            ));
            continue;
        };
        let role = credit.role.as_db();
        if !seen.insert((contributor_id, role)) {
            checks.add(UserError::new(
                &["input", "contributors", &index],
                UserErrorCode::Invalid,
                "this contributor is already credited in this role",
            ));
            continue;
        }
        credits.push(BookCredit {
            contributor_id,
            role: role.to_owned(),
        });
    }
    credits
}

/// The genre ids in input order (a repeated id is harmless: they are a set).
pub fn genre_ids(checks: &mut Checks, list: Vec<ID>) -> Vec<i64> {
    if list.len() > MAX_GENRES {
        checks.add(UserError::invalid(
            "genreIds",
            format!("give at most {MAX_GENRES} genres"),
        ));
    }
    let mut ids = Vec::with_capacity(list.len());
    for (index, id) in list.iter().enumerate() {
        match decode_as(NodeType::Genre, id) {
            Ok(id) => ids.push(id),
            Err(_) => checks.add(not_found(
                &["input", "genreIds", &index.to_string()],
                "genre",
            )),
        }
    }
    ids
}

pub fn distinct(ids: &[i64]) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// The userErrors for a refused book write. `credits` and `genre_ids` are
/// the checked lists, index for index as given.
pub fn book_rejection(
    rejection: BookRejection,
    id_field: &[&str],
    credits: &[BookCredit],
    genre_ids: &[i64],
) -> Vec<UserError> {
    match rejection {
        BookRejection::NotFound => vec![not_found(id_field, "book")],
        BookRejection::SlugTaken => vec![UserError::new(
            &["input", "slug"],
            UserErrorCode::Taken,
            "another book has this slug",
        )],
        BookRejection::IsbnTaken => vec![UserError::new(
            &["input", "isbn"],
            UserErrorCode::Taken,
            "another book has this ISBN",
        )],
        BookRejection::Unknown {
            contributor_ids: missing_contributors,
            genre_ids: missing_genres,
        } => {
            let contributors = credits
                .iter()
                .enumerate()
                .filter(|(_, credit)| missing_contributors.contains(&credit.contributor_id))
                .map(|(index, _)| {
                    not_found(
                        &["input", "contributors", &index.to_string(), "contributorId"],
                        "contributor",
                    )
                });
            let genres = genre_ids
                .iter()
                .enumerate()
                .filter(|(_, id)| missing_genres.contains(id))
                .map(|(index, _)| not_found(&["input", "genreIds", &index.to_string()], "genre"));
            contributors.chain(genres).collect()
        }
    }
}
