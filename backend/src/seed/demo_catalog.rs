//! The demo catalog: real public-domain books, authors and genres from
//! `demo_catalog.json`, with generated (deterministic) ISBNs, prices,
//! stock, publishers and edition dates.
//!
//! Never: invent titles or people (the JSON holds the real ones).

use std::collections::HashMap;

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;

use super::{
    SeedReport, SlugSet, analyze, edition, has_books, insert_genres, insert_relations, isbn,
};
use crate::db::books::{self, NewBook};
use crate::db::contributors::{self, NewContributor};
use crate::db::credits::{NewBookGenre, NewCredit};
use crate::domain::slug;

const DEMO_CATALOG: &str = include_str!("demo_catalog.json");

#[derive(Deserialize)]
pub struct DemoCatalog {
    pub genres: Vec<DemoGenre>,
    pub contributors: Vec<DemoContributor>,
    pub books: Vec<DemoBook>,
}

#[derive(Deserialize)]
pub struct DemoGenre {
    pub name: String,
    pub description: String,
}

#[derive(Deserialize)]
pub struct DemoContributor {
    pub name: String,
    pub sort_name: String,
    pub born: Option<i32>,
    pub died: Option<i32>,
    pub bio: String,
}

#[derive(Deserialize)]
pub struct DemoBook {
    pub title: String,
    pub subtitle: Option<String>,
    pub first_published: i32,
    pub language: String,
    pub pages: i32,
    pub description: String,
    pub contributors: Vec<DemoCredit>,
    pub genres: Vec<String>,
}

#[derive(Deserialize)]
pub struct DemoCredit {
    pub name: String,
    pub role: String,
}

pub fn demo_catalog() -> anyhow::Result<DemoCatalog> {
    serde_json::from_str(DEMO_CATALOG).context("parsing the embedded demo catalog")
}

fn year_text(year: i32) -> String {
    if year < 0 {
        format!("{} BCE", -year)
    } else {
        year.to_string()
    }
}

/// Loads the demo catalog into an empty catalog, then analyzes what it
/// filled.
pub async fn demo(conn: &mut AsyncPgConnection) -> anyhow::Result<SeedReport> {
    let report = fill(conn).await?;
    if !report.skipped {
        analyze(conn).await?;
    }
    Ok(report)
}

async fn fill(conn: &mut AsyncPgConnection) -> anyhow::Result<SeedReport> {
    if has_books(conn).await? {
        return Ok(SeedReport::skipped());
    }
    let catalog = demo_catalog()?;
    conn.transaction(async |conn| {
        let genre_ids = insert_genres(conn, &catalog.genres).await?;
        let mut contributor_slugs = SlugSet::default();
        let new_contributors: Vec<NewContributor> = catalog
            .contributors
            .iter()
            .map(|c| NewContributor {
                slug: contributor_slugs.unique(&c.name),
                name: c.name.clone(),
                sort_name: c.sort_name.clone(),
                bio: c.bio.clone(),
                birth_year: c.born,
                death_year: c.died,
            })
            .collect();
        let contributor_ids: HashMap<&str, i64> = catalog
            .contributors
            .iter()
            .map(|c| c.name.as_str())
            .zip(contributors::insert_many(conn, &new_contributors).await?)
            .collect();

        let mut slugs = SlugSet::default();
        let new_books: Vec<NewBook> = catalog
            .books
            .iter()
            .enumerate()
            .map(|(n, book)| {
                let (format, price_cents, stock, publisher, date) = edition(n);
                let slug_source = match &book.subtitle {
                    Some(subtitle) if slugs.0.contains(&slug::slugify(&book.title)) => {
                        format!("{} {subtitle}", book.title)
                    }
                    _ => book.title.clone(),
                };
                NewBook {
                    slug: slugs.unique(&slug_source),
                    isbn: isbn("978", 100_000_000 + n * 7),
                    title: book.title.clone(),
                    subtitle: book.subtitle.clone(),
                    description: format!(
                        "{} First published in {}.",
                        book.description.trim(),
                        year_text(book.first_published)
                    ),
                    format: format.to_owned(),
                    publisher: Some(publisher.to_owned()),
                    publication_date: date,
                    language: book.language.clone(),
                    page_count: Some(book.pages),
                    price_cents,
                    currency: "USD".to_owned(),
                    stock,
                }
            })
            .collect();
        let book_ids = books::insert_many(conn, &new_books).await?;

        let mut credits = Vec::new();
        let mut book_genres = Vec::new();
        for (book, book_id) in catalog.books.iter().zip(&book_ids) {
            for (position, credit) in book.contributors.iter().enumerate() {
                let contributor_id = *contributor_ids
                    .get(credit.name.as_str())
                    .with_context(|| format!("{:?} is not in the contributor list", credit.name))?;
                credits.push(NewCredit {
                    book_id: *book_id,
                    contributor_id,
                    role: credit.role.clone(),
                    position: i16::try_from(position).unwrap_or(i16::MAX),
                });
            }
            for genre in &book.genres {
                let genre_id = *genre_ids
                    .get(genre.as_str())
                    .with_context(|| format!("{genre:?} is not in the genre list"))?;
                book_genres.push(NewBookGenre {
                    book_id: *book_id,
                    genre_id,
                });
            }
        }
        insert_relations(conn, &credits, &book_genres).await?;
        Ok::<_, anyhow::Error>(SeedReport {
            books: book_ids.len(),
            contributors: contributor_ids.len(),
            genres: genre_ids.len(),
            skipped: false,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_demo_catalog_is_complete_and_consistent() {
        let catalog = demo_catalog().expect("the embedded catalog parses");
        assert!(catalog.books.len() >= 200, "{} books", catalog.books.len());
        let people: HashSet<&str> = catalog
            .contributors
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let genres: HashSet<&str> = catalog.genres.iter().map(|g| g.name.as_str()).collect();
        for book in &catalog.books {
            assert!(
                book.contributors.iter().any(|c| c.role == "author"),
                "{}",
                book.title
            );
            for credit in &book.contributors {
                assert!(people.contains(credit.name.as_str()), "{}", credit.name);
            }
            for genre in &book.genres {
                assert!(genres.contains(genre.as_str()), "{genre}");
            }
        }
    }
}
