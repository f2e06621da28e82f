//! Books: the `Book` type, its enums, its connection and the loading of a
//! page of books with their relations. The `books` / `book` queries are in
//! `query`, the book lists' keyset cursors in `cursor`, the staff's book
//! writes in `mutations` (their inputs and checks in `input`), the
//! `bookUpdated` subscription in `subscription` (its shared loader in
//! `live`).
//!
//! Never: run SQL per field (relations come through the loaders) or hold
//! another domain's writes.

mod cursor;
mod input;
pub mod live;
mod mutations;
mod query;
mod subscription;

pub use cursor::{decode as decode_cursor, encode as encode_cursor};
pub use input::{AdjustStockInput, CreateBookInput, CreditInput, UpdateBookInput};
pub use mutations::{BookMutation, BookPayload};
pub use query::{BookFilter, BookQuery, BookSort};
pub use subscription::{BookSubscription, MAX_WATCHED_BOOKS};
// Carts and orders import `Money` from here; its home is `graphql::money`.
pub use super::money::Money;

use async_graphql::dataloader::Loader;
use async_graphql::{
    Context, Enum, ID, Lookahead, Object, Result, Scalar, ScalarType, SimpleObject,
};
use chrono::{DateTime, NaiveDate, Utc};

use super::ids::{NodeType, global_id};
use super::loaders::{BookId, Loaders, RelationsOfBook};
use super::pagination::connection;

pub use crate::db::books::Book;
use crate::db::contributors::Contributor;
use crate::db::genres::Genre;

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
    pub fn as_db(self) -> &'static str {
        match self {
            ContributorRole::Author => "author",
            ContributorRole::Editor => "editor",
            ContributorRole::Translator => "translator",
            ContributorRole::Illustrator => "illustrator",
            ContributorRole::Narrator => "narrator",
        }
    }

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
