//! Who is asking: the session token a request carries (`Authorization:
//! Bearer`, else the session cookie), its user agent and the client's
//! address (the peer, or what trusted proxies vouch for: [`forwarded`]).
//! Owns reading those from headers; must never decide what the caller may
//! do (that is `auth`).
//!
//! [`forwarded`]: super::forwarded

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use axum_extra::extract::cookie::Cookie;

use crate::auth::RequestAuth;
use bookstore_edge::forwarded::TrustedProxies;

/// Where the token and the client address are read from.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The storefront's session cookie.
    pub session_cookie: String,
    /// Whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
}

impl ClientSettings {
    pub fn request_auth(
        &self,
        headers: &HeaderMap,
        peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    ) -> RequestAuth {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let bearer = header(header::AUTHORIZATION.as_str())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| token.trim().to_owned());
        let peer = peer.map(|Extension(ConnectInfo(address))| address.ip());
        let client_address = self
            .trusted_proxies
            .client_address(peer, headers)
            .map_or_else(|| "unknown".to_owned(), |address| address.to_string());
        RequestAuth::new(
            bearer.or_else(|| self.session_token(headers)),
            header(header::USER_AGENT.as_str()).map(str::to_owned),
            client_address,
        )
    }

    /// The first session cookie in the request's `Cookie` headers.
    fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == self.session_cookie)
            .map(|cookie| cookie.value().trim().to_owned())
    }
}
