//! Configuration, read once from the environment at start-up.
//!
//! Every variable is documented here and in README.md / .env.example. Secrets
//! (database and Redis URLs may carry passwords) are never printed: `Debug`
//! redacts them.

use std::{fmt, net::SocketAddr, time::Duration};

use anyhow::Context;

#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: the primary Postgres (reads and writes).
    pub database_url: String,
    /// `DATABASE_READ_URL`: optional read replica for catalog reads.
    pub database_read_url: Option<String>,
    /// `DATABASE_POOL_SIZE`: connections per pool (default 16).
    pub database_pool_size: u32,
    /// `REDIS_URL`: the cache; empty disables caching entirely.
    pub redis_url: Option<String>,
    /// `CACHE_TTL_SECS`: lifetime of a cached entity (default 300).
    pub cache_ttl: Duration,
    /// `CACHE_NAMESPACE`: prefix of every Redis key (default `bookstore`).
    pub cache_namespace: String,
    /// `REDIS_TIMEOUT_MS`: how long a Redis call may take before the request
    /// goes to Postgres instead (default 100).
    pub redis_timeout: Duration,
    /// `REDIS_BACKOFF_SECS`: after a Redis failure, how long to bypass it
    /// before trying again (default 5).
    pub redis_backoff: Duration,
    /// `BIND_ADDR`: where the backend listens (default 127.0.0.1:8000).
    pub bind_addr: SocketAddr,
    /// `GRAPHQL_INTROSPECTION`: allow introspection (default true; turn off in production).
    pub introspection: bool,
    /// `GRAPHIQL`: serve GraphiQL on `GET /graphql` (default true).
    pub graphiql: bool,
    /// `GRAPHQL_MAX_DEPTH` (default 15: the standard introspection query fits).
    pub max_depth: usize,
    /// `GRAPHQL_MAX_COMPLEXITY` (default 10000; page sizes multiply).
    pub max_complexity: usize,
    /// `GRAPHQL_MAX_ALIASES` (default 30).
    pub max_aliases: usize,
    /// `MAX_BODY_BYTES`: request body limit (default 65536).
    pub max_body_bytes: usize,
    /// `REQUEST_TIMEOUT_SECS`: whole-request time limit (default 10).
    pub request_timeout: Duration,
    /// `SESSION_IDLE_SECS`: a session unused this long ends (default 14 days).
    pub session_idle: Duration,
    /// `SESSION_MAX_AGE_SECS`: a session ends this long after sign-in, used or
    /// not (default 30 days).
    pub session_max_age: Duration,
    /// `SESSION_COOKIE`: the cookie the storefront keeps the token in
    /// (default `bookstore_session`); `Authorization: Bearer` also works.
    pub session_cookie: String,
    /// `LOGIN_MAX_ATTEMPTS_PER_ACCOUNT`: sign-in attempts per email per
    /// window before `TOO_MANY_ATTEMPTS` (default 5; a success resets it).
    pub login_attempts_per_account: i64,
    /// `LOGIN_MAX_ATTEMPTS_PER_CLIENT`: sign-in attempts per client address
    /// per window (default 30).
    pub login_attempts_per_client: i64,
    /// `LOGIN_THROTTLE_WINDOW_SECS` (default 900).
    pub login_throttle_window: Duration,
    /// `CLIENT_IP_HEADER`: behind a proxy, the header holding the client's
    /// address (such as `X-Forwarded-For`, first entry); unset = the peer.
    pub client_ip_header: Option<String>,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let text = |name: &str, default: &str| {
            get(name)
                .filter(|value| !value.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        fn number<T: std::str::FromStr>(name: &str, value: String) -> anyhow::Result<T>
        where
            T::Err: std::error::Error + Send + Sync + 'static,
        {
            value
                .trim()
                .parse()
                .with_context(|| format!("{name} must be a number, got {value:?}"))
        }
        fn flag(name: &str, value: String) -> anyhow::Result<bool> {
            match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => anyhow::bail!("{name} must be true or false, got {value:?}"),
            }
        }
        let redis_url = match get("REDIS_URL") {
            Some(value) if value.trim().is_empty() => None,
            Some(value) => Some(value),
            None => Some("redis://127.0.0.1:6379".to_owned()),
        };
        Ok(Self {
            database_url: text(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/bookstore",
            ),
            database_read_url: get("DATABASE_READ_URL").filter(|url| !url.trim().is_empty()),
            database_pool_size: number("DATABASE_POOL_SIZE", text("DATABASE_POOL_SIZE", "16"))?,
            redis_url,
            cache_ttl: Duration::from_secs(number(
                "CACHE_TTL_SECS",
                text("CACHE_TTL_SECS", "300"),
            )?),
            cache_namespace: text("CACHE_NAMESPACE", "bookstore"),
            redis_timeout: Duration::from_millis(number(
                "REDIS_TIMEOUT_MS",
                text("REDIS_TIMEOUT_MS", "100"),
            )?),
            redis_backoff: Duration::from_secs(number(
                "REDIS_BACKOFF_SECS",
                text("REDIS_BACKOFF_SECS", "5"),
            )?),
            bind_addr: number("BIND_ADDR", text("BIND_ADDR", "127.0.0.1:8000"))?,
            introspection: flag(
                "GRAPHQL_INTROSPECTION",
                text("GRAPHQL_INTROSPECTION", "true"),
            )?,
            graphiql: flag("GRAPHIQL", text("GRAPHIQL", "true"))?,
            max_depth: number("GRAPHQL_MAX_DEPTH", text("GRAPHQL_MAX_DEPTH", "15"))?,
            max_complexity: number(
                "GRAPHQL_MAX_COMPLEXITY",
                text("GRAPHQL_MAX_COMPLEXITY", "10000"),
            )?,
            max_aliases: number("GRAPHQL_MAX_ALIASES", text("GRAPHQL_MAX_ALIASES", "30"))?,
            max_body_bytes: number("MAX_BODY_BYTES", text("MAX_BODY_BYTES", "65536"))?,
            request_timeout: Duration::from_secs(number(
                "REQUEST_TIMEOUT_SECS",
                text("REQUEST_TIMEOUT_SECS", "10"),
            )?),
            session_idle: Duration::from_secs(number(
                "SESSION_IDLE_SECS",
                text("SESSION_IDLE_SECS", "1209600"),
            )?),
            session_max_age: Duration::from_secs(number(
                "SESSION_MAX_AGE_SECS",
                text("SESSION_MAX_AGE_SECS", "2592000"),
            )?),
            session_cookie: text("SESSION_COOKIE", "bookstore_session"),
            login_attempts_per_account: number(
                "LOGIN_MAX_ATTEMPTS_PER_ACCOUNT",
                text("LOGIN_MAX_ATTEMPTS_PER_ACCOUNT", "5"),
            )?,
            login_attempts_per_client: number(
                "LOGIN_MAX_ATTEMPTS_PER_CLIENT",
                text("LOGIN_MAX_ATTEMPTS_PER_CLIENT", "30"),
            )?,
            login_throttle_window: Duration::from_secs(number(
                "LOGIN_THROTTLE_WINDOW_SECS",
                text("LOGIN_THROTTLE_WINDOW_SECS", "900"),
            )?),
            client_ip_header: get("CLIENT_IP_HEADER").filter(|name| !name.trim().is_empty()),
        })
    }
}

/// Hides the password in a connection URL (`scheme://user:secret@host` ->
/// `scheme://user:***@host`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "database_read_url",
                &self.database_read_url.as_deref().map(redact_url),
            )
            .field("database_pool_size", &self.database_pool_size)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_namespace", &self.cache_namespace)
            .field("redis_timeout", &self.redis_timeout)
            .field("redis_backoff", &self.redis_backoff)
            .field("bind_addr", &self.bind_addr)
            .field("introspection", &self.introspection)
            .field("graphiql", &self.graphiql)
            .field("max_depth", &self.max_depth)
            .field("max_complexity", &self.max_complexity)
            .field("max_aliases", &self.max_aliases)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("session_idle", &self.session_idle)
            .field("session_max_age", &self.session_max_age)
            .field("session_cookie", &self.session_cookie)
            .field(
                "login_attempts_per_account",
                &self.login_attempts_per_account,
            )
            .field("login_attempts_per_client", &self.login_attempts_per_client)
            .field("login_throttle_window", &self.login_throttle_window)
            .field("client_ip_header", &self.client_ip_header)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/bookstore"),
            "postgres://app:***@db:5432/bookstore"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    #[test]
    fn rejects_bad_numbers_with_the_variable_name() {
        let error =
            Config::from_lookup(|name| (name == "GRAPHQL_MAX_DEPTH").then(|| "deep".into()))
                .err()
                .map(|error| error.to_string());
        assert_eq!(
            error.as_deref(),
            Some("GRAPHQL_MAX_DEPTH must be a number, got \"deep\"")
        );
    }

    #[test]
    fn empty_redis_url_disables_the_cache() {
        let config = Config::from_lookup(|name| (name == "REDIS_URL").then(String::new));
        assert!(config.is_ok_and(|config| config.redis_url.is_none()));
    }
}
