//! Genres: the type, the `genres` / `genre` queries and the staff's genre
//! writes. Books of a genre are listed with `books(filter: {genre: "slug"})`.
//!
//! Never: write without the staff role, or leave a cache entry stale (a
//! genre's change shows at once on every book in it).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::connections::{primary_connection, read_connection};
use super::ids::{NodeType, decode_as, global_id};
use super::loaders::{GenreId, Loaders, embedded_in_books, forget};
use super::user_errors::{UserError, UserErrorCode};
use super::validation::{
    Checks, MAX_DESCRIPTION_CHARS, free_text, not_found, required_text, slug, slug_or_derived,
};
use crate::auth::require_staff;
use crate::cache::{Entry, Kind};
use crate::db;
use crate::db::genres::{GenreChanges, GenreRejection, NewGenre};
use crate::error::Error;

const MAX_NAME_CHARS: usize = 100;

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

#[derive(Default)]
pub struct GenreMutation;

#[Object]
impl GenreMutation {
    /// Staff only. Adds a genre.
    async fn create_genre(
        &self,
        ctx: &Context<'_>,
        input: CreateGenreInput,
    ) -> Result<GenrePayload> {
        require_staff(ctx).await?;
        let mut checks = Checks::default();
        let name = checks
            .keep(required_text("name", &input.name, MAX_NAME_CHARS))
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
            return Ok(GenrePayload::failed(checks.into_errors()));
        }
        let created = {
            let mut conn = primary_connection(ctx).await?;
            db::genres::create(&mut conn, &genre, slug_policy)
                .await
                .map_err(Error::from)?
        };
        Ok(match created {
            Ok(genre) => {
                // A new genre holds no books yet, but the list of genres
                // (and a lookup of its id or slug) now finds it.
                forget(ctx, &[Entry::Entity(Kind::Genre, genre.id)]).await;
                GenrePayload {
                    genre: Some(genre),
                    user_errors: Vec::new(),
                }
            }
            Err(rejection) => GenrePayload::failed(vec![genre_rejection(rejection)]),
        })
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
                required_text("name", &value, MAX_NAME_CHARS)
            }),
            slug: checks.patch(input.slug, |value| slug(&value)),
            description: checks.patch(input.description, |value| {
                free_text("description", &value, MAX_DESCRIPTION_CHARS)
            }),
        };
        if checks.failed() {
            return Ok(GenrePayload::failed(checks.into_errors()));
        }
        let written = {
            let mut conn = primary_connection(ctx).await?;
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
            let mut entries = embedded_in_books(Entry::Entity(Kind::Genre, id), &write.book_ids);
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
