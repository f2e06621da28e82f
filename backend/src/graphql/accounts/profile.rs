//! Profile changes: `updateProfile` and `changePassword`, and the rules for
//! an account's email and name (which `register` uses too). Both are
//! throttled per account; both need the current password to change what
//! signs in (the password, the email), and guessing it is throttled like
//! signing in (`auth::Throttle`).

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::user::User;
use crate::auth::{self, RequestAuth, Sessions, Throttle, require_user};
use crate::db::users;
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
    /// A new email address needs `currentPassword` too.
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

pub fn taken_email() -> UserError {
    UserError::new(
        &["input", "email"],
        UserErrorCode::Taken,
        "an account with this email already exists",
    )
}

#[derive(Default)]
pub struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// Changes the signed-in user's name and/or email.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> Result<UserPayload> {
        let viewer = require_user(ctx).await?;
        let mut errors = Vec::new();
        let changes = users::UserChanges {
            email: input
                .email
                .as_deref()
                .and_then(|email| check_email(email).map_err(|error| errors.push(error)).ok()),
            name: input
                .name
                .as_deref()
                .and_then(|name| check_name(name).map_err(|error| errors.push(error)).ok()),
            ..users::UserChanges::default()
        };
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
        let email_changes = changes
            .email
            .as_deref()
            .is_some_and(|email| !email.eq_ignore_ascii_case(&current.email));
        if email_changes {
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
        }
        if changes.email.is_none() && changes.name.is_none() {
            return Ok(UserPayload {
                user: Some(current.into()),
                user_errors: Vec::new(),
            });
        }
        Ok(
            match users::update(&mut conn, viewer.user_id, &changes)
                .await
                .map_err(Error::from)?
            {
                Some(user) => UserPayload {
                    user: Some(user.into()),
                    user_errors: Vec::new(),
                },
                None => UserPayload {
                    user: None,
                    user_errors: vec![taken_email()],
                },
            },
        )
    }

    /// Changes the signed-in user's password and ends all their other
    /// sessions (this one stays signed in).
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
        let changes = users::UserChanges {
            password_hash: Some(password_hash),
            ..users::UserChanges::default()
        };
        let updated = {
            let mut conn = primary_connection(ctx).await?;
            users::update(&mut conn, user.id, &changes)
                .await
                .map_err(Error::from)?
        };
        ctx.data_unchecked::<Sessions>()
            .end_others(user.id, Some(viewer.session_id))
            .await?;
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
