//! The stylesheet: its bytes (compiled in) and the version its URL carries,
//! a hash of exactly those bytes, so a changed stylesheet gets a new URL
//! and browsers may keep each version for a year.
//!
//! A leaf: imports no module of the crate and never reads the disk.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// The stylesheet as served.
pub const CSS: &str = include_str!("../static/style.css");

/// The first 16 hex digits of the SHA-256 of [`CSS`], computed once.
pub fn version() -> &'static str {
    static VERSION: LazyLock<String> = LazyLock::new(|| {
        Sha256::digest(CSS.as_bytes())
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    });
    &VERSION
}
