//! A book's relations: who is credited on it (`book_contributors`, in
//! credit order, with a role) and its genres (`book_genres`). Read for many
//! books in one statement; replaced whole when a book's lists are edited.
//!
//! Never: open a transaction (the book write that replaces the relations
//! owns it).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::contributors::Contributor;
use super::genres::Genre;
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
