//! Passwords, sessions, throttles and who is asking.
//!
//! - [`passwords`]: argon2id hashing and verification (bounded), length rules.
//! - [`tokens`]: random 256-bit tokens and their stored hash.
//! - [`sessions`]: session storage (Postgres, never cached) and the
//!   [`Viewer`] a session stands for.
//! - [`request`]: a request's credentials, resolved once; `require_*` guards.
//! - [`throttle`]: throttles (sign-in, registration, profile changes) per
//!   account and per client address, with [`local_counts`] when Redis is away.
//!
//! This module never knows about GraphQL types beyond the request context
//! the guards read, and never logs a password or a token.

pub mod local_counts;
pub mod passwords;
pub mod request;
pub mod sessions;
pub mod throttle;
pub mod tokens;

pub use passwords::{
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, check_new_password, hash_password, verify_password,
};
pub use request::{RequestAuth, require_staff, require_user, viewer};
pub use sessions::{Sessions, Viewer};
pub use throttle::Throttle;
pub use tokens::{new_token, token_hash};
