//! The catalog listing: one page of books (as ids with their sort keys)
//! for a filter (search text, genre, contributor, price, stock, format) in
//! a sort order, ranked by relevance when searching, seeking from a
//! position (keyset pagination: a deep page costs what the first does), with
//! the total number of matches when asked — one statement either way. The
//! orders and positions themselves are `listing_order`.
//!
//! Never: load the books themselves (the loaders do, by id), sort or count
//! the whole catalog for a page (the unfiltered counts come from
//! `catalog_counts`, kept by triggers), or cache anything (the API caches the
//! total under [`BookFilter::cache_key`]).

use chrono::NaiveDate;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Double, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

pub use super::listing_order::{BookOrder, Position, Seek, SortKey, newest_of_contributors};
use super::prepared::Prepared;
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

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    key_text: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    key_int: Option<i32>,
    #[diesel(sql_type = Nullable<Double>)]
    key_float: Option<f64>,
    #[diesel(sql_type = Nullable<Date>)]
    key_date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<BigInt>)]
    total: Option<i64>,
}

impl PageRow {
    fn position(self, order: BookOrder) -> Position {
        let key = match order {
            BookOrder::Relevance => SortKey::Relevance(self.key_float.unwrap_or_default()),
            BookOrder::Title => SortKey::Title(self.key_text.unwrap_or_default()),
            BookOrder::PriceAscending | BookOrder::PriceDescending => {
                SortKey::Price(self.key_int.unwrap_or_default())
            }
            BookOrder::Newest => SortKey::Newest(self.key_date),
        };
        Position { key, id: self.id }
    }
}

#[derive(QueryableByName)]
struct TotalRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    total: Option<i64>,
}

/// The placeholders of a filter's values: the first use of each binds it,
/// later uses (the count beside the page) repeat its `$n`.
#[derive(Default)]
struct Slots {
    text: Option<String>,
    isbn: Option<String>,
    format: Option<String>,
    min: Option<String>,
    max: Option<String>,
    in_stock: Option<String>,
    genre: Option<String>,
    contributor: Option<String>,
}

fn slot<'a, ST, T>(
    query: &mut Prepared<'a>,
    slot: &mut Option<String>,
    value: impl FnOnce() -> T,
) -> String
where
    T: diesel::expression::AsExpression<ST> + 'a,
    T::Expression: diesel::query_builder::QueryFragment<Pg> + Send + 'a,
    Pg: diesel::sql_types::HasSqlType<ST>,
    ST: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
{
    match slot {
        Some(name) => {
            query.push_sql(name.clone());
            name.clone()
        }
        None => {
            let name = query.push_bind::<ST, T>(value());
            *slot = Some(name.clone());
            name
        }
    }
}

/// The search text, when there is one to search for.
fn search_text(filter: &BookFilter) -> Option<&str> {
    filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// Appends ` FROM books b ... WHERE ...`: the books matching `filter`.
fn push_matches(query: &mut Prepared<'_>, filter: &BookFilter, slots: &mut Slots) {
    let live = if filter.include_archived {
        "true"
    } else {
        "NOT b.archived"
    };
    query.push_sql(" FROM books b");
    if let Some(text) = search_text(filter) {
        query.push_sql(" CROSS JOIN LATERAL (SELECT websearch_to_tsquery('english', ");
        let text_param = slot::<Text, _>(query, &mut slots.text, || text.to_owned());
        query.push_sql(format!(
            ") AS tsq) q LEFT JOIN author_books author ON author.book_id = b.id \
             WHERE {live} AND (b.isbn = "
        ));
        let isbn = isbn::normalize(text);
        slot::<Nullable<Text>, _>(query, &mut slots.isbn, || isbn);
        query.push_sql(format!(
            " OR b.search_vector @@ q.tsq OR {text_param} <% b.title OR author.score IS NOT NULL)"
        ));
    } else {
        query.push_sql(format!(" WHERE {live}"));
    }
    if let Some(format) = &filter.format {
        query.push_sql(" AND b.format = ");
        slot::<Text, _>(query, &mut slots.format, || format.clone());
    }
    if let Some(min) = filter.min_price_cents {
        query.push_sql(" AND b.price_cents >= ");
        slot::<Integer, _>(query, &mut slots.min, || min);
    }
    if let Some(max) = filter.max_price_cents {
        query.push_sql(" AND b.price_cents <= ");
        slot::<Integer, _>(query, &mut slots.max, || max);
    }
    if let Some(in_stock) = filter.in_stock {
        query.push_sql(" AND (b.stock > 0) = ");
        slot::<Bool, _>(query, &mut slots.in_stock, || in_stock);
    }
    if let Some(genre) = &filter.genre_slug {
        query.push_sql(
            " AND EXISTS (SELECT 1 FROM book_genres bg JOIN genres g ON g.id = bg.genre_id \
               WHERE bg.book_id = b.id AND g.slug = ",
        );
        slot::<Text, _>(query, &mut slots.genre, || genre.clone());
        query.push_sql(")");
    }
    if let Some(contributor_id) = filter.contributor_id {
        query.push_sql(
            " AND EXISTS (SELECT 1 FROM book_contributors bc \
               WHERE bc.book_id = b.id AND bc.contributor_id = ",
        );
        slot::<BigInt, _>(query, &mut slots.contributor, || contributor_id);
        query.push_sql(")");
    }
}

/// Starts a statement that searches with `author_books`: the books of
/// contributors whose name is like the search text, with the best score,
/// found once through the trigram index on names (per book, Postgres
/// would compare the text with every contributor's name).
fn push_author_books(query: &mut Prepared<'_>, filter: &BookFilter, slots: &mut Slots) {
    let Some(text) = search_text(filter) else {
        return;
    };
    query.push_sql("WITH author_books AS MATERIALIZED (SELECT bc.book_id, max(word_similarity(");
    let text_param = slot::<Text, _>(query, &mut slots.text, || text.to_owned());
    query.push_sql(format!(
        ", c.name)) AS score FROM contributors c \
           JOIN book_contributors bc ON bc.contributor_id = c.id \
           WHERE {text_param} <% c.name GROUP BY bc.book_id) "
    ));
}

/// Appends an expression worth the number of books matching `filter`: one
/// row of `catalog_counts` for the whole live catalog or one format of it
/// (kept by triggers), else a count of the matches.
fn push_total(query: &mut Prepared<'_>, filter: &BookFilter, slots: &mut Slots) {
    let whole_catalog_or_format = search_text(filter).is_none()
        && filter.genre_slug.is_none()
        && filter.contributor_id.is_none()
        && filter.min_price_cents.is_none()
        && filter.max_price_cents.is_none()
        && filter.in_stock.is_none()
        && !filter.include_archived;
    if whole_catalog_or_format {
        match &filter.format {
            None => query.push_sql("(SELECT books FROM catalog_counts WHERE scope = 'live')"),
            Some(format) => {
                query.push_sql("(SELECT books FROM catalog_counts WHERE scope = 'live:' || ");
                slot::<Text, _>(query, &mut slots.format, || format.clone());
                query.push_sql(")");
            }
        }
        return;
    }
    query.push_sql("(SELECT count(*)");
    push_matches(query, filter, slots);
    query.push_sql(")");
}

/// Appends the bound value of `position`'s key, as the sort expression
/// compares it.
fn push_key(query: &mut Prepared<'_>, position: &Position) {
    match &position.key {
        SortKey::Relevance(rank) => {
            query.push_bind::<Double, _>(*rank);
        }
        SortKey::Title(title) => {
            query.push_bind::<Text, _>(title.clone());
        }
        SortKey::Price(cents) => {
            query.push_bind::<Integer, _>(*cents);
        }
        SortKey::Newest(date) => {
            query.push_sql("coalesce(");
            query.push_bind::<Nullable<Date>, _>(*date);
            query.push_sql(", '-infinity'::date)");
        }
    }
}

/// The statement of [`page`], after `prefix` (such as `EXPLAIN`), and the
/// order it really sorts by.
fn page_statement<'a>(
    prefix: &str,
    filter: &'a BookFilter,
    order: BookOrder,
    seek: &Seek,
    with_total: bool,
) -> (Prepared<'a>, BookOrder) {
    let search = search_text(filter);
    // Relevance needs a search to rank by.
    let order = match (order, search) {
        (BookOrder::Relevance, None) => BookOrder::Newest,
        (order, _) => order,
    };
    let mut slots = Slots::default();
    let mut query = Prepared::new(prefix);
    push_author_books(&mut query, filter, &mut slots);
    query.push_sql("SELECT s.id, s.key_text, s.key_int, s.key_float, s.key_date, ");
    if with_total {
        push_total(&mut query, filter, &mut slots);
    } else {
        query.push_sql("NULL::bigint");
    }
    query.push_sql(format!(
        " AS total FROM (SELECT b.id, {}",
        order.key_columns()
    ));
    if order == BookOrder::Relevance {
        // An exact ISBN beats an author-name hit, which beats text matches.
        query.push_sql("(CASE WHEN b.isbn = ");
        let isbn = search.and_then(isbn::normalize);
        slot::<Nullable<Text>, _>(&mut query, &mut slots.isbn, || isbn);
        query.push_sql(
            " THEN 1000 ELSE 0 END + 100 * coalesce(author.score, 0) \
              + 10 * ts_rank(b.search_vector, q.tsq) + 10 * word_similarity(",
        );
        let text = search.unwrap_or_default().to_owned();
        slot::<Text, _>(&mut query, &mut slots.text, || text);
        query.push_sql(", b.title))::float8 AS key_float");
    }
    push_matches(&mut query, filter, &mut slots);
    query.push_sql(") s WHERE true");

    let sort = order.sort_expression();
    let ascending = order.ascending();
    for (bound, after) in [(&seek.after, true), (&seek.before, false)] {
        if let Some(position) = bound {
            let comparison = if ascending == after { ">" } else { "<" };
            query.push_sql(format!(" AND ({sort}, s.id) {comparison} ("));
            push_key(&mut query, position);
            query.push_sql(", ");
            query.push_bind::<BigInt, _>(position.id);
            query.push_sql(")");
        }
    }
    let direction = if ascending != seek.backward {
        "ASC"
    } else {
        "DESC"
    };
    query.push_sql(format!(
        " ORDER BY {sort} {direction}, s.id {direction} LIMIT "
    ));
    query.push_bind::<BigInt, _>(seek.limit);

    (query, order)
}

/// One page of the live (not archived, unless the filter includes them)
/// books matching `filter`, in `order`, as positions (for cursors), and the
/// number of all matches when `with_total`: one statement, which seeks from
/// the cursor through the order's index instead of sorting or skipping the
/// catalog. (A second, for the total, only when the page is empty.)
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &BookFilter,
    order: BookOrder,
    seek: &Seek,
    with_total: bool,
) -> QueryResult<(Vec<Position>, Option<i64>)> {
    let (query, order) = page_statement("", filter, order, seek, with_total);
    let rows: Vec<PageRow> = query.load(conn).await?;
    let total = match (with_total, rows.as_slice().first()) {
        (false, _) => None,
        (true, Some(row)) => row.total,
        // The total rides on the page's rows: with none, ask for it alone.
        (true, None) => {
            let mut slots = Slots::default();
            let mut query = Prepared::default();
            push_author_books(&mut query, filter, &mut slots);
            query.push_sql("SELECT ");
            push_total(&mut query, filter, &mut slots);
            query.push_sql(" AS total");
            query.get_result::<TotalRow>(conn).await?.total
        }
    };
    Ok((
        rows.into_iter().map(|row| row.position(order)).collect(),
        total,
    ))
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

/// What [`page`] does, run: `EXPLAIN (ANALYZE, FORMAT JSON)` of its
/// statement (tests check that a page seeks through an index and sorts and
/// counts nothing; also for diagnosing a slow listing).
pub async fn page_plan(
    conn: &mut AsyncPgConnection,
    filter: &BookFilter,
    order: BookOrder,
    seek: &Seek,
    with_total: bool,
) -> QueryResult<String> {
    let (query, _) = page_statement(
        "EXPLAIN (ANALYZE, FORMAT JSON) ",
        filter,
        order,
        seek,
        with_total,
    );
    let rows: Vec<PlanRow> = query.load(conn).await?;
    Ok(rows.into_iter().map(|row| row.plan).collect())
}
