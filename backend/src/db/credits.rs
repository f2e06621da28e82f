//! A book's relations: who is credited on it (`book_contributors`, in
//! credit order, with a role) and its genres (`book_genres`). Read for many
//! books in one statement; replaced whole when a book's lists are edited.
//!
//! Never: open a transaction (the book write that replaces the relations
//! owns it).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::contributors::Contributor;
use super::genres::Genre;
use super::id_sets::id_rows;
use super::prepared::Prepared;
use super::schema::{book_contributors, book_genres};

/// One credit of a book being written; the list's order is the credit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookCredit {
    pub contributor_id: i64,
    pub role: String,
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

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = book_contributors)]
pub struct NewCredit {
    pub book_id: i64,
    pub contributor_id: i64,
    pub role: String,
    pub position: i16,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = book_genres)]
pub struct NewBookGenre {
    pub book_id: i64,
    pub genre_id: i64,
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

pub async fn insert_book_genres(
    conn: &mut AsyncPgConnection,
    rows: &[NewBookGenre],
) -> QueryResult<usize> {
    diesel::insert_into(book_genres::table)
        .values(rows)
        .execute(conn)
        .await
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Those of `ids` that name no row of `table`, in the order given.
async fn missing_ids(
    conn: &mut AsyncPgConnection,
    table: &'static str,
    ids: &[i64],
) -> QueryResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<IdRow> = diesel::sql_query(format!("SELECT id FROM {table} WHERE id = ANY($1)"))
        .bind::<Array<BigInt>, _>(ids)
        .load(conn)
        .await?;
    Ok(ids
        .iter()
        .copied()
        .filter(|id| !found.iter().any(|row| row.id == *id))
        .collect())
}

/// The credited contributors and the genres that do not exist (each list
/// in the order given), so a write can name every unknown one at once
/// where the foreign keys would only name the first.
pub async fn unknown(
    conn: &mut AsyncPgConnection,
    credits: &[BookCredit],
    genre_ids: &[i64],
) -> QueryResult<(Vec<i64>, Vec<i64>)> {
    let contributor_ids: Vec<i64> = credits.iter().map(|credit| credit.contributor_id).collect();
    Ok((
        missing_ids(conn, "contributors", &contributor_ids).await?,
        missing_ids(conn, "genres", genre_ids).await?,
    ))
}

/// Replaces the book's credits (in list order) and/or genres.
pub async fn replace(
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
            insert_credits(conn, &rows).await?;
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
            insert_book_genres(conn, &rows).await?;
        }
    }
    Ok(())
}

/// The contributors credited on a book, each once.
pub async fn contributor_ids_of(
    conn: &mut AsyncPgConnection,
    book_id: i64,
) -> QueryResult<Vec<i64>> {
    book_contributors::table
        .filter(book_contributors::book_id.eq(book_id))
        .select(book_contributors::contributor_id)
        .distinct()
        .load(conn)
        .await
}

/// One credit or genre of a book, as [`relations_for`] reads them.
#[derive(QueryableByName)]
struct RelationRow {
    #[diesel(sql_type = BigInt)]
    book_id: i64,
    /// 0: a credit (a contributor and a role); 1: a genre.
    #[diesel(sql_type = Integer)]
    kind: i32,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sort_name: String,
    /// The contributor's bio or the genre's description.
    #[diesel(sql_type = Text)]
    text: String,
    #[diesel(sql_type = Nullable<Integer>)]
    birth_year: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    death_year: Option<i32>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

/// Contributors (with role, in credit order) and genres (by name) of each
/// book, in one prepared statement of plain rows: the contributors and
/// genres through their primary keys from the relation tables' own
/// (`book_id`-first) primary keys. (It used to build JSON of whole rows per
/// book in Postgres and parse it here, planned anew on every call.)
pub async fn relations_for(
    conn: &mut AsyncPgConnection,
    book_ids: &[i64],
) -> QueryResult<HashMap<i64, BookRelations>> {
    let mut query = Prepared::new(
        "SELECT bc.book_id, 0 AS kind, bc.role, c.id, c.slug, c.name, c.sort_name, c.bio AS text,
                c.birth_year, c.death_year, c.created_at, c.updated_at, bc.position::int AS position
         FROM ",
    );
    let ids = id_rows(&mut query, book_ids);
    query.push_sql(format!(
        " AS ids(id)
         JOIN book_contributors bc ON bc.book_id = ids.id
         JOIN contributors c ON c.id = bc.contributor_id
         UNION ALL
         SELECT bg.book_id, 1, '', g.id, g.slug, g.name, g.name, g.description,
                NULL, NULL, g.created_at, g.updated_at, 0
         FROM {ids} AS ids(id)
         JOIN book_genres bg ON bg.book_id = ids.id
         JOIN genres g ON g.id = bg.genre_id
         ORDER BY 1, 2, 13, 7"
    ));
    let rows: Vec<RelationRow> = query.load(conn).await?;
    let mut relations: HashMap<i64, BookRelations> = book_ids
        .iter()
        .map(|id| (*id, BookRelations::default()))
        .collect();
    for row in rows {
        let book = relations.entry(row.book_id).or_default();
        if row.kind == 0 {
            book.credits.push(Credit {
                role: row.role,
                contributor: Contributor {
                    id: row.id,
                    slug: row.slug,
                    name: row.name,
                    sort_name: row.sort_name,
                    bio: row.text,
                    birth_year: row.birth_year,
                    death_year: row.death_year,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                },
            });
        } else {
            book.genres.push(Genre {
                id: row.id,
                slug: row.slug,
                name: row.name,
                description: row.text,
                created_at: row.created_at,
                updated_at: row.updated_at,
            });
        }
    }
    Ok(relations)
}
