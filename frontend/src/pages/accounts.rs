//! Account pages: register, sign in, sign out, profile, password.
//!
//! Signing in stores the backend's session token in the session cookie and
//! hands the guest cart (if any) to the backend to merge into the
//! customer's cart.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use graphql_client::GraphQLQuery;
use minijinja::context;
use serde::Deserialize;

use super::{api_error_page, page};
use crate::AppState;
use crate::api::ApiError;
use crate::session::Visitor;

pub type ID = String;
pub type DateTime = String;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/accounts.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct Register;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/accounts.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct Login;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/accounts.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct Logout;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/accounts.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct Account;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/accounts.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct UpdateProfile;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/accounts.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct ChangePassword;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_form).post(register))
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/account", get(account).post(update_profile))
        .route(
            "/account/password",
            get(password_form).post(change_password),
        )
}

/// Where to go after signing in: only a path on this site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/account".to_owned(),
    }
}

/// userErrors as `field name -> message` (the last part of the field path).
fn field_errors<'a>(
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
fn form_error(error: &ApiError) -> Option<String> {
    match error {
        ApiError::GraphQL(errors) => errors
            .iter()
            .find(|(_, code)| code.as_deref() == Some("TOO_MANY_ATTEMPTS"))
            .map(|(message, _)| message.clone()),
        ApiError::Unavailable => None,
    }
}

fn merge_message(lines: &[(String, String)]) -> String {
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
pub struct RegisterForm {
    csrf: String,
    email: String,
    name: String,
    password: String,
}

async fn register_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "register.html",
        context! { title => "Create an account" },
    )
}

async fn register(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<RegisterForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let input = register::RegisterInput {
        email: form.email.clone(),
        name: form.name.clone(),
        password: form.password,
        cart_id: visitor.cart.clone(),
    };
    let payload = match state
        .api
        .run::<Register>(register::Variables { input }, None)
        .await
    {
        Ok(data) => data.register,
        Err(error) => return api_error_page(&state, &error),
    };
    match (payload.token, payload.user) {
        (Some(token), Some(user)) => {
            let lines: Vec<(String, String)> = payload
                .cart_merge
                .map(|merge| {
                    merge
                        .lines
                        .into_iter()
                        .map(|line| (format!("{:?}", line.outcome), line.book.title))
                        .collect()
                })
                .unwrap_or_default();
            visitor
                .redirect(
                    "/account",
                    &format!(
                        "Welcome, {}! Your account is ready.{}",
                        user.name,
                        merge_message(&lines)
                    ),
                )
                .session(Some(&token))
                .cart(None)
                .into_response()
        }
        _ => {
            let errors = field_errors(
                payload
                    .user_errors
                    .iter()
                    .map(|e| (e.field.as_slice(), e.message.as_str())),
            );
            page(
                &state,
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                "register.html",
                context! {
                    title => "Create an account",
                    errors,
                    email => form.email,
                    name => form.name,
                },
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: String,
    email: String,
    password: String,
    next: Option<String>,
}

async fn login_form(
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
            next => safe_next(params.next.as_deref()),
        },
    )
}

async fn login(
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
            let lines: Vec<(String, String)> = payload
                .cart_merge
                .map(|merge| {
                    merge
                        .lines
                        .into_iter()
                        .map(|line| (format!("{:?}", line.outcome), line.book.title))
                        .collect()
                })
                .unwrap_or_default();
            visitor
                .redirect(
                    &next,
                    &format!("Welcome back, {}.{}", user.name, merge_message(&lines)),
                )
                .session(Some(&token))
                .cart(None)
                .into_response()
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

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

async fn logout(
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

/// The viewer, or a redirect to sign in (and back here afterwards).
async fn viewer(
    state: &AppState,
    visitor: &Visitor,
    here: &str,
) -> Result<account::AccountViewer, Response> {
    if visitor.session.is_none() {
        return Err(Redirect::to(&format!("/login?next={here}")).into_response());
    }
    match state
        .api
        .run::<Account>(account::Variables, visitor.session.as_deref())
        .await
    {
        Ok(account::ResponseData {
            viewer: Some(viewer),
        }) => Ok(viewer),
        // The session ended (signed out elsewhere, expired): forget it.
        Ok(_) => Err(visitor
            .redirect(&format!("/login?next={here}"), "Please sign in again.")
            .session(None)
            .into_response()),
        Err(error) => Err(api_error_page(state, &error)),
    }
}

async fn account(State(state): State<AppState>, visitor: Visitor) -> Response {
    match viewer(&state, &visitor, "/account").await {
        Ok(viewer) => page(
            &state,
            &visitor,
            StatusCode::OK,
            "account.html",
            context! {
                title => "Your account",
                name => viewer.name.clone(),
                email => viewer.email.clone(),
                staff => format!("{:?}", viewer.role) == "STAFF",
            },
        ),
        Err(response) => response,
    }
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    csrf: String,
    name: String,
    email: String,
}

async fn update_profile(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ProfileForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let input = update_profile::UpdateProfileInput {
        name: Some(form.name.clone()),
        email: Some(form.email.clone()),
    };
    let payload = match state
        .api
        .run::<UpdateProfile>(
            update_profile::Variables { input },
            visitor.session.as_deref(),
        )
        .await
    {
        Ok(data) => data.update_profile,
        Err(ApiError::GraphQL(errors))
            if errors
                .iter()
                .any(|(_, code)| code.as_deref() == Some("UNAUTHENTICATED")) =>
        {
            return visitor
                .redirect("/login?next=/account", "Please sign in again.")
                .session(None)
                .into_response();
        }
        Err(error) => return api_error_page(&state, &error),
    };
    if payload.user_errors.is_empty() {
        return visitor
            .redirect("/account", "Your profile is saved.")
            .into_response();
    }
    let errors = field_errors(
        payload
            .user_errors
            .iter()
            .map(|e| (e.field.as_slice(), e.message.as_str())),
    );
    page(
        &state,
        &visitor,
        StatusCode::UNPROCESSABLE_ENTITY,
        "account.html",
        context! {
            title => "Your account",
            errors,
            name => form.name,
            email => form.email,
        },
    )
}

async fn password_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    match viewer(&state, &visitor, "/account/password").await {
        Ok(_) => page(
            &state,
            &visitor,
            StatusCode::OK,
            "password.html",
            context! { title => "Change your password" },
        ),
        Err(response) => response,
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let input = change_password::ChangePasswordInput {
        current_password: form.current_password,
        new_password: form.new_password,
    };
    let payload = match state
        .api
        .run::<ChangePassword>(
            change_password::Variables { input },
            visitor.session.as_deref(),
        )
        .await
    {
        Ok(data) => data.change_password,
        Err(error) => {
            if let Some(message) = form_error(&error) {
                return page(
                    &state,
                    &visitor,
                    StatusCode::TOO_MANY_REQUESTS,
                    "password.html",
                    context! {
                        title => "Change your password",
                        errors => BTreeMap::from([("form".to_owned(), message)]),
                    },
                );
            }
            return api_error_page(&state, &error);
        }
    };
    if payload.user_errors.is_empty() {
        return visitor
            .redirect(
                "/account",
                "Your password is changed. Other devices were signed out.",
            )
            .into_response();
    }
    let errors = field_errors(
        payload
            .user_errors
            .iter()
            .map(|e| (e.field.as_slice(), e.message.as_str())),
    );
    page(
        &state,
        &visitor,
        StatusCode::UNPROCESSABLE_ENTITY,
        "password.html",
        context! {
            title => "Change your password",
            errors,
        },
    )
}
