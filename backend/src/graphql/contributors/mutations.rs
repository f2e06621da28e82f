//! The staff's contributor writes: create and update. A change shows at
//! once on every book crediting the contributor (their cached relations
//! embed the contributor, so they are forgotten too).
//!
//! Never: write without the staff role, or leave a cache entry stale.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::Contributor;
use crate::auth::require_staff;
use crate::cache::{Entry, Kind};
use crate::db;
use crate::db::contributors::{ContributorChanges, ContributorRejection, NewContributor};
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::ids::{NodeType, decode_as};
use crate::graphql::loaders::{embedded_in_books, forget};
use crate::graphql::user_errors::{UserError, UserErrorCode};
use crate::graphql::validation::{
    Checks, MAX_DESCRIPTION_CHARS, free_text, not_found, required_text, slug, slug_or_derived,
};

const MAX_NAME_CHARS: usize = 200;
const MAX_YEAR: i32 = 9999;

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

/// "Jane Austen" -> "Austen, Jane": the last word first, as shelved.
fn derived_sort_name(name: &str) -> String {
    match name.rsplit_once(char::is_whitespace) {
        Some((given, family)) => format!("{family}, {}", given.trim()),
        None => name.to_owned(),
    }
}

#[derive(Default)]
pub struct ContributorMutation;

#[Object]
impl ContributorMutation {
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
            .keep(required_text("name", &input.name, MAX_NAME_CHARS))
            .unwrap_or_default();
        let (slug, slug_policy) = slug_or_derived(&mut checks, input.slug.as_deref(), &name);
        let sort_name = match input.sort_name {
            Some(value) => checks
                .keep(required_text("sortName", &value, MAX_NAME_CHARS))
                .unwrap_or_default(),
            None => derived_sort_name(&name),
        };
        let birth_year = checks.patch(input.birth_year, |value| year("birthYear", value));
        let death_year = checks.patch(input.death_year, |value| year("deathYear", value));
        if let (Some(born), Some(died)) = (birth_year, death_year)
            && died < born
        {
            checks.add(years_out_of_order());
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
            return Ok(ContributorPayload::failed(checks.into_errors()));
        }
        let created = {
            let mut conn = primary_connection(ctx).await?;
            db::contributors::create(&mut conn, &contributor, slug_policy)
                .await
                .map_err(Error::from)?
        };
        Ok(match created {
            Ok(contributor) => {
                // Credited nowhere yet, but the list of contributors (and a
                // lookup of its id or slug) now finds it.
                forget(ctx, &[Entry::Entity(Kind::Contributor, contributor.id)]).await;
                ContributorPayload {
                    contributor: Some(contributor),
                    user_errors: Vec::new(),
                }
            }
            Err(rejection) => ContributorPayload::failed(vec![contributor_rejection(rejection)]),
        })
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
                required_text("name", &value, MAX_NAME_CHARS)
            }),
            sort_name: checks.patch(input.sort_name, |value| {
                required_text("sortName", &value, MAX_NAME_CHARS)
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
            return Ok(ContributorPayload::failed(checks.into_errors()));
        }
        let written = {
            let mut conn = primary_connection(ctx).await?;
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
            let mut entries =
                embedded_in_books(Entry::Entity(Kind::Contributor, id), &write.book_ids);
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
}
