//! Checks of mutation input fields shared by the catalog's writes: text
//! fields (trimmed, bounded), positive numbers, slugs, and the `Checks`
//! accumulator that collects every `userError` of an input so the client
//! sees them all at once. Checks of one domain's fields (ISBN, currency,
//! years) live with that domain's mutations.
//!
//! Never: touch the database or the cache; a check sees only its value.

use async_graphql::MaybeUndefined;

use super::user_errors::{UserError, UserErrorCode};
use crate::db::slugs::SlugPolicy;
use crate::domain::slug::{self, SlugError};

/// The longest description or bio.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// The userErrors of one input, collected so the client sees them all at once.
#[derive(Default)]
pub struct Checks(Vec<UserError>);

impl Checks {
    /// A valid value, or `None` with the reason recorded.
    pub fn keep<T>(&mut self, checked: Result<T, UserError>) -> Option<T> {
        checked.map_err(|error| self.0.push(error)).ok()
    }

    /// Checks an optional patch value: `None` when absent (or invalid).
    pub fn patch<T, U>(
        &mut self,
        value: Option<T>,
        check: impl FnOnce(T) -> Result<U, UserError>,
    ) -> Option<U> {
        value.and_then(|value| self.keep(check(value)))
    }

    /// Checks a nullable patch value: absent is `None`, null `Some(None)`.
    pub fn clearable<T, U>(
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

    /// Records a failure found outside a single field's check.
    pub fn add(&mut self, error: UserError) {
        self.0.push(error);
    }

    pub fn failed(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn into_errors(self) -> Vec<UserError> {
        self.0
    }
}

fn too_long(field: &str, max: usize) -> UserError {
    UserError::invalid(field, format!("use at most {max} characters"))
}

/// Trimmed, not blank, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, UserError> {
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
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<Option<String>, UserError> {
    free_text(field, value, max).map(|value| Some(value).filter(|value| !value.is_empty()))
}

/// Trimmed; may be blank (descriptions and bios).
pub fn free_text(field: &str, value: &str, max: usize) -> Result<String, UserError> {
    let value = value.trim();
    if value.chars().count() > max {
        Err(too_long(field, max))
    } else {
        Ok(value.to_owned())
    }
}

pub fn positive(field: &str, value: i32) -> Result<i32, UserError> {
    if value > 0 {
        Ok(value)
    } else {
        Err(UserError::invalid(field, "must be more than zero"))
    }
}

/// `field` names nothing of kind `what`.
pub fn not_found(field: &[&str], what: &str) -> UserError {
    UserError::new(field, UserErrorCode::NotFound, format!("no such {what}"))
}

/// A client-given slug, as the database accepts it.
pub fn slug(value: &str) -> Result<String, UserError> {
    slug::parse(value).map_err(|error| match error {
        SlugError::Malformed => UserError::invalid(
            "slug",
            "use lowercase letters and digits in words joined by single hyphens",
        ),
        SlugError::TooLong => too_long("slug", slug::MAX_CHARS),
    })
}

/// The slug asked for, or one derived from `name` (suffixed if taken).
pub fn slug_or_derived(
    checks: &mut Checks,
    value: Option<&str>,
    name: &str,
) -> (String, SlugPolicy) {
    match value {
        Some(value) => (
            checks.keep(slug(value)).unwrap_or_default(),
            SlugPolicy::Exact,
        ),
        None => (slug::derived(name), SlugPolicy::SuffixIfTaken),
    }
}
