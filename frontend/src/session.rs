//! The browser's side of a visit: who is visiting (from their cookies),
//! CSRF tokens and flash messages.
//!
//! - The backend's session token lives in a cookie (see `cookies` for the
//!   attributes); the guest cart's token likewise. Both are only ever
//!   forwarded to the backend.
//! - Every form that changes something carries a CSRF token: an HMAC of a
//!   random per-browser value and the session token, so it is bound to the
//!   session and useless to another site (which cannot read our cookies).
//! - After a POST the shopper is redirected (post/redirect/get) with a
//!   one-time flash message.
//!
//! This module never talks to the backend and never decides what a page
//! shows; it must never put a token anywhere but a cookie or the backend
//! request.

use std::sync::{Arc, LazyLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::cookies::{Cookies, Name, Received};
use crate::state::AppState;
use crate::tokens::random_token;

/// Who is visiting, from their cookies.
pub struct Visitor {
    pub session: Option<String>,
    pub cart: Option<String>,
    pub flash: Option<String>,
    /// The path asked for (no query): a page's default canonical address,
    /// and whether it is private (`seo::robots`).
    pub path: String,
    seed: String,
    new_seed: bool,
    cookies: Cookies,
    csrf_secret: Arc<[u8]>,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let cookies = state.cookies;
        let received = Received::new(&parts.headers);
        let get = |name: Name| cookies.read(&received, name);
        let (seed, new_seed) = match get(Name::CsrfSeed) {
            Some(seed) => (seed, false),
            None => (random_token(), true),
        };
        Ok(Self {
            session: get(Name::Session),
            cart: get(Name::Cart),
            flash: get(Name::Flash).and_then(|text| {
                let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
                String::from_utf8(bytes).ok()
            }),
            path: parts.uri.path().to_owned(),
            seed,
            new_seed,
            cookies,
            csrf_secret: Arc::clone(&state.csrf_secret),
        })
    }
}

impl Visitor {
    /// The token this visitor's forms must carry.
    pub fn csrf_token(&self) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.csrf_secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(self.seed.as_bytes());
        mac.update(b"|");
        mac.update(self.session.as_deref().unwrap_or_default().as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// What a page rendered to be kept (`pages::public`) holds where this
    /// visitor's CSRF token goes: random per process, so no page text can
    /// forge it, and never sent (every answer fills it in, [`Visitor::fill_csrf`]).
    pub fn csrf_placeholder() -> &'static str {
        static PLACEHOLDER: LazyLock<String> = LazyLock::new(random_token);
        &PLACEHOLDER
    }

    /// `html` with every placeholder replaced by this visitor's token.
    pub fn fill_csrf(&self, html: &str) -> String {
        html.replace(Self::csrf_placeholder(), &self.csrf_token())
    }

    /// Whether a submitted token is this visitor's (constant time).
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        let expected = self.csrf_token();
        expected.len() == submitted.len()
            && expected
                .bytes()
                .zip(submitted.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }

    /// Adds the cookies this visit needs (a new CSRF seed, the flash
    /// message consumed) to a rendered page.
    pub fn finish(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        if self.new_seed {
            headers.append(
                header::SET_COOKIE,
                self.cookies.set(Name::CsrfSeed, Some(&self.seed)),
            );
        }
        if self.flash.is_some() {
            headers.append(header::SET_COOKIE, self.cookies.set(Name::Flash, None));
        }
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        response
    }

    /// Post/redirect/get: to `location`, with a one-time message.
    pub fn redirect(&self, location: &str, flash: &str) -> Redirection {
        Redirection {
            location: location.to_owned(),
            set_cookies: vec![
                self.cookies
                    .set(Name::Flash, Some(&URL_SAFE_NO_PAD.encode(flash))),
            ],
            cookies: self.cookies,
        }
    }

    /// The answer to a form whose CSRF token is wrong or missing.
    pub fn csrf_failure(&self, state: &AppState) -> Response {
        let page = state.templates.render(
            StatusCode::FORBIDDEN,
            "error.html",
            minijinja::context! {
                title => "Please try that again",
                message => "The form had expired or did not come from this site. Nothing was changed; go back, reload the page and submit it again.",
            },
        );
        self.finish(page)
    }
}

/// A redirect after a form, with cookies to set.
pub struct Redirection {
    location: String,
    set_cookies: Vec<HeaderValue>,
    cookies: Cookies,
}

impl Redirection {
    /// Also sets (or, with `None`, clears) the session cookie.
    pub fn session(mut self, token: Option<&str>) -> Self {
        self.set_cookies
            .push(self.cookies.set(Name::Session, token));
        self
    }

    /// Also sets (or clears) the guest cart cookie.
    pub fn cart(mut self, token: Option<&str>) -> Self {
        self.set_cookies.push(self.cookies.set(Name::Cart, token));
        self
    }
}

impl IntoResponse for Redirection {
    fn into_response(self) -> Response {
        let mut response = Redirect::to(&self.location).into_response();
        for cookie in self.set_cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}
