//! The catalog's book queries: `books` (filtered, sorted, searched, paged
//! by keyset cursors, with a cached total) and `book` (by id, ISBN or slug).
//!
//! Never: write, or read the primary (catalog reads go to the replica when
//! there is one).

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};

use super::{Book, BookConnection, BookFormat, cursor, load_books, page_items};
use crate::cache::Cache;
use crate::db;
use crate::db::catalog::{BookOrder, Seek};
use crate::domain::isbn;
use crate::error::Error;
use crate::graphql::connections::read_connection;
use crate::graphql::ids::{NodeType, decode_as};
use crate::graphql::loaders::{BookId, Loaders};
use crate::graphql::pagination::{PageArgs, page_complexity};

/// The longest search text accepted.
const MAX_SEARCH_LENGTH: usize = 200;

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
    fn into_db(self) -> Result<db::catalog::BookFilter, Error> {
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
        Ok(db::catalog::BookFilter {
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
            Some(BookSort::Relevance) if searching => BookOrder::Relevance,
            None if searching => BookOrder::Relevance,
            Some(BookSort::Title) => BookOrder::Title,
            Some(BookSort::PriceLowToHigh) => BookOrder::PriceAscending,
            Some(BookSort::PriceHighToLow) => BookOrder::PriceDescending,
            _ => BookOrder::Newest,
        };
        let span = page.span()?;
        let decode = |cursor: &Option<String>| {
            cursor
                .as_deref()
                .map(|cursor| cursor::decode(order, cursor))
                .transpose()
        };
        let seek = Seek {
            after: decode(&page.after)?,
            before: decode(&page.before)?,
            backward: span.backward,
            // One extra row tells whether more follow.
            limit: span.size + 1,
        };
        let wants_total = ctx.look_ahead().field("totalCount").exists();

        // The total is cached per filter (a count is the costly part of a
        // filtered listing); the page itself is always read fresh.
        let cache = ctx.data_unchecked::<Cache>();
        let count_key = filter.cache_key();
        let cached_count = match wants_total {
            true => cache.book_count(&count_key).await,
            false => None,
        };
        let mut total = cached_count.and_then(|lookup| lookup.count);

        let (mut positions, page_total) = {
            let mut conn = read_connection(ctx).await?;
            db::catalog::page(
                &mut conn,
                &filter,
                order,
                &seek,
                wants_total && total.is_none(),
            )
            .await
            .map_err(Error::from)?
        };
        total = total.or(page_total);
        if let (Some(lookup), Some(count)) = (cached_count, total)
            && lookup.count.is_none()
        {
            cache
                .store_book_count(lookup.generation, &count_key, count)
                .await;
        }
        let more = positions.len() > usize::try_from(span.size).unwrap_or(usize::MAX);
        positions.truncate(usize::try_from(span.size).unwrap_or(usize::MAX));
        if span.backward {
            positions.reverse();
        }
        // Reading forward, rows before `after` exist (the cursor's own, at
        // least), and likewise past `before` reading backward.
        let (has_previous, has_next) = match span.backward {
            false => (seek.after.is_some(), more || seek.before.is_some()),
            true => (more || seek.after.is_some(), seek.before.is_some()),
        };
        let ids: Vec<i64> = positions.iter().map(|position| position.id).collect();
        let books = load_books(ctx, &ids, &page_items(&ctx.look_ahead())).await?;
        Ok(cursor::page(
            order,
            books,
            &positions,
            has_previous,
            has_next,
            total,
        ))
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
            (None, Some(isbn), None) => match isbn::normalize(&isbn) {
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
