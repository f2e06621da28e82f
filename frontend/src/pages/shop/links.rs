//! The addresses shop pages redirect and link to: a book's page, an order's
//! page and its cancel question.
//!
//! Owns what text from a form may go into a `Location` header or a link:
//! only plain slugs, order numbers and access tokens, never anything that
//! could point elsewhere, and never an email address.

/// Whether text from a form may go into a redirect's path: slugs and order
/// numbers are letters, digits and hyphens (anything else could break the
/// `Location` header or point elsewhere).
pub(crate) fn path_safe(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether text may be a guest order's access token (base64url, as the
/// backend makes them): anything else is no token of ours, and never goes
/// into a link.
pub(crate) fn token_safe(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An order's page; a guest's carries the order's access token, the link
/// that opens it (a capability: the page sends no referrer off-site and is
/// never cached). Never an email: no email address goes into a URL.
pub(super) fn order_path(number: &str, token: Option<&str>) -> String {
    with_token(format!("/orders/{number}"), token)
}

/// The order's live updates (`pages::live`), with the same token.
pub(super) fn events_path(number: &str, token: Option<&str>) -> String {
    with_token(format!("/orders/{number}/events"), token)
}

/// The question "Cancel order …?", for the customer or a token's holder.
pub(super) fn cancel_path(number: &str, token: Option<&str>) -> String {
    with_token(format!("/orders/{number}/cancel"), token)
}

fn with_token(path: String, token: Option<&str>) -> String {
    match token.filter(|token| token_safe(token)) {
        Some(token) => format!(
            "{path}?{}",
            serde_urlencoded::to_string([("token", token)]).unwrap_or_default()
        ),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_slugs_and_numbers_go_into_redirects() {
        assert!(path_safe("BK-100001"));
        assert!(path_safe("BK-7KQ2M9XW4H"));
        assert!(path_safe("moby-dick"));
        assert!(!path_safe(""));
        assert!(!path_safe("//evil.example"));
        assert!(!path_safe("a\r\nSet-Cookie: x"));
    }

    #[test]
    fn order_links_carry_a_token_and_never_an_email() {
        assert_eq!(
            order_path("BK-1", Some("aB-_9")),
            "/orders/BK-1?token=aB-_9"
        );
        assert_eq!(
            cancel_path("BK-1", Some("aB-_9")),
            "/orders/BK-1/cancel?token=aB-_9"
        );
        assert_eq!(order_path("BK-1", None), "/orders/BK-1");
        // Nothing that is not a token of ours, an email least of all.
        assert_eq!(order_path("BK-1", Some("a@example.com")), "/orders/BK-1");
        assert_eq!(order_path("BK-1", Some("a b")), "/orders/BK-1");
        assert!(!token_safe(&"a".repeat(65)));
    }
}
