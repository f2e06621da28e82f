//! Configuration of how search engines and shared links see the shop: its
//! public address (canonical links, OpenGraph, the sitemap and
//! `robots.txt` are written with it, never with a request's `Host`
//! header), how many addresses one sitemap file lists, and how long a built
//! sitemap is kept. Flattened into [`super::Config`].
//!
//! Owns only these variables; the sitemap itself is `pages::seo`'s.

use std::time::Duration;

use clap::Args;

use super::or_default;

/// The backend's default for the same variable: the storefront on this
/// machine.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
const DEFAULT_SITEMAP_MAX_URLS: &str = "50000";
const DEFAULT_SITEMAP_CACHE_SECS: &str = "900";

#[derive(Clone, Debug, Args)]
pub struct SeoConfig {
    /// The shop's public address, as shoppers reach it
    /// (`https://shop.example.com`): canonical links, OpenGraph tags, the
    /// sitemap and `robots.txt` start with it (the request's `Host` header
    /// is never used). The same value as the backend's `PUBLIC_URL`.
    /// Required in production.
    #[arg(
        long = "public-url",
        env = "PUBLIC_URL",
        value_name = "URL",
        default_value = DEFAULT_PUBLIC_URL,
        value_parser = public_url,
    )]
    pub public_url: String,

    /// Addresses per sitemap file, 1 to 50000 (the protocol's limit):
    /// past it, `/sitemap.xml` is an index of `/sitemaps/N.xml` files.
    #[arg(
        long = "sitemap-max-urls",
        env = "SITEMAP_MAX_URLS",
        value_name = "COUNT",
        default_value = DEFAULT_SITEMAP_MAX_URLS,
        value_parser = sitemap_max_urls,
    )]
    pub sitemap_max_urls: usize,

    /// How long a built sitemap is kept (and may be cached by crawlers and
    /// proxies), in seconds, 1 to 86400: a new book appears in it within
    /// this long.
    #[arg(
        long = "sitemap-cache-secs",
        env = "SITEMAP_CACHE_SECS",
        value_name = "SECONDS",
        default_value = DEFAULT_SITEMAP_CACHE_SECS,
        value_parser = sitemap_cache,
    )]
    pub sitemap_cache: Duration,
}

impl SeoConfig {
    /// Whether `PUBLIC_URL` was left at its development default.
    pub fn public_url_is_default(&self) -> bool {
        self.public_url == DEFAULT_PUBLIC_URL
    }
}

/// `http(s)://host[:port]` with nothing after it but an optional path
/// prefix; kept without its trailing slash. No query, fragment or
/// credentials: every link is this plus a path.
fn public_url(text: &str) -> Result<String, String> {
    let url = or_default(text, DEFAULT_PUBLIC_URL).trim();
    let error = || {
        format!(
            "PUBLIC_URL must be the shop's http(s) address, such as https://shop.example.com (got {url:?})"
        )
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(error)?;
    let host = rest.split('/').next().unwrap_or_default();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._:[]".contains(c);
    let path_allowed = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
    if host.is_empty()
        || !host.chars().all(allowed)
        || !rest.chars().all(|c| allowed(c) || path_allowed(c))
    {
        return Err(error());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn sitemap_max_urls(text: &str) -> Result<usize, String> {
    or_default(text, DEFAULT_SITEMAP_MAX_URLS)
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|count| (1..=50_000).contains(count))
        .ok_or_else(|| "SITEMAP_MAX_URLS must be a number from 1 to 50000".to_owned())
}

fn sitemap_cache(text: &str) -> Result<Duration, String> {
    or_default(text, DEFAULT_SITEMAP_CACHE_SECS)
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|seconds| (1..=86_400).contains(seconds))
        .map(Duration::from_secs)
        .ok_or_else(|| "SITEMAP_CACHE_SECS must be a number of seconds from 1 to 86400".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::tests::config;
    use super::*;

    #[test]
    fn the_public_url_is_an_http_address_without_a_trailing_slash() {
        let seo = config(&[]).unwrap().seo;
        assert_eq!(seo.public_url, "http://127.0.0.1:8080");
        assert_eq!(seo.sitemap_max_urls, 50_000);
        assert_eq!(seo.sitemap_cache, Duration::from_secs(900));
        let seo = config(&[("PUBLIC_URL", "https://shop.example.com/")])
            .unwrap()
            .seo;
        assert_eq!(seo.public_url, "https://shop.example.com");
        let seo = config(&[("PUBLIC_URL", "https://example.com/shop")])
            .unwrap()
            .seo;
        assert_eq!(seo.public_url, "https://example.com/shop");
        for bad in [
            "shop.example.com",
            "ftp://shop.example.com",
            "https://",
            "https://shop.example.com/?a=1",
            "https://shop.example.com/#x",
            "https://user:pass@shop.example.com",
            "https://shop.example.com/\"><script>",
        ] {
            let error = config(&[("PUBLIC_URL", bad)]).unwrap_err().to_string();
            assert!(error.contains("PUBLIC_URL"), "{bad}: {error}");
        }
    }

    #[test]
    fn sitemap_limits_are_bounded() {
        let seo = config(&[("SITEMAP_MAX_URLS", "10"), ("SITEMAP_CACHE_SECS", "60")])
            .unwrap()
            .seo;
        assert_eq!(seo.sitemap_max_urls, 10);
        assert_eq!(seo.sitemap_cache, Duration::from_secs(60));
        for (name, bad) in [
            ("SITEMAP_MAX_URLS", "0"),
            ("SITEMAP_MAX_URLS", "50001"),
            ("SITEMAP_CACHE_SECS", "0"),
            ("SITEMAP_CACHE_SECS", "soon"),
        ] {
            let error = config(&[(name, bad)]).unwrap_err().to_string();
            assert!(error.contains(name), "{name}={bad}: {error}");
        }
    }
}
