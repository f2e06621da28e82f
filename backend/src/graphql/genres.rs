//! Genres: the type and the `genres` / `genre` queries. Books of a genre are
//! listed with `books(filter: {genre: "slug"})`.

use async_graphql::{Context, ID, Object, Result};

use super::ids::{NodeType, decode_as, global_id};
use super::loaders::{GenreId, Loaders};
use super::read_connection;
use crate::db;
use crate::error::Error;

pub use crate::db::genres::Genre;

#[Object]
impl Genre {
    pub async fn id(&self) -> ID {
        global_id(NodeType::Genre, self.id)
    }
    /// Use it in `books(filter: {genre: ...})`.
    async fn slug(&self) -> &str {
        &self.slug
    }
    async fn name(&self) -> &str {
        &self.name
    }
    async fn description(&self) -> &str {
        &self.description
    }
}

#[derive(Default)]
pub struct GenreQuery;

#[Object]
impl GenreQuery {
    /// Every genre, by name.
    #[graphql(complexity = "50 * child_complexity")]
    async fn genres(&self, ctx: &Context<'_>) -> Result<Vec<Genre>> {
        let mut conn = read_connection(ctx).await?;
        Ok(db::genres::all(&mut conn).await.map_err(Error::from)?)
    }

    /// One genre by exactly one of id or slug.
    async fn genre(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> Result<Option<Genre>> {
        let genre_id = match (id, slug) {
            (Some(id), None) => Some(decode_as(NodeType::Genre, &id)?),
            (None, Some(slug)) => {
                let mut conn = read_connection(ctx).await?;
                db::genres::find_id_by_slug(&mut conn, &slug)
                    .await
                    .map_err(Error::from)?
            }
            _ => {
                return Err(
                    Error::BadUserInput("pass exactly one of `id` or `slug`".to_owned()).into(),
                );
            }
        };
        match genre_id {
            Some(id) => Ok(ctx
                .data_unchecked::<Loaders>()
                .load_one(GenreId(id))
                .await?),
            None => Ok(None),
        }
    }
}
