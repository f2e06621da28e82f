//! Contributor queries: rows by id or slug, the name-ordered listing, and the
//! live books each contributor is credited on.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::schema::{book_contributors, books, contributors};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, Deserialize)]
#[diesel(table_name = contributors)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Contributor {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub sort_name: String,
    pub bio: String,
    pub birth_year: Option<i32>,
    pub death_year: Option<i32>,
    #[serde(with = "super::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "super::timestamp")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = contributors)]
pub struct NewContributor {
    pub slug: String,
    pub name: String,
    pub sort_name: String,
    pub bio: String,
    pub birth_year: Option<i32>,
    pub death_year: Option<i32>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = book_contributors)]
pub struct NewCredit {
    pub book_id: i64,
    pub contributor_id: i64,
    pub role: String,
    pub position: i16,
}

pub async fn find_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<Contributor>> {
    contributors::table
        .filter(contributors::id.eq_any(ids))
        .select(Contributor::as_select())
        .load(conn)
        .await
}

pub async fn find_id_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<i64>> {
    contributors::table
        .filter(contributors::slug.eq(slug))
        .select(contributors::id)
        .first(conn)
        .await
        .optional()
}

/// A page of contributor ids ordered by sort name, optionally narrowed to
/// names like `search` (typo tolerant), with the total when asked.
pub async fn page_ids(
    conn: &mut AsyncPgConnection,
    search: Option<&str>,
    offset: i64,
    limit: i64,
    with_total: bool,
) -> QueryResult<(Vec<i64>, Option<i64>)> {
    let filtered = || {
        let mut query = contributors::table.into_boxed();
        if let Some(text) = search.map(str::trim).filter(|text| !text.is_empty()) {
            let pattern = format!(
                "%{}%",
                text.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            query = query.filter(
                contributors::name
                    .ilike(pattern)
                    .or(word_similar(text.to_owned(), contributors::name)),
            );
        }
        query
    };
    let ids = filtered()
        .order((contributors::sort_name, contributors::id))
        .select(contributors::id)
        .offset(offset)
        .limit(limit)
        .load(conn)
        .await?;
    let total = if with_total {
        Some(filtered().count().get_result(conn).await?)
    } else {
        None
    };
    Ok((ids, total))
}

diesel::infix_operator!(WordSimilar, " <% ", backend: diesel::pg::Pg);

fn word_similar<L, R>(left: L, right: R) -> WordSimilar<L::Expression, R>
where
    L: diesel::expression::AsExpression<diesel::sql_types::Text>,
    R: Expression<SqlType = diesel::sql_types::Text>,
{
    WordSimilar::new(left.as_expression(), right)
}

/// The live books credited to each contributor, newest first.
pub async fn book_ids_for(
    conn: &mut AsyncPgConnection,
    contributor_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64)> = book_contributors::table
        .inner_join(books::table)
        .filter(book_contributors::contributor_id.eq_any(contributor_ids))
        .filter(books::archived.eq(false))
        .order((
            book_contributors::contributor_id,
            books::publication_date.desc().nulls_last(),
            books::id.desc(),
        ))
        .select((book_contributors::contributor_id, books::id))
        .load(conn)
        .await?;
    let mut by_contributor: HashMap<i64, Vec<i64>> =
        contributor_ids.iter().map(|id| (*id, Vec::new())).collect();
    for (contributor_id, book_id) in rows {
        let books = by_contributor.entry(contributor_id).or_default();
        // A contributor credited twice on one book (author and illustrator).
        if books.last() != Some(&book_id) {
            books.push(book_id);
        }
    }
    Ok(by_contributor)
}

pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    rows: &[NewContributor],
) -> QueryResult<Vec<i64>> {
    diesel::insert_into(contributors::table)
        .values(rows)
        .returning(contributors::id)
        .get_results(conn)
        .await
}

pub async fn insert_credits(
    conn: &mut AsyncPgConnection,
    rows: &[NewCredit],
) -> QueryResult<usize> {
    diesel::insert_into(book_contributors::table)
        .values(rows)
        .execute(conn)
        .await
}
