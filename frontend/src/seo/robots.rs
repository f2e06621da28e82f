//! Which pages are private (a shopper's cart, checkout, account and
//! orders, the emailed-link pages, staff pages), in one list that
//! `robots.txt` disallows, the `X-Robots-Tag` header marks `noindex` and
//! the pages' `<meta name="robots">` follows.
//!
//! Owns that list and `robots.txt`'s text. A leaf: imports no module of the
//! crate.

use axum::extract::Request;
use axum::http::{HeaderValue, header::HeaderName};
use axum::middleware::Next;
use axum::response::Response;

/// Path prefixes of private pages (each also covers the paths under it).
pub const PRIVATE_PATHS: [&str; 9] = [
    "/cart",
    "/checkout",
    "/account",
    "/orders",
    "/staff",
    "/logout",
    "/verify-email",
    "/forgot-password",
    "/reset-password",
];

/// What private pages tell crawlers (header and meta tag alike).
pub const NOINDEX: &str = "noindex, nofollow";

/// Whether `path` is a private page's (or under one).
pub fn is_private(path: &str) -> bool {
    PRIVATE_PATHS.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// `robots.txt`: every private path disallowed, and where the sitemap is.
pub fn robots_txt(public_url: &str) -> String {
    let mut text = String::from(
        "# Private pages (carts, checkout, accounts, orders, staff) are not for crawlers.\nUser-agent: *\n",
    );
    for path in PRIVATE_PATHS {
        text.push_str(&format!("Disallow: {path}\n"));
    }
    text.push_str(&format!("\nSitemap: {public_url}/sitemap.xml\n"));
    text
}

/// Middleware: a private page's answer carries `X-Robots-Tag: noindex,
/// nofollow`, whatever its status or type.
pub async fn middleware(request: Request, next: Next) -> Response {
    let private = is_private(request.uri().path());
    let mut response = next.run(request).await;
    if private {
        response.headers_mut().insert(
            HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static(NOINDEX),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_paths_cover_what_is_under_them_and_nothing_else() {
        for path in [
            "/cart",
            "/cart/add",
            "/checkout",
            "/account",
            "/account/orders",
            "/orders/BK-ABCDEFGHJK",
            "/orders/lookup",
            "/staff/books/new",
            "/verify-email",
            "/reset-password",
        ] {
            assert!(is_private(path), "{path}");
        }
        for path in [
            "/",
            "/books",
            "/books/cartography",
            "/cartography",
            "/login",
            "/register",
            "/contributors/jane-austen",
            "/sitemap.xml",
        ] {
            assert!(!is_private(path), "{path}");
        }
    }

    #[test]
    fn robots_txt_disallows_the_private_pages_and_names_the_sitemap() {
        let text = robots_txt("https://shop.example.com");
        assert!(text.starts_with("# Private"), "{text}");
        assert!(
            text.contains(
                "User-agent: *\nDisallow: /cart\nDisallow: /checkout\nDisallow: /account\n"
            ),
            "{text}"
        );
        assert!(text.contains("Disallow: /staff\n"), "{text}");
        assert!(
            text.ends_with("\nSitemap: https://shop.example.com/sitemap.xml\n"),
            "{text}"
        );
        assert!(!text.contains("Disallow: /books"), "{text}");
    }
}
