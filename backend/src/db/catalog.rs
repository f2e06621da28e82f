//! The catalog listing: one page of book ids for a filter (search text,
//! genre, contributor, price, stock, format) in a sort order, ranked by
//! relevance when searching, with the total number of matches when asked —
//! one statement either way.
//!
//! Never: load the books themselves (the loaders do, by id) or cache
//! anything (the API caches the total under [`BookFilter::cache_key`]).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::isbn;

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
            .bind::<Nullable<Text>, _>(isbn::normalize(text));
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
