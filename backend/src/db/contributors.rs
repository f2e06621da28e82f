//! Contributor queries: rows by id or slug and the name-ordered listing
//! (the live books each is credited on are `listing_order`'s); and the staff's contributor
//! writes, which report the books crediting the contributor (their cached
//! relations embed the contributor).
//!
//! Never: write a book's credits (that is `credits`) or touch the cache.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::constraints::{is_check_violation, rejected_as, unique_violation};
use super::id_sets::in_ids;
use super::schema::{book_contributors, contributors};
use super::slugs::{SlugPolicy, SlugTable, create_with_slug};

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

/// A patch of a contributor: `None` leaves a column alone, and for the years
/// `Some(None)` clears one.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = contributors)]
pub struct ContributorChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub sort_name: Option<String>,
    pub bio: Option<String>,
    pub birth_year: Option<Option<i32>>,
    pub death_year: Option<Option<i32>>,
}

impl ContributorChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Why a contributor write was refused; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContributorRejection {
    NotFound,
    SlugTaken,
    /// The death year would precede the birth year.
    YearsOutOfOrder,
}

/// A committed contributor update.
#[derive(Debug, Clone)]
pub struct ContributorWrite {
    pub contributor: Contributor,
    /// Every book (archived ones too) crediting the contributor.
    pub book_ids: Vec<i64>,
}

pub async fn find_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<Contributor>> {
    contributors::table
        .filter(in_ids(contributors::id, ids))
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

/// A unique slug is the user's to fix; the years' order check likewise.
fn rejection(error: &diesel::result::Error) -> Option<ContributorRejection> {
    if unique_violation(error) == Some("contributors_slug_key") {
        return Some(ContributorRejection::SlugTaken);
    }
    is_check_violation(error).then_some(ContributorRejection::YearsOutOfOrder)
}

/// Creates a contributor. With [`SlugPolicy::SuffixIfTaken`], `contributor.slug`
/// is a base that gets the first free suffix.
pub async fn create(
    conn: &mut AsyncPgConnection,
    contributor: &NewContributor,
    slug_policy: SlugPolicy,
) -> QueryResult<Result<Contributor, ContributorRejection>> {
    // The closure owns its copy: one borrowing the caller's row fails
    // rustc's lifetime check of the resolvers' boxed futures (E0477).
    let contributor = contributor.clone();
    create_with_slug(
        conn,
        SlugTable::Contributors,
        &contributor.slug.clone(),
        slug_policy,
        ContributorRejection::SlugTaken,
        async move |conn, slug| {
            let row = NewContributor {
                slug,
                ..contributor.clone()
            };
            let created = diesel::insert_into(contributors::table)
                .values(&row)
                .returning(Contributor::as_returning())
                .get_result(conn)
                .await;
            rejected_as(created, rejection)
        },
    )
    .await
}

/// Applies `changes` and returns the contributor with the books crediting
/// them (read after the update: a credit added meanwhile invalidates its
/// own book).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &ContributorChanges,
) -> QueryResult<Result<ContributorWrite, ContributorRejection>> {
    let updated = if changes.is_empty() {
        contributors::table
            .find(id)
            .select(Contributor::as_select())
            .first(conn)
            .await
            .optional()
    } else {
        diesel::update(contributors::table.find(id))
            .set(changes)
            .returning(Contributor::as_returning())
            .get_result(conn)
            .await
            .optional()
    };
    let contributor = match rejected_as(updated, rejection)? {
        Ok(Some(contributor)) => contributor,
        Ok(None) => return Ok(Err(ContributorRejection::NotFound)),
        Err(rejected) => return Ok(Err(rejected)),
    };
    let book_ids = book_contributors::table
        .filter(book_contributors::contributor_id.eq(id))
        .select(book_contributors::book_id)
        .distinct()
        .load(conn)
        .await?;
    Ok(Ok(ContributorWrite {
        contributor,
        book_ids,
    }))
}
