//! Signing in and out: the sign-in form, the backend's session token into
//! the session cookie (the guest cart merged), and signing out everywhere.
//!
//! Owns where a shopper goes after signing in: only a path on this site,
//! never another site (an open redirect).

use std::collections::BTreeMap;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::form_errors::form_error;
use super::operations::{Login, Logout, login, logout};
use crate::pages::page::{api_error_page, page};
use crate::session::Visitor;
use crate::state::AppState;

/// Where to go after signing in: only a path on this site. The path must
/// start with one `/` followed by something other than `/` or `\`, and be
/// printable ASCII without spaces or backslashes — both as given and once
/// percent-decoded (browsers drop tabs and newlines, so `/\t/evil.example`
/// would go to `//evil.example`). Anything else goes to the account page.
fn safe_next(next: Option<&str>) -> String {
    fn same_site_path(path: &[u8]) -> bool {
        matches!(path, [b'/', rest @ ..] if !matches!(rest.first(), Some(b'/' | b'\\')))
            && path
                .iter()
                .all(|byte| byte.is_ascii_graphic() && *byte != b'\\')
    }
    match next {
        Some(path) if same_site_path(path.as_bytes()) && same_site_path(&percent_decoded(path)) => {
            path.to_owned()
        }
        _ => "/account".to_owned(),
    }
}

/// `text` with every `%XX` replaced by its byte (a malformed `%` is kept).
fn percent_decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| bytes[index] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    decoded
}

/// The note about a merged guest cart (`MergeLine` outcomes and titles),
/// from a `cartMerge` of any operation's generated types.
macro_rules! merge_message {
    ($cart_merge:expr) => {{
        let lines: Vec<(String, String)> = $cart_merge
            .map(|merge| {
                merge
                    .lines
                    .into_iter()
                    .map(|line| (format!("{:?}", line.outcome), line.book.title))
                    .collect()
            })
            .unwrap_or_default();
        merge_note(&lines)
    }};
}

fn merge_note(lines: &[(String, String)]) -> String {
    let notes: Vec<String> = lines
        .iter()
        .filter(|(outcome, _)| outcome != "MERGED")
        .map(|(outcome, title)| match outcome.as_str() {
            "REDUCED" => format!("fewer copies of {title} (stock)"),
            _ => format!("{title} is no longer available"),
        })
        .collect();
    if notes.is_empty() {
        String::new()
    } else {
        format!(" Your cart was updated: {}.", notes.join("; "))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: String,
    email: String,
    password: String,
    next: Option<String>,
}

pub(super) async fn login_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(params): Query<NextParam>,
) -> Response {
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "login.html",
        context! {
            title => "Sign in",
            description => "Sign in to your Bookstore account to see your orders and check out faster.",
            next => safe_next(params.next.as_deref()),
        },
    )
}

pub(super) async fn login(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<LoginForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let next = safe_next(form.next.as_deref());
    let input = login::LoginInput {
        email: form.email.clone(),
        password: form.password,
        cart_id: visitor.cart.clone(),
    };
    let failed = |message: String, status: StatusCode| {
        page(
            &state,
            &visitor,
            status,
            "login.html",
            context! {
                title => "Sign in",
                errors => BTreeMap::from([("form".to_owned(), message)]),
                email => form.email.clone(),
                next => next.clone(),
            },
        )
    };
    let payload = match state
        .api
        .run::<Login>(login::Variables { input }, None)
        .await
    {
        Ok(data) => data.login,
        Err(error) => {
            return match form_error(&error) {
                Some(message) => failed(message, StatusCode::TOO_MANY_REQUESTS),
                None => api_error_page(&state, &error),
            };
        }
    };
    match (payload.token, payload.user) {
        (Some(token), Some(user)) => {
            let merged = merge_message!(payload.cart_merge);
            let welcome = format!("Welcome back, {}.{merged}", user.name);
            signed_in(&visitor, &next, &token, &welcome)
        }
        _ => {
            let message = payload.user_errors.first().map_or_else(
                || "The email or password is incorrect.".to_owned(),
                |error| error.message.clone(),
            );
            failed(message, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// Signed in: the backend's session token in the session cookie, the guest
/// cart's cookie gone (the backend merged the cart), and on to `next` with
/// a welcome.
fn signed_in(visitor: &Visitor, next: &str, token: &str, welcome: &str) -> Response {
    visitor
        .redirect(next, welcome)
        .session(Some(token))
        .cart(None)
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub(super) async fn logout(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    if visitor.session.is_some() {
        // Ends the session on the backend for every device at once; the
        // cookie goes either way.
        let _ = state
            .api
            .run::<Logout>(logout::Variables, visitor.session.as_deref())
            .await;
    }
    visitor
        .redirect("/", "You are signed out.")
        .session(None)
        .into_response()
}
