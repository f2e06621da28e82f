//! Accounts: the `viewer`, and `register`, `login`, `logout`,
//! `updateProfile`, `changePassword`. A user's data is only ever returned
//! to that user.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::carts::{CartMerge, merge_guest_cart};
use super::ids::{NodeType, global_id};
use super::user_errors::{UserError, UserErrorCode};
use crate::auth::{self, RequestAuth, Sessions, Throttle, require_user};
use crate::db::{self, Db, users};
use crate::error::Error;

const MAX_EMAIL_CHARS: usize = 254;
const MAX_NAME_CHARS: usize = 100;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Customer,
    Staff,
}

/// A signed-in user, as they see themselves.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct User {
    #[graphql(skip)]
    pub user_id: i64,
    pub id: ID,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl From<users::User> for User {
    fn from(user: users::User) -> Self {
        Self {
            user_id: user.id,
            id: global_id(NodeType::User, user.id),
            role: if user.is_staff() {
                Role::Staff
            } else {
                Role::Customer
            },
            email: user.email,
            name: user.name,
            created_at: user.created_at,
        }
    }
}

/// The result of `register` and `login`: on success a session token (send
/// it as `Authorization: Bearer <token>`) and the user.
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

#[derive(SimpleObject, Default)]
pub struct UserPayload {
    pub user: Option<User>,
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
    /// A guest cart to keep: it becomes the new account's cart.
    pub cart_id: Option<ID>,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// A guest cart to merge into the customer's cart.
    pub cart_id: Option<ID>,
}

#[derive(InputObject)]
pub struct UpdateProfileInput {
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

/// A plausible, normalised email address, or why not.
fn check_email(email: &str) -> Result<String, UserError> {
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

fn check_name(name: &str) -> Result<String, UserError> {
    let name = name.trim();
    if name.is_empty() {
        Err(UserError::invalid("name", "enter your name"))
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(UserError::invalid(
            "name",
            format!("use at most {MAX_NAME_CHARS} characters"),
        ))
    } else {
        Ok(name.to_owned())
    }
}

fn taken_email() -> UserError {
    UserError::new(
        &["input", "email"],
        UserErrorCode::Taken,
        "an account with this email already exists",
    )
}

fn invalid_credentials() -> UserError {
    UserError::new(
        &[],
        UserErrorCode::InvalidCredentials,
        "the email or password is incorrect",
    )
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user, or null.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let auth = ctx.data_unchecked::<RequestAuth>();
        let Some(viewer) = auth.viewer(ctx.data_unchecked::<Sessions>()).await? else {
            return Ok(None);
        };
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
        Ok(db::users::find(&mut conn, viewer.user_id)
            .await
            .map_err(Error::from)?
            .map(User::from))
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a customer account and signs it in.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
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
            return Ok(AuthPayload::failed(errors));
        };
        let password_hash = auth::hash_password(input.password)
            .await
            .map_err(Error::from)?;
        let new_user = users::NewUser {
            email,
            name,
            password_hash,
            role: users::ROLE_CUSTOMER.to_owned(),
        };
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
        let Some(user) = users::insert(&mut conn, &new_user)
            .await
            .map_err(Error::from)?
        else {
            return Ok(AuthPayload::failed(vec![taken_email()]));
        };
        // Orders placed as a guest with this email become the account's.
        db::orders::attach_guest_orders(&mut conn, user.id, &user.email)
            .await
            .map_err(Error::from)?;
        drop(conn);
        sign_in(ctx, user, input.cart_id.as_ref()).await
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
            let mut conn = ctx
                .data_unchecked::<Db>()
                .primary()
                .await
                .map_err(Error::from)?;
            users::find_by_email(&mut conn, input.email.trim())
                .await
                .map_err(Error::from)?
        };
        let hash = user.as_ref().map(|user| user.password_hash.clone());
        let matches = auth::verify_password(input.password, hash)
            .await
            .map_err(Error::from)?;
        match user {
            Some(user) if matches => {
                throttle.succeeded(&input.email).await;
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
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
        if changes.email.is_none() && changes.name.is_none() {
            let user = users::find(&mut conn, viewer.user_id)
                .await
                .map_err(Error::from)?;
            return Ok(UserPayload {
                user: user.map(User::from),
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
        let user = {
            let mut conn = ctx
                .data_unchecked::<Db>()
                .primary()
                .await
                .map_err(Error::from)?;
            users::find(&mut conn, viewer.user_id)
                .await
                .map_err(Error::from)?
                .ok_or(Error::Unauthenticated)?
        };
        // Guessing the current password is throttled like signing in.
        let throttle = ctx.data_unchecked::<Throttle>();
        throttle.attempt(&user.email, &auth.client_address).await?;
        if let Err(message) = auth::check_new_password(&input.new_password) {
            return Ok(UserPayload {
                user: None,
                user_errors: vec![UserError::invalid("newPassword", message)],
            });
        }
        let current_ok = input.current_password.chars().count() <= auth::MAX_PASSWORD_CHARS
            && auth::verify_password(input.current_password, Some(user.password_hash.clone()))
                .await
                .map_err(Error::from)?;
        if !current_ok {
            return Ok(UserPayload {
                user: None,
                user_errors: vec![UserError::new(
                    &["input", "currentPassword"],
                    UserErrorCode::InvalidCredentials,
                    "the current password is incorrect",
                )],
            });
        }
        throttle.succeeded(&user.email).await;
        let password_hash = auth::hash_password(input.new_password)
            .await
            .map_err(Error::from)?;
        let changes = users::UserChanges {
            password_hash: Some(password_hash),
            ..users::UserChanges::default()
        };
        let updated = {
            let mut conn = ctx
                .data_unchecked::<Db>()
                .primary()
                .await
                .map_err(Error::from)?;
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

async fn sign_in(
    ctx: &Context<'_>,
    user: users::User,
    guest_cart: Option<&ID>,
) -> Result<AuthPayload> {
    let auth = ctx.data_unchecked::<RequestAuth>();
    let (token, expires_at) = ctx
        .data_unchecked::<Sessions>()
        .start(user.id, auth.user_agent.as_deref())
        .await?;
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
