//! The addresses shop pages redirect to: a book's page, an order's page.
//!
//! Owns what text from a form may go into a `Location` header: only plain
//! slugs and order numbers, never anything that could point elsewhere.

/// Whether text from a form may go into a redirect's path: slugs and order
/// numbers are letters, digits and hyphens (anything else could break the
/// `Location` header or point elsewhere).
pub(super) fn path_safe(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// An order's page; a guest's carries the checkout email that proves it is
/// theirs.
pub(super) fn order_path(number: &str, email: Option<&str>) -> String {
    match email {
        Some(email) => format!(
            "/orders/{number}?{}",
            serde_urlencoded::to_string([("email", email)]).unwrap_or_default()
        ),
        None => format!("/orders/{number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_slugs_and_numbers_go_into_redirects() {
        assert!(path_safe("BK-100001"));
        assert!(path_safe("moby-dick"));
        assert!(!path_safe(""));
        assert!(!path_safe("//evil.example"));
        assert!(!path_safe("a\r\nSet-Cookie: x"));
        assert_eq!(
            order_path("BK-1", Some("a+b@example.com")),
            "/orders/BK-1?email=a%2Bb%40example.com"
        );
        assert_eq!(order_path("BK-1", None), "/orders/BK-1");
    }
}
