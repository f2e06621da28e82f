//! Storefront configuration from the environment (documented in README.md
//! and .env.example).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

#[derive(Clone)]
pub struct Config {
    /// `BIND_ADDR` (default 127.0.0.1:8080).
    pub bind_addr: SocketAddr,
    /// `GRAPHQL_URL`: the backend (default http://127.0.0.1:8000/graphql).
    pub graphql_url: String,
    /// `BACKEND_TIMEOUT_MS`: how long a page waits for the backend before
    /// showing the "try again" page (default 5000).
    pub backend_timeout: Duration,
    /// `CSRF_SECRET`: signs the forms' CSRF tokens. Set the same value on
    /// every instance; unset = a random one per process (forms shown by a
    /// previous process then fail once, with a clear message).
    pub csrf_secret: Vec<u8>,
    /// `COOKIE_SECURE`: true when served over HTTPS: cookies get `Secure`
    /// and the `__Host-` prefix (default false).
    pub cookie_secure: bool,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let text = |name: &str, default: &str| {
            get(name)
                .filter(|value| !value.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Ok(Self {
            bind_addr: text("BIND_ADDR", "127.0.0.1:8080")
                .parse()
                .context("BIND_ADDR must be an address such as 127.0.0.1:8080")?,
            graphql_url: text("GRAPHQL_URL", "http://127.0.0.1:8000/graphql"),
            backend_timeout: Duration::from_millis(
                text("BACKEND_TIMEOUT_MS", "5000")
                    .parse()
                    .context("BACKEND_TIMEOUT_MS must be a number of milliseconds")?,
            ),
            csrf_secret: match get("CSRF_SECRET").filter(|secret| !secret.is_empty()) {
                Some(secret) => secret.into_bytes(),
                None => crate::session::random_token().into_bytes(),
            },
            cookie_secure: matches!(
                text("COOKIE_SECURE", "false").to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            ),
        })
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind_addr", &self.bind_addr)
            .field("graphql_url", &self.graphql_url)
            .field("backend_timeout", &self.backend_timeout)
            .field("cookie_secure", &self.cookie_secure)
            .finish_non_exhaustive()
    }
}
