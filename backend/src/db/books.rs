//! Book queries: rows by id, lookups by slug/ISBN, the filtered and ranked
//! catalog page, and each book's contributors and genres in one statement.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::contributors::Contributor;
use super::genres::Genre;
use super::schema::books;

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
            "s={search}|g={}|c={}|min={}|max={}|stock={}|f={}",
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

/// One page of live (not archived) book ids matching `filter`, in `order`,
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
    if let Some(text) = search {
        let text_param = next();
        let isbn_param = next();
        query = query
            .sql(format!(
                " CROSS JOIN LATERAL (SELECT websearch_to_tsquery('english', {text_param}) AS tsq) q \
                  LEFT JOIN LATERAL (SELECT max(word_similarity({text_param}, c.name)) AS score \
                       FROM book_contributors bc JOIN contributors c ON c.id = bc.contributor_id \
                       WHERE bc.book_id = b.id AND {text_param} <% c.name) author ON true \
                  WHERE NOT b.archived AND (b.isbn = {isbn_param} OR b.search_vector @@ q.tsq \
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
        query = query.sql(" WHERE NOT b.archived");
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
}
