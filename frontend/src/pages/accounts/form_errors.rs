//! The backend's answers as errors next to an account form's fields.
//!
//! Owns only the mapping; it never decides whether a form is valid (the
//! backend does).

use std::collections::BTreeMap;

use crate::api::ApiError;

/// userErrors as `field name -> message` (the last part of the field path).
pub fn field_errors<'a>(
    errors: impl IntoIterator<Item = (&'a [String], &'a str)>,
) -> BTreeMap<String, String> {
    errors
        .into_iter()
        .map(|(field, message)| {
            (
                field.last().cloned().unwrap_or_else(|| "form".to_owned()),
                message.to_owned(),
            )
        })
        .collect()
}

/// A GraphQL error the shopper can act on (too many attempts), as a form
/// error; anything else is an error page.
pub fn form_error(error: &ApiError) -> Option<String> {
    match error {
        ApiError::GraphQL(errors) => errors
            .iter()
            .find(|(_, code)| code.as_deref() == Some("TOO_MANY_ATTEMPTS"))
            .map(|(message, _)| message.clone()),
        ApiError::Unavailable => None,
    }
}
