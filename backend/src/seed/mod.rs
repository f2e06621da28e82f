//! Test and demo data for the catalog: the demo catalog of real
//! public-domain books (`demo`) and a synthetic catalog of any size for
//! benchmarks (`synthetic`). Both only fill an empty catalog, in one
//! transaction, and are deterministic. Synthetic customers with their
//! order history (`customers`, for benchmarks of the purchase side) only
//! fill a database without orders, likewise. This module holds what both share:
//! the report, the generated commercial side of an edition, unique slugs
//! and ISBNs, the genres (the synthetic catalog reuses the demo's).
//!
//! Never: run outside `bookstore seed`, `serve --seed-demo` or the test
//! template, or write to a catalog that already has books (customers: to
//! a database that already has orders).

mod demo_catalog;
mod synthetic_catalog;
mod synthetic_customers;

pub use demo_catalog::{DemoCatalog, DemoGenre, demo, demo_catalog};
pub use synthetic_catalog::synthetic;
pub use synthetic_customers::{
    CustomersReport, SYNTHETIC_CUSTOMER_DOMAIN, SYNTHETIC_CUSTOMER_PASSWORD, customers,
};

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{Days, NaiveDate};
use diesel_async::AsyncPgConnection;

use crate::db::books;
use crate::db::credits::{self, NewBookGenre, NewCredit};
use crate::db::genres::{self, NewGenre};
use crate::domain::{isbn, slug};

/// Rows per INSERT: well under Postgres' 65,535 bind parameters.
const CHUNK: usize = 1000;
const PUBLISHERS: [&str; 6] = [
    "Gutenberg House",
    "Penwick Classics",
    "Harbor & Finch",
    "Lantern Press",
    "Old Quay Books",
    "Northlight Editions",
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub books: usize,
    pub contributors: usize,
    pub genres: usize,
    /// The catalog already had books, so nothing was written.
    pub skipped: bool,
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.skipped {
            write!(f, "the catalog is not empty; nothing seeded")
        } else {
            write!(
                f,
                "seeded {} books, {} contributors, {} genres",
                self.books, self.contributors, self.genres
            )
        }
    }
}

impl SeedReport {
    fn skipped() -> Self {
        Self {
            skipped: true,
            ..Self::default()
        }
    }
}

/// Whether the catalog already has books (a seed then writes nothing).
async fn has_books(conn: &mut AsyncPgConnection) -> anyhow::Result<bool> {
    Ok(books::count(conn).await? > 0)
}

/// Gives the planner statistics of the tables a seed filled: Postgres may
/// run without autovacuum (it does on the benchmark machine), and with
/// none the catalog's plans go badly wrong (a hash join over every
/// contributor per page, for one).
async fn analyze(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query("ANALYZE books, book_contributors, book_genres, contributors, genres")
        .execute(conn)
        .await?;
    Ok(())
}

/// Keeps slugs unique by appending `-2`, `-3`, ...
#[derive(Default)]
struct SlugSet(HashSet<String>);

impl SlugSet {
    fn unique(&mut self, text: &str) -> String {
        let slug = slug::first_free(&slug::slugify(text), |slug| self.0.contains(slug));
        self.0.insert(slug.clone());
        slug
    }
}

/// A valid ISBN-13 from a prefix (978 or 979) and a serial number.
fn isbn(prefix: &str, serial: usize) -> String {
    isbn::with_check_digit(&format!("{prefix}{:09}", serial % 1_000_000_000))
}

/// The generated commercial side of edition `n`: format, price, stock,
/// publisher, edition date. Deterministic in `n`.
fn edition(n: usize) -> (&'static str, i32, i32, &'static str, Option<NaiveDate>) {
    let format = match n % 10 {
        0..=4 => "paperback",
        5..=7 => "hardcover",
        8 => "ebook",
        _ => "audiobook",
    };
    let (low, high) = match format {
        "paperback" => (7, 16),
        "hardcover" => (19, 34),
        "ebook" => (2, 9),
        _ => (14, 29),
    };
    let dollars = low + (n * 7) % (high - low + 1);
    let price_cents = i32::try_from(dollars * 100 + 99).unwrap_or(999);
    let stock = match format {
        "ebook" | "audiobook" => 1000,
        _ if n % 11 == 3 => 0,
        _ => i32::try_from((n * 13) % 40 + 1).unwrap_or(1),
    };
    let publisher = PUBLISHERS[n % PUBLISHERS.len()];
    let date = NaiveDate::from_ymd_opt(2005, 1, 1)
        .and_then(|start| start.checked_add_days(Days::new(((n * 97) % 7300) as u64)));
    (format, price_cents, stock, publisher, date)
}

async fn insert_genres(
    conn: &mut AsyncPgConnection,
    demo_genres: &[DemoGenre],
) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<NewGenre> = demo_genres
        .iter()
        .map(|genre| NewGenre {
            slug: slug::slugify(&genre.name),
            name: genre.name.clone(),
            description: genre.description.clone(),
        })
        .collect();
    let ids = genres::insert_many(conn, &rows).await?;
    Ok(demo_genres
        .iter()
        .map(|genre| genre.name.clone())
        .zip(ids)
        .collect())
}

/// Writes the books' credits and genres.
async fn insert_relations(
    conn: &mut AsyncPgConnection,
    book_credits: &[NewCredit],
    book_genres: &[NewBookGenre],
) -> anyhow::Result<()> {
    credits::insert_credits(conn, book_credits).await?;
    credits::insert_book_genres(conn, book_genres).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_sets_suffix_repeats() {
        let mut slugs = SlugSet::default();
        assert_eq!(slugs.unique("Emma"), "emma");
        assert_eq!(slugs.unique("Emma!"), "emma-2");
        assert_eq!(slugs.unique("Emma 2"), "emma-2-2");
        assert_eq!(slugs.unique("emma"), "emma-3");
    }

    #[test]
    fn generated_isbns_are_valid() {
        for n in [0, 1, 7, 10_000, 99_999] {
            assert!(isbn::is_valid_isbn13(&isbn("978", 100_000_000 + n * 7)));
            assert!(isbn::is_valid_isbn13(&isbn("979", n)));
        }
    }
}
