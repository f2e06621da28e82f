//! Creating an account: the form, and on success the sign-in form with
//! "check your email".
//!
//! Registering never signs in: the answer for an address that already has
//! an account must look exactly like the answer for a new one (the backend
//! mails the owner instead), and only signing in with the password proves
//! whose account it is. The guest cart cookie stays, so the cart merges at
//! sign-in as usual. Owns the register form only; it never re-renders the
//! password.

use std::collections::BTreeMap;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::form_errors::{form_again, form_error};
use super::operations::{Register, register};
use crate::pages::page::{api_error_page, page};
use crate::session::Visitor;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    csrf: String,
    email: String,
    name: String,
    password: String,
}

pub(super) async fn register_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "register.html",
        context! {
            title => "Create an account",
            description => "Create a Bookstore account to check out faster and follow your orders.",
        },
    )
}

/// The longest address (in bytes) the message names: the message travels
/// in the flash cookie, which holds a few hundred bytes at most.
const MAX_NAMED_ADDRESS_BYTES: usize = 120;

/// What a registration accepted by the backend says, whether the address
/// was new or not.
pub(super) fn check_your_email(email: &str) -> String {
    let email = email.trim();
    if email.len() <= MAX_NAMED_ADDRESS_BYTES {
        format!("Check your email: we sent a link to verify {email}. You can sign in now.")
    } else {
        "Check your email: we sent a link to verify your address. You can sign in now.".to_owned()
    }
}

pub(super) async fn register(
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
    };
    let typed = context! {
        title => "Create an account", email => form.email.clone(), name => form.name,
    };
    let payload = match state
        .api
        .run::<Register>(register::Variables { input }, None)
        .await
    {
        Ok(data) => data.register,
        Err(error) => {
            return match form_error(&error) {
                Some(message) => page(
                    &state,
                    &visitor,
                    StatusCode::TOO_MANY_REQUESTS,
                    "register.html",
                    context! { errors => BTreeMap::from([("form".to_owned(), message)]), ..typed },
                ),
                None => api_error_page(&state, &error),
            };
        }
    };
    if payload.accepted && payload.user_errors.is_empty() {
        // Not signed in (see the module docs); the guest cart cookie stays.
        return visitor
            .redirect("/login", &check_your_email(&form.email))
            .into_response();
    }
    if payload.user_errors.is_empty() {
        tracing::error!("register answered neither accepted nor userErrors");
        let message = "That did not work. Please try again.".to_owned();
        return page(
            &state,
            &visitor,
            StatusCode::INTERNAL_SERVER_ERROR,
            "register.html",
            context! { errors => BTreeMap::from([("form".to_owned(), message)]), ..typed },
        );
    }
    let user_errors = payload.user_errors.iter();
    form_again(
        &state,
        &visitor,
        "register.html",
        user_errors.map(|e| (e.field.as_slice(), e.message.as_str())),
        typed,
    )
}
