//! Unique slugs in the tables that have one (books, contributors, genres):
//! a row created with a slug derived from its name takes the first free
//! `-N` suffix, retried when a concurrent writer takes it first.
//!
//! Never: derive or check slugs (that is `domain::slug`), or know a
//! table's rows beyond its `slug` column.

use diesel::QueryResult;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::slug;

/// What to do when a new row's slug is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlugPolicy {
    /// The slug was asked for: refuse it.
    Exact,
    /// The slug was derived from a name: use the first free of `slug-2`,
    /// `slug-3`, ...
    SuffixIfTaken,
}

/// A table with a unique `slug` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlugTable {
    Books,
    Contributors,
    Genres,
}

impl SlugTable {
    fn name(self) -> &'static str {
        match self {
            SlugTable::Books => "books",
            SlugTable::Contributors => "contributors",
            SlugTable::Genres => "genres",
        }
    }
}

/// A derived slug is retried this often when concurrent writers keep
/// taking the free one first.
const ATTEMPTS: usize = 5;

#[derive(diesel::QueryableByName)]
struct SlugRow {
    #[diesel(sql_type = Text)]
    slug: String,
}

/// The slugs of `table` that are `base` or `base-*` (slugs hold no LIKE
/// wildcards).
async fn slugs_like(
    conn: &mut AsyncPgConnection,
    table: SlugTable,
    base: &str,
) -> QueryResult<Vec<String>> {
    let rows: Vec<SlugRow> = diesel::sql_query(format!(
        "SELECT slug FROM {} WHERE slug = $1 OR slug LIKE $2",
        table.name()
    ))
    .bind::<Text, _>(base)
    .bind::<Text, _>(format!("{base}-%"))
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.slug).collect())
}

/// Runs `create` with the slug to write: `base` itself under
/// [`SlugPolicy::Exact`]; under [`SlugPolicy::SuffixIfTaken`] the first free
/// of `base`, `base-2`, ..., looked up again and retried while `create`
/// answers `slug_taken` (another writer took the free suffix between our
/// look and our insert). Every other outcome is returned as it is.
pub async fn create_with_slug<T, E: PartialEq>(
    conn: &mut AsyncPgConnection,
    table: SlugTable,
    base: &str,
    policy: SlugPolicy,
    slug_taken: E,
    mut create: impl AsyncFnMut(&mut AsyncPgConnection, String) -> QueryResult<Result<T, E>>,
) -> QueryResult<Result<T, E>> {
    if policy == SlugPolicy::Exact {
        return create(conn, base.to_owned()).await;
    }
    for _ in 0..ATTEMPTS {
        let taken = slugs_like(conn, table, base).await?;
        let free = slug::first_free(base, |candidate| taken.iter().any(|slug| slug == candidate));
        match create(conn, free).await? {
            Err(rejection) if rejection == slug_taken => continue,
            outcome => return Ok(outcome),
        }
    }
    Ok(Err(slug_taken))
}
