//! What the pages opened from a link in an email (`/verify-email?token=…`,
//! `/reset-password?token=…`) share.
//!
//! - Their GET only shows a form carrying the token in a hidden field; the
//!   token is used (and used up) only by that form's POST, because mail
//!   scanners and link previews fetch every link in a message.
//! - Every answer that holds a token, in its address or its form, is sent
//!   with `Referrer-Policy: no-referrer` (nothing the page loads or links to
//!   learns the address) and `Cache-Control: no-store` (no cache keeps it).
//! - A link that does not work (used, expired, mistyped) gets one clear
//!   page saying how to get a new one.
//!
//! Owns those rules; it never puts a token in another address and never
//! calls the backend.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use crate::pages::page::page;
use crate::session::Visitor;
use crate::state::AppState;

/// The longest token worth passing on (the backend's are far shorter).
const MAX_TOKEN_BYTES: usize = 512;

/// The query of an emailed link.
#[derive(Debug, Default, Deserialize)]
pub struct TokenParam {
    #[serde(default)]
    pub token: String,
}

/// Whether `token` could be one of ours (printable ASCII, not too long); the
/// backend alone decides whether it is.
pub(super) fn plausible(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_BYTES
        && token.bytes().all(|byte| byte.is_ascii_graphic())
}

/// `response` with the headers of a page that holds a token.
pub(super) fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Which emailed link did not work.
#[derive(Clone, Copy)]
pub(super) enum Link {
    Verification,
    PasswordReset,
}

/// The page for a link that does not work (or no longer does), with the
/// way to get a new one.
pub(super) fn link_invalid(state: &AppState, visitor: &Visitor, link: Link) -> Response {
    let (title, message, kind) = match link {
        Link::Verification => (
            "This link does not work",
            "This email verification link has expired, was already used, or is incomplete.",
            "verification",
        ),
        Link::PasswordReset => (
            "This link does not work",
            "This password reset link has expired (links are valid for one hour), was already used, or is incomplete.",
            "reset",
        ),
    };
    private(page(
        state,
        visitor,
        StatusCode::BAD_REQUEST,
        "link_invalid.html",
        context! { title, message, kind },
    ))
}

/// The page an emailed link opens (GET): `template` with the token in a
/// hidden field, private; a missing, mangled (a repeated `token`, say) or
/// implausible token gets the "link does not work" page. Uses nothing up:
/// mail scanners open links.
pub(super) fn token_page(
    state: &AppState,
    visitor: &Visitor,
    params: Result<Query<TokenParam>, QueryRejection>,
    link: Link,
    template: &str,
    title: &str,
) -> Response {
    match params {
        Ok(Query(params)) if plausible(&params.token) => private(page(
            state,
            visitor,
            StatusCode::OK,
            template,
            context! { title, token => params.token },
        )),
        _ => link_invalid(state, visitor, link),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_printable_bounded_tokens_are_plausible() {
        assert!(plausible("Zm9v-YmFy_0123456789"));
        assert!(!plausible(""));
        assert!(!plausible("with space"));
        assert!(!plausible("line\nbreak"));
        assert!(!plausible("b\u{f6}cher"));
        assert!(!plausible(&"a".repeat(MAX_TOKEN_BYTES + 1)));
    }
}
