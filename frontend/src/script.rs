//! The one script: `static/live.js`, the live updates' progressive
//! enhancement (pages work the same without it). Its bytes are compiled
//! in and its URL carries a hash of them, as the stylesheet's does.
//!
//! A leaf: imports no module of the crate and never reads the disk.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// The script as served.
pub const LIVE_JS: &str = include_str!("../static/live.js");

/// The first 16 hex digits of the SHA-256 of [`LIVE_JS`], computed once.
pub fn version() -> &'static str {
    static VERSION: LazyLock<String> = LazyLock::new(|| {
        Sha256::digest(LIVE_JS.as_bytes())
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    });
    &VERSION
}
