//! A forgotten password: `requestPasswordReset(email)` mails a single-use
//! link (the same answer whether or not the email has an account;
//! throttled per client address and per email) and `resetPassword(token,
//! newPassword)` follows it: the new password is set, every session of the
//! account ends, and the account is told (`db::account_tokens::
//! reset_password`). Using a link is throttled per client address.

use async_graphql::{Context, Object, Result, SimpleObject};

use super::email::{invalid_token, link_token_hash};
use super::mail::{self, LinkToken};
use super::profile::check_email;
use crate::auth::{self, RequestAuth, Throttle};
use crate::config::AccountsMailConfig;
use crate::db::{account_tokens, users};
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::user_errors::{UserError, UserErrorCode};

#[derive(SimpleObject, Default)]
pub struct RequestPasswordResetPayload {
    /// The email was well formed: "if it has an account, a link is on its
    /// way". The same whether or not it has one.
    pub accepted: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject, Default)]
pub struct ResetPasswordPayload {
    /// The password was changed and every session of the account ended:
    /// sign in with the new password.
    pub reset: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct PasswordResetMutation;

#[Object]
impl PasswordResetMutation {
    /// Mails a password reset link (valid one hour) if `email` has an
    /// account. The answer is the same whether or not it has one.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> Result<RequestPasswordResetPayload> {
        let email = match check_email(&email) {
            Ok(email) => email,
            Err(error) => {
                return Ok(RequestPasswordResetPayload {
                    accepted: false,
                    user_errors: vec![UserError::new(&["email"], error.code, error.message)],
                });
            }
        };
        let auth = ctx.data_unchecked::<RequestAuth>();
        let config = ctx.data_unchecked::<AccountsMailConfig>();
        ctx.data_unchecked::<Throttle>()
            .password_reset_request(config, &email, &auth.client_address)
            .await?;
        let mut conn = primary_connection(ctx).await?;
        if let Some(user) = users::find_by_email(&mut conn, &email)
            .await
            .map_err(Error::from)?
        {
            let link = LinkToken::new(config.reset_ttl)
                .mailing(account_tokens::RESET_PASSWORD, mail::password_reset);
            account_tokens::mail_token(&mut conn, user.id, link)
                .await
                .map_err(Error::from)?;
        }
        Ok(RequestPasswordResetPayload {
            accepted: true,
            user_errors: Vec::new(),
        })
    }

    /// Follows a password reset link: sets `newPassword` (8 to 128
    /// characters), ends every session of the account, marks its email
    /// verified (the link proved it) and tells the account holder.
    /// `INVALID_TOKEN` for a link that is unknown, used, expired or
    /// superseded: nothing changes then.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> Result<ResetPasswordPayload> {
        let auth = ctx.data_unchecked::<RequestAuth>();
        let throttle = ctx.data_unchecked::<Throttle>();
        let config = ctx.data_unchecked::<AccountsMailConfig>();
        throttle.token_use(config, &auth.client_address).await?;
        let mut errors = Vec::new();
        if let Err(message) = auth::check_new_password(&new_password) {
            errors.push(UserError::new(
                &["newPassword"],
                UserErrorCode::Invalid,
                message,
            ));
        }
        let live = match link_token_hash(&token) {
            // A look first, so a dead link costs no hashing.
            Some(hash) => {
                let mut conn = primary_connection(ctx).await?;
                account_tokens::find_live(&mut conn, &hash, &[account_tokens::RESET_PASSWORD])
                    .await
                    .map_err(Error::from)?
                    .map(|_| hash)
            }
            None => None,
        };
        if live.is_none() {
            errors.push(invalid_token());
        }
        let (Some(hash), true) = (live, errors.is_empty()) else {
            return Ok(ResetPasswordPayload {
                reset: false,
                user_errors: errors,
            });
        };
        let password_hash = auth::hash_password(new_password).await?;
        let mut conn = primary_connection(ctx).await?;
        let reset = account_tokens::reset_password(
            &mut conn,
            &hash,
            &password_hash,
            mail::password_changed,
        )
        .await
        .map_err(Error::from)?;
        if reset.is_none() {
            // Used by a concurrent request meanwhile.
            return Ok(ResetPasswordPayload {
                reset: false,
                user_errors: vec![invalid_token()],
            });
        }
        throttle.token_used(config, &auth.client_address).await;
        Ok(ResetPasswordPayload {
            reset: true,
            user_errors: Vec::new(),
        })
    }
}
