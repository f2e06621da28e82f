//! Account pages: register, sign in and out, the profile and the password,
//! email verification and the forgotten password.
//!
//! Signing in stores the backend's session token in the session cookie and
//! hands the guest cart (if any) to the backend to merge into the
//! customer's cart; registering never signs in. These pages never see a
//! password again after passing it on, and never put one back into a page.
//!
//! This file only routes; the pages live in the modules below.

mod email_verification;
mod emailed_links;
mod form_errors;
mod operations;
mod password_reset;
mod profile;
mod register;
mod sign_in;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/register",
            get(register::register_form).post(register::register),
        )
        .route("/login", get(sign_in::login_form).post(sign_in::login))
        .route("/logout", post(sign_in::logout))
        .route(
            "/account",
            get(profile::account).post(profile::update_profile),
        )
        .route(
            "/account/password",
            get(profile::password_form).post(profile::change_password),
        )
        .route(
            "/account/verify-email/resend",
            post(email_verification::resend),
        )
        .route(
            "/verify-email",
            get(email_verification::verify_form).post(email_verification::verify),
        )
        .route(
            "/forgot-password",
            get(password_reset::forgot_form).post(password_reset::forgot),
        )
        .route("/forgot-password/sent", get(password_reset::forgot_sent))
        .route(
            "/reset-password",
            get(password_reset::reset_form).post(password_reset::reset),
        )
}
