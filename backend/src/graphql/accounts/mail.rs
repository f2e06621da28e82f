//! The messages the account flows queue (one function per template in
//! `backend/templates/mail/`), and the tokens their links carry. The data
//! is what the template shows: the account holder's name, the link's token
//! (the template builds the storefront URL around it), the new address of
//! an email change. Never queues anything itself: `db::account_tokens` and
//! `db::users` queue these inside the transaction of the change.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::auth::{new_token, token_hash};
use crate::db::account_tokens::Mailing;
use crate::db::outbox::NewMessage;
use crate::db::users::User;

pub const VERIFY_EMAIL: &str = "verify_email";
pub const VERIFY_NEW_EMAIL: &str = "verify_new_email";
pub const EMAIL_CHANGE_REQUESTED: &str = "email_change_requested";
pub const EMAIL_CHANGED: &str = "email_changed";
pub const ACCOUNT_EXISTS: &str = "account_exists";
pub const PASSWORD_RESET: &str = "password_reset";
pub const PASSWORD_CHANGED: &str = "password_changed";

/// A new link's token: the token (for the mail only) and its hash (for
/// the database only).
pub struct LinkToken {
    pub token: String,
    pub hash: [u8; 32],
    pub expires_at: DateTime<Utc>,
}

impl LinkToken {
    pub fn new(valid_for: std::time::Duration) -> Self {
        let token = new_token();
        let hash = token_hash(&token);
        Self {
            token,
            hash,
            expires_at: Utc::now() + valid_for,
        }
    }

    /// The token for `purpose`, mailed in the message `make(account,
    /// token)` once the account is known.
    pub fn mailing(
        self,
        purpose: &'static str,
        make: impl FnOnce(&User, &str) -> NewMessage + Send,
    ) -> Mailing<impl FnOnce(&User) -> NewMessage + Send> {
        let token = self.token;
        Mailing {
            purpose,
            token_hash: self.hash,
            expires_at: self.expires_at,
            message: move |user: &User| make(user, &token),
        }
    }
}

fn message(kind: &'static str, recipient: &str, payload: serde_json::Value) -> NewMessage {
    NewMessage {
        kind,
        recipient: recipient.to_owned(),
        payload,
        dedup_key: None,
    }
}

/// To a new account's address: the link that verifies it.
pub fn verify_email(user: &User, token: &str) -> NewMessage {
    message(
        VERIFY_EMAIL,
        &user.email,
        json!({"name": user.name, "token": token}),
    )
}

/// To the address an account asks to move to: the link that moves it.
pub fn verify_new_email(user: &User, new_email: &str, token: &str) -> NewMessage {
    message(
        VERIFY_NEW_EMAIL,
        new_email,
        json!({"name": user.name, "new_email": new_email, "token": token}),
    )
}

/// To the current address: someone asked to move the account elsewhere.
pub fn email_change_requested(user: &User, new_email: &str) -> NewMessage {
    message(
        EMAIL_CHANGE_REQUESTED,
        &user.email,
        json!({"name": user.name, "new_email": new_email}),
    )
}

/// To the old address (`user` as it was): the account moved.
pub fn email_changed(user: &User, new_email: &str) -> NewMessage {
    message(
        EMAIL_CHANGED,
        &user.email,
        json!({"name": user.name, "new_email": new_email}),
    )
}

/// To the owner of an address someone tried to register or move another
/// account to: they have an account already; with a reset link when
/// `token` is given (else the template links to "forgot password").
pub fn account_exists(owner: &User, token: Option<&str>) -> NewMessage {
    message(
        ACCOUNT_EXISTS,
        &owner.email,
        json!({"name": owner.name, "token": token}),
    )
}

/// The link that sets a new password.
pub fn password_reset(user: &User, token: &str) -> NewMessage {
    message(
        PASSWORD_RESET,
        &user.email,
        json!({"name": user.name, "token": token}),
    )
}

/// The password changed (by a reset link, or `changePassword`).
pub fn password_changed(user: &User) -> NewMessage {
    message(PASSWORD_CHANGED, &user.email, json!({"name": user.name}))
}
