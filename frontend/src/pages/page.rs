//! How every page answers: a template rendered for a visitor (with its
//! robots and canonical defaults), and the error pages (not found, backend
//! unavailable or refusing).
//!
//! Owns the page frame and the error pages' wording and status codes. It
//! never talks to the backend itself and never shows a raw error.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;

use crate::api::ApiError;
use crate::seo::robots;
use crate::session::Visitor;
use crate::state::AppState;

/// Renders a page for a visitor: the template also gets `visitor` (signed
/// in or not, the CSRF token for forms, the flash message) and what
/// crawlers are told (a private page is `noindex`; any other's canonical
/// address is its path unless the context names one), and the response
/// the cookies the visit needs.
pub fn page(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    template: &str,
    context: minijinja::Value,
) -> Response {
    let private = robots::is_private(&visitor.path);
    let context = context! {
        visitor => context! {
            signed_in => visitor.session.is_some(),
            csrf => visitor.csrf_token(),
            flash => visitor.flash.clone(),
        },
        robots => private.then_some(robots::NOINDEX),
        default_canonical => (!private).then(|| visitor.path.clone()),
        ..context
    };
    visitor.finish(state.templates.render(status, template, context))
}

/// The fallback route.
pub async fn not_found(State(state): State<AppState>) -> Response {
    not_found_page(&state)
}

pub fn not_found_page(state: &AppState) -> Response {
    state.templates.render(
        StatusCode::NOT_FOUND,
        "error.html",
        context! {
            title => "Page not found",
            message => "We could not find that page. It may have moved, or the link may be mistyped.",
        },
    )
}

/// Whether the backend refused a call with this `extensions.code`.
pub fn has_code(error: &ApiError, wanted: &str) -> bool {
    matches!(error, ApiError::GraphQL(errors)
        if errors.iter().any(|(_, code)| code.as_deref() == Some(wanted)))
}

/// The page for a failed backend call: 503 "try again" when the backend is
/// down, slow or busy, 400 for input it refused, 500 otherwise. Never a raw error.
pub fn api_error_page(state: &AppState, error: &ApiError) -> Response {
    let (status, title, message) = match error {
        ApiError::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "We'll be right back",
            "The shop is not answering at the moment. Please try again in a minute.",
        ),
        // The backend is busy (password hashing queue, connection pool).
        ApiError::GraphQL(_) if has_code(error, "SERVICE_UNAVAILABLE") => (
            StatusCode::SERVICE_UNAVAILABLE,
            "We'll be right back",
            "The shop is very busy at the moment. Please try again in a minute.",
        ),
        ApiError::GraphQL(_) if has_code(error, "BAD_USER_INPUT") => (
            StatusCode::BAD_REQUEST,
            "That did not work",
            "Something in the address was not understood. Please go back and try again.",
        ),
        ApiError::GraphQL(errors) => {
            tracing::error!(?errors, "the backend refused a storefront query");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. Please try again.",
            )
        }
    };
    let mut response = state
        .templates
        .render(status, "error.html", context! { title, message });
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    response
}
