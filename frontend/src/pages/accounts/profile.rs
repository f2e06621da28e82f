//! The signed-in customer's own pages: the profile (name, email) and the
//! password.
//!
//! Owns sending a signed-out visitor (or one whose session ended) to sign
//! in and back; it never shows another customer's details (the backend
//! answers for the session's customer only).

use std::collections::BTreeMap;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::form_errors::{form_again, form_error};
use super::operations::{
    Account, ChangePassword, UpdateProfile, account, change_password, update_profile,
};
use crate::api::ApiError;
use crate::pages::page::{api_error_page, page};
use crate::session::Visitor;
use crate::state::AppState;

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

pub(super) async fn account(State(state): State<AppState>, visitor: Visitor) -> Response {
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
                email_verified => viewer.email_verified,
                pending_email => viewer.pending_email.clone(),
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
    /// Needed only when the email changes.
    #[serde(default)]
    current_password: String,
}

pub(super) async fn update_profile(
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
        current_password: Some(form.current_password).filter(|password| !password.is_empty()),
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
        Err(error) => {
            if let Some(message) = form_error(&error) {
                return page(
                    &state,
                    &visitor,
                    StatusCode::TOO_MANY_REQUESTS,
                    "account.html",
                    context! {
                        title => "Your account", name => form.name, email => form.email,
                        errors => BTreeMap::from([("form".to_owned(), message)]),
                    },
                );
            }
            return api_error_page(&state, &error);
        }
    };
    if payload.user_errors.is_empty() {
        let pending = payload
            .user
            .and_then(|user| user.pending_email)
            .filter(|pending| pending.eq_ignore_ascii_case(form.email.trim()));
        let message = match pending {
            // The address changes only once the new one is verified.
            Some(pending) => format!(
                "Your profile is saved. We sent a link to {pending}: your email address changes when you open it."
            ),
            None => "Your profile is saved.".to_owned(),
        };
        return visitor.redirect("/account", &message).into_response();
    }
    let user_errors = payload.user_errors.iter();
    form_again(
        &state,
        &visitor,
        "account.html",
        user_errors.map(|e| (e.field.as_slice(), e.message.as_str())),
        context! { title => "Your account", name => form.name, email => form.email },
    )
}

pub(super) async fn password_form(State(state): State<AppState>, visitor: Visitor) -> Response {
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

pub(super) async fn change_password(
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
    let user_errors = payload.user_errors.iter();
    form_again(
        &state,
        &visitor,
        "password.html",
        user_errors.map(|e| (e.field.as_slice(), e.message.as_str())),
        context! { title => "Change your password" },
    )
}
