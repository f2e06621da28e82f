//! HTTP caching of `/graphql` answers: the strong `ETag` of an answer's
//! bytes, `Cache-Control` (public answers to `GET` may be kept by browsers
//! and CDNs for the configured max-age, then revalidated; anything that
//! depended on who asked, `no-store`), and `304 Not Modified` when the
//! client's `If-None-Match` already holds the answer.
//!
//! Never decides what is public (the endpoint does) or caches anything
//! itself (that is `cache::ResponseCache`).

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// A strong validator of `body`: the same bytes give the same tag on every
/// instance.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &digest[..16] {
        tag.push_str(&format!("{byte:02x}"));
    }
    tag.push('"');
    tag
}

/// Whether `If-None-Match` in `headers` names `etag` (or `*`).
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == etag || candidate == "*")
}

/// The answer to a `GET` whose body the client may keep and share:
/// `304` if it has it already, else `response` with its validator.
pub fn public_get(
    request_headers: &HeaderMap,
    mut response: Response,
    etag: &str,
    max_age: Duration,
) -> Response {
    let cache_control = match max_age.as_secs() {
        0 => "public, max-age=0, must-revalidate".to_owned(),
        seconds => format!("public, max-age={seconds}"),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    // The media type follows the client's Accept.
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if not_modified(request_headers, etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    response.headers_mut().extend(headers);
    response
}

/// A `GET` answer no shared or browser cache may keep.
pub fn private_get(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_forms_match() {
        let etag = etag_of(b"{}");
        assert_eq!(etag.len(), 34);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"other\", W/{etag}"))
                .unwrap_or(HeaderValue::from_static("")),
        );
        assert!(not_modified(&headers, &etag));
        assert!(!not_modified(&HeaderMap::new(), &etag));
        assert_ne!(etag_of(b"{}"), etag_of(b"{ }"));
    }
}
