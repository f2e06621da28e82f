//! Who may see the staff pages: running a page's operation as the signed-in
//! visitor, and turning "not signed in" into a sign-in redirect and "not
//! staff" into a 403.
//!
//! Owns those answers only; it never decides who is staff itself (the
//! backend's `viewer { role }` and its refusals do).

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use graphql_client::GraphQLQuery;
use minijinja::context;

use crate::api::ApiError;
use crate::pages::page::{api_error_page, has_code};
use crate::session::Visitor;
use crate::state::AppState;

/// Sends a signed-out visitor (or one whose session ended) to sign in, and
/// back to `back` afterwards.
pub(super) fn sign_in(visitor: &Visitor, back: &str) -> Response {
    let query = serde_urlencoded::to_string([("next", back)]).unwrap_or_default();
    visitor
        .redirect(
            &format!("/login?{query}"),
            "Please sign in with your staff account.",
        )
        .into_response()
}

pub(super) fn forbidden(state: &AppState, visitor: &Visitor) -> Response {
    visitor.finish(state.templates.render(
        StatusCode::FORBIDDEN,
        "error.html",
        context! {
            title => "Staff only",
            message => "This page is for the shop's staff. Sign in with a staff account to use it.",
        },
    ))
}

/// A failed backend call: refused access as sign-in or 403, anything else
/// as the usual error page.
fn failure(state: &AppState, visitor: &Visitor, back: &str, error: &ApiError) -> Response {
    if has_code(error, "UNAUTHENTICATED") {
        sign_in(visitor, back)
    } else if has_code(error, "FORBIDDEN") {
        forbidden(state, visitor)
    } else {
        api_error_page(state, error)
    }
}

/// Runs an operation as the visitor (who must be signed in).
pub(super) async fn run<Q: GraphQLQuery>(
    state: &AppState,
    visitor: &Visitor,
    back: &str,
    variables: Q::Variables,
) -> Result<Q::ResponseData, Response> {
    let Some(session) = visitor.session.as_deref() else {
        return Err(sign_in(visitor, back));
    };
    state
        .api
        .run::<Q>(variables, Some(session))
        .await
        .map_err(|error| failure(state, visitor, back, &error))
}

/// Runs a page's query; `is_staff` reads its `viewer` (`None`: nobody is
/// signed in, the session having ended).
pub(super) async fn load<Q: GraphQLQuery>(
    state: &AppState,
    visitor: &Visitor,
    back: &str,
    variables: Q::Variables,
    is_staff: impl FnOnce(&Q::ResponseData) -> Option<bool>,
) -> Result<Q::ResponseData, Response> {
    let data = run::<Q>(state, visitor, back, variables).await?;
    match is_staff(&data) {
        Some(true) => Ok(data),
        Some(false) => Err(forbidden(state, visitor)),
        None => Err(sign_in(visitor, back)),
    }
}

/// Generates the `is_staff` check of a query module's `viewer`.
macro_rules! staff_viewer {
    ($module:ident) => {
        |data: &$module::ResponseData| {
            data.viewer
                .as_ref()
                .map(|viewer| matches!(viewer.role, $module::Role::STAFF))
        }
    };
}

pub(super) use staff_viewer;

/// The page's own address (path and query), to come back to after sign-in.
pub(super) fn here(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |path| path.as_str().to_owned())
}
