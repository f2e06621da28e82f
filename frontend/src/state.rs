//! What every handler shares: the backend client, the templates, the cookie
//! rules, the CSRF secret, the kept copies of rendered pages, the shop's
//! public address and kept sitemap, and the metrics.
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
use crate::seo::sitemap;
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
    /// The shop's public address (`PUBLIC_URL`, no trailing slash): what
    /// canonical links, `robots.txt` and the sitemap start with.
    pub public_url: Arc<str>,
    /// The built sitemap, kept for `SITEMAP_CACHE_SECS`.
    pub sitemap: Arc<sitemap::Cache>,
    /// Addresses per sitemap file (`SITEMAP_MAX_URLS`).
    pub sitemap_max_urls: usize,
    /// `Cache-Control` of the sitemap's files.
    pub sitemap_cache_control: HeaderValue,
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
            templates: Arc::new(Templates::new(&config.seo.public_url)),
            public_url: Arc::from(config.seo.public_url.as_str()),
            sitemap: Arc::new(sitemap::Cache::new(config.seo.sitemap_cache)),
            sitemap_max_urls: config.seo.sitemap_max_urls,
            sitemap_cache_control: HeaderValue::from_str(&format!(
                "public, max-age={}",
                config.seo.sitemap_cache.as_secs()
            ))?,
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
