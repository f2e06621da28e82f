//! Cross-origin access to `/graphql` for browser apps on other origins
//! (`CORS_ALLOWED_ORIGINS`): exact origins only, none by default (then no
//! CORS headers at all). A value that is not an origin stops the startup,
//! naming it.
//!
//! Parsing and defaults only; `http::cors` builds the layer.

use std::time::Duration;

use axum::http::{HeaderValue, Uri};
use clap::Args;

use super::values::seconds;

#[derive(Clone, Debug, Args)]
pub struct CorsConfig {
    /// Browser origins allowed to call `/graphql` (GET and POST, with a
    /// Bearer token: no cookies or credentials): comma-separated exact
    /// origins such as `https://app.example.com, http://localhost:5173`.
    /// Empty (default): no CORS headers, so browsers keep other origins out.
    #[arg(
        long = "cors-allowed-origins",
        env = "CORS_ALLOWED_ORIGINS",
        default_value = "",
        value_parser = AllowedOrigins::parse
    )]
    pub allowed_origins: AllowedOrigins,
    /// How long browsers may reuse a preflight answer, in seconds.
    #[arg(long = "cors-max-age-secs", env = "CORS_MAX_AGE_SECS", default_value = "3600", value_parser = seconds)]
    pub max_age: Duration,
}

/// Exact origins (`scheme://host[:port]`), as browsers send them in `Origin`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<HeaderValue>);

impl AllowedOrigins {
    /// Comma-separated origins; blanks between commas are skipped.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                origin_value(origin).ok_or_else(|| {
                    format!(
                        "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin: write scheme://host[:port] exactly as \
                         browsers send it (http or https, lowercase, no path, no trailing \
                         slash, no wildcard), such as https://app.example.com"
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn list(&self) -> &[HeaderValue] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `origin` as a header value, if it is a serialized http(s) origin.
fn origin_value(origin: &str) -> Option<HeaderValue> {
    let uri: Uri = origin.parse().ok()?;
    let scheme = uri
        .scheme_str()
        .filter(|s| matches!(*s, "http" | "https"))?;
    let authority = uri.authority()?;
    let host = authority.host();
    let host_port = match authority.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let serialized = format!("{scheme}://{host_port}");
    let plain = !host.is_empty()
        && authority.as_str() == host_port
        && !host.contains('*')
        && serialized == origin
        && origin == origin.to_ascii_lowercase();
    plain.then(|| HeaderValue::from_str(origin).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_are_taken() {
        let origins =
            AllowedOrigins::parse(" https://app.example.com, http://localhost:5173 ,,").unwrap();
        assert_eq!(
            origins.list(),
            [
                HeaderValue::from_static("https://app.example.com"),
                HeaderValue::from_static("http://localhost:5173"),
            ]
        );
        assert!(AllowedOrigins::parse("").unwrap().is_empty());
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "*",
            "null",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://user@app.example.com",
            "https://*.example.com",
            "ftp://files.example.com",
            "https://App.Example.com",
            "https://app.example.com:port",
            "https://app.example.com:",
            "https://app.example.com:0443",
            "https://",
        ] {
            let error =
                AllowedOrigins::parse(&format!("https://ok.example.com,{bad}")).expect_err(bad);
            assert!(error.contains(bad), "{error}");
        }
    }
}
