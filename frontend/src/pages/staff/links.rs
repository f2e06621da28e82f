//! The staff pages' own addresses, built from slugs and order numbers that
//! come from the address bar and go back into `Location` headers.
//!
//! Owns escaping them as one path segment each; it never lets such text
//! change the path's shape.

/// Text as one URL path segment (slugs and order numbers come from the
/// address bar and go back into `Location` headers).
pub(super) fn segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub(super) fn edit_path(slug: &str) -> String {
    format!("/staff/books/{}/edit", segment(slug))
}

pub(super) fn order_path(number: &str) -> String {
    format!("/staff/orders/{}", segment(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_built_from_safe_segments() {
        assert_eq!(edit_path("moby-dick"), "/staff/books/moby-dick/edit");
        assert_eq!(order_path("BK-1 /x"), "/staff/orders/BK-1%20%2Fx");
    }
}
