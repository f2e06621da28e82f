//! Creating an account: the form, and on success the new customer signed
//! in with their guest cart merged.
//!
//! Owns the register form only; it never re-renders the password.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::form_errors::form_again;
use super::operations::{Register, register};
use super::sign_in::{merge_message, signed_in};
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
        context! { title => "Create an account" },
    )
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
            let merged = merge_message!(payload.cart_merge);
            let welcome = format!("Welcome, {}! Your account is ready.{merged}", user.name);
            signed_in(&visitor, "/account", &token, &welcome)
        }
        _ => {
            let user_errors = payload.user_errors.iter();
            form_again(
                &state,
                &visitor,
                "register.html",
                user_errors.map(|e| (e.field.as_slice(), e.message.as_str())),
                context! { title => "Create an account", email => form.email, name => form.name },
            )
        }
    }
}
