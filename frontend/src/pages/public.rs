//! How a public page answers: the catalog's pages (home, catalog, book,
//! contributor), whose content depends on the address and the backend's
//! public data only.
//!
//! - The page's one query goes to the backend as a conditional
//!   `GET /graphql` (`api::Api::run_public`) carrying the backend's `ETag`
//!   of the data the kept copy was rendered from; on `304` the copy
//!   (`page_cache`) is served, otherwise the page is rendered and kept. The
//!   backend is asked every time, so a copy is never served after its data
//!   changed; a backend that sends no tags is simply asked again.
//! - A page is `Cache-Control: public, max-age=PAGE_MAX_AGE_SECS` with an
//!   `ETag` (and `Vary: Cookie`) only when it holds nothing of the visitor:
//!   no session, no guest cart (its count goes in the header), no flash
//!   message, no CSRF token (a page whose form needs
//!   one is rendered with a placeholder, filled in per visitor, and stays
//!   `private, no-store`), and it sets no cookie. Everything else answers
//!   as `page::page` does.
//!
//! Owns those rules; it never sends a session to the backend and never
//! marks public a page that holds a token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use graphql_client::GraphQLQuery;
use minijinja::{Value, context};

use super::page::api_error_page;
use crate::api::{ApiError, Fetched};
use crate::conditional;
use crate::page_cache::Rendered;
use crate::render;
use crate::session::Visitor;
use crate::state::AppState;

/// What a public page shows for its data: a template and its context, or
/// another answer (not found).
pub enum View {
    Page(&'static str, Value),
    Answer(Response),
}

/// Answers a public page: `key` names it (its address, with its parameters
/// in a fixed order), `variables` are its query's, `view` turns the data
/// into what to show.
pub async fn public_page<Q: GraphQLQuery>(
    state: &AppState,
    visitor: &Visitor,
    key: &str,
    variables: Q::Variables,
    view: impl FnOnce(Q::ResponseData) -> View,
) -> Response {
    // A flash message is shown once: such a page is not worth keeping.
    let keep = visitor.flash.is_none();
    let key = format!(
        "{}{key}",
        if visitor.session.is_some() {
            "in:"
        } else {
            "out:"
        }
    );
    let kept = if keep {
        state.page_cache.get(&key)
    } else {
        None
    };
    let known = kept.as_ref().and_then(|page| page.backend_etag.as_deref());
    let rendered = match state.api.run_public::<Q>(variables, known).await {
        Ok(Fetched::NotModified) => match kept {
            Some(page) => page,
            None => return api_error_page(state, &ApiError::Unavailable),
        },
        Ok(Fetched::Fresh { data, etag }) => match view(data) {
            View::Answer(response) => return response,
            View::Page(template, context) => {
                let Some(page) = render_page(state, visitor, template, context, etag) else {
                    return render::failure();
                };
                let page = Arc::new(page);
                if keep {
                    state.page_cache.put(key, Arc::clone(&page));
                }
                page
            }
        },
        Err(error) => return api_error_page(state, &error),
    };
    answer(state, visitor, &rendered)
}

/// Renders a page with the CSRF token's placeholder (see the module docs).
fn render_page(
    state: &AppState,
    visitor: &Visitor,
    template: &str,
    context: Value,
    backend_etag: Option<String>,
) -> Option<Rendered> {
    let context = context! {
        visitor => context! {
            signed_in => visitor.session.is_some(),
            csrf => Visitor::csrf_placeholder(),
            flash => visitor.flash.clone(),
        },
        ..context
    };
    let html = state.templates.html(template, context)?;
    Some(Rendered {
        backend_etag,
        uses_csrf: html.contains(Visitor::csrf_placeholder()),
        etag: conditional::etag(html.as_bytes()),
        html: Bytes::from(html),
    })
}

/// The answer for `visitor`: public with its tag when it holds nothing of
/// theirs, else private with their token filled in.
fn answer(state: &AppState, visitor: &Visitor, page: &Rendered) -> Response {
    // A guest with a cart sees its count in the header (`shop::cart_count`,
    // filled in per answer): their page is theirs alone.
    let public = !page.uses_csrf
        && visitor.session.is_none()
        && visitor.cart.is_none()
        && visitor.flash.is_none();
    if !public {
        let html = if page.uses_csrf {
            let text = std::str::from_utf8(&page.html).unwrap_or_default();
            Bytes::from(visitor.fill_csrf(text))
        } else {
            page.html.clone()
        };
        return visitor.finish(Html(html).into_response());
    }
    let mut response = Html(page.html.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, state.public_cache_control.clone());
    headers.insert(header::ETAG, page.etag.clone());
    // The page differs for a visitor who signs in or has a message.
    headers.insert(header::VARY, HeaderValue::from_static("cookie"));
    response
}
