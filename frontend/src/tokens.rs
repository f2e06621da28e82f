//! Random tokens: 256 bits from the operating system, base64url.
//!
//! Owns how the storefront makes unguessable values (CSRF seeds, the
//! per-process CSRF secret, checkout idempotency keys). It must never derive
//! them from anything predictable, and imports no other module of the crate.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::TryRng;

/// 256 random bits, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The operating system's generator; failing it is not recoverable.
    #[allow(clippy::expect_used)]
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random generator");
    URL_SAFE_NO_PAD.encode(bytes)
}
