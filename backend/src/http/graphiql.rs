//! GraphiQL served whole by the backend: the page on `GET /graphql` (for a
//! browser, when enabled) and its scripts and stylesheets, compiled into
//! the binary from `backend/assets/graphiql/` (pinned npm releases: see the
//! README there), under `/graphiql/assets/<name>.<hash>.<ext>`. The hash is
//! of the content, so browsers keep them for a year; nothing is loaded
//! from another host, and the page's Content-Security-Policy allows
//! scripts and styles from this origin only.
//!
//! Owns the page and the assets; whether GraphiQL is on is the caller's.

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::endpoint::Endpoint;
use super::errors::plain_error;

/// Where the assets are served.
pub const ASSETS: &str = "/graphiql/assets";

/// The page's policy: this origin's scripts, styles and `/graphql` only;
/// the fonts and icons GraphiQL's stylesheet embeds as `data:` URLs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// One compiled-in file.
struct Asset {
    /// `<name>.<hash>.<ext>`.
    file: String,
    content_type: &'static str,
    body: &'static [u8],
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Self {
        let digest = Sha256::digest(body);
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            file: format!("{stem}.{hash}.{ext}"),
            content_type,
            body,
        }
    }

    fn url(&self) -> String {
        format!("{ASSETS}/{}", self.file)
    }
}

macro_rules! asset {
    ($stem:literal, $ext:literal, $type:expr) => {
        Asset::new(
            $stem,
            $ext,
            $type,
            include_bytes!(concat!("../../assets/graphiql/", $stem, ".", $ext)),
        )
    };
}

/// The assets, in the order the page loads them: stylesheets, then React,
/// ReactDOM, GraphiQL (which needs both) and the script starting it.
static ASSET_LIST: LazyLock<[Asset; 6]> = LazyLock::new(|| {
    [
        asset!("graphiql.min", "css", CSS),
        asset!("page", "css", CSS),
        asset!("react.production.min", "js", JS),
        asset!("react-dom.production.min", "js", JS),
        asset!("graphiql.min", "js", JS),
        asset!("init", "js", JS),
    ]
});

static PAGE: LazyLock<String> = LazyLock::new(|| {
    let mut head = String::new();
    let mut body = String::new();
    for asset in ASSET_LIST.iter() {
        if asset.content_type == CSS {
            head.push_str(&format!(
                "    <link rel=\"stylesheet\" href=\"{}\">\n",
                asset.url()
            ));
        } else {
            body.push_str(&format!("    <script src=\"{}\"></script>\n", asset.url()));
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\">\n    \
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n    \
         <title>Bookstore GraphiQL</title>\n{head}  </head>\n  <body>\n    \
         <div id=\"graphiql\">Loading GraphiQL…</div>\n{body}  </body>\n</html>\n"
    )
});

/// The GraphiQL page (not cached: its asset names change with a release).
pub fn page() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

/// `GET /graphiql/assets/{file}`: a compiled-in asset, kept a year (404
/// when GraphiQL is off, or for any other name).
pub async fn asset(State(endpoint): State<Endpoint>, Path(file): Path<String>) -> Response {
    let found = ASSET_LIST.iter().find(|asset| asset.file == file);
    let (true, Some(asset)) = (endpoint.graphiql, found) else {
        return plain_error(StatusCode::NOT_FOUND, "not found");
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.body,
    )
        .into_response()
}
