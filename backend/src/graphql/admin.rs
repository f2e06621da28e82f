//! The staff's inventory API: create and edit books, contributors and
//! genres, archive and restore books, adjust stock.
//!
//! Every mutation checks the staff role before it looks at its input.
//! Invalid input comes back as `userErrors` and writes nothing. Once a write
//! has committed, exactly the cache entries it made stale are invalidated
//! (the db functions report whom it touched), so every later read sees it.

use std::collections::HashSet;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::books::{Book, BookFormat, ContributorRole, Date};
use super::ids::{NodeType, decode_as};
use super::loaders::{
    BookId, BooksOfContributor, ContributorId, GenreId, Loaders, RelationsOfBook,
};
use super::user_errors::{UserError, UserErrorCode};
use crate::auth::require_staff;
use crate::cache::{Cache, Entry, Kind};
use crate::db::books::{
    BookChanges, BookCredit, BookRejection, NewBook, SlugPolicy, StockRejection,
};
use crate::db::contributors::{
    Contributor, ContributorChanges, ContributorRejection, NewContributor,
};
use crate::db::genres::{Genre, GenreChanges, GenreRejection, NewGenre};
use crate::db::{self, Db};
use crate::error::Error;
use crate::seed::slugify;

const MAX_TITLE_CHARS: usize = 300;
const MAX_SUBTITLE_CHARS: usize = 300;
const MAX_PUBLISHER_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 20_000;
const MAX_CONTRIBUTOR_NAME_CHARS: usize = 200;
const MAX_GENRE_NAME_CHARS: usize = 100;
const MAX_SLUG_CHARS: usize = 100;
/// Room left in a derived slug for a `-N` suffix.
const SLUG_SUFFIX_ROOM: usize = 8;
const MAX_CREDITS: usize = 50;
const MAX_GENRES: usize = 20;
const MAX_STOCK_DELTA: i32 = 1_000_000;
const MAX_YEAR: i32 = 9999;

/// A contributor's credit on a book being written.
#[derive(InputObject)]
pub struct CreditInput {
    pub contributor_id: ID,
    pub role: ContributorRole,
}

#[derive(InputObject)]
pub struct CreateBookInput {
    /// 1 to 300 characters.
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    /// ISBN-13 or ISBN-10, hyphens and spaces allowed; stored as ISBN-13.
    pub isbn: String,
    pub format: BookFormat,
    pub publisher: Option<String>,
    pub publication_date: Option<Date>,
    /// ISO 639 code of two or three lowercase letters.
    #[graphql(default = "en")]
    pub language: String,
    pub page_count: Option<i32>,
    /// More than zero, in minor units of `currency`.
    pub price_cents: i32,
    /// ISO 4217 code.
    #[graphql(default = "USD")]
    pub currency: String,
    #[graphql(default = 0)]
    pub stock: i32,
    /// Everyone credited, in credit order.
    pub contributors: Option<Vec<CreditInput>>,
    pub genre_ids: Option<Vec<ID>>,
    /// Lowercase letters and digits in hyphen-joined words. Derived from the
    /// title when omitted (with `-2`, `-3`, ... if taken).
    pub slug: Option<String>,
}

/// Only the fields given change; `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateBookInput {
    pub id: ID,
    pub title: Option<String>,
    pub subtitle: MaybeUndefined<String>,
    pub description: Option<String>,
    pub isbn: Option<String>,
    pub format: Option<BookFormat>,
    pub publisher: MaybeUndefined<String>,
    pub publication_date: MaybeUndefined<Date>,
    pub language: Option<String>,
    pub page_count: MaybeUndefined<i32>,
    pub price_cents: Option<i32>,
    pub currency: Option<String>,
    // No stock here: setting it outright would undo a checkout racing the
    // edit. `adjustStock` changes it relative to what it is at that moment.
    /// When given, replaces every credit.
    pub contributors: Option<Vec<CreditInput>>,
    /// When given, replaces every genre.
    pub genre_ids: Option<Vec<ID>>,
    /// The book's URL changes with it.
    pub slug: Option<String>,
}

#[derive(InputObject)]
pub struct AdjustStockInput {
    pub book_id: ID,
    /// Copies to add (positive) or take away (negative); not zero, at most
    /// 1,000,000 either way.
    pub delta: i32,
}

#[derive(InputObject)]
pub struct CreateContributorInput {
    pub name: String,
    /// As shelved, such as "Austen, Jane"; derived from the name when
    /// omitted (the last word first).
    pub sort_name: Option<String>,
    pub bio: Option<String>,
    /// Negative for years BCE.
    pub birth_year: Option<i32>,
    pub death_year: Option<i32>,
    /// Derived from the name when omitted.
    pub slug: Option<String>,
}

/// Only the fields given change; `null` clears a year. The sort name is
/// not re-derived from a new name.
#[derive(InputObject)]
pub struct UpdateContributorInput {
    pub id: ID,
    pub name: Option<String>,
    pub sort_name: Option<String>,
    pub bio: Option<String>,
    pub birth_year: MaybeUndefined<i32>,
    pub death_year: MaybeUndefined<i32>,
    pub slug: Option<String>,
}

#[derive(InputObject)]
pub struct CreateGenreInput {
    pub name: String,
    pub description: Option<String>,
    /// Derived from the name when omitted.
    pub slug: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateGenreInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Links filtering by the old slug stop matching.
    pub slug: Option<String>,
}

#[derive(SimpleObject, Default)]
pub struct BookPayload {
    pub book: Option<Book>,
    pub user_errors: Vec<UserError>,
}

impl BookPayload {
    fn ok(book: Book) -> Self {
        Self {
            book: Some(book),
            user_errors: Vec::new(),
        }
    }

    fn failed(user_errors: Vec<UserError>) -> Self {
        Self {
            book: None,
            user_errors,
        }
    }
}

#[derive(SimpleObject, Default)]
pub struct ContributorPayload {
    pub contributor: Option<Contributor>,
    pub user_errors: Vec<UserError>,
}

impl ContributorPayload {
    fn failed(user_errors: Vec<UserError>) -> Self {
        Self {
            contributor: None,
            user_errors,
        }
    }
}

#[derive(SimpleObject, Default)]
pub struct GenrePayload {
    pub genre: Option<Genre>,
    pub user_errors: Vec<UserError>,
}

impl GenrePayload {
    fn failed(user_errors: Vec<UserError>) -> Self {
        Self {
            genre: None,
            user_errors,
        }
    }
}

/// The userErrors of one input, collected so the client sees them all at once.
#[derive(Default)]
struct Checks(Vec<UserError>);

impl Checks {
    /// A valid value, or `None` with the reason recorded.
    fn keep<T>(&mut self, checked: Result<T, UserError>) -> Option<T> {
        checked.map_err(|error| self.0.push(error)).ok()
    }

    /// Checks an optional patch value: `None` when absent (or invalid).
    fn patch<T, U>(
        &mut self,
        value: Option<T>,
        check: impl FnOnce(T) -> Result<U, UserError>,
    ) -> Option<U> {
        value.and_then(|value| self.keep(check(value)))
    }

    /// Checks a nullable patch value: absent is `None`, null `Some(None)`.
    fn clearable<T, U>(
        &mut self,
        value: MaybeUndefined<T>,
        check: impl FnOnce(T) -> Result<Option<U>, UserError>,
    ) -> Option<Option<U>> {
        match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(value) => self.keep(check(value)),
        }
    }

    fn failed(&self) -> bool {
        !self.0.is_empty()
    }
}

fn too_long(field: &str, max: usize) -> UserError {
    UserError::invalid(field, format!("use at most {max} characters"))
}

/// Trimmed, not blank, at most `max` characters.
fn required_text(field: &str, value: &str, max: usize) -> Result<String, UserError> {
    let value = value.trim();
    if value.is_empty() {
        Err(UserError::invalid(field, "must not be blank"))
    } else if value.chars().count() > max {
        Err(too_long(field, max))
    } else {
        Ok(value.to_owned())
    }
}

/// Trimmed; blank means none.
fn optional_text(field: &str, value: &str, max: usize) -> Result<Option<String>, UserError> {
    let value = value.trim();
    if value.chars().count() > max {
        Err(too_long(field, max))
    } else {
        Ok(Some(value.to_owned()).filter(|value| !value.is_empty()))
    }
}

/// Trimmed; may be blank (descriptions and bios).
fn free_text(field: &str, value: &str, max: usize) -> Result<String, UserError> {
    let value = value.trim();
    if value.chars().count() > max {
        Err(too_long(field, max))
    } else {
        Ok(value.to_owned())
    }
}

fn isbn(value: &str) -> Result<String, UserError> {
    db::books::normalize_isbn(value).ok_or_else(|| {
        UserError::invalid(
            "isbn",
            "enter a valid ISBN-13 or ISBN-10 (the check digit does not match)",
        )
    })
}

/// A slug as the database accepts it: `^[a-z0-9]+(-[a-z0-9]+)*$`.
fn slug(value: &str) -> Result<String, UserError> {
    let value = value.trim();
    let well_formed = !value.is_empty()
        && value.split('-').all(|word| {
            !word.is_empty() && word.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
        });
    if !well_formed {
        Err(UserError::invalid(
            "slug",
            "use lowercase letters and digits in words joined by single hyphens",
        ))
    } else if value.len() > MAX_SLUG_CHARS {
        Err(too_long("slug", MAX_SLUG_CHARS))
    } else {
        Ok(value.to_owned())
    }
}

/// A slug derived from a name, with room left for a `-N` suffix.
fn derived_slug(name: &str) -> String {
    let slug: String = slugify(name)
        .chars()
        .take(MAX_SLUG_CHARS - SLUG_SUFFIX_ROOM)
        .collect();
    slug.trim_end_matches('-').to_owned()
}

/// The slug asked for, or one derived from `name` (suffixed if taken).
fn slug_or_derived(checks: &mut Checks, value: Option<&str>, name: &str) -> (String, SlugPolicy) {
    match value {
        Some(value) => (
            checks.keep(slug(value)).unwrap_or_default(),
            SlugPolicy::Exact,
        ),
        None => (derived_slug(name), SlugPolicy::SuffixIfTaken),
    }
}

fn language(value: &str) -> Result<String, UserError> {
    let ok = (2..=3).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_lowercase());
    ok.then(|| value.to_owned()).ok_or_else(|| {
        UserError::invalid(
            "language",
            "use an ISO 639 code of 2 or 3 lowercase letters",
        )
    })
}

fn currency(value: &str) -> Result<String, UserError> {
    let ok = value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase());
    ok.then(|| value.to_owned()).ok_or_else(|| {
        UserError::invalid("currency", "use an ISO 4217 code of 3 uppercase letters")
    })
}

fn positive(field: &str, value: i32) -> Result<i32, UserError> {
    if value > 0 {
        Ok(value)
    } else {
        Err(UserError::invalid(field, "must be more than zero"))
    }
}

fn stock(value: i32) -> Result<i32, UserError> {
    if value >= 0 {
        Ok(value)
    } else {
        Err(UserError::invalid("stock", "must not be negative"))
    }
}

fn year(field: &str, value: i32) -> Result<i32, UserError> {
    if value.abs() <= MAX_YEAR {
        Ok(value)
    } else {
        Err(UserError::invalid(
            field,
            format!("must be between -{MAX_YEAR} and {MAX_YEAR}"),
        ))
    }
}

fn years_out_of_order() -> UserError {
    UserError::invalid("deathYear", "must not be before the birth year")
}

fn role_name(role: ContributorRole) -> &'static str {
    match role {
        ContributorRole::Author => "author",
        ContributorRole::Editor => "editor",
        ContributorRole::Translator => "translator",
        ContributorRole::Illustrator => "illustrator",
        ContributorRole::Narrator => "narrator",
    }
}

fn not_found(field: &[&str], what: &str) -> UserError {
    UserError::new(field, UserErrorCode::NotFound, format!("no such {what}"))
}

/// The credits in input order. An id that is malformed or of another type
/// names no contributor, so it is NOT_FOUND like an unknown one.
fn credits(checks: &mut Checks, list: Vec<CreditInput>) -> Vec<BookCredit> {
    if list.len() > MAX_CREDITS {
        checks.0.push(UserError::invalid(
            "contributors",
            format!("credit at most {MAX_CREDITS} contributors"),
        ));
    }
    let mut seen = HashSet::new();
    let mut credits = Vec::with_capacity(list.len());
    for (index, credit) in list.into_iter().enumerate() {
        let index = index.to_string();
        let Ok(contributor_id) = decode_as(NodeType::Contributor, &credit.contributor_id) else {
            checks.0.push(not_found(
                &["input", "contributors", &index, "contributorId"],
                "contributor",
            ));
            continue;
        };
        let role = role_name(credit.role);
        if !seen.insert((contributor_id, role)) {
            checks.0.push(UserError::new(
                &["input", "contributors", &index],
                UserErrorCode::Invalid,
                "this contributor is already credited in this role",
            ));
            continue;
        }
        credits.push(BookCredit {
            contributor_id,
            role: role.to_owned(),
        });
    }
    credits
}

/// The genre ids in input order (a repeated id is harmless: they are a set).
fn genre_ids(checks: &mut Checks, list: Vec<ID>) -> Vec<i64> {
    if list.len() > MAX_GENRES {
        checks.0.push(UserError::invalid(
            "genreIds",
            format!("give at most {MAX_GENRES} genres"),
        ));
    }
    let mut ids = Vec::with_capacity(list.len());
    for (index, id) in list.iter().enumerate() {
        match decode_as(NodeType::Genre, id) {
            Ok(id) => ids.push(id),
            Err(_) => checks.0.push(not_found(
                &["input", "genreIds", &index.to_string()],
                "genre",
            )),
        }
    }
    ids
}

fn distinct(ids: &[i64]) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// The userErrors for a refused book write. `credits` and `genre_ids` are
/// the checked lists, index for index as given.
fn book_rejection(
    rejection: BookRejection,
    id_field: &[&str],
    credits: &[BookCredit],
    genre_ids: &[i64],
) -> Vec<UserError> {
    match rejection {
        BookRejection::NotFound => vec![not_found(id_field, "book")],
        BookRejection::SlugTaken => vec![UserError::new(
            &["input", "slug"],
            UserErrorCode::Taken,
            "another book has this slug",
        )],
        BookRejection::IsbnTaken => vec![UserError::new(
            &["input", "isbn"],
            UserErrorCode::Taken,
            "another book has this ISBN",
        )],
        BookRejection::Unknown {
            contributor_ids: missing_contributors,
            genre_ids: missing_genres,
        } => {
            let contributors = credits
                .iter()
                .enumerate()
                .filter(|(_, credit)| missing_contributors.contains(&credit.contributor_id))
                .map(|(index, _)| {
                    not_found(
                        &["input", "contributors", &index.to_string(), "contributorId"],
                        "contributor",
                    )
                });
            let genres = genre_ids
                .iter()
                .enumerate()
                .filter(|(_, id)| missing_genres.contains(id))
                .map(|(index, _)| not_found(&["input", "genreIds", &index.to_string()], "genre"));
            contributors.chain(genres).collect()
        }
    }
}

fn contributor_rejection(rejection: ContributorRejection) -> UserError {
    match rejection {
        ContributorRejection::NotFound => not_found(&["input", "id"], "contributor"),
        ContributorRejection::SlugTaken => UserError::new(
            &["input", "slug"],
            UserErrorCode::Taken,
            "another contributor has this slug",
        ),
        ContributorRejection::YearsOutOfOrder => years_out_of_order(),
    }
}

fn genre_rejection(rejection: GenreRejection) -> UserError {
    match rejection {
        GenreRejection::NotFound => not_found(&["input", "id"], "genre"),
        GenreRejection::SlugTaken => UserError::new(
            &["input", "slug"],
            UserErrorCode::Taken,
            "another genre has this slug",
        ),
        GenreRejection::NameTaken => UserError::new(
            &["input", "name"],
            UserErrorCode::Taken,
            "another genre has this name",
        ),
    }
}

async fn primary(ctx: &Context<'_>) -> Result<db::Connection, Error> {
    Ok(ctx.data_unchecked::<Db>().primary().await?)
}

/// Forgets what a committed write made stale: in Redis, for every later
/// request, and in this request's loaders, for the rest of this one (a
/// later mutation in the same document must see it too).
async fn forget(ctx: &Context<'_>, entries: &[Entry]) {
    ctx.data_unchecked::<Cache>().invalidate(entries).await;
    let Some(loaders) = ctx.data_opt::<Loaders>() else {
        return;
    };
    // Clearing a key type empties it for this request; a repeat is free.
    for entry in entries {
        match entry {
            Entry::Entity(Kind::Book, _) => loaders.clear::<BookId>(),
            Entry::Entity(Kind::BookRelations, _) => loaders.clear::<RelationsOfBook>(),
            Entry::Entity(Kind::Contributor, _) => loaders.clear::<ContributorId>(),
            Entry::Entity(Kind::ContributorBooks, _) => loaders.clear::<BooksOfContributor>(),
            Entry::Entity(Kind::Genre, _) => loaders.clear::<GenreId>(),
            Entry::BookCounts | Entry::Session(_) => {}
        }
    }
}

/// The book lists of these contributors (what they list, or its order).
fn contributor_lists(contributor_ids: &[i64]) -> impl Iterator<Item = Entry> + '_ {
    contributor_ids
        .iter()
        .map(|id| Entry::Entity(Kind::ContributorBooks, *id))
}

/// "Jane Austen" -> "Austen, Jane": the last word first, as shelved.
fn derived_sort_name(name: &str) -> String {
    match name.rsplit_once(char::is_whitespace) {
        Some((given, family)) => format!("{family}, {}", given.trim()),
        None => name.to_owned(),
    }
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Staff only. Adds a book with its credits and genres.
    async fn create_book(&self, ctx: &Context<'_>, input: CreateBookInput) -> Result<BookPayload> {
        require_staff(ctx).await?;
        let mut checks = Checks::default();
        let title = checks
            .keep(required_text("title", &input.title, MAX_TITLE_CHARS))
            .unwrap_or_default();
        let (slug, slug_policy) = slug_or_derived(&mut checks, input.slug.as_deref(), &title);
        let book = NewBook {
            slug,
            isbn: checks.keep(isbn(&input.isbn)).unwrap_or_default(),
            subtitle: checks
                .patch(input.subtitle, |value| {
                    optional_text("subtitle", &value, MAX_SUBTITLE_CHARS)
                })
                .flatten(),
            description: checks
                .patch(input.description, |value| {
                    free_text("description", &value, MAX_DESCRIPTION_CHARS)
                })
                .unwrap_or_default(),
            format: input.format.as_db().to_owned(),
            publisher: checks
                .patch(input.publisher, |value| {
                    optional_text("publisher", &value, MAX_PUBLISHER_CHARS)
                })
                .flatten(),
            publication_date: input.publication_date.map(|date| date.0),
            language: checks.keep(language(&input.language)).unwrap_or_default(),
            page_count: checks.patch(input.page_count, |value| positive("pageCount", value)),
            price_cents: checks
                .keep(positive("priceCents", input.price_cents))
                .unwrap_or_default(),
            currency: checks.keep(currency(&input.currency)).unwrap_or_default(),
            stock: checks.keep(stock(input.stock)).unwrap_or_default(),
            title,
        };
        let credits = credits(&mut checks, input.contributors.unwrap_or_default());
        let genre_ids = genre_ids(&mut checks, input.genre_ids.unwrap_or_default());
        if checks.failed() {
            return Ok(BookPayload::failed(checks.0));
        }
        let written = {
            let mut conn = primary(ctx).await?;
            db::books::create(
                &mut conn,
                &book,
                slug_policy,
                &credits,
                &distinct(&genre_ids),
            )
            .await
            .map_err(Error::from)?
        };
        let write = match written {
            Ok(write) => write,
            Err(rejection) => {
                return Ok(BookPayload::failed(book_rejection(
                    rejection,
                    &["input", "id"],
                    &credits,
                    &genre_ids,
                )));
            }
        };
        // Nothing cached held the new book itself; its contributors' lists
        // and the listing counts now miss it.
        let entries: Vec<Entry> = contributor_lists(&write.contributor_ids)
            .chain([Entry::BookCounts])
            .collect();
        forget(ctx, &entries).await;
        Ok(BookPayload::ok(write.book))
    }

    /// Staff only. Changes the fields given; `contributors` and `genreIds`,
    /// when given, replace the lists.
    async fn update_book(&self, ctx: &Context<'_>, input: UpdateBookInput) -> Result<BookPayload> {
        require_staff(ctx).await?;
        let id = decode_as(NodeType::Book, &input.id)?;
        let mut checks = Checks::default();
        let changes = BookChanges {
            title: checks.patch(input.title, |value| {
                required_text("title", &value, MAX_TITLE_CHARS)
            }),
            slug: checks.patch(input.slug, |value| slug(&value)),
            isbn: checks.patch(input.isbn, |value| isbn(&value)),
            subtitle: checks.clearable(input.subtitle, |value| {
                optional_text("subtitle", &value, MAX_SUBTITLE_CHARS)
            }),
            description: checks.patch(input.description, |value| {
                free_text("description", &value, MAX_DESCRIPTION_CHARS)
            }),
            format: input.format.map(|format| format.as_db().to_owned()),
            publisher: checks.clearable(input.publisher, |value| {
                optional_text("publisher", &value, MAX_PUBLISHER_CHARS)
            }),
            publication_date: match input.publication_date {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(date) => Some(Some(date.0)),
            },
            language: checks.patch(input.language, |value| language(&value)),
            page_count: checks.clearable(input.page_count, |value| {
                positive("pageCount", value).map(Some)
            }),
            price_cents: checks.patch(input.price_cents, |value| positive("priceCents", value)),
            currency: checks.patch(input.currency, |value| currency(&value)),
        };
        let credits = input.contributors.map(|list| credits(&mut checks, list));
        let genre_ids = input.genre_ids.map(|list| genre_ids(&mut checks, list));
        if checks.failed() {
            return Ok(BookPayload::failed(checks.0));
        }
        let distinct_genres = genre_ids.as_deref().map(distinct);
        let written = {
            let mut conn = primary(ctx).await?;
            db::books::update(
                &mut conn,
                id,
                &changes,
                credits.as_deref(),
                distinct_genres.as_deref(),
            )
            .await
            .map_err(Error::from)?
        };
        let write = match written {
            Ok(write) => write,
            Err(rejection) => {
                return Ok(BookPayload::failed(book_rejection(
                    rejection,
                    &["input", "id"],
                    credits.as_deref().unwrap_or_default(),
                    genre_ids.as_deref().unwrap_or_default(),
                )));
            }
        };
        let row_changed = !changes.is_empty();
        let relations_changed = credits.is_some() || genre_ids.is_some();
        // Contributors list their books newest first: new credits and a new
        // date both change those lists (the old contributors' too).
        let lists_changed = credits.is_some() || changes.publication_date.is_some();
        let mut entries = Vec::new();
        if row_changed {
            entries.push(Entry::Entity(Kind::Book, id));
        }
        if relations_changed {
            entries.push(Entry::Entity(Kind::BookRelations, id));
        }
        if lists_changed {
            entries.extend(contributor_lists(&write.contributor_ids));
        }
        // Search text, price, format, stock, genres and credits all feed
        // some listing's count.
        if row_changed || relations_changed {
            entries.push(Entry::BookCounts);
        }
        forget(ctx, &entries).await;
        Ok(BookPayload::ok(write.book))
    }

    /// Staff only. Takes a book out of the catalog (it stays reachable by
    /// id, marked `archived`).
    async fn archive_book(&self, ctx: &Context<'_>, id: ID) -> Result<BookPayload> {
        set_archived(ctx, id, true).await
    }

    /// Staff only. Puts an archived book back in the catalog.
    async fn restore_book(&self, ctx: &Context<'_>, id: ID) -> Result<BookPayload> {
        set_archived(ctx, id, false).await
    }

    /// Staff only. Adds to or takes from a book's stock, relative to what it
    /// is at that moment (safe under concurrent orders and deliveries);
    /// never below zero.
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        input: AdjustStockInput,
    ) -> Result<BookPayload> {
        require_staff(ctx).await?;
        let id = decode_as(NodeType::Book, &input.book_id)?;
        if input.delta == 0 || input.delta.abs() > MAX_STOCK_DELTA {
            return Ok(BookPayload::failed(vec![UserError::invalid(
                "delta",
                format!("must not be zero and at most {MAX_STOCK_DELTA} either way"),
            )]));
        }
        let change = {
            let mut conn = primary(ctx).await?;
            db::books::adjust_stock(&mut conn, id, input.delta)
                .await
                .map_err(Error::from)?
        };
        let book = match change {
            Ok(book) => book,
            Err(StockRejection::NotFound) => {
                return Ok(BookPayload::failed(vec![not_found(
                    &["input", "bookId"],
                    "book",
                )]));
            }
            Err(StockRejection::Insufficient) => {
                return Ok(BookPayload::failed(vec![UserError::new(
                    &["input", "delta"],
                    UserErrorCode::InsufficientStock,
                    "not enough stock to take that many away",
                )]));
            }
            Err(StockRejection::Overflow) => {
                return Ok(BookPayload::failed(vec![UserError::invalid(
                    "delta",
                    "the stock would be larger than can be stored",
                )]));
            }
        };
        let mut entries = vec![Entry::Entity(Kind::Book, id)];
        // Only crossing zero moves a book in or out of `inStock` listings.
        let was_in_stock = book.stock - input.delta > 0;
        if was_in_stock != (book.stock > 0) {
            entries.push(Entry::BookCounts);
        }
        forget(ctx, &entries).await;
        Ok(BookPayload::ok(book))
    }

    /// Staff only. Adds a contributor (credit them with `createBook` or
    /// `updateBook`).
    async fn create_contributor(
        &self,
        ctx: &Context<'_>,
        input: CreateContributorInput,
    ) -> Result<ContributorPayload> {
        require_staff(ctx).await?;
        let mut checks = Checks::default();
        let name = checks
            .keep(required_text(
                "name",
                &input.name,
                MAX_CONTRIBUTOR_NAME_CHARS,
            ))
            .unwrap_or_default();
        let (slug, slug_policy) = slug_or_derived(&mut checks, input.slug.as_deref(), &name);
        let sort_name = match input.sort_name {
            Some(value) => checks
                .keep(required_text(
                    "sortName",
                    &value,
                    MAX_CONTRIBUTOR_NAME_CHARS,
                ))
                .unwrap_or_default(),
            None => derived_sort_name(&name),
        };
        let birth_year = checks.patch(input.birth_year, |value| year("birthYear", value));
        let death_year = checks.patch(input.death_year, |value| year("deathYear", value));
        if let (Some(born), Some(died)) = (birth_year, death_year)
            && died < born
        {
            checks.0.push(years_out_of_order());
        }
        let contributor = NewContributor {
            slug,
            sort_name,
            bio: checks
                .patch(input.bio, |value| {
                    free_text("bio", &value, MAX_DESCRIPTION_CHARS)
                })
                .unwrap_or_default(),
            birth_year,
            death_year,
            name,
        };
        if checks.failed() {
            return Ok(ContributorPayload::failed(checks.0));
        }
        let mut conn = primary(ctx).await?;
        // A new contributor is credited nowhere yet: nothing cached is stale.
        Ok(
            match db::contributors::create(&mut conn, &contributor, slug_policy)
                .await
                .map_err(Error::from)?
            {
                Ok(contributor) => ContributorPayload {
                    contributor: Some(contributor),
                    user_errors: Vec::new(),
                },
                Err(rejection) => {
                    ContributorPayload::failed(vec![contributor_rejection(rejection)])
                }
            },
        )
    }

    /// Staff only. Changes the fields given; every book crediting the
    /// contributor shows the change at once.
    async fn update_contributor(
        &self,
        ctx: &Context<'_>,
        input: UpdateContributorInput,
    ) -> Result<ContributorPayload> {
        require_staff(ctx).await?;
        let id = decode_as(NodeType::Contributor, &input.id)?;
        let mut checks = Checks::default();
        let changes = ContributorChanges {
            name: checks.patch(input.name, |value| {
                required_text("name", &value, MAX_CONTRIBUTOR_NAME_CHARS)
            }),
            sort_name: checks.patch(input.sort_name, |value| {
                required_text("sortName", &value, MAX_CONTRIBUTOR_NAME_CHARS)
            }),
            slug: checks.patch(input.slug, |value| slug(&value)),
            bio: checks.patch(input.bio, |value| {
                free_text("bio", &value, MAX_DESCRIPTION_CHARS)
            }),
            birth_year: checks
                .clearable(input.birth_year, |value| year("birthYear", value).map(Some)),
            death_year: checks
                .clearable(input.death_year, |value| year("deathYear", value).map(Some)),
        };
        if checks.failed() {
            return Ok(ContributorPayload::failed(checks.0));
        }
        let written = {
            let mut conn = primary(ctx).await?;
            db::contributors::update(&mut conn, id, &changes)
                .await
                .map_err(Error::from)?
        };
        let write = match written {
            Ok(write) => write,
            Err(rejection) => {
                return Ok(ContributorPayload::failed(vec![contributor_rejection(
                    rejection,
                )]));
            }
        };
        if !changes.is_empty() {
            // Each crediting book's cached relations embed the contributor.
            let mut entries: Vec<Entry> = std::iter::once(Entry::Entity(Kind::Contributor, id))
                .chain(
                    write
                        .book_ids
                        .iter()
                        .map(|book_id| Entry::Entity(Kind::BookRelations, *book_id)),
                )
                .collect();
            // A search matches contributor names, and its count is cached.
            if changes.name.is_some() {
                entries.push(Entry::BookCounts);
            }
            forget(ctx, &entries).await;
        }
        Ok(ContributorPayload {
            contributor: Some(write.contributor),
            user_errors: Vec::new(),
        })
    }

    /// Staff only. Adds a genre.
    async fn create_genre(
        &self,
        ctx: &Context<'_>,
        input: CreateGenreInput,
    ) -> Result<GenrePayload> {
        require_staff(ctx).await?;
        let mut checks = Checks::default();
        let name = checks
            .keep(required_text("name", &input.name, MAX_GENRE_NAME_CHARS))
            .unwrap_or_default();
        let (slug, slug_policy) = slug_or_derived(&mut checks, input.slug.as_deref(), &name);
        let genre = NewGenre {
            slug,
            description: checks
                .patch(input.description, |value| {
                    free_text("description", &value, MAX_DESCRIPTION_CHARS)
                })
                .unwrap_or_default(),
            name,
        };
        if checks.failed() {
            return Ok(GenrePayload::failed(checks.0));
        }
        let mut conn = primary(ctx).await?;
        // A new genre holds no books yet: nothing cached is stale.
        Ok(
            match db::genres::create(&mut conn, &genre, slug_policy)
                .await
                .map_err(Error::from)?
            {
                Ok(genre) => GenrePayload {
                    genre: Some(genre),
                    user_errors: Vec::new(),
                },
                Err(rejection) => GenrePayload::failed(vec![genre_rejection(rejection)]),
            },
        )
    }

    /// Staff only. Changes the fields given; every book in the genre shows
    /// the change at once.
    async fn update_genre(
        &self,
        ctx: &Context<'_>,
        input: UpdateGenreInput,
    ) -> Result<GenrePayload> {
        require_staff(ctx).await?;
        let id = decode_as(NodeType::Genre, &input.id)?;
        let mut checks = Checks::default();
        let changes = GenreChanges {
            name: checks.patch(input.name, |value| {
                required_text("name", &value, MAX_GENRE_NAME_CHARS)
            }),
            slug: checks.patch(input.slug, |value| slug(&value)),
            description: checks.patch(input.description, |value| {
                free_text("description", &value, MAX_DESCRIPTION_CHARS)
            }),
        };
        if checks.failed() {
            return Ok(GenrePayload::failed(checks.0));
        }
        let written = {
            let mut conn = primary(ctx).await?;
            db::genres::update(&mut conn, id, &changes)
                .await
                .map_err(Error::from)?
        };
        let write = match written {
            Ok(write) => write,
            Err(rejection) => return Ok(GenrePayload::failed(vec![genre_rejection(rejection)])),
        };
        if !changes.is_empty() {
            // Each of its books' cached relations embed the genre.
            let mut entries: Vec<Entry> = std::iter::once(Entry::Entity(Kind::Genre, id))
                .chain(
                    write
                        .book_ids
                        .iter()
                        .map(|book_id| Entry::Entity(Kind::BookRelations, *book_id)),
                )
                .collect();
            // Listings filter by genre slug, and their counts are cached.
            if changes.slug.is_some() {
                entries.push(Entry::BookCounts);
            }
            forget(ctx, &entries).await;
        }
        Ok(GenrePayload {
            genre: Some(write.genre),
            user_errors: Vec::new(),
        })
    }
}

async fn set_archived(ctx: &Context<'_>, id: ID, archived: bool) -> Result<BookPayload> {
    require_staff(ctx).await?;
    let id = decode_as(NodeType::Book, &id)?;
    let written = {
        let mut conn = primary(ctx).await?;
        db::books::set_archived(&mut conn, id, archived)
            .await
            .map_err(Error::from)?
    };
    let Some(write) = written else {
        return Ok(BookPayload::failed(vec![not_found(&["id"], "book")]));
    };
    // The book leaves (or rejoins) its contributors' lists and every listing.
    let entries: Vec<Entry> = std::iter::once(Entry::Entity(Kind::Book, id))
        .chain(contributor_lists(&write.contributor_ids))
        .chain([Entry::BookCounts])
        .collect();
    forget(ctx, &entries).await;
    Ok(BookPayload::ok(write.book))
}
