//! Registering, signing in and out: `register` (throttled per client
//! address; never signs in, and answers the same whether or not the email
//! has an account), `login` (throttled per account and per client address;
//! a success is not held against the client), `logout`: all by
//! `auth::Throttle`. Signing in with a guest cart merges it into the
//! customer's cart (`carts::merge`).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::mail::{self, LinkToken};
use super::profile::{MAX_EMAIL_CHARS, check_email, check_name};
use super::user::User;
use crate::auth::{self, RequestAuth, Sessions, Throttle};
use crate::config::AccountsMailConfig;
use crate::db::{account_tokens, users};
use crate::error::Error;
use crate::graphql::carts::merge::{CartMerge, merge_guest_cart};
use crate::graphql::connections::primary_connection;
use crate::graphql::user_errors::{UserError, UserErrorCode};

/// The result of `login`: on success a session token (send it as
/// `Authorization: Bearer <token>`) and the user.
#[derive(SimpleObject, Default)]
pub struct AuthPayload {
    pub token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub user: Option<User>,
    /// When a guest cart was passed: how it joined the customer's cart.
    pub cart_merge: Option<CartMerge>,
    pub user_errors: Vec<UserError>,
}

impl AuthPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self {
            user_errors: errors,
            ..Self::default()
        }
    }
}

/// The result of `register`.
#[derive(SimpleObject, Default)]
pub struct RegisterPayload {
    /// The input was valid: "check your email". The same whether the email
    /// was new (a verification link is on its way) or has an account (its
    /// owner is told, with a password reset link).
    pub accepted: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Whether a session was ended (false when the request had none).
    pub logged_out: bool,
}

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    pub name: String,
    /// 8 to 128 characters.
    pub password: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// A guest cart to merge into the customer's cart.
    pub cart_id: Option<ID>,
}

fn invalid_credentials() -> UserError {
    UserError::new(
        &[],
        UserErrorCode::InvalidCredentials,
        "the email or password is incorrect",
    )
}

#[derive(Default)]
pub struct SignInMutation;

#[Object]
impl SignInMutation {
    /// Creates a customer account, unverified, and mails its address a
    /// link that verifies it; does not sign in (`login` does, verified or
    /// not). If the email already has an account (in any letter case), its
    /// owner is mailed instead (someone tried to register; here is a reset
    /// link) and nothing is created. The answer, and about the time it
    /// takes, are the same either way.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<RegisterPayload> {
        let mut errors = Vec::new();
        let email = check_email(&input.email)
            .map_err(|error| errors.push(error))
            .ok();
        let name = check_name(&input.name)
            .map_err(|error| errors.push(error))
            .ok();
        if let Err(message) = auth::check_new_password(&input.password) {
            errors.push(UserError::invalid("password", message));
        }
        let (Some(email), Some(name), true) = (email, name, errors.is_empty()) else {
            return Ok(RegisterPayload {
                accepted: false,
                user_errors: errors,
            });
        };
        let auth = ctx.data_unchecked::<RequestAuth>();
        let throttle = ctx.data_unchecked::<Throttle>();
        let config = ctx.data_unchecked::<AccountsMailConfig>();
        throttle.register(&auth.client_address).await?;
        let mail_owner = throttle.may_mail_account_owner(config, &email).await;
        // Hashed whether or not the account is created: the time taken
        // tells nothing.
        let password_hash = auth::hash_password(input.password).await?;
        let new_user = users::NewUser {
            email,
            name,
            password_hash,
            role: users::ROLE_CUSTOMER.to_owned(),
        };
        let verify = LinkToken::new(config.verification_ttl)
            .mailing(account_tokens::VERIFY_EMAIL, mail::verify_email);
        let tell_owner = mail_owner.then(|| {
            LinkToken::new(config.reset_ttl)
                .mailing(account_tokens::RESET_PASSWORD, |owner, token| {
                    mail::account_exists(owner, Some(token))
                })
        });
        let mut conn = primary_connection(ctx).await?;
        // Guest orders placed with this email stay guest orders until the
        // link is followed: nothing proves yet that the email is theirs.
        account_tokens::register(&mut conn, &new_user, verify, tell_owner)
            .await
            .map_err(Error::from)?;
        Ok(RegisterPayload {
            accepted: true,
            user_errors: Vec::new(),
        })
    }

    /// Signs in. The same error, and about the same time, whether the email
    /// is unknown or the password wrong; too many attempts (per account or
    /// per client address, each alias counting) get `TOO_MANY_ATTEMPTS`.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let auth = ctx.data_unchecked::<RequestAuth>();
        let throttle = ctx.data_unchecked::<Throttle>();
        throttle.attempt(&input.email, &auth.client_address).await?;
        if input.password.chars().count() > auth::MAX_PASSWORD_CHARS
            || input.email.chars().count() > MAX_EMAIL_CHARS
        {
            // No account has such a password: no need to hash it.
            return Ok(AuthPayload::failed(vec![invalid_credentials()]));
        }
        let user = {
            let mut conn = primary_connection(ctx).await?;
            users::find_by_email(&mut conn, input.email.trim())
                .await
                .map_err(Error::from)?
        };
        let hash = user.as_ref().map(|user| user.password_hash.clone());
        let matches = auth::verify_password(input.password, hash).await?;
        match user {
            Some(user) if matches => {
                throttle.succeeded(&input.email, &auth.client_address).await;
                sign_in(ctx, user, input.cart_id.as_ref()).await
            }
            _ => Ok(AuthPayload::failed(vec![invalid_credentials()])),
        }
    }

    /// Ends the request's session, everywhere at once.
    async fn logout(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        let auth = ctx.data_unchecked::<RequestAuth>();
        let sessions = ctx.data_unchecked::<Sessions>();
        let logged_out = match auth.viewer(sessions).await? {
            Some(viewer) => sessions.end(viewer.session_id).await?,
            None => false,
        };
        Ok(LogoutPayload { logged_out })
    }
}

async fn sign_in(
    ctx: &Context<'_>,
    user: users::User,
    guest_cart: Option<&ID>,
) -> Result<AuthPayload> {
    let auth = ctx.data_unchecked::<RequestAuth>();
    let (token, viewer) = ctx
        .data_unchecked::<Sessions>()
        .start(user.id, &user.role, auth.user_agent.as_deref())
        .await?;
    let expires_at = viewer.expires_at;
    // The payload (`user { orders }`) resolves as the one who signed in.
    auth.signed_in(viewer);
    let cart_merge = match guest_cart {
        Some(cart) => merge_guest_cart(ctx, cart, user.id).await?,
        None => None,
    };
    Ok(AuthPayload {
        token: Some(token),
        expires_at: Some(expires_at),
        user: Some(user.into()),
        cart_merge,
        user_errors: Vec::new(),
    })
}
