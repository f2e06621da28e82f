//! Storefront configuration from the environment (documented in README.md
//! and .env.example).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

#[derive(Debug, Clone)]
pub struct Config {
    /// `BIND_ADDR` (default 127.0.0.1:8080).
    pub bind_addr: SocketAddr,
    /// `GRAPHQL_URL`: the backend (default http://127.0.0.1:8000/graphql).
    pub graphql_url: String,
    /// `BACKEND_TIMEOUT_MS`: how long a page waits for the backend before
    /// showing the "try again" page (default 5000).
    pub backend_timeout: Duration,
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
        })
    }
}
