//! Book queries: rows by id, lookups by slug/ISBN, the filtered and ranked
//! catalog page, and each book's contributors and genres in one statement;
//! and the staff's book writes (create, update, archive, stock), each one
//! transaction that also reports who was credited, for cache invalidation.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::contributors::{self, Contributor, NewCredit};
use super::genres::{self, Genre, NewBookGenre};
use super::schema::{book_contributors, book_genres, books};

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

/// One credit of a book being written; the list's order is the credit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookCredit {
    pub contributor_id: i64,
    pub role: String,
}

/// What to do when a new row's slug is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlugPolicy {
    /// The slug was asked for: refuse it.
    Exact,
    /// The slug was derived from a name: use the first free of `slug-2`,
    /// `slug-3`, ...
    SuffixIfTaken,
}

/// Why a book write was refused; nothing was written.
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

/// Why [`adjust_stock`] changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockRejection {
    NotFound,
    /// The stock would have gone below zero.
    Insufficient,
    /// The stock would have exceeded what the column holds.
    Overflow,
}

/// A derived slug is retried this often when concurrent writers keep
/// taking the free one first.
const SLUG_ATTEMPTS: usize = 5;

/// A book's contributors (with their role, in credit order) and genres.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookRelations {
    pub credits: Vec<Credit>,
    pub genres: Vec<Genre>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credit {
    pub role: String,
    pub contributor: Contributor,
}

/// What the catalog can be narrowed by. Every field is optional.
#[derive(Debug, Clone, Default)]
pub struct BookFilter {
    pub search: Option<String>,
    pub genre_slug: Option<String>,
    pub contributor_id: Option<i64>,
    pub min_price_cents: Option<i32>,
    pub max_price_cents: Option<i32>,
    pub in_stock: Option<bool>,
    pub format: Option<String>,
    /// Also archived books (staff lists).
    pub include_archived: bool,
}

impl BookFilter {
    /// A canonical text of the filter: equal filters give equal keys (the
    /// listing's cached `totalCount` is stored under it).
    pub fn cache_key(&self) -> String {
        let search = self
            .search
            .as_deref()
            .map(|text| text.trim().to_lowercase())
            .unwrap_or_default();
        format!(
            "s={search}|g={}|c={}|min={}|max={}|stock={}|f={}|a={}",
            self.genre_slug.as_deref().unwrap_or_default(),
            self.contributor_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            self.min_price_cents
                .map(|n| n.to_string())
                .unwrap_or_default(),
            self.max_price_cents
                .map(|n| n.to_string())
                .unwrap_or_default(),
            self.in_stock.map(|b| b.to_string()).unwrap_or_default(),
            self.format.as_deref().unwrap_or_default(),
            self.include_archived,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookOrder {
    Relevance,
    Title,
    PriceAscending,
    PriceDescending,
    Newest,
}

pub async fn find_by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Book>> {
    books::table
        .filter(books::id.eq_any(ids))
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

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// One page of live (not archived, unless the filter includes them) book
/// ids matching `filter`, in `order`,
/// and the total number of matches when `with_total` (a window count, so
/// still one statement).
pub async fn page_ids(
    conn: &mut AsyncPgConnection,
    filter: &BookFilter,
    order: BookOrder,
    offset: i64,
    limit: i64,
    with_total: bool,
) -> QueryResult<(Vec<i64>, Option<i64>)> {
    let total = if with_total {
        "count(*) OVER ()"
    } else {
        "0::bigint"
    };
    let mut query = diesel::sql_query(format!("SELECT b.id, {total} AS total FROM books b"))
        .into_boxed::<diesel::pg::Pg>();
    let mut params = 0;
    let mut next = || {
        params += 1;
        format!("${params}")
    };

    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty());
    let mut rank = None;
    let live = if filter.include_archived {
        "true"
    } else {
        "NOT b.archived"
    };
    if let Some(text) = search {
        let text_param = next();
        let isbn_param = next();
        query = query
            .sql(format!(
                " CROSS JOIN LATERAL (SELECT websearch_to_tsquery('english', {text_param}) AS tsq) q \
                  LEFT JOIN LATERAL (SELECT max(word_similarity({text_param}, c.name)) AS score \
                       FROM book_contributors bc JOIN contributors c ON c.id = bc.contributor_id \
                       WHERE bc.book_id = b.id AND {text_param} <% c.name) author ON true \
                  WHERE {live} AND (b.isbn = {isbn_param} OR b.search_vector @@ q.tsq \
                       OR {text_param} <% b.title OR author.score IS NOT NULL)"
            ))
            .bind::<Text, _>(text.to_owned())
            .bind::<Nullable<Text>, _>(normalize_isbn(text));
        // An exact ISBN beats an author-name hit, which beats text matches.
        rank = Some(format!(
            "(CASE WHEN b.isbn = {isbn_param} THEN 1000 ELSE 0 END \
              + 100 * coalesce(author.score, 0) \
              + 10 * ts_rank(b.search_vector, q.tsq) \
              + 10 * word_similarity({text_param}, b.title)) DESC"
        ));
    } else {
        query = query.sql(format!(" WHERE {live}"));
    }
    if let Some(format) = &filter.format {
        query = query
            .sql(format!(" AND b.format = {}", next()))
            .bind::<Text, _>(format.clone());
    }
    if let Some(min) = filter.min_price_cents {
        query = query
            .sql(format!(" AND b.price_cents >= {}", next()))
            .bind::<Integer, _>(min);
    }
    if let Some(max) = filter.max_price_cents {
        query = query
            .sql(format!(" AND b.price_cents <= {}", next()))
            .bind::<Integer, _>(max);
    }
    if let Some(in_stock) = filter.in_stock {
        query = query
            .sql(format!(" AND (b.stock > 0) = {}", next()))
            .bind::<Bool, _>(in_stock);
    }
    if let Some(slug) = &filter.genre_slug {
        query = query
            .sql(format!(
                " AND EXISTS (SELECT 1 FROM book_genres bg JOIN genres g ON g.id = bg.genre_id \
                   WHERE bg.book_id = b.id AND g.slug = {})",
                next()
            ))
            .bind::<Text, _>(slug.clone());
    }
    if let Some(contributor_id) = filter.contributor_id {
        query = query
            .sql(format!(
                " AND EXISTS (SELECT 1 FROM book_contributors bc \
                   WHERE bc.book_id = b.id AND bc.contributor_id = {})",
                next()
            ))
            .bind::<BigInt, _>(contributor_id);
    }

    let order_by = match (order, rank) {
        (BookOrder::Relevance, Some(rank)) => format!("{rank}, b.id"),
        (BookOrder::Title, _) => "lower(b.title), b.id".to_owned(),
        (BookOrder::PriceAscending, _) => "b.price_cents, b.id".to_owned(),
        (BookOrder::PriceDescending, _) => "b.price_cents DESC, b.id".to_owned(),
        (BookOrder::Newest | BookOrder::Relevance, _) => {
            "b.publication_date DESC NULLS LAST, b.id DESC".to_owned()
        }
    };
    let rows: Vec<PageRow> = query
        .sql(format!(
            " ORDER BY {order_by} LIMIT {} OFFSET {}",
            next(),
            next()
        ))
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(offset)
        .load(conn)
        .await?;

    let total = match (with_total, rows.as_slice().first()) {
        (false, _) => None,
        (true, Some(row)) => Some(row.total),
        // Past the end the window has no row to ride on: count separately.
        (true, None) if offset > 0 => Box::pin(page_ids(conn, filter, order, 0, 1, true)).await?.1,
        (true, None) => Some(0),
    };
    Ok((rows.into_iter().map(|row| row.id).collect(), total))
}

/// Accepts an ISBN-13 or ISBN-10 with or without hyphens and spaces and
/// returns the canonical 13 digits, or `None` when `text` is not an ISBN.
pub fn normalize_isbn(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .collect::<String>()
        .to_ascii_uppercase();
    if compact.len() == 13 && compact.bytes().all(|b| b.is_ascii_digit()) {
        return isbn13_is_valid(&compact).then_some(compact);
    }
    if compact.len() == 10 {
        let (body, check) = compact.split_at(9);
        let digits_ok = body.bytes().all(|b| b.is_ascii_digit())
            && (check == "X" || check.bytes().all(|b| b.is_ascii_digit()));
        if !digits_ok {
            return None;
        }
        let sum: u32 = compact
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                let value = if b == b'X' { 10 } else { u32::from(b - b'0') };
                value * (10 - i as u32)
            })
            .sum();
        if !sum.is_multiple_of(11) {
            return None;
        }
        let mut isbn13 = format!("978{body}");
        isbn13.push(isbn13_check_digit(&isbn13));
        return Some(isbn13);
    }
    None
}

/// The ISBN-13 check digit for the first twelve digits.
pub fn isbn13_check_digit(first_twelve: &str) -> char {
    let sum: u32 = first_twelve
        .bytes()
        .take(12)
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

pub fn isbn13_is_valid(isbn: &str) -> bool {
    isbn.len() == 13
        && isbn.bytes().all(|b| b.is_ascii_digit())
        && (isbn.starts_with("978") || isbn.starts_with("979"))
        && isbn13_check_digit(isbn) == char::from(isbn.as_bytes()[12])
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

/// The constraint a unique violation broke, if `error` is one.
pub fn unique_violation(error: &diesel::result::Error) -> Option<&str> {
    match error {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        ) => info.constraint_name(),
        _ => None,
    }
}

/// The first of `base`, `base-2`, `base-3`, ... that is not `taken` (the
/// slugs equal to `base` or starting with `base-`).
pub fn first_free_slug(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|slug| slug == base) {
        return base.to_owned();
    }
    let suffixes: std::collections::HashSet<u64> = taken
        .iter()
        .filter_map(|slug| slug.strip_prefix(base)?.strip_prefix('-')?.parse().ok())
        .collect();
    let free = (2..).find(|n| !suffixes.contains(n)).unwrap_or(2);
    format!("{base}-{free}")
}

/// The book slugs `slug` or `slug-*` (slugs hold no LIKE wildcards).
async fn slugs_like(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Vec<String>> {
    books::table
        .filter(
            books::slug
                .eq(slug)
                .or(books::slug.like(format!("{slug}-%"))),
        )
        .select(books::slug)
        .load(conn)
        .await
}

/// Refuses credits of contributors or genres that do not exist, before
/// anything is written (the foreign keys would only name the first).
async fn check_relations(
    conn: &mut AsyncPgConnection,
    credits: Option<&[BookCredit]>,
    genre_ids: Option<&[i64]>,
) -> Result<(), Abort> {
    let contributor_ids: Vec<i64> = credits
        .unwrap_or_default()
        .iter()
        .map(|credit| credit.contributor_id)
        .collect();
    let missing_contributors = contributors::missing_ids(conn, &contributor_ids).await?;
    let missing_genres = genres::missing_ids(conn, genre_ids.unwrap_or_default()).await?;
    if missing_contributors.is_empty() && missing_genres.is_empty() {
        return Ok(());
    }
    Err(Abort::Rejected(BookRejection::Unknown {
        contributor_ids: missing_contributors,
        genre_ids: missing_genres,
    }))
}

/// Replaces the book's credits (in list order) and/or genres.
async fn replace_relations(
    conn: &mut AsyncPgConnection,
    book_id: i64,
    credits: Option<&[BookCredit]>,
    genre_ids: Option<&[i64]>,
) -> QueryResult<()> {
    if let Some(credits) = credits {
        diesel::delete(book_contributors::table.filter(book_contributors::book_id.eq(book_id)))
            .execute(conn)
            .await?;
        let rows: Vec<NewCredit> = credits
            .iter()
            .enumerate()
            .map(|(position, credit)| NewCredit {
                book_id,
                contributor_id: credit.contributor_id,
                role: credit.role.clone(),
                position: i16::try_from(position).unwrap_or(i16::MAX),
            })
            .collect();
        if !rows.is_empty() {
            contributors::insert_credits(conn, &rows).await?;
        }
    }
    if let Some(genre_ids) = genre_ids {
        diesel::delete(book_genres::table.filter(book_genres::book_id.eq(book_id)))
            .execute(conn)
            .await?;
        let rows: Vec<NewBookGenre> = genre_ids
            .iter()
            .map(|genre_id| NewBookGenre {
                book_id,
                genre_id: *genre_id,
            })
            .collect();
        if !rows.is_empty() {
            genres::insert_book_genres(conn, &rows).await?;
        }
    }
    Ok(())
}

/// The contributors credited on a book, each once.
async fn contributor_ids_of(conn: &mut AsyncPgConnection, book_id: i64) -> QueryResult<Vec<i64>> {
    book_contributors::table
        .filter(book_contributors::book_id.eq(book_id))
        .select(book_contributors::contributor_id)
        .distinct()
        .load(conn)
        .await
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
    for _ in 0..SLUG_ATTEMPTS {
        let outcome = conn
            .transaction(async |conn| {
                check_relations(conn, Some(credits), Some(genre_ids)).await?;
                let mut row = book.clone();
                if slug_policy == SlugPolicy::SuffixIfTaken {
                    row.slug = first_free_slug(&book.slug, &slugs_like(conn, &book.slug).await?);
                }
                let created = diesel::insert_into(books::table)
                    .values(&row)
                    .returning(Book::as_returning())
                    .get_result(conn)
                    .await
                    .map_err(taken_or_failed)?;
                replace_relations(conn, created.id, Some(credits), Some(genre_ids)).await?;
                Ok::<_, Abort>(BookWrite {
                    contributor_ids: union(
                        Vec::new(),
                        credits.iter().map(|credit| credit.contributor_id),
                    ),
                    book: created,
                })
            })
            .await;
        match outcome {
            // Someone took the free suffix between our look and our insert.
            Err(Abort::Rejected(BookRejection::SlugTaken))
                if slug_policy == SlugPolicy::SuffixIfTaken =>
            {
                continue;
            }
            outcome => return finish(outcome),
        }
    }
    Ok(Err(BookRejection::SlugTaken))
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
            let before = contributor_ids_of(conn, id).await?;
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
            replace_relations(conn, id, credits, genre_ids).await?;
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
    let contributor_ids = contributor_ids_of(conn, id).await?;
    Ok(Some(BookWrite {
        book,
        contributor_ids,
    }))
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

#[derive(QueryableByName)]
struct RelationsRow {
    #[diesel(sql_type = BigInt)]
    book_id: i64,
    #[diesel(sql_type = Text)]
    credits: String,
    #[diesel(sql_type = Text)]
    genres: String,
}

/// Contributors (with role) and genres of each book, in one statement.
pub async fn relations_for(
    conn: &mut AsyncPgConnection,
    book_ids: &[i64],
) -> QueryResult<HashMap<i64, BookRelations>> {
    let rows: Vec<RelationsRow> = diesel::sql_query(
        "SELECT ids.id AS book_id,
                coalesce((SELECT json_agg(json_build_object('role', bc.role, 'contributor', to_json(c))
                                          ORDER BY bc.position, c.sort_name)
                          FROM book_contributors bc JOIN contributors c ON c.id = bc.contributor_id
                          WHERE bc.book_id = ids.id), '[]')::text AS credits,
                coalesce((SELECT json_agg(to_json(g) ORDER BY g.name)
                          FROM book_genres bg JOIN genres g ON g.id = bg.genre_id
                          WHERE bg.book_id = ids.id), '[]')::text AS genres
         FROM unnest($1::bigint[]) AS ids(id)",
    )
    .bind::<Array<BigInt>, _>(book_ids)
    .load(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let parse = |error: serde_json::Error| {
                diesel::result::Error::DeserializationError(Box::new(error))
            };
            Ok((
                row.book_id,
                BookRelations {
                    credits: serde_json::from_str(&row.credits).map_err(parse)?,
                    genres: serde_json::from_str(&row.genres).map_err(parse)?,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn_checksums() {
        assert!(isbn13_is_valid("9780141439518"));
        assert!(!isbn13_is_valid("9780141439519"));
        assert!(!isbn13_is_valid("1234567890123"));
        assert_eq!(
            normalize_isbn("978-0-14-143951-8").as_deref(),
            Some("9780141439518")
        );
        assert_eq!(
            normalize_isbn("0-14-143951-3").as_deref(),
            Some("9780141439518")
        );
        assert_eq!(
            normalize_isbn("080442957X").as_deref(),
            Some("9780804429573")
        );
        assert_eq!(normalize_isbn("pride and prejudice"), None);
        assert_eq!(normalize_isbn("0141439519"), None);
    }

    #[test]
    fn free_slugs_take_the_first_unused_suffix() {
        let taken = |slugs: &[&str]| slugs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(first_free_slug("emma", &taken(&[])), "emma");
        assert_eq!(
            first_free_slug("emma", &taken(&["emma-2", "emma-3"])),
            "emma"
        );
        assert_eq!(first_free_slug("emma", &taken(&["emma"])), "emma-2");
        assert_eq!(
            first_free_slug("emma", &taken(&["emma", "emma-2", "emma-4", "emma-x"])),
            "emma-3"
        );
    }

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
