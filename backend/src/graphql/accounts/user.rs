//! The `User` type (a signed-in user, as they see themselves), its
//! `orders` field (served by `orders::user_orders`), and the `viewer`
//! query. A user's data is only ever returned to that user.

use async_graphql::{ComplexObject, Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::addresses::{SavedAddress, addresses_of};
use crate::auth;
use crate::db::{self, users};
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::ids::{NodeType, global_id};
use crate::graphql::orders::{OrderConnection, user_orders};
use crate::graphql::pagination::{PageArgs, page_complexity};

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
    /// Whether the current email is verified (a link mailed to it was
    /// followed). Until then guest orders placed with it stay guest orders.
    pub email_verified: bool,
}

impl User {
    /// The viewer as they are, from what their session's lookup read
    /// (no further statement).
    fn of_viewer(viewer: &auth::Viewer, profile: &auth::sessions::Profile) -> Self {
        Self {
            user_id: viewer.user_id,
            id: global_id(NodeType::User, viewer.user_id),
            role: if viewer.is_staff() {
                Role::Staff
            } else {
                Role::Customer
            },
            email_verified: profile.email_verified_at.is_some(),
            email: profile.email.clone(),
            name: profile.name.clone(),
            created_at: profile.created_at,
        }
    }
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
            email_verified: user.email_verified(),
            email: user.email,
            name: user.name,
            created_at: user.created_at,
        }
    }
}

#[ComplexObject]
impl User {
    /// A new address waiting for its verification link to be followed
    /// (`updateProfile`); the account keeps `email` until then. Null when
    /// no change waits; shown to the user and to staff only.
    async fn pending_email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let may_see = auth::viewer(ctx)
            .await?
            .is_some_and(|viewer| viewer.user_id == self.user_id || viewer.is_staff());
        if !may_see {
            return Ok(None);
        }
        let mut conn = primary_connection(ctx).await?;
        Ok(db::account_tokens::pending_email(&mut conn, self.user_id)
            .await
            .map_err(Error::from)?)
    }

    /// The user's saved addresses, the default first; shown to the user
    /// only (empty for anyone else).
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Vec<SavedAddress>> {
        let own = auth::viewer(ctx)
            .await?
            .is_some_and(|viewer| viewer.user_id == self.user_id);
        if !own {
            return Ok(Vec::new());
        }
        addresses_of(ctx, self.user_id).await
    }

    /// The user's orders, newest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OrderConnection> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        user_orders(ctx, self.user_id, page).await
    }
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user, or null.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(viewer) = auth::viewer(ctx).await? else {
            return Ok(None);
        };
        // The session's lookup read the profile (never the password hash).
        if let Some(profile) = &viewer.profile {
            return Ok(Some(User::of_viewer(&viewer, profile)));
        }
        let mut conn = primary_connection(ctx).await?;
        Ok(db::users::find(&mut conn, viewer.user_id)
            .await
            .map_err(Error::from)?
            .map(User::from))
    }
}
