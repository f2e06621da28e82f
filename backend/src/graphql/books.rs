//! The catalog's book side: the `Book` type, its money and enums, and the
//! `books` / `book` queries.

use async_graphql::dataloader::Loader;
use async_graphql::{
    Context, Enum, ID, InputObject, Lookahead, Object, Result, Scalar, ScalarType, SimpleObject,
};
use chrono::{DateTime, NaiveDate, Utc};

use super::ids::{NodeType, decode_as, global_id};
use super::loaders::{BookId, Loaders, RelationsOfBook};
use super::pagination::{Page, PageArgs, connection, page_complexity, split_extra};
use super::read_connection;
use crate::cache::Cache;
use crate::db;
use crate::error::Error;

pub use crate::db::books::Book;
use crate::db::contributors::Contributor;
use crate::db::genres::Genre;

/// The longest search text accepted.
const MAX_SEARCH_LENGTH: usize = 200;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum BookFormat {
    Hardcover,
    Paperback,
    Ebook,
    Audiobook,
}

impl BookFormat {
    pub fn as_db(self) -> &'static str {
        match self {
            BookFormat::Hardcover => "hardcover",
            BookFormat::Paperback => "paperback",
            BookFormat::Ebook => "ebook",
            BookFormat::Audiobook => "audiobook",
        }
    }

    fn from_db(value: &str) -> Self {
        match value {
            "hardcover" => BookFormat::Hardcover,
            "ebook" => BookFormat::Ebook,
            "audiobook" => BookFormat::Audiobook,
            _ => BookFormat::Paperback,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ContributorRole {
    Author,
    Editor,
    Translator,
    Illustrator,
    Narrator,
}

impl ContributorRole {
    fn from_db(value: &str) -> Self {
        match value {
            "editor" => ContributorRole::Editor,
            "translator" => ContributorRole::Translator,
            "illustrator" => ContributorRole::Illustrator,
            "narrator" => ContributorRole::Narrator,
            _ => ContributorRole::Author,
        }
    }
}

/// An amount of money in integer minor units (cents) of a currency.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    /// The amount in minor units: 1299 is 12.99.
    pub amount_cents: i32,
    /// ISO 4217 code, such as USD.
    pub currency: String,
    /// Human-readable, such as "$12.99".
    pub formatted: String,
}

impl Money {
    pub fn new(amount_cents: i32, currency: &str) -> Self {
        let symbol = match currency {
            "USD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            _ => "",
        };
        let sign = if amount_cents < 0 { "-" } else { "" };
        let cents = amount_cents.unsigned_abs();
        let number = format!("{}.{:02}", cents / 100, cents % 100);
        let formatted = if symbol.is_empty() {
            format!("{sign}{number} {currency}")
        } else {
            format!("{sign}{symbol}{number}")
        };
        Self {
            amount_cents,
            currency: currency.to_owned(),
            formatted,
        }
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    async_graphql::InputValueError::custom("expected a date as YYYY-MM-DD")
                }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// A contributor's credit on a book.
#[derive(SimpleObject, Clone, Debug)]
pub struct Credit {
    pub role: ContributorRole,
    pub contributor: Contributor,
}

#[Object]
impl Book {
    pub async fn id(&self) -> ID {
        global_id(NodeType::Book, self.id)
    }
    async fn slug(&self) -> &str {
        &self.slug
    }
    /// ISBN-13, digits only.
    async fn isbn(&self) -> &str {
        &self.isbn
    }
    async fn title(&self) -> &str {
        &self.title
    }
    async fn subtitle(&self) -> Option<&str> {
        self.subtitle.as_deref()
    }
    async fn description(&self) -> &str {
        &self.description
    }
    async fn format(&self) -> BookFormat {
        BookFormat::from_db(&self.format)
    }
    async fn publisher(&self) -> Option<&str> {
        self.publisher.as_deref()
    }
    async fn publication_date(&self) -> Option<Date> {
        self.publication_date.map(Date)
    }
    /// ISO 639 language code of this edition, such as "en".
    async fn language(&self) -> &str {
        &self.language
    }
    async fn page_count(&self) -> Option<i32> {
        self.page_count
    }
    async fn price(&self) -> Money {
        Money::new(self.price_cents, &self.currency)
    }
    /// Copies available to order now.
    async fn stock(&self) -> i32 {
        self.stock
    }
    async fn in_stock(&self) -> bool {
        self.stock > 0 && !self.archived
    }
    /// Archived books are no longer sold and are left out of `books`.
    async fn archived(&self) -> bool {
        self.archived
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// Everyone credited on the book, with their role, in credit order.
    #[graphql(complexity = "5 * child_complexity")]
    async fn credits(&self, ctx: &Context<'_>) -> Result<Vec<Credit>> {
        let relations = ctx
            .data_unchecked::<Loaders>()
            .load_one(RelationsOfBook(self.id))
            .await?;
        Ok(relations
            .map(|relations| {
                relations
                    .credits
                    .into_iter()
                    .map(|credit| Credit {
                        role: ContributorRole::from_db(&credit.role),
                        contributor: credit.contributor,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
    /// The book's contributors with the given role (all roles when omitted).
    #[graphql(complexity = "5 * child_complexity")]
    async fn contributors(
        &self,
        ctx: &Context<'_>,
        role: Option<ContributorRole>,
    ) -> Result<Vec<Contributor>> {
        let credits = self.credits(ctx).await?;
        let mut contributors: Vec<Contributor> = Vec::with_capacity(credits.len());
        for credit in credits {
            let wanted = role.is_none_or(|role| role == credit.role);
            if wanted && !contributors.iter().any(|c| c.id == credit.contributor.id) {
                contributors.push(credit.contributor);
            }
        }
        Ok(contributors)
    }
    #[graphql(complexity = "5 * child_complexity")]
    async fn genres(&self, ctx: &Context<'_>) -> Result<Vec<Genre>> {
        let relations = ctx
            .data_unchecked::<Loaders>()
            .load_one(RelationsOfBook(self.id))
            .await?;
        Ok(relations
            .map(|relations| relations.genres)
            .unwrap_or_default())
    }
}

connection!(BookConnection, BookEdge, Book);

#[derive(InputObject, Default, Debug)]
pub struct BookFilter {
    /// Words of the title, subtitle, description or a contributor's name
    /// (typos tolerated), or an ISBN-10/13.
    pub search: Option<String>,
    /// A genre's slug, such as "science-fiction".
    pub genre: Option<String>,
    /// A contributor's id: only books they are credited on.
    pub contributor: Option<ID>,
    pub min_price_cents: Option<i32>,
    pub max_price_cents: Option<i32>,
    /// true: only books in stock; false: only sold-out books.
    pub in_stock: Option<bool>,
    pub format: Option<BookFormat>,
    /// Staff only: include archived books (to find and restore them).
    pub include_archived: Option<bool>,
}

impl BookFilter {
    fn into_db(self) -> Result<db::books::BookFilter, Error> {
        if let Some(search) = &self.search
            && search.chars().count() > MAX_SEARCH_LENGTH
        {
            return Err(Error::BadUserInput(format!(
                "search must be at most {MAX_SEARCH_LENGTH} characters"
            )));
        }
        for (name, value) in [
            ("minPriceCents", self.min_price_cents),
            ("maxPriceCents", self.max_price_cents),
        ] {
            if value.is_some_and(|cents| cents < 0) {
                return Err(Error::BadUserInput(format!("{name} must not be negative")));
            }
        }
        if let (Some(min), Some(max)) = (self.min_price_cents, self.max_price_cents)
            && min > max
        {
            return Err(Error::BadUserInput(
                "minPriceCents must not exceed maxPriceCents".to_owned(),
            ));
        }
        Ok(db::books::BookFilter {
            search: self.search,
            genre_slug: self.genre,
            contributor_id: match &self.contributor {
                Some(id) => Some(decode_as(NodeType::Contributor, id)?),
                None => None,
            },
            min_price_cents: self.min_price_cents,
            max_price_cents: self.max_price_cents,
            in_stock: self.in_stock,
            format: self.format.map(|format| format.as_db().to_owned()),
            include_archived: self.include_archived.unwrap_or(false),
        })
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum BookSort {
    /// Best match first (the default when searching; otherwise NEWEST).
    Relevance,
    Title,
    PriceLowToHigh,
    PriceHighToLow,
    /// Most recently published first (the default without a search).
    Newest,
}

#[derive(Default)]
pub struct BookQuery;

#[Object]
impl BookQuery {
    /// The live catalog (archived books left out), filtered and sorted.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn books(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<BookFilter>,
        sort: Option<BookSort>,
    ) -> Result<BookConnection> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        let filter = filter.unwrap_or_default().into_db()?;
        if filter.include_archived {
            crate::auth::require_staff(ctx).await?;
        }
        let searching = filter
            .search
            .as_deref()
            .is_some_and(|text| !text.trim().is_empty());
        let order = match sort {
            Some(BookSort::Relevance) if searching => db::books::BookOrder::Relevance,
            None if searching => db::books::BookOrder::Relevance,
            Some(BookSort::Title) => db::books::BookOrder::Title,
            Some(BookSort::PriceLowToHigh) => db::books::BookOrder::PriceAscending,
            Some(BookSort::PriceHighToLow) => db::books::BookOrder::PriceDescending,
            _ => db::books::BookOrder::Newest,
        };
        let wants_total = ctx.look_ahead().field("totalCount").exists() || page.needs_total();

        // The total is the costly part of a listing (it counts every match),
        // so it is cached per filter; the page itself is always read fresh.
        let cache = ctx.data_unchecked::<Cache>();
        let count_key = filter.cache_key();
        let cached_count = match wants_total {
            true => cache.book_count(&count_key).await,
            false => None,
        };
        let mut total = cached_count.and_then(|lookup| lookup.count);

        let (mut ids, window) = {
            let mut conn = read_connection(ctx).await?;
            if page.needs_total() && total.is_none() {
                total = db::books::page_ids(&mut conn, &filter, order, 0, 1, true)
                    .await
                    .map_err(Error::from)?
                    .1;
            }
            let window = page.window(total)?;
            // One extra row tells whether a next page exists.
            let (ids, page_total) = db::books::page_ids(
                &mut conn,
                &filter,
                order,
                window.offset,
                window.limit + 1,
                wants_total && total.is_none(),
            )
            .await
            .map_err(Error::from)?;
            total = total.or(page_total);
            (ids, window)
        };
        if let (Some(lookup), Some(count)) = (cached_count, total)
            && lookup.count.is_none()
        {
            cache
                .store_book_count(lookup.generation, &count_key, count)
                .await;
        }
        let more = split_extra(&mut ids, window);
        let books = load_books(ctx, &ids, &page_items(&ctx.look_ahead())).await?;
        Ok(Page::new(books, window, total, more).into())
    }

    /// One book by exactly one of its id, ISBN (10 or 13 digits, hyphens
    /// allowed) or slug. Archived books are returned, marked `archived`.
    async fn book(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        isbn: Option<String>,
        slug: Option<String>,
    ) -> Result<Option<Book>> {
        let book_id = match (id, isbn, slug) {
            (Some(id), None, None) => Some(decode_as(NodeType::Book, &id)?),
            (None, Some(isbn), None) => match db::books::normalize_isbn(&isbn) {
                Some(isbn) => {
                    let mut conn = read_connection(ctx).await?;
                    db::books::find_id_by_isbn(&mut conn, &isbn)
                        .await
                        .map_err(Error::from)?
                }
                None => {
                    return Err(Error::BadUserInput(format!("{isbn:?} is not a valid ISBN")).into());
                }
            },
            (None, None, Some(slug)) => {
                let mut conn = read_connection(ctx).await?;
                db::books::find_id_by_slug(&mut conn, &slug)
                    .await
                    .map_err(Error::from)?
            }
            _ => {
                return Err(Error::BadUserInput(
                    "pass exactly one of `id`, `isbn` or `slug`".to_owned(),
                )
                .into());
            }
        };
        match book_id {
            Some(book_id) => Ok(ctx
                .data_unchecked::<Loaders>()
                .load_one(BookId(book_id))
                .await?),
            None => Ok(None),
        }
    }
}

/// The selection of the items of a connection (`nodes`, else `edges.node`).
pub fn page_items<'a>(connection: &Lookahead<'a>) -> Lookahead<'a> {
    match connection.field("nodes").exists() {
        true => connection.field("nodes"),
        false => connection.field("edges").field("node"),
    }
}

/// Whether a selection of `Book` fields needs the book's relations.
fn wants_relations(book: &Lookahead<'_>) -> bool {
    ["credits", "contributors", "genres"]
        .iter()
        .any(|name| book.field(name).exists())
}

/// Loads books (in the order of `ids`; vanished ids are skipped) and, when
/// `book` selects them, their relations: both read through Redis at once,
/// straight from the loader, and fed into the request's loader cache, where
/// each book's fields then find them. (Left to the fields, the relations
/// would wait for a batch timer and a slow moment could split the batch.)
pub async fn load_books(ctx: &Context<'_>, ids: &[i64], book: &Lookahead<'_>) -> Result<Vec<Book>> {
    let loaders = ctx.data_unchecked::<Loaders>();
    let loader = loaders.loader();
    let book_keys: Vec<BookId> = ids.iter().copied().map(BookId).collect();
    let relation_keys: Vec<RelationsOfBook> = match wants_relations(book) {
        true => ids.iter().copied().map(RelationsOfBook).collect(),
        false => Vec::new(),
    };
    let (mut books, relations) = futures_util::try_join!(
        Loader::<BookId>::load(loader, &book_keys),
        Loader::<RelationsOfBook>::load(loader, &relation_keys),
    )?;
    loaders.feed_many(relations).await;
    loaders
        .feed_many(books.iter().map(|(key, book)| (*key, book.clone())))
        .await;
    Ok(ids
        .iter()
        .filter_map(|id| books.remove(&BookId(*id)))
        .collect())
}
