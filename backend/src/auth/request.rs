//! Who is asking: the token a request carried (`Authorization: Bearer` or
//! the session cookie), resolved to a [`Viewer`] on first use only (or set
//! by a sign-in during the request), and the guards resolvers call
//! ([`require_user`], [`require_staff`]).

use tokio::sync::OnceCell;

use super::sessions::{Sessions, Viewer};
use crate::error::Error;

/// What a request carried, and its viewer once resolved.
pub struct RequestAuth {
    token: Option<String>,
    pub user_agent: Option<String>,
    pub client_address: String,
    viewer: OnceCell<Option<Viewer>>,
    /// A session started by this request (`register`, `login`): from then on
    /// the request acts as that user, so the payload's `User` resolves.
    signed_in: std::sync::Mutex<Option<Viewer>>,
    /// Whether anything asked who the viewer is: an answer that did is
    /// never shared with anyone else (the response cache checks).
    consulted: Consulted,
}

/// Whether a request's answer asked who the viewer is (readable after the
/// request's `RequestAuth` has moved into its execution).
#[derive(Clone, Default)]
pub struct Consulted(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Consulted {
    pub fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    fn mark(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }
}

impl RequestAuth {
    pub fn new(token: Option<String>, user_agent: Option<String>, client_address: String) -> Self {
        Self {
            token,
            user_agent,
            client_address,
            viewer: OnceCell::new(),
            signed_in: std::sync::Mutex::new(None),
            consulted: Consulted::default(),
        }
    }

    /// The session token the request carried, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Tells, once the request ran, whether its answer may depend on who
    /// sent it.
    pub fn consultation(&self) -> Consulted {
        self.consulted.clone()
    }

    /// The rest of the request acts as `viewer`, who just signed in.
    pub fn signed_in(&self, viewer: Viewer) {
        self.consulted.mark();
        if let Ok(mut signed_in) = self.signed_in.lock() {
            *signed_in = Some(viewer);
        }
    }

    /// The signed-in viewer, looked up once per request (and only when a
    /// resolver asks).
    pub async fn viewer(&self, sessions: &Sessions) -> Result<Option<Viewer>, Error> {
        self.consulted.mark();
        let signed_in = self
            .signed_in
            .lock()
            .ok()
            .and_then(|signed_in| signed_in.clone());
        if signed_in.is_some() {
            return Ok(signed_in);
        }
        let viewer = self
            .viewer
            .get_or_try_init(|| async {
                match &self.token {
                    // A token longer than ours cannot be ours: do not hash it.
                    Some(token) if token.len() <= 64 => sessions.resolve(token).await,
                    _ => Ok(None),
                }
            })
            .await?;
        Ok(viewer.clone())
    }
}

/// The signed-in viewer of the request a resolver serves, if any.
pub async fn viewer(ctx: &async_graphql::Context<'_>) -> Result<Option<Viewer>, Error> {
    ctx.data_unchecked::<RequestAuth>()
        .viewer(ctx.data_unchecked::<Sessions>())
        .await
}

/// The viewer, or `UNAUTHENTICATED`.
pub async fn require_user(ctx: &async_graphql::Context<'_>) -> Result<Viewer, Error> {
    viewer(ctx).await?.ok_or(Error::Unauthenticated)
}

/// A staff viewer, or `UNAUTHENTICATED` / `FORBIDDEN`.
pub async fn require_staff(ctx: &async_graphql::Context<'_>) -> Result<Viewer, Error> {
    let viewer = require_user(ctx).await?;
    if viewer.is_staff() {
        Ok(viewer)
    } else {
        Err(Error::Forbidden)
    }
}
