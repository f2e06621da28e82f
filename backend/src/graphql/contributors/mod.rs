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
use chrono::{DateTime, Utc};

use super::books::{BookConnection, load_books, page_items};
use super::connections::read_connection;
use super::ids::{NodeType, decode_as, global_id};
use super::loaders::{BooksOfContributor, ContributorId, Loaders};
use super::pagination::{Page, PageArgs, connection, page_complexity, split_extra};
use crate::db;
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
        let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
        let window = PageArgs {
            first,
            after,
            last,
            before,
        }
        .window(Some(total))?;
        let start = usize::try_from(window.offset)
            .unwrap_or(usize::MAX)
            .min(all.len());
        let end = usize::try_from(window.offset + window.limit)
            .unwrap_or(usize::MAX)
            .min(all.len());
        let books = load_books(ctx, &all[start..end], &page_items(&ctx.look_ahead())).await?;
        Ok(Page::new(books, window, Some(total), end < all.len()).into())
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
