//! The backend's answers as errors next to an account form's fields, and
//! the form shown again with them.
//!
//! Owns only the mapping and that re-render; it never decides whether a
//! form is valid (the backend does).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};

use crate::api::ApiError;
use crate::pages::page::page;
use crate::session::Visitor;
use crate::state::AppState;

/// The form `template` shown again (422) with the backend's userErrors next
/// to its fields; `typed` is the rest of the page (title, what the customer
/// typed, never a password).
pub fn form_again<'a>(
    state: &AppState,
    visitor: &Visitor,
    template: &str,
    user_errors: impl IntoIterator<Item = (&'a [String], &'a str)>,
    typed: Value,
) -> Response {
    let errors = field_errors(user_errors);
    page(
        state,
        visitor,
        StatusCode::UNPROCESSABLE_ENTITY,
        template,
        context! { errors, ..typed },
    )
}

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
