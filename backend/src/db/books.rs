//! Books: the row, lookups by id, slug and ISBN, and the staff's book
//! writes (create, update, archive). Each write is one transaction that
//! also reports who was credited, for cache invalidation.
//!
//! The catalog listing is `catalog`, credits and genres `credits`, stock
//! changes `stock`. Never: call out of the database or touch the cache.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::constraints::unique_violation;
use super::credits::{self, BookCredit};
use super::id_sets::in_ids;
use super::schema::books;
use super::slugs::{SlugPolicy, SlugTable, create_with_slug};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, Deserialize)]
#[diesel(table_name = books)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Book {
    pub id: i64,
    pub slug: String,
    pub isbn: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub description: String,
    pub format: String,
    pub publisher: Option<String>,
    pub publication_date: Option<NaiveDate>,
    pub language: String,
    pub page_count: Option<i32>,
    pub price_cents: i32,
    pub currency: String,
    pub stock: i32,
    pub archived: bool,
    #[serde(with = "super::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "super::timestamp")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = books)]
pub struct NewBook {
    pub slug: String,
    pub isbn: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub description: String,
    pub format: String,
    pub publisher: Option<String>,
    pub publication_date: Option<NaiveDate>,
    pub language: String,
    pub page_count: Option<i32>,
    pub price_cents: i32,
    pub currency: String,
    pub stock: i32,
}

/// A patch of a book's own columns: `None` leaves a column alone, and for
/// nullable columns `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = books)]
pub struct BookChanges {
    pub slug: Option<String>,
    pub isbn: Option<String>,
    pub title: Option<String>,
    pub subtitle: Option<Option<String>>,
    pub description: Option<String>,
    pub format: Option<String>,
    pub publisher: Option<Option<String>>,
    pub publication_date: Option<Option<NaiveDate>>,
    pub language: Option<String>,
    pub page_count: Option<Option<i32>>,
    pub price_cents: Option<i32>,
    pub currency: Option<String>,
}

impl BookChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookRejection {
    NotFound,
    SlugTaken,
    IsbnTaken,
    /// Credited contributors or genres that do not exist.
    Unknown {
        contributor_ids: Vec<i64>,
        genre_ids: Vec<i64>,
    },
}

/// A committed book write.
#[derive(Debug, Clone)]
pub struct BookWrite {
    pub book: Book,
    /// Everyone credited on the book before or after the write (their book
    /// lists may have changed).
    pub contributor_ids: Vec<i64>,
}

pub async fn find_by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Book>> {
    books::table
        .filter(in_ids(books::id, ids))
        .select(Book::as_select())
        .load(conn)
        .await
}

pub async fn find_id_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<i64>> {
    books::table
        .filter(books::slug.eq(slug))
        .select(books::id)
        .first(conn)
        .await
        .optional()
}

pub async fn find_id_by_isbn(conn: &mut AsyncPgConnection, isbn: &str) -> QueryResult<Option<i64>> {
    books::table
        .filter(books::isbn.eq(isbn))
        .select(books::id)
        .first(conn)
        .await
        .optional()
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    books::table.count().get_result(conn).await
}

pub async fn insert_many(conn: &mut AsyncPgConnection, rows: &[NewBook]) -> QueryResult<Vec<i64>> {
    diesel::insert_into(books::table)
        .values(rows)
        .returning(books::id)
        .get_results(conn)
        .await
}

/// Why a write transaction stopped: a rejection to report, or a failure.
enum Abort {
    Rejected(BookRejection),
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(error: diesel::result::Error) -> Self {
        Abort::Database(error)
    }
}

impl From<BookRejection> for Abort {
    fn from(rejection: BookRejection) -> Self {
        Abort::Rejected(rejection)
    }
}

/// A slug or ISBN that another book holds is the user's problem, reported
/// as such; any other failure is ours.
fn taken_or_failed(error: diesel::result::Error) -> Abort {
    match unique_violation(&error) {
        Some("books_slug_key") => Abort::Rejected(BookRejection::SlugTaken),
        Some("books_isbn_key") => Abort::Rejected(BookRejection::IsbnTaken),
        _ => Abort::Database(error),
    }
}

fn finish<T>(outcome: Result<T, Abort>) -> QueryResult<Result<T, BookRejection>> {
    match outcome {
        Ok(value) => Ok(Ok(value)),
        Err(Abort::Rejected(rejection)) => Ok(Err(rejection)),
        Err(Abort::Database(error)) => Err(error),
    }
}

/// Refuses credits of contributors or genres that do not exist, before
/// anything is written.
async fn check_relations(
    conn: &mut AsyncPgConnection,
    credits: Option<&[BookCredit]>,
    genre_ids: Option<&[i64]>,
) -> Result<(), Abort> {
    let (contributor_ids, genre_ids) = credits::unknown(
        conn,
        credits.unwrap_or_default(),
        genre_ids.unwrap_or_default(),
    )
    .await?;
    if contributor_ids.is_empty() && genre_ids.is_empty() {
        return Ok(());
    }
    Err(Abort::Rejected(BookRejection::Unknown {
        contributor_ids,
        genre_ids,
    }))
}

fn union(mut ids: Vec<i64>, more: impl IntoIterator<Item = i64>) -> Vec<i64> {
    ids.extend(more);
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Creates a book with its credits (in list order) and genres, in one
/// transaction. With [`SlugPolicy::SuffixIfTaken`], `book.slug` is a base
/// that gets the first free suffix.
pub async fn create(
    conn: &mut AsyncPgConnection,
    book: &NewBook,
    slug_policy: SlugPolicy,
    credits: &[BookCredit],
    genre_ids: &[i64],
) -> QueryResult<Result<BookWrite, BookRejection>> {
    // The closure owns its copies: one borrowing the caller's values fails
    // rustc's lifetime check of the resolvers' boxed futures (E0477).
    let (book, credits, genre_ids) = (book.clone(), credits.to_vec(), genre_ids.to_vec());
    create_with_slug(
        conn,
        SlugTable::Books,
        &book.slug.clone(),
        slug_policy,
        BookRejection::SlugTaken,
        async move |conn, slug| {
            let (book, credits, genre_ids) = (&book, &credits[..], &genre_ids[..]);
            let outcome = conn
                .transaction(async |conn| {
                    check_relations(conn, Some(credits), Some(genre_ids)).await?;
                    let row = NewBook {
                        slug,
                        ..book.clone()
                    };
                    let created = diesel::insert_into(books::table)
                        .values(&row)
                        .returning(Book::as_returning())
                        .get_result(conn)
                        .await
                        .map_err(taken_or_failed)?;
                    credits::replace(conn, created.id, Some(credits), Some(genre_ids)).await?;
                    Ok::<_, Abort>(BookWrite {
                        contributor_ids: union(
                            Vec::new(),
                            credits.iter().map(|credit| credit.contributor_id),
                        ),
                        book: created,
                    })
                })
                .await;
            finish(outcome)
        },
    )
    .await
}

/// Applies `changes` and, when given, replaces the credits and/or genres, in
/// one transaction that locks the book first (so concurrent edits of one
/// book's credits cannot interleave).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &BookChanges,
    credits: Option<&[BookCredit]>,
    genre_ids: Option<&[i64]>,
) -> QueryResult<Result<BookWrite, BookRejection>> {
    let outcome = conn
        .transaction(async |conn| {
            books::table
                .find(id)
                .select(books::id)
                .for_update()
                .first::<i64>(conn)
                .await
                .optional()?
                .ok_or(BookRejection::NotFound)?;
            check_relations(conn, credits, genre_ids).await?;
            let before = credits::contributor_ids_of(conn, id).await?;
            let book = if changes.is_empty() {
                books::table
                    .find(id)
                    .select(Book::as_select())
                    .first(conn)
                    .await?
            } else {
                diesel::update(books::table.find(id))
                    .set(changes)
                    .returning(Book::as_returning())
                    .get_result(conn)
                    .await
                    .map_err(taken_or_failed)?
            };
            credits::replace(conn, id, credits, genre_ids).await?;
            let after = credits
                .unwrap_or_default()
                .iter()
                .map(|credit| credit.contributor_id);
            Ok::<_, Abort>(BookWrite {
                contributor_ids: union(before, after),
                book,
            })
        })
        .await;
    finish(outcome)
}

/// Archives (takes out of the catalog) or restores a book. `None` when
/// there is no such book.
pub async fn set_archived(
    conn: &mut AsyncPgConnection,
    id: i64,
    archived: bool,
) -> QueryResult<Option<BookWrite>> {
    let Some(book) = diesel::update(books::table.find(id))
        .set(books::archived.eq(archived))
        .returning(Book::as_returning())
        .get_result(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    // Read after the update: a credit added meanwhile invalidates itself.
    let contributor_ids = credits::contributor_ids_of(conn, id).await?;
    Ok(Some(BookWrite {
        book,
        contributor_ids,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_patch_is_empty() {
        assert!(BookChanges::default().is_empty());
        let changes = BookChanges {
            subtitle: Some(None),
            ..BookChanges::default()
        };
        assert!(!changes.is_empty());
    }
}
