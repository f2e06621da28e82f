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

/// Whether `value` is one line: no CR, LF, tab or Unicode line or
/// paragraph separator. Names, titles and address lines are one line (a
/// line break there would forge a line on a label or a header in an email);
/// descriptions, bios and passwords are not checked.
pub fn is_one_line(value: &str) -> bool {
    !value.contains(['\r', '\n', '\t', '\u{2028}', '\u{2029}'])
}

/// The message for a single-line field holding a line break or a tab.
pub const NOT_ONE_LINE: &str = "must be one line (no line breaks or tabs)";

fn too_long(field: &str, max: usize) -> UserError {
    UserError::invalid(field, format!("use at most {max} characters"))
}

/// Trimmed, not blank, one line, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, UserError> {
    let value = value.trim();
    if value.is_empty() {
        Err(UserError::invalid(field, "must not be blank"))
    } else if !is_one_line(value) {
        Err(UserError::invalid(field, NOT_ONE_LINE))
    } else if value.chars().count() > max {
        Err(too_long(field, max))
    } else {
        Ok(value.to_owned())
    }
}

/// Trimmed, one line; blank means none.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<Option<String>, UserError> {
    let value = free_text(field, value, max)?;
    if !is_one_line(&value) {
        return Err(UserError::invalid(field, NOT_ONE_LINE));
    }
    Ok(Some(value).filter(|value| !value.is_empty()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_names_are_one_line_descriptions_may_not_be() {
        for text in ["A\nB", "A\r\nB", "A\tB", "A\u{2028}B", "A\u{2029}B"] {
            assert!(required_text("title", text, 100).is_err(), "{text:?}");
            assert!(optional_text("subtitle", text, 100).is_err(), "{text:?}");
            assert_eq!(free_text("description", text, 100).unwrap(), text);
        }
        // Surrounding whitespace is trimmed, not refused.
        assert_eq!(
            required_text("title", "\n Moby-Dick \t", 100).unwrap(),
            "Moby-Dick"
        );
        assert_eq!(optional_text("subtitle", " \n ", 100).unwrap(), None);
    }
}
