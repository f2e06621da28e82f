//! Profile changes: `updateProfile` and `changePassword`, and the rules for
//! an account's email and name (which `register` uses too). Both are
//! throttled per account; both need the current password to change what
//! signs in (the password, the email), and guessing it is throttled like
//! signing in (`auth::Throttle`). A new email takes effect only once a link
//! mailed to it is followed (`email::verify_email`); until then it is the
//! account's pending email, and the current address is told. Whether the
//! new address has another account is never revealed here: its owner is
//! mailed a note instead of a link.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::mail::{self, LinkToken};
use super::user::User;
use crate::auth::{self, RequestAuth, Throttle, require_user};
use crate::config::AccountsMailConfig;
use crate::db::{account_tokens, users};
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::user_errors::{UserError, UserErrorCode};
use crate::graphql::validation::{NOT_ONE_LINE, is_one_line};

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
const MAX_NAME_CHARS: usize = 100;

#[derive(SimpleObject, Default)]
pub struct UserPayload {
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// A new email address needs `currentPassword` too. It becomes the
    /// user's `pendingEmail`, and takes effect once the link mailed to it
    /// is followed.
    pub email: Option<String>,
    pub name: Option<String>,
    /// Required to change the email (not the name).
    pub current_password: Option<String>,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

/// A plausible, normalised email address, or why not.
pub fn check_email(email: &str) -> Result<String, UserError> {
    let email = email.trim();
    let plausible = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if plausible {
        Ok(email.to_owned())
    } else {
        Err(UserError::invalid("email", "enter a valid email address"))
    }
}

pub fn check_name(name: &str) -> Result<String, UserError> {
    let name = name.trim();
    if name.is_empty() {
        Err(UserError::invalid("name", "enter your name"))
    } else if !is_one_line(name) {
        Err(UserError::invalid("name", NOT_ONE_LINE))
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(UserError::invalid(
            "name",
            format!("use at most {MAX_NAME_CHARS} characters"),
        ))
    } else {
        Ok(name.to_owned())
    }
}

/// Asks to move `user` to `new_email`, in one transaction: a
/// `change_email` token (superseding any earlier one) makes `new_email` the
/// pending email; the new address gets the link, or, when another account
/// has it, a note to its owner instead (the link is never mailed, so the
/// change can never happen); the current address is told.
pub(super) async fn request_email_change(
    conn: &mut diesel_async::AsyncPgConnection,
    config: &AccountsMailConfig,
    user: &users::User,
    new_email: &str,
) -> Result<(), Error> {
    let link = LinkToken::new(config.verification_ttl);
    let owner = users::find_by_email(conn, new_email)
        .await?
        .filter(|owner| owner.id != user.id);
    let to_new_address = match &owner {
        Some(owner) => mail::account_exists(owner, None),
        None => mail::verify_new_email(user, new_email, &link.token),
    };
    let token = account_tokens::NewAccountToken {
        user_id: user.id,
        purpose: account_tokens::CHANGE_EMAIL,
        email: new_email.to_owned(),
        token_hash: link.hash.to_vec(),
        expires_at: link.expires_at,
    };
    let messages = [
        to_new_address,
        mail::email_change_requested(user, new_email),
    ];
    account_tokens::issue_and_send(conn, &token, &messages).await?;
    Ok(())
}

#[derive(Default)]
pub struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// Changes the signed-in user's name, and asks to change their email:
    /// a new address becomes `pendingEmail` and is mailed a link; `email`
    /// changes once the link is followed, and the current address is told.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> Result<UserPayload> {
        let viewer = require_user(ctx).await?;
        let mut errors = Vec::new();
        let email = input
            .email
            .as_deref()
            .and_then(|email| check_email(email).map_err(|error| errors.push(error)).ok());
        let name = input
            .name
            .as_deref()
            .and_then(|name| check_name(name).map_err(|error| errors.push(error)).ok());
        if !errors.is_empty() {
            return Ok(UserPayload {
                user: None,
                user_errors: errors,
            });
        }
        let throttle = ctx.data_unchecked::<Throttle>();
        throttle.profile_change(viewer.user_id).await?;
        let mut conn = primary_connection(ctx).await?;
        let current = users::find(&mut conn, viewer.user_id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::Unauthenticated)?;
        let new_email = email.clone().filter(|email| !current.has_email(email));
        if new_email.is_some() {
            // Whoever holds a session must not take the account over by
            // moving its email (and with it, password resets) elsewhere.
            drop(conn);
            let auth = ctx.data_unchecked::<RequestAuth>();
            if let Some(error) =
                check_current_password(throttle, auth, &current, input.current_password).await?
            {
                return Ok(UserPayload {
                    user: None,
                    user_errors: vec![error],
                });
            }
            conn = primary_connection(ctx).await?;
        } else if email.is_some() {
            // The current address again (perhaps in another letter case):
            // it stays, and a pending change is called off.
            account_tokens::delete_unused(&mut conn, current.id, &[account_tokens::CHANGE_EMAIL])
                .await
                .map_err(Error::from)?;
        }
        let changes = users::UserChanges {
            email: email.filter(|_| new_email.is_none()),
            name,
            ..users::UserChanges::default()
        };
        let user = if changes.email.is_none() && changes.name.is_none() {
            current
        } else {
            users::update(&mut conn, current.id, &changes)
                .await
                .map_err(Error::from)?
                .unwrap_or(current)
        };
        if let Some(new_email) = &new_email {
            let config = ctx.data_unchecked::<AccountsMailConfig>();
            request_email_change(&mut conn, config, &user, new_email).await?;
        }
        Ok(UserPayload {
            user: Some(user.into()),
            user_errors: Vec::new(),
        })
    }

    /// Changes the signed-in user's password, ends all their other
    /// sessions (this one stays signed in) and tells them by email.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> Result<UserPayload> {
        let viewer = require_user(ctx).await?;
        let auth = ctx.data_unchecked::<RequestAuth>();
        let throttle = ctx.data_unchecked::<Throttle>();
        throttle.profile_change(viewer.user_id).await?;
        let user = {
            let mut conn = primary_connection(ctx).await?;
            users::find(&mut conn, viewer.user_id)
                .await
                .map_err(Error::from)?
                .ok_or(Error::Unauthenticated)?
        };
        if let Err(message) = auth::check_new_password(&input.new_password) {
            return Ok(UserPayload {
                user: None,
                user_errors: vec![UserError::invalid("newPassword", message)],
            });
        }
        if let Some(error) =
            check_current_password(throttle, auth, &user, Some(input.current_password)).await?
        {
            return Ok(UserPayload {
                user: None,
                user_errors: vec![error],
            });
        }
        let password_hash = auth::hash_password(input.new_password).await?;
        let mut conn = primary_connection(ctx).await?;
        let updated = users::change_password(
            &mut conn,
            user.id,
            &password_hash,
            Some(viewer.session_id),
            mail::password_changed,
        )
        .await
        .map_err(Error::from)?;
        Ok(UserPayload {
            user: updated.map(User::from),
            user_errors: Vec::new(),
        })
    }
}

/// Checks the signed-in user's current password, throttled like signing in
/// (it is a guess at it): `Some(userError)` when it is missing or wrong.
async fn check_current_password(
    throttle: &Throttle,
    auth: &RequestAuth,
    user: &users::User,
    current_password: Option<String>,
) -> Result<Option<UserError>, Error> {
    let Some(current_password) = current_password.filter(|password| !password.is_empty()) else {
        return Ok(Some(UserError::invalid(
            "currentPassword",
            "enter your current password to make this change",
        )));
    };
    throttle.attempt(&user.email, &auth.client_address).await?;
    let matches = current_password.chars().count() <= auth::MAX_PASSWORD_CHARS
        && auth::verify_password(current_password, Some(user.password_hash.clone())).await?;
    if !matches {
        return Ok(Some(UserError::new(
            &["input", "currentPassword"],
            UserErrorCode::InvalidCredentials,
            "the current password is incorrect",
        )));
    }
    throttle.succeeded(&user.email, &auth.client_address).await;
    Ok(None)
}
