//! Verifying the email address: the page the emailed link opens (one
//! button), using the token, and asking for a new link from the account
//! page.
//!
//! The link's GET changes nothing (mail scanners open links); the button's
//! POST uses the token up. The same link verifies a new address after an
//! email change (the backend knows which address it was sent to).
//!
//! Owns these pages only; it never puts the token anywhere but the form's
//! hidden field.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::emailed_links::{Link, TokenParam, link_invalid, plausible, private, token_page};
use super::form_errors::form_error;
use super::operations::{
    RequestEmailVerification, VerifyEmail, request_email_verification, verify_email,
};
use crate::pages::messages::{flash_of, sentence};
use crate::pages::page::{api_error_page, has_code, page};
use crate::session::Visitor;
use crate::state::AppState;

/// `GET /verify-email?token=…`: one button, the token in a hidden field.
pub(super) async fn verify_form(
    State(state): State<AppState>,
    visitor: Visitor,
    params: Result<Query<TokenParam>, QueryRejection>,
) -> Response {
    token_page(
        &state,
        &visitor,
        params,
        Link::Verification,
        "verify_email.html",
        "Confirm your email address",
    )
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    csrf: String,
    #[serde(default)]
    token: String,
}

pub(super) async fn verify(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<VerifyForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    if !plausible(&form.token) {
        return link_invalid(&state, &visitor, Link::Verification);
    }
    let variables = verify_email::Variables { token: form.token };
    let payload = match state
        .api
        .run::<VerifyEmail>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => data.verify_email,
        Err(error) => {
            return match form_error(&error) {
                // Throttled: the token is still good; back to its page later.
                Some(message) => private(page(
                    &state,
                    &visitor,
                    StatusCode::TOO_MANY_REQUESTS,
                    "error.html",
                    context! { title => "Please wait a moment", message => sentence(&message) },
                )),
                None => api_error_page(&state, &error),
            };
        }
    };
    let already = payload
        .user_errors
        .iter()
        .any(|error| matches!(error.code, verify_email::UserErrorCode::ALREADY_VERIFIED));
    let invalid = payload
        .user_errors
        .iter()
        .any(|error| matches!(error.code, verify_email::UserErrorCode::INVALID_TOKEN));
    let message = if payload.user_errors.is_empty() {
        "Your email address is verified."
    } else if already {
        "Your email address is already verified."
    } else if invalid {
        return link_invalid(&state, &visitor, Link::Verification);
    } else {
        // Such as a new address another account took meanwhile.
        let message = flash_of(payload.user_errors.iter().map(|e| e.message.as_str()));
        return private(page(
            &state,
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            "error.html",
            context! { title => "That did not work", message },
        ));
    };
    if visitor.session.is_some() {
        visitor.redirect("/account", message).into_response()
    } else {
        let message = format!("{message} You can sign in now.");
        visitor.redirect("/login", &message).into_response()
    }
}

#[derive(Debug, Deserialize)]
pub struct ResendForm {
    csrf: String,
}

/// `POST /account/verify-email/resend`: a new link, answered on the
/// account page.
pub(super) async fn resend(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ResendForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    if visitor.session.is_none() {
        return Redirect::to("/login?next=/account").into_response();
    }
    let payload = match state
        .api
        .run::<RequestEmailVerification>(
            request_email_verification::Variables,
            visitor.session.as_deref(),
        )
        .await
    {
        Ok(data) => data.request_email_verification,
        Err(error) if has_code(&error, "UNAUTHENTICATED") => {
            return visitor
                .redirect("/login?next=/account", "Please sign in again.")
                .session(None)
                .into_response();
        }
        Err(error) => {
            return match form_error(&error) {
                Some(message) => visitor
                    .redirect("/account", &sentence(&message))
                    .into_response(),
                None => api_error_page(&state, &error),
            };
        }
    };
    let already = payload.user_errors.iter().any(|error| {
        matches!(
            error.code,
            request_email_verification::UserErrorCode::ALREADY_VERIFIED
        )
    });
    let message = if already {
        "Your email address is already verified.".to_owned()
    } else if !payload.user_errors.is_empty() {
        flash_of(payload.user_errors.iter().map(|e| e.message.as_str()))
    } else if payload.sent {
        "We sent you a new link. It can take a minute to arrive; check your spam folder too."
            .to_owned()
    } else {
        "We sent you a link a moment ago: please check your email (and your spam folder)."
            .to_owned()
    };
    visitor.redirect("/account", &message).into_response()
}
