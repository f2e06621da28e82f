//! Genre queries. The genre list is small and read whole.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::schema::{book_genres, genres};

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

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = book_genres)]
pub struct NewBookGenre {
    pub book_id: i64,
    pub genre_id: i64,
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
        .filter(genres::id.eq_any(ids))
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

pub async fn insert_book_genres(
    conn: &mut AsyncPgConnection,
    rows: &[NewBookGenre],
) -> QueryResult<usize> {
    diesel::insert_into(book_genres::table)
        .values(rows)
        .execute(conn)
        .await
}
