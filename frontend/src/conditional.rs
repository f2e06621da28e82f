//! Conditional GET: a page's `ETag` (a hash of its bytes) and the answer
//! `304 Not Modified` (no body) to a `GET`/`HEAD` whose `If-None-Match`
//! names it, so a browser or a shared cache revalidates a page without
//! receiving it again.
//!
//! Owns the tag's form and the matching (weak comparison, as RFC 9110 asks
//! of `If-None-Match`). It only ever answers 304 for a page marked
//! `Cache-Control: public` (what `pages::public` sends anonymous catalog
//! pages): a private page is never matched, so no page holding a visitor's
//! token is ever confirmed to anyone. A leaf: imports no module of the
//! crate.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// The entity tag of a page: weak (`W/`), because compression changes the
/// bytes sent but not the page, and 128 bits of SHA-256 of its body.
pub fn etag(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let tag = format!("W/\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]));
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("W/\"\""))
}

/// Whether an `If-None-Match` value names `etag` (weak comparison: `W/`
/// ignored on both sides) or is `*`.
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let wanted = opaque(etag);
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || opaque(candidate) == wanted)
}

/// Whether a response may be confirmed with a 304: a 200 marked public.
fn public(headers: &HeaderMap) -> bool {
    headers
        .get(header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|directive| directive.trim().eq_ignore_ascii_case("public"))
        })
}

/// Middleware: a public page whose tag the request's `If-None-Match` names
/// becomes `304 Not Modified`, keeping `ETag`, `Cache-Control` and `Vary`
/// and dropping the body.
pub async fn middleware(request: Request, next: Next) -> Response {
    let conditional = matches!(*request.method(), Method::GET | Method::HEAD);
    let if_none_match = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .filter(|_| conditional);
    let response = next.run(request).await;
    let Some(if_none_match) = if_none_match else {
        return response;
    };
    if response.status() != StatusCode::OK || !public(response.headers()) {
        return response;
    }
    let named = response
        .headers()
        .get(header::ETAG)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|etag| matches(&if_none_match, etag));
    if !named {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    Response::from_parts(parts, Body::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_a_star() {
        let tag = etag(b"<p>a page</p>");
        let tag = tag.to_str().unwrap_or_default();
        assert!(tag.starts_with("W/\"") && tag.len() == 26, "{tag}");
        assert_eq!(etag(b"<p>a page</p>"), etag(b"<p>a page</p>"));
        assert_ne!(etag(b"<p>a page</p>"), etag(b"<p>another</p>"));
        let strong = tag.trim_start_matches("W/");
        assert!(matches(tag, tag));
        assert!(matches(strong, tag));
        assert!(matches(&format!("\"old\", {tag}"), tag));
        assert!(matches("*", tag));
        assert!(!matches("\"old\"", tag));
        assert!(!matches("", tag));
    }
}
