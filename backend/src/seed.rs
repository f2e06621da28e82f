//! Catalog seeds: the demo catalog (real public-domain books, authors and
//! genres from `seed/demo_catalog.json`; their ISBNs, prices, stock,
//! publishers and edition dates are generated, deterministically) and a
//! synthetic catalog of any size for benchmarks. Both only fill an empty
//! catalog, in one transaction.

use std::collections::{HashMap, HashSet};
use std::fmt;

use anyhow::Context;
use chrono::{Days, NaiveDate};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::Deserialize;

use crate::db::books::{self, NewBook, isbn13_check_digit};
use crate::db::contributors::{self, NewContributor, NewCredit};
use crate::db::genres::{self, NewBookGenre, NewGenre};

const DEMO_CATALOG: &str = include_str!("seed/demo_catalog.json");
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

/// `"The Count of Monte Cristo!"` -> `"the-count-of-monte-cristo"`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            other => other.to_ascii_lowercase(),
        };
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if c != '\'' && !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        "untitled".to_owned()
    } else {
        slug
    }
}

/// Keeps slugs unique by appending `-2`, `-3`, ...
struct SlugSet(HashSet<String>);

impl SlugSet {
    fn unique(&mut self, text: &str) -> String {
        let base = slugify(text);
        let mut slug = base.clone();
        let mut n = 2;
        while !self.0.insert(slug.clone()) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        slug
    }
}

/// A valid ISBN-13 from a prefix (978 or 979) and a serial number.
fn isbn(prefix: &str, serial: usize) -> String {
    let mut isbn = format!("{prefix}{:09}", serial % 1_000_000_000);
    isbn.push(isbn13_check_digit(&isbn));
    isbn
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

fn year_text(year: i32) -> String {
    if year < 0 {
        format!("{} BCE", -year)
    } else {
        year.to_string()
    }
}

/// Loads the demo catalog into an empty catalog.
pub async fn demo(conn: &mut AsyncPgConnection) -> anyhow::Result<SeedReport> {
    if books::count(conn).await? > 0 {
        return Ok(SeedReport {
            skipped: true,
            ..SeedReport::default()
        });
    }
    let catalog = demo_catalog()?;
    conn.transaction(async |conn| {
        let genre_ids = insert_genres(conn, &catalog.genres).await?;
        let mut contributor_slugs = SlugSet(HashSet::new());
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

        let mut slugs = SlugSet(HashSet::new());
        let new_books: Vec<NewBook> = catalog
            .books
            .iter()
            .enumerate()
            .map(|(n, book)| {
                let (format, price_cents, stock, publisher, date) = edition(n);
                let slug_source = match &book.subtitle {
                    Some(subtitle) if slugs.0.contains(&slugify(&book.title)) => {
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
        contributors::insert_credits(conn, &credits).await?;
        genres::insert_book_genres(conn, &book_genres).await?;
        Ok::<_, anyhow::Error>(SeedReport {
            books: book_ids.len(),
            contributors: contributor_ids.len(),
            genres: genre_ids.len(),
            skipped: false,
        })
    })
    .await
}

async fn insert_genres(
    conn: &mut AsyncPgConnection,
    demo_genres: &[DemoGenre],
) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<NewGenre> = demo_genres
        .iter()
        .map(|genre| NewGenre {
            slug: slugify(&genre.name),
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

const FIRST_NAMES: [&str; 50] = [
    "Ada", "Alan", "Alice", "Amara", "Anton", "Beatrix", "Bruno", "Camille", "Cyrus", "Dalia",
    "Dmitri", "Edith", "Elias", "Esme", "Felix", "Greta", "Hector", "Ines", "Ivo", "Jun", "Katya",
    "Lars", "Leona", "Lucian", "Mara", "Milo", "Nadia", "Nils", "Octavia", "Omar", "Petra",
    "Quentin", "Rosa", "Rufus", "Sabine", "Silas", "Tamsin", "Theo", "Una", "Viktor", "Wren",
    "Xavier", "Yara", "Yusuf", "Zelda", "Aurelio", "Björn", "Clara", "Dorian", "Elif",
];
const LAST_NAMES: [&str; 50] = [
    "Abbott",
    "Achebe",
    "Baker",
    "Barros",
    "Castell",
    "Chen",
    "Dalton",
    "Dubois",
    "Eriksen",
    "Ferrante",
    "Fischer",
    "Garcia",
    "Hale",
    "Haddad",
    "Ibsen",
    "Ivanova",
    "Jansen",
    "Kato",
    "Keller",
    "Lindqvist",
    "Lowell",
    "Marsh",
    "Moreau",
    "Novak",
    "Okafor",
    "Orsini",
    "Park",
    "Quinn",
    "Rahman",
    "Rossi",
    "Sato",
    "Schulz",
    "Sorensen",
    "Tanaka",
    "Thorne",
    "Ueda",
    "Varga",
    "Vidal",
    "Walsh",
    "Weiss",
    "Xu",
    "Yilmaz",
    "Young",
    "Zeller",
    "Zamora",
    "Almeida",
    "Brandt",
    "Costa",
    "Duarte",
    "Everett",
];
const ADJECTIVES: [&str; 40] = [
    "Silent",
    "Crimson",
    "Hidden",
    "Last",
    "Forgotten",
    "Golden",
    "Broken",
    "Distant",
    "Burning",
    "Quiet",
    "Endless",
    "Secret",
    "Wandering",
    "Northern",
    "Winter",
    "Summer",
    "Iron",
    "Glass",
    "Paper",
    "Hollow",
    "Bright",
    "Dark",
    "Lost",
    "Wild",
    "Sleeping",
    "Shattered",
    "Ancient",
    "Electric",
    "Velvet",
    "Salt",
    "Midnight",
    "Emerald",
    "Restless",
    "Little",
    "Great",
    "Strange",
    "Final",
    "Second",
    "Bitter",
    "Gentle",
];
const NOUNS: [&str; 40] = [
    "Garden",
    "River",
    "Kingdom",
    "Letter",
    "Harbor",
    "Orchard",
    "Lighthouse",
    "Archive",
    "Empire",
    "Voyage",
    "Mirror",
    "Forest",
    "Island",
    "Station",
    "Library",
    "Cathedral",
    "Machine",
    "Compass",
    "Daughter",
    "Stranger",
    "Winter",
    "Frontier",
    "Inheritance",
    "Labyrinth",
    "Promise",
    "Season",
    "Tide",
    "Atlas",
    "Chorus",
    "Observatory",
    "Bridge",
    "Citadel",
    "Meadow",
    "Signal",
    "Theory",
    "Country",
    "Shore",
    "Witness",
    "Fortune",
    "Engine",
];

/// Generates `book_count` books over `contributor_count` contributors
/// (deterministic: the same arguments give the same catalog).
pub async fn synthetic(
    conn: &mut AsyncPgConnection,
    book_count: u32,
    contributor_count: u32,
) -> anyhow::Result<SeedReport> {
    if books::count(conn).await? > 0 {
        return Ok(SeedReport {
            skipped: true,
            ..SeedReport::default()
        });
    }
    anyhow::ensure!(contributor_count > 0, "--contributors must be at least 1");
    let catalog = demo_catalog()?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_261_121);
    let book_count = usize::try_from(book_count)?;
    let contributor_count = usize::try_from(contributor_count)?;
    conn.transaction(async |conn| {
        let genre_ids: Vec<i64> = insert_genres(conn, &catalog.genres).await?.into_values().collect();
        let mut genre_ids = genre_ids;
        genre_ids.sort_unstable();
        anyhow::ensure!(!genre_ids.is_empty(), "the demo catalog has no genres to reuse");

        let mut contributor_ids = Vec::with_capacity(contributor_count);
        let mut slugs = SlugSet(HashSet::new());
        let people: Vec<NewContributor> = (0..contributor_count)
            .map(|n| {
                let first = FIRST_NAMES[n % FIRST_NAMES.len()];
                let last = LAST_NAMES[(n / FIRST_NAMES.len()) % LAST_NAMES.len()];
                let generation = n / (FIRST_NAMES.len() * LAST_NAMES.len());
                let name = if generation == 0 {
                    format!("{first} {last}")
                } else {
                    format!("{first} {last} {}", generation + 1)
                };
                let born = 1900 + i32::try_from(n % 90).unwrap_or(0);
                NewContributor {
                    slug: slugs.unique(&name),
                    sort_name: format!("{last}, {first}"),
                    bio: format!("{name} is a synthetic contributor generated for benchmarks."),
                    birth_year: Some(born),
                    death_year: None,
                    name,
                }
            })
            .collect();
        for chunk in people.chunks(CHUNK) {
            contributor_ids.extend(contributors::insert_many(conn, chunk).await?);
        }

        let mut slugs = SlugSet(HashSet::new());
        let mut written = 0;
        for start in (0..book_count).step_by(CHUNK) {
            let end = (start + CHUNK).min(book_count);
            let mut rows = Vec::with_capacity(end - start);
            let mut relations = Vec::with_capacity(end - start);
            for n in start..end {
                let title = format!(
                    "The {} {}",
                    ADJECTIVES[rng.random_range(0..ADJECTIVES.len())],
                    NOUNS[rng.random_range(0..NOUNS.len())]
                );
                let (format, price_cents, stock, publisher, date) = edition(n);
                let authors: Vec<i64> = (0..rng.random_range(1..=2))
                    .map(|_| contributor_ids[rng.random_range(0..contributor_ids.len())])
                    .collect();
                let genres: Vec<i64> = (0..rng.random_range(1..=3))
                    .map(|_| genre_ids[rng.random_range(0..genre_ids.len())])
                    .collect();
                relations.push((authors, genres));
                rows.push(NewBook {
                    slug: slugs.unique(&format!("{title} {n}")),
                    isbn: isbn("979", n),
                    subtitle: None,
                    description: format!(
                        "{title} is synthetic book number {n}, generated for benchmarks: a story of {} and {}.",
                        NOUNS[rng.random_range(0..NOUNS.len())].to_lowercase(),
                        NOUNS[rng.random_range(0..NOUNS.len())].to_lowercase()
                    ),
                    title,
                    format: format.to_owned(),
                    publisher: Some(publisher.to_owned()),
                    publication_date: date,
                    language: "en".to_owned(),
                    page_count: Some(rng.random_range(80..900)),
                    price_cents,
                    currency: "USD".to_owned(),
                    stock,
                });
            }
            let ids = books::insert_many(conn, &rows).await?;
            let mut credits = Vec::new();
            let mut book_genres = Vec::new();
            for (book_id, (authors, genres)) in ids.iter().zip(relations) {
                let mut seen = HashSet::new();
                for (position, contributor_id) in authors.into_iter().enumerate() {
                    if seen.insert(contributor_id) {
                        credits.push(NewCredit {
                            book_id: *book_id,
                            contributor_id,
                            role: "author".to_owned(),
                            position: i16::try_from(position).unwrap_or(0),
                        });
                    }
                }
                let mut seen = HashSet::new();
                for genre_id in genres {
                    if seen.insert(genre_id) {
                        book_genres.push(NewBookGenre { book_id: *book_id, genre_id });
                    }
                }
            }
            contributors::insert_credits(conn, &credits).await?;
            genres::insert_book_genres(conn, &book_genres).await?;
            written += ids.len();
        }
        Ok::<_, anyhow::Error>(SeedReport {
            books: written,
            contributors: contributor_ids.len(),
            genres: genre_ids.len(),
            skipped: false,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("The Count of Monte Cristo!"),
            "the-count-of-monte-cristo"
        );
        assert_eq!(
            slugify("Alice's Adventures in Wonderland"),
            "alices-adventures-in-wonderland"
        );
        assert_eq!(slugify("Les Misérables"), "les-miserables");
        assert_eq!(slugify("???"), "untitled");
    }

    #[test]
    fn generated_isbns_are_valid() {
        for n in [0, 1, 7, 10_000, 99_999] {
            assert!(books::isbn13_is_valid(&isbn("978", 100_000_000 + n * 7)));
            assert!(books::isbn13_is_valid(&isbn("979", n)));
        }
    }

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
