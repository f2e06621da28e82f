//! The storefront's cookies: their names, their attributes, reading them
//! from a request (`axum-extra`'s `CookieJar`) and writing `Set-Cookie`
//! values (the `cookie` crate).
//!
//! Every cookie is HttpOnly, SameSite=Lax and `Path=/`; over HTTPS it also
//! gets `Secure` and the `__Host-` prefix. This module owns those rules and
//! nothing else: it never decides what a cookie's value means (that is
//! `session`'s), and imports no other module of the crate.

use axum::http::{HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

/// The cookies the storefront keeps in a browser.
#[derive(Clone, Copy)]
pub enum Name {
    /// The backend's session token.
    Session,
    /// A guest cart's token.
    Cart,
    /// The random per-browser value CSRF tokens are made from.
    CsrfSeed,
    /// A one-time message shown after a redirect.
    Flash,
}

impl Name {
    fn base(self) -> &'static str {
        match self {
            Self::Session => "bookstore_session",
            Self::Cart => "bookstore_cart",
            Self::CsrfSeed => "bookstore_csrf",
            Self::Flash => "bookstore_flash",
        }
    }
}

/// A value longer than this is not one of ours.
const MAX_VALUE_BYTES: usize = 512;

/// Cookie naming and flags for this deployment.
#[derive(Clone, Copy)]
pub struct Cookies {
    secure: bool,
}

/// The cookies a request carries.
pub struct Received {
    jar: CookieJar,
}

impl Received {
    /// The cookies of a request's `Cookie` headers.
    pub fn new(headers: &HeaderMap) -> Self {
        Self {
            jar: CookieJar::from_headers(headers),
        }
    }
}

impl Cookies {
    /// `secure`: served over HTTPS (`COOKIE_SECURE`).
    pub fn new(secure: bool) -> Self {
        Self { secure }
    }

    fn name(self, name: Name) -> String {
        if self.secure {
            format!("__Host-{}", name.base())
        } else {
            name.base().to_owned()
        }
    }

    /// A cookie's value; an empty or oversized one counts as absent.
    pub fn read(self, received: &Received, name: Name) -> Option<String> {
        received
            .jar
            .get(&self.name(name))
            .map(|cookie| cookie.value().to_owned())
            .filter(|value| !value.is_empty() && value.len() <= MAX_VALUE_BYTES)
    }

    /// A `Set-Cookie` value; `None` deletes the cookie.
    pub fn set(self, name: Name, value: Option<&str>) -> HeaderValue {
        let mut cookie = Cookie::build((self.name(name), value.unwrap_or_default().to_owned()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure);
        if value.is_none() {
            cookie = cookie.max_age(cookie::time::Duration::ZERO);
        }
        HeaderValue::from_str(&cookie.build().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    fn text(value: HeaderValue) -> String {
        value.to_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        let plain = Cookies::new(false);
        assert_eq!(
            text(plain.set(Name::Session, Some("token"))),
            "bookstore_session=token; HttpOnly; SameSite=Lax; Path=/"
        );
        assert_eq!(
            text(plain.set(Name::Flash, None)),
            "bookstore_flash=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
        let secure = Cookies::new(true);
        assert_eq!(
            text(secure.set(Name::Cart, Some("cart"))),
            "__Host-bookstore_cart=cart; HttpOnly; SameSite=Lax; Secure; Path=/"
        );
    }

    #[test]
    fn only_plausible_values_are_read() {
        let mut headers = HeaderMap::new();
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        let cookie = format!("bookstore_session=abc; bookstore_cart=; bookstore_flash={long}");
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static("")),
        );
        let received = Received::new(&headers);
        let cookies = Cookies::new(false);
        assert_eq!(
            cookies.read(&received, Name::Session).as_deref(),
            Some("abc")
        );
        assert_eq!(cookies.read(&received, Name::Cart), None);
        assert_eq!(cookies.read(&received, Name::Flash), None);
        assert_eq!(Cookies::new(true).read(&received, Name::Session), None);
    }
}
