//! Genre queries. The genre list is small and read whole. The staff's
//! genre writes report the books in the genre (their cached relations embed
//! the genre).
//!
//! Never: write a book's genres (that is `credits`) or touch the cache.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::constraints::{rejected_as, unique_violation};
use super::id_sets::in_ids;
use super::schema::{book_genres, genres};
use super::slugs::{SlugPolicy, SlugTable, create_with_slug};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, Deserialize)]
#[diesel(table_name = genres)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Genre {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    #[serde(with = "super::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "super::timestamp")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = genres)]
pub struct NewGenre {
    pub slug: String,
    pub name: String,
    pub description: String,
}

/// A patch of a genre: `None` leaves a column alone.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = genres)]
pub struct GenreChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

impl GenreChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Why a genre write was refused; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenreRejection {
    NotFound,
    SlugTaken,
    NameTaken,
}

/// A committed genre update.
#[derive(Debug, Clone)]
pub struct GenreWrite {
    pub genre: Genre,
    /// Every book (archived ones too) in the genre.
    pub book_ids: Vec<i64>,
}

pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Genre>> {
    genres::table
        .order(genres::name)
        .select(Genre::as_select())
        .load(conn)
        .await
}

pub async fn find_by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Genre>> {
    genres::table
        .filter(in_ids(genres::id, ids))
        .select(Genre::as_select())
        .load(conn)
        .await
}

pub async fn find_id_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<i64>> {
    genres::table
        .filter(genres::slug.eq(slug))
        .select(genres::id)
        .first(conn)
        .await
        .optional()
}

pub async fn insert_many(conn: &mut AsyncPgConnection, rows: &[NewGenre]) -> QueryResult<Vec<i64>> {
    diesel::insert_into(genres::table)
        .values(rows)
        .returning(genres::id)
        .get_results(conn)
        .await
}

fn rejection(error: &diesel::result::Error) -> Option<GenreRejection> {
    match unique_violation(error) {
        Some("genres_slug_key") => Some(GenreRejection::SlugTaken),
        Some("genres_name_key") => Some(GenreRejection::NameTaken),
        _ => None,
    }
}

/// Creates a genre. With [`SlugPolicy::SuffixIfTaken`], `genre.slug` is a
/// base that gets the first free suffix.
pub async fn create(
    conn: &mut AsyncPgConnection,
    genre: &NewGenre,
    slug_policy: SlugPolicy,
) -> QueryResult<Result<Genre, GenreRejection>> {
    // The closure owns its copy: one borrowing the caller's row fails
    // rustc's lifetime check of the resolvers' boxed futures (E0477).
    let genre = genre.clone();
    create_with_slug(
        conn,
        SlugTable::Genres,
        &genre.slug.clone(),
        slug_policy,
        GenreRejection::SlugTaken,
        async move |conn, slug| {
            let row = NewGenre {
                slug,
                ..genre.clone()
            };
            let created = diesel::insert_into(genres::table)
                .values(&row)
                .returning(Genre::as_returning())
                .get_result(conn)
                .await;
            rejected_as(created, rejection)
        },
    )
    .await
}

/// Applies `changes` and returns the genre with the books in it (read after
/// the update: a book added meanwhile invalidates itself).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &GenreChanges,
) -> QueryResult<Result<GenreWrite, GenreRejection>> {
    let updated = if changes.is_empty() {
        genres::table
            .find(id)
            .select(Genre::as_select())
            .first(conn)
            .await
            .optional()
    } else {
        diesel::update(genres::table.find(id))
            .set(changes)
            .returning(Genre::as_returning())
            .get_result(conn)
            .await
            .optional()
    };
    let genre = match rejected_as(updated, rejection)? {
        Ok(Some(genre)) => genre,
        Ok(None) => return Ok(Err(GenreRejection::NotFound)),
        Err(rejected) => return Ok(Err(rejected)),
    };
    let book_ids = book_genres::table
        .filter(book_genres::genre_id.eq(id))
        .select(book_genres::book_id)
        .load(conn)
        .await?;
    Ok(Ok(GenreWrite { genre, book_ids }))
}
