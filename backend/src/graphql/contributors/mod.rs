//! Contributors (authors, editors, translators, illustrators, narrators):
//! the type, its books connection, and the `contributors` / `contributor`
//! queries; the staff's contributor writes are in `mutations`.
//!
//! Never: run SQL per field (a contributor's books come through the
//! loaders) or write from a query.

mod mutations;

pub use mutations::{
    ContributorMutation, ContributorPayload, CreateContributorInput, UpdateContributorInput,
};

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};

use super::books::{BookConnection, decode_cursor, encode_cursor, load_books, page_items};
use super::connections::read_connection;
use super::ids::{NodeType, decode_as, global_id};
use super::loaders::{BooksOfContributor, ContributorId, Loaders};
use super::pagination::{Page, PageArgs, connection, page_complexity, split_extra};
use crate::db;
use crate::db::catalog::{BookOrder, Position, SortKey};
use crate::error::Error;

pub use crate::db::contributors::Contributor;

#[Object]
impl Contributor {
    pub async fn id(&self) -> ID {
        global_id(NodeType::Contributor, self.id)
    }
    async fn slug(&self) -> &str {
        &self.slug
    }
    async fn name(&self) -> &str {
        &self.name
    }
    /// The name as shelved: "Austen, Jane".
    async fn sort_name(&self) -> &str {
        &self.sort_name
    }
    async fn bio(&self) -> &str {
        &self.bio
    }
    /// Negative for years BCE.
    async fn birth_year(&self) -> Option<i32> {
        self.birth_year
    }
    async fn death_year(&self) -> Option<i32> {
        self.death_year
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// The live books this contributor is credited on, newest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn books(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<BookConnection> {
        let all = ctx
            .data_unchecked::<Loaders>()
            .load_one(BooksOfContributor(self.id))
            .await?
            .unwrap_or_default();
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        let span = page.span()?;
        // The list is in NEWEST order: by date (undated last), then id, both
        // descending. Cursors are NEWEST book cursors, found by key, so a
        // book added or removed meanwhile shifts nothing.
        let key = |position: &Position| match position.key {
            SortKey::Newest(date) => (date.unwrap_or(NaiveDate::MIN), position.id),
            _ => (NaiveDate::MIN, position.id),
        };
        let bound = |cursor: &Option<String>| {
            cursor
                .as_deref()
                .map(|cursor| decode_cursor(BookOrder::Newest, cursor).map(|p| key(&p)))
                .transpose()
        };
        let start = match bound(&page.after)? {
            Some(after) => all.partition_point(|position| key(position) >= after),
            None => 0,
        };
        let end = match bound(&page.before)? {
            Some(before) => all.partition_point(|position| key(position) > before),
            None => all.len(),
        }
        .max(start);
        let size = usize::try_from(span.size).unwrap_or(usize::MAX);
        let (from, to) = match span.backward {
            false => (start, end.min(start.saturating_add(size))),
            true => (end.saturating_sub(size).max(start), end),
        };
        let window = &all[from..to];
        let ids: Vec<i64> = window.iter().map(|position| position.id).collect();
        let books = load_books(ctx, &ids, &page_items(&ctx.look_ahead())).await?;
        let cursors = books
            .iter()
            .map(|book| {
                window
                    .iter()
                    .find(|position| position.id == book.id)
                    .map(|position| encode_cursor(BookOrder::Newest, position))
                    .unwrap_or_default()
            })
            .collect();
        let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
        Ok(Page::keyed(books, cursors, from > 0, to < all.len(), Some(total)).into())
    }
}

connection!(ContributorConnection, ContributorEdge, Contributor);

#[derive(Default)]
pub struct ContributorQuery;

#[Object]
impl ContributorQuery {
    /// Contributors by name, optionally narrowed by a (typo-tolerant) search.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn contributors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        search: Option<String>,
    ) -> Result<ContributorConnection> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        let with_total = ctx.look_ahead().field("totalCount").exists() || page.needs_total();
        let (mut ids, total, window) = {
            let mut conn = read_connection(ctx).await?;
            let total = if page.needs_total() {
                db::contributors::page_ids(&mut conn, search.as_deref(), 0, 0, true)
                    .await
                    .map_err(Error::from)?
                    .1
            } else {
                None
            };
            let window = page.window(total)?;
            let (ids, page_total) = db::contributors::page_ids(
                &mut conn,
                search.as_deref(),
                window.offset,
                window.limit + 1,
                with_total && total.is_none(),
            )
            .await
            .map_err(Error::from)?;
            (ids, total.or(page_total), window)
        };
        let more = split_extra(&mut ids, window);
        let mut found = ctx
            .data_unchecked::<Loaders>()
            .load_many(ids.iter().copied().map(ContributorId))
            .await?;
        let contributors = ids
            .iter()
            .filter_map(|id| found.remove(&ContributorId(*id)))
            .collect();
        Ok(Page::new(contributors, window, total, more).into())
    }

    /// One contributor by exactly one of id or slug.
    async fn contributor(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> Result<Option<Contributor>> {
        let contributor_id = match (id, slug) {
            (Some(id), None) => Some(decode_as(NodeType::Contributor, &id)?),
            (None, Some(slug)) => {
                let mut conn = read_connection(ctx).await?;
                db::contributors::find_id_by_slug(&mut conn, &slug)
                    .await
                    .map_err(Error::from)?
            }
            _ => {
                return Err(
                    Error::BadUserInput("pass exactly one of `id` or `slug`".to_owned()).into(),
                );
            }
        };
        match contributor_id {
            Some(id) => Ok(ctx
                .data_unchecked::<Loaders>()
                .load_one(ContributorId(id))
                .await?),
            None => Ok(None),
        }
    }
}
