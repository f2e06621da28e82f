//! A forgotten password: asking for a reset link, and the page that link
//! opens to choose a new password.
//!
//! The request's answer is the same page whether or not an account uses
//! the address (the backend mails only an owner), so the form tells no
//! one who has an account. The reset link's GET shows the form and changes
//! nothing; its POST uses the token up. A reset ends every session of the
//! account, so the visitor's own session cookie goes too when it was one of
//! them.
//!
//! Owns these pages only; it never shows a password or a token again
//! outside the reset form's hidden field.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::emailed_links::{Link, TokenParam, link_invalid, plausible, private, token_page};
use super::form_errors::{field_errors, form_again, form_error};
use super::operations::{
    Account, RequestPasswordReset, ResetPassword, account, request_password_reset, reset_password,
};
use crate::pages::page::{api_error_page, page};
use crate::session::Visitor;
use crate::state::AppState;

pub(super) async fn forgot_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "forgot_password.html",
        context! { title => "Forgot your password?" },
    )
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    csrf: String,
    email: String,
}

pub(super) async fn forgot(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ForgotForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let variables = request_password_reset::Variables {
        email: form.email.clone(),
    };
    let title = "Forgot your password?";
    let payload = match state.api.run::<RequestPasswordReset>(variables, None).await {
        Ok(data) => data.request_password_reset,
        Err(error) => {
            return match form_error(&error) {
                Some(message) => page(
                    &state,
                    &visitor,
                    StatusCode::TOO_MANY_REQUESTS,
                    "forgot_password.html",
                    context! {
                        title, email => form.email,
                        errors => BTreeMap::from([("form".to_owned(), message)]),
                    },
                ),
                None => api_error_page(&state, &error),
            };
        }
    };
    if payload.user_errors.is_empty() {
        // Post/redirect/get: a reload does not ask for another link.
        return Redirect::to("/forgot-password/sent").into_response();
    }
    // Only the address's form (never whether it has an account) is judged.
    let user_errors = payload.user_errors.iter();
    form_again(
        &state,
        &visitor,
        "forgot_password.html",
        user_errors.map(|e| (e.field.as_slice(), e.message.as_str())),
        context! { title, email => form.email },
    )
}

pub(super) async fn forgot_sent(State(state): State<AppState>, visitor: Visitor) -> Response {
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "forgot_password_sent.html",
        context! { title => "Check your email" },
    )
}

/// `GET /reset-password?token=…`: the form, the token in a hidden field.
/// Nothing is used up here (mail scanners open links).
pub(super) async fn reset_form(
    State(state): State<AppState>,
    visitor: Visitor,
    params: Result<Query<TokenParam>, QueryRejection>,
) -> Response {
    token_page(
        &state,
        &visitor,
        params,
        Link::PasswordReset,
        "reset_password.html",
        "Choose a new password",
    )
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    csrf: String,
    #[serde(default)]
    token: String,
    new_password: String,
    new_password_again: String,
}

pub(super) async fn reset(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ResetForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    if !plausible(&form.token) {
        return link_invalid(&state, &visitor, Link::PasswordReset);
    }
    let title = "Choose a new password";
    if form.new_password != form.new_password_again {
        let errors = field_errors([(
            ["newPasswordAgain".to_owned()].as_slice(),
            "The two passwords are not the same.",
        )]);
        return private(page(
            &state,
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            "reset_password.html",
            context! { title, token => form.token, errors },
        ));
    }
    let variables = reset_password::Variables {
        token: form.token.clone(),
        new_password: form.new_password,
    };
    let payload = match state.api.run::<ResetPassword>(variables, None).await {
        Ok(data) => data.reset_password,
        Err(error) => {
            return match form_error(&error) {
                Some(message) => private(page(
                    &state,
                    &visitor,
                    StatusCode::TOO_MANY_REQUESTS,
                    "reset_password.html",
                    context! {
                        title, token => form.token,
                        errors => BTreeMap::from([("form".to_owned(), message)]),
                    },
                )),
                None => api_error_page(&state, &error),
            };
        }
    };
    let invalid_token = payload
        .user_errors
        .iter()
        .any(|error| matches!(error.code, reset_password::UserErrorCode::INVALID_TOKEN));
    if invalid_token {
        return link_invalid(&state, &visitor, Link::PasswordReset);
    }
    if payload.reset && payload.user_errors.is_empty() {
        let message = "Your password is changed, and every other session was signed out. Sign in with your new password.";
        let redirect = visitor.redirect("/login", message);
        // Every session of the account ended: if this browser's was one,
        // its cookie goes too (another account's stays signed in).
        return if session_ended(&state, &visitor).await {
            redirect.session(None).into_response()
        } else {
            redirect.into_response()
        };
    }
    let user_errors = payload.user_errors.iter();
    private(form_again(
        &state,
        &visitor,
        "reset_password.html",
        user_errors.map(|e| (e.field.as_slice(), e.message.as_str())),
        context! { title, token => form.token },
    ))
}

/// Whether the visitor had a session that is no longer valid.
async fn session_ended(state: &AppState, visitor: &Visitor) -> bool {
    let Some(session) = visitor.session.as_deref() else {
        return false;
    };
    matches!(
        state
            .api
            .run::<Account>(account::Variables, Some(session))
            .await,
        Ok(account::ResponseData { viewer: None })
    )
}
