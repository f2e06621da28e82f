//! What every handler shares: the backend client, the templates, the cookie
//! rules, the CSRF secret, the kept copies of rendered pages and the
//! metrics.
//!
//! Owns building that state from the configuration. It holds no handler
//! logic and never imports `pages`, `session` or `app` (they import it).

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::HeaderValue;

use crate::api::Api;
use crate::config::Config;
use crate::cookies::Cookies;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::page_cache::PageCache;
use crate::render::Templates;
use bookstore_edge::forwarded::TrustedProxies;

#[derive(Clone)]
pub struct AppState {
    pub api: Api,
    pub templates: Arc<Templates>,
    pub cookies: Cookies,
    /// Signs the forms' CSRF tokens (`CSRF_SECRET`).
    pub csrf_secret: Arc<[u8]>,
    /// Whose `X-Forwarded-For` and `X-Request-Id` are believed.
    pub trusted_proxies: TrustedProxies,
    /// Rendered catalog pages, by the backend's tag of their data.
    pub page_cache: Arc<PageCache>,
    /// `Cache-Control` of a public page (`PAGE_MAX_AGE_SECS`).
    pub public_cache_control: HeaderValue,
    pub metrics: Metrics,
    /// Live updates: the backend's WebSocket, the bound on open streams.
    pub live: Live,
    /// `/metrics` is served on BIND_ADDR too (no `METRICS_ADDR`, not in
    /// production).
    pub metrics_on_bind_addr: bool,
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

impl AppState {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let metrics = Metrics::new()?;
        Ok(Self {
            api: Api::new(&config.graphql_url, config.backend_timeout, metrics.clone())?,
            live: Live::new(
                &config.graphql_url,
                config.live.max_streams,
                config.live.keepalive,
                config.backend_timeout,
                metrics.live_streams(),
            ),
            metrics,
            metrics_on_bind_addr: config.metrics_address().is_none(),
            templates: Arc::new(Templates::new()),
            cookies: Cookies::new(config.cookie_secure),
            csrf_secret: Arc::from(config.csrf_secret.expose()),
            trusted_proxies: config.trusted_proxies.clone(),
            page_cache: Arc::new(PageCache::new(config.caching.page_cache_bytes)),
            public_cache_control: HeaderValue::from_str(&format!(
                "public, max-age={}",
                config.caching.page_max_age.as_secs()
            ))?,
        })
    }
}
