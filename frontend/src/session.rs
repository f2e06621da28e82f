//! The browser's side of a visit: cookies, CSRF tokens and flash messages.
//!
//! - The backend's session token lives in an HttpOnly, SameSite=Lax cookie
//!   (`Secure` and the `__Host-` prefix over HTTPS); the guest cart's token
//!   likewise. Both are only ever forwarded to the backend.
//! - Every form that changes something carries a CSRF token: an HMAC of a
//!   random per-browser value and the session token, so it is bound to the
//!   session and useless to another site (which cannot read our cookies).
//! - After a POST the shopper is redirected (post/redirect/get) with a
//!   one-time flash message.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use rand::TryRng;
use sha2::Sha256;

use crate::AppState;

const SESSION: &str = "bookstore_session";
const CART: &str = "bookstore_cart";
const SEED: &str = "bookstore_csrf";
const FLASH: &str = "bookstore_flash";

/// 256 random bits, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The operating system's generator; failing it is not recoverable.
    #[allow(clippy::expect_used)]
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random generator");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Cookie naming and flags for this deployment.
#[derive(Clone)]
pub struct Cookies {
    secure: bool,
    secret: Vec<u8>,
}

impl Cookies {
    pub fn new(secure: bool, secret: Vec<u8>) -> Self {
        Self { secure, secret }
    }

    fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// A `Set-Cookie` value; `None` deletes the cookie.
    fn set(&self, base: &str, value: Option<&str>) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = match value {
            Some(value) => format!(
                "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
                self.name(base)
            ),
            None => format!(
                "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
                self.name(base)
            ),
        };
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// Who is visiting, from their cookies.
pub struct Visitor {
    pub session: Option<String>,
    pub cart: Option<String>,
    pub flash: Option<String>,
    seed: String,
    new_seed: bool,
    cookies: Cookies,
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 512)
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let cookies = state.cookies.clone();
        let get = |base: &str| read_cookie(&parts.headers, &cookies.name(base));
        let (seed, new_seed) = match get(SEED) {
            Some(seed) => (seed, false),
            None => (random_token(), true),
        };
        Ok(Self {
            session: get(SESSION),
            cart: get(CART),
            flash: get(FLASH).and_then(|text| {
                let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
                String::from_utf8(bytes).ok()
            }),
            seed,
            new_seed,
            cookies,
        })
    }
}

impl Visitor {
    /// The token this visitor's forms must carry.
    pub fn csrf_token(&self) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.cookies.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(self.seed.as_bytes());
        mac.update(b"|");
        mac.update(self.session.as_deref().unwrap_or_default().as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
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
            headers.append(header::SET_COOKIE, self.cookies.set(SEED, Some(&self.seed)));
        }
        if self.flash.is_some() {
            headers.append(header::SET_COOKIE, self.cookies.set(FLASH, None));
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
            cookies: vec![
                self.cookies
                    .set(FLASH, Some(&URL_SAFE_NO_PAD.encode(flash))),
            ],
            session_cookies: self.cookies.clone(),
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
    cookies: Vec<HeaderValue>,
    session_cookies: Cookies,
}

impl Redirection {
    /// Also sets (or, with `None`, clears) the session cookie.
    pub fn session(mut self, token: Option<&str>) -> Self {
        self.cookies.push(self.session_cookies.set(SESSION, token));
        self
    }

    /// Also sets (or clears) the guest cart cookie.
    pub fn cart(mut self, token: Option<&str>) -> Self {
        self.cookies.push(self.session_cookies.set(CART, token));
        self
    }
}

impl IntoResponse for Redirection {
    fn into_response(self) -> Response {
        let mut response = Redirect::to(&self.location).into_response();
        for cookie in self.cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}
