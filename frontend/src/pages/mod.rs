//! Page handlers: each asks the backend for everything it shows in one
//! GraphQL operation and renders one template.

pub mod accounts;
pub mod catalog;
pub mod shop;
pub mod staff;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use crate::AppState;
use crate::api::ApiError;
use crate::session::Visitor;

/// Renders a page for a visitor: the template also gets `visitor` (signed
/// in or not, the CSRF token for forms, the flash message), and the response
/// the cookies the visit needs.
pub fn page(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    template: &str,
    context: minijinja::Value,
) -> Response {
    let context = context! {
        visitor => context! {
            signed_in => visitor.session.is_some(),
            csrf => visitor.csrf_token(),
            flash => visitor.flash.clone(),
        },
        ..context
    };
    visitor.finish(state.templates.render(status, template, context))
}

/// "12.99" (currency units, an optional leading "$") to cents.
pub fn price_cents(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_prefix('$').unwrap_or(text);
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let fraction = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        2 => fraction.parse::<i64>().ok()?,
        _ => return None,
    };
    units
        .checked_mul(100)?
        .checked_add(fraction)
        .filter(|cents| *cents <= i64::from(i32::MAX))
}

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

/// The page for a failed backend call: 503 "try again" when the backend is
/// down or slow, 400 for input it refused, 500 otherwise. Never a raw error.
pub fn api_error_page(state: &AppState, error: &ApiError) -> Response {
    let (status, title, message) = match error {
        ApiError::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "We'll be right back",
            "The shop is not answering at the moment. Please try again in a minute.",
        ),
        ApiError::GraphQL(errors)
            if errors
                .iter()
                .any(|(_, code)| code.as_deref() == Some("BAD_USER_INPUT")) =>
        {
            (
                StatusCode::BAD_REQUEST,
                "That did not work",
                "Something in the address was not understood. Please go back and try again.",
            )
        }
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
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("30"),
        );
    }
    response
}
