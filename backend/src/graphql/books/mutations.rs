//! The staff's book writes: create, update, archive, restore, adjust stock.
//!
//! Every mutation checks the staff role before it looks at its input.
//! Invalid input comes back as `userErrors` and writes nothing. Once a write
//! has committed, exactly the cache entries it made stale are forgotten
//! (the db functions report whom it touched), so every later read sees it.
//!
//! Never: write without the staff role, or leave a cache entry stale.

use async_graphql::{Context, ID, MaybeUndefined, Object, Result, SimpleObject};

use super::Book;
use super::input::{
    AdjustStockInput, CreateBookInput, MAX_PUBLISHER_CHARS, MAX_STOCK_DELTA, MAX_SUBTITLE_CHARS,
    MAX_TITLE_CHARS, UpdateBookInput, book_rejection, credits, currency, distinct, genre_ids, isbn,
    language, stock,
};
use crate::auth::require_staff;
use crate::cache::{Entry, Kind};
use crate::db;
use crate::db::books::{BookChanges, BookRejection, NewBook};
use crate::db::credits::BookCredit;
use crate::db::stock::StockRejection;
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::ids::{NodeType, decode_as};
use crate::graphql::loaders::forget;
use crate::graphql::user_errors::{UserError, UserErrorCode};
use crate::graphql::validation::{
    Checks, MAX_DESCRIPTION_CHARS, free_text, not_found, optional_text, positive, required_text,
    slug, slug_or_derived,
};

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

    /// A write the database refused, as userErrors; `credits` and
    /// `genre_ids` are the checked lists, index for index as given.
    fn refused(rejection: BookRejection, credits: &[BookCredit], genre_ids: &[i64]) -> Self {
        Self::failed(book_rejection(
            rejection,
            &["input", "id"],
            credits,
            genre_ids,
        ))
    }
}

/// The book lists of these contributors (what they list, or its order).
fn contributor_lists(contributor_ids: &[i64]) -> impl Iterator<Item = Entry> + '_ {
    contributor_ids
        .iter()
        .map(|id| Entry::Entity(Kind::ContributorBooks, *id))
}

#[derive(Default)]
pub struct BookMutation;

#[Object]
impl BookMutation {
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
            return Ok(BookPayload::failed(checks.into_errors()));
        }
        let written = {
            let mut conn = primary_connection(ctx).await?;
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
            Err(rejection) => return Ok(BookPayload::refused(rejection, &credits, &genre_ids)),
        };
        // Nothing cached held the new book itself (a lookup of its id found
        // nothing); its contributors' lists and the listing counts miss it.
        let entries: Vec<Entry> = std::iter::once(Entry::Entity(Kind::Book, write.book.id))
            .chain(contributor_lists(&write.contributor_ids))
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
            return Ok(BookPayload::failed(checks.into_errors()));
        }
        let distinct_genres = genre_ids.as_deref().map(distinct);
        let written = {
            let mut conn = primary_connection(ctx).await?;
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
                return Ok(BookPayload::refused(
                    rejection,
                    credits.as_deref().unwrap_or_default(),
                    genre_ids.as_deref().unwrap_or_default(),
                ));
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
            let mut conn = primary_connection(ctx).await?;
            db::stock::adjust_stock(&mut conn, id, input.delta)
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
}

async fn set_archived(ctx: &Context<'_>, id: ID, archived: bool) -> Result<BookPayload> {
    require_staff(ctx).await?;
    let id = decode_as(NodeType::Book, &id)?;
    let written = {
        let mut conn = primary_connection(ctx).await?;
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
