//! The synthetic catalog for benchmarks: any number of generated books
//! ("The Silent Garden") over generated contributors, spread over the demo
//! catalog's genres. Deterministic: the same sizes give the same catalog.
//!
//! Never: be loaded where shoppers see it (its text says it is synthetic).

use std::collections::HashSet;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::{
    CHUNK, SeedReport, SlugSet, analyze, demo_catalog, edition, has_books, insert_genres,
    insert_relations, isbn,
};
use crate::db::books::{self, NewBook};
use crate::db::contributors::{self, NewContributor};
use crate::db::credits::{NewBookGenre, NewCredit};

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
/// (deterministic: the same arguments give the same catalog) into an empty
/// catalog, then analyzes what it filled.
pub async fn synthetic(
    conn: &mut AsyncPgConnection,
    book_count: u32,
    contributor_count: u32,
) -> anyhow::Result<SeedReport> {
    let report = fill(conn, book_count, contributor_count).await?;
    if !report.skipped {
        analyze(conn).await?;
    }
    Ok(report)
}

async fn fill(
    conn: &mut AsyncPgConnection,
    book_count: u32,
    contributor_count: u32,
) -> anyhow::Result<SeedReport> {
    if has_books(conn).await? {
        return Ok(SeedReport::skipped());
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
        let mut slugs = SlugSet::default();
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

        let mut slugs = SlugSet::default();
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
            insert_relations(conn, &credits, &book_genres).await?;
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
