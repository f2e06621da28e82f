//! Verifying an account's email: `requestEmailVerification` (signed in;
//! a new link to the current address, or to the address a pending change
//! would move to; throttled per account) and `verifyEmail` (follows a
//! link, signed in or not; throttled per client address). A verified
//! address brings the guest orders placed with it into the account
//! (`db::account_tokens::verify_email`).

use async_graphql::{Context, Object, Result, SimpleObject};

use super::mail::{self, LinkToken};
use super::profile::request_email_change;
use super::user::User;
use crate::auth::{RequestAuth, Throttle, require_user, token_hash};
use crate::config::AccountsMailConfig;
use crate::db::{account_tokens, users};
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::user_errors::{UserError, UserErrorCode};

/// Longer than any token we make: not worth hashing.
const MAX_TOKEN_CHARS: usize = 64;

#[derive(SimpleObject, Default)]
pub struct RequestEmailVerificationPayload {
    /// A new link is on its way (earlier links of the same kind stop
    /// working).
    pub sent: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject, Default)]
pub struct VerifyEmailPayload {
    /// The account, its email verified (or changed to the new address).
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

/// The one answer for a link's token that is unknown, used, expired or no
/// longer applies (telling which would help a guesser).
pub(super) fn invalid_token() -> UserError {
    UserError::new(
        &["token"],
        UserErrorCode::InvalidToken,
        "this link is invalid or has expired; ask for a new one",
    )
}

/// The SHA-256 of a link's token, or `None` for one too long to be ours.
pub(super) fn link_token_hash(token: &str) -> Option<[u8; 32]> {
    (token.len() <= MAX_TOKEN_CHARS).then(|| token_hash(token))
}

#[derive(Default)]
pub struct EmailMutation;

#[Object]
impl EmailMutation {
    /// Mails the signed-in user a new verification link: to their address
    /// if it is unverified, else to the new address a pending email change
    /// waits for. `ALREADY_VERIFIED` when there is nothing to verify.
    async fn request_email_verification(
        &self,
        ctx: &Context<'_>,
    ) -> Result<RequestEmailVerificationPayload> {
        let viewer = require_user(ctx).await?;
        let config = ctx.data_unchecked::<AccountsMailConfig>();
        ctx.data_unchecked::<Throttle>()
            .verification_request(config, viewer.user_id)
            .await?;
        let mut conn = primary_connection(ctx).await?;
        let user = users::find(&mut conn, viewer.user_id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::Unauthenticated)?;
        if !user.email_verified() {
            let link = LinkToken::new(config.verification_ttl)
                .mailing(account_tokens::VERIFY_EMAIL, mail::verify_email);
            account_tokens::mail_token(&mut conn, user.id, link)
                .await
                .map_err(Error::from)?;
        } else if let Some(pending) = account_tokens::pending_email(&mut conn, user.id)
            .await
            .map_err(Error::from)?
        {
            request_email_change(&mut conn, config, &user, &pending).await?;
        } else {
            return Ok(RequestEmailVerificationPayload {
                sent: false,
                user_errors: vec![UserError::new(
                    &[],
                    UserErrorCode::AlreadyVerified,
                    "your email address is already verified",
                )],
            });
        }
        Ok(RequestEmailVerificationPayload {
            sent: true,
            user_errors: Vec::new(),
        })
    }

    /// Follows a verification link: the account's email is verified (or,
    /// for a change of email, the account moves to the new address and the
    /// old one is told), and guest orders placed with it join the account.
    /// Works signed in or not. `INVALID_TOKEN` for a link that is unknown,
    /// used, expired or superseded.
    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> Result<VerifyEmailPayload> {
        let auth = ctx.data_unchecked::<RequestAuth>();
        let throttle = ctx.data_unchecked::<Throttle>();
        let config = ctx.data_unchecked::<AccountsMailConfig>();
        throttle.token_use(config, &auth.client_address).await?;
        let refused = || VerifyEmailPayload {
            user: None,
            user_errors: vec![invalid_token()],
        };
        let Some(hash) = link_token_hash(&token) else {
            return Ok(refused());
        };
        let mut conn = primary_connection(ctx).await?;
        let verified = account_tokens::verify_email(&mut conn, &hash, mail::email_changed)
            .await
            .map_err(Error::from)?;
        let Some(user) = verified else {
            return Ok(refused());
        };
        throttle.token_used(config, &auth.client_address).await;
        Ok(VerifyEmailPayload {
            user: Some(user.into()),
            user_errors: Vec::new(),
        })
    }
}
