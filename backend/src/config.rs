//! Configuration: one struct, read once at start-up from the environment (or
//! the equivalent command-line flags), through clap. `bookstore --help`
//! lists every variable with its meaning and default; README.md and
//! `.env.example` say the same.
//!
//! Secrets (database and Redis URLs may carry passwords) are never printed:
//! `--help` hides their values and `Debug` redacts them. An empty optional
//! variable (`DATABASE_READ_URL=`, `TRUSTED_PROXIES=`) means unset; an empty
//! `REDIS_URL` disables caching.

use std::{fmt, net::SocketAddr, time::Duration};

use clap::builder::BoolishValueParser;
use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};

mod accounts_mail;
mod breaker;
mod cache;
mod mail;
mod order_access;
mod persisted;
mod responses;
mod subscriptions;
mod values;

pub mod clients;
pub mod cors;
pub use accounts_mail::AccountsMailConfig;
pub use breaker::BreakerConfig;
pub use cache::CacheConfig;
pub use clients::ClientConfig;
pub use mail::MailConfig;
pub use order_access::OrderAccessConfig;
pub use persisted::PersistedConfig;
pub use responses::ResponsesConfig;
pub use subscriptions::SubscriptionsConfig;
pub use values::redact_url;
use values::{milliseconds, seconds};

/// The built-in `DATABASE_URL`: fine on a developer machine, refused in
/// production.
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/bookstore";
/// Where `/metrics` is served in production unless `METRICS_ADDR` says.
const PRODUCTION_METRICS_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9100);

/// How the process is deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AppEnv {
    Development,
    /// No GraphiQL, no introspection, no "Did you mean" hints, `/metrics`
    /// on an internal address, secrets required.
    Production,
}

pub mod checkout;
pub mod jobs;

#[derive(Clone, Args)]
pub struct Config {
    /// `production`: no GraphiQL, no introspection or field hints,
    /// `/metrics` only on `METRICS_ADDR`, and the built-in `DATABASE_URL`
    /// refused.
    #[arg(
        long = "app-env",
        env = "APP_ENV",
        value_enum,
        default_value = "development"
    )]
    pub app_env: AppEnv,
    /// The primary Postgres (reads and writes).
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = DEFAULT_DATABASE_URL,
        hide_env_values = true,
        hide_default_value = true
    )]
    pub database_url: String,
    /// Read replica for catalog reads (unset: the primary).
    #[arg(
        long = "database-read-url",
        env = "DATABASE_READ_URL",
        hide_env_values = true
    )]
    pub database_read_url: Option<String>,
    /// Connections per pool.
    #[arg(
        long = "database-pool-size",
        env = "DATABASE_POOL_SIZE",
        default_value_t = 16
    )]
    pub database_pool_size: u32,
    /// Postgres aborts a statement running longer than this (milliseconds;
    /// 0 = no limit). Keep it below `REQUEST_TIMEOUT_SECS`.
    #[arg(long = "statement-timeout-ms", env = "STATEMENT_TIMEOUT_MS", default_value = "5000", value_parser = milliseconds)]
    pub statement_timeout: Duration,
    /// The cache; empty disables caching (every read goes to Postgres).
    #[arg(
        long = "redis-url",
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// Lifetime of a cached entity, in seconds.
    #[arg(long = "cache-ttl-secs", env = "CACHE_TTL_SECS", default_value = "300", value_parser = seconds)]
    pub cache_ttl: Duration,
    /// Prefix of every Redis key.
    #[arg(
        long = "cache-namespace",
        env = "CACHE_NAMESPACE",
        default_value = "bookstore"
    )]
    pub cache_namespace: String,
    /// A Redis call slower than this (milliseconds) is abandoned; the
    /// request is served from Postgres.
    #[arg(long = "redis-timeout-ms", env = "REDIS_TIMEOUT_MS", default_value = "100", value_parser = milliseconds)]
    pub redis_timeout: Duration,
    /// After a Redis failure, Redis is bypassed this long (seconds).
    #[arg(long = "redis-backoff-secs", env = "REDIS_BACKOFF_SECS", default_value = "5", value_parser = seconds)]
    pub redis_backoff: Duration,
    /// Where the backend listens.
    #[arg(
        long = "bind-addr",
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8000"
    )]
    pub bind_addr: SocketAddr,
    /// Serve `/metrics` on this separate (internal) address instead of the
    /// main one; in production it defaults to 127.0.0.1:9100.
    #[arg(long = "metrics-addr", env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Allow introspection (always off in production).
    #[arg(long = "graphql-introspection", env = "GRAPHQL_INTROSPECTION", default_value = "true", value_parser = BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// Serve GraphiQL on `GET /graphql` to browsers (always off in production).
    #[arg(long = "graphiql", env = "GRAPHIQL", default_value = "true", value_parser = BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub graphiql: bool,
    /// Query depth limit (nested fields); introspection (`__schema`,
    /// `__type`) is not counted.
    #[arg(
        long = "graphql-max-depth",
        env = "GRAPHQL_MAX_DEPTH",
        default_value_t = 10
    )]
    pub max_depth: usize,
    /// Mutation fields per document (aliases and fragment spreads each
    /// count).
    #[arg(
        long = "graphql-max-mutations",
        env = "GRAPHQL_MAX_MUTATIONS",
        default_value_t = 5
    )]
    pub max_mutations: usize,
    /// Query complexity limit; page sizes (`first`/`last`) multiply.
    #[arg(
        long = "graphql-max-complexity",
        env = "GRAPHQL_MAX_COMPLEXITY",
        default_value_t = 10000
    )]
    pub max_complexity: usize,
    /// Aliased fields per request (fragment spreads counted each time).
    #[arg(
        long = "graphql-max-aliases",
        env = "GRAPHQL_MAX_ALIASES",
        default_value_t = 30
    )]
    pub max_aliases: usize,
    /// Request body limit in bytes (413 above).
    #[arg(
        long = "max-body-bytes",
        env = "MAX_BODY_BYTES",
        default_value_t = 65536
    )]
    pub max_body_bytes: usize,
    /// Whole-request time limit in seconds (503 above).
    #[arg(long = "request-timeout-secs", env = "REQUEST_TIMEOUT_SECS", default_value = "10", value_parser = seconds)]
    pub request_timeout: Duration,
    /// A session unused this long (seconds) ends (default 14 days).
    #[arg(long = "session-idle-secs", env = "SESSION_IDLE_SECS", default_value = "1209600", value_parser = seconds)]
    pub session_idle: Duration,
    /// A session ends this long (seconds) after sign-in, used or not
    /// (default 30 days).
    #[arg(long = "session-max-age-secs", env = "SESSION_MAX_AGE_SECS", default_value = "2592000", value_parser = seconds)]
    pub session_max_age: Duration,
    /// The cookie the storefront keeps the session token in;
    /// `Authorization: Bearer` also works.
    #[arg(
        long = "session-cookie",
        env = "SESSION_COOKIE",
        default_value = "bookstore_session"
    )]
    pub session_cookie: String,
    /// Sign-in attempts per email per window before TOO_MANY_ATTEMPTS (a
    /// success resets it).
    #[arg(
        long = "login-max-attempts-per-account",
        env = "LOGIN_MAX_ATTEMPTS_PER_ACCOUNT",
        default_value_t = 5
    )]
    pub login_attempts_per_account: i64,
    /// Sign-in attempts per client address per window.
    #[arg(
        long = "login-max-attempts-per-client",
        env = "LOGIN_MAX_ATTEMPTS_PER_CLIENT",
        default_value_t = 30
    )]
    pub login_attempts_per_client: i64,
    /// The sign-in throttling window, in seconds.
    #[arg(long = "login-throttle-window-secs", env = "LOGIN_THROTTLE_WINDOW_SECS", default_value = "900", value_parser = seconds)]
    pub login_throttle_window: Duration,
    #[command(flatten)]
    pub cache: CacheConfig,
    #[command(flatten)]
    pub breaker: BreakerConfig,
    #[command(flatten)]
    pub persisted: PersistedConfig,
    #[command(flatten)]
    pub order_access: OrderAccessConfig,
    #[command(flatten)]
    pub checkout: checkout::CheckoutConfig,
    #[command(flatten)]
    pub jobs: jobs::JobsConfig,
    #[command(flatten)]
    pub clients: ClientConfig,
    #[command(flatten)]
    pub accounts_mail: AccountsMailConfig,
    #[command(flatten)]
    pub mail: MailConfig,
    #[command(flatten)]
    pub responses: ResponsesConfig,
    #[command(flatten)]
    pub cors: cors::CorsConfig,
    #[command(flatten)]
    pub subscriptions: SubscriptionsConfig,
}

/// Only for reading a [`Config`] on its own (tests, `from_lookup`).
#[derive(Parser)]
#[command(name = "bookstore")]
struct Standalone {
    #[command(flatten)]
    config: Config,
}

impl Config {
    /// From the process environment alone (no command-line flags).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any variable source (tests pass a map). The process environment
    /// is not read: each variable `get` knows is passed as its flag.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let command = Standalone::command();
        let mut argv = vec!["bookstore".to_owned()];
        for arg in command.get_arguments() {
            let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
                continue;
            };
            if let Some(value) = env.to_str().and_then(&get) {
                argv.push(format!("--{long}={value}"));
            }
        }
        let matches = command
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(argv)
            .map_err(|error| anyhow::anyhow!("{}", error.render()))?;
        Standalone::from_arg_matches(&matches)?
            .config
            .normalized()
            .checked()
    }

    /// How the backend's pools connect.
    pub fn pool_options(&self) -> crate::db::PoolOptions {
        crate::db::PoolOptions {
            size: self.database_pool_size,
            statement_timeout: self.statement_timeout,
        }
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// Where `/metrics` is served apart from the API, if anywhere (else on
    /// the main router).
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_addr
            .or(self.is_production().then_some(PRODUCTION_METRICS_ADDR))
    }

    /// Refuses a configuration that must not run: in production, the
    /// built-in database URL (secrets must be given).
    pub fn checked(self) -> anyhow::Result<Self> {
        if self.is_production() && self.database_url == DEFAULT_DATABASE_URL {
            anyhow::bail!(
                "APP_ENV=production needs DATABASE_URL set to the production database \
                 (the built-in development default was refused)"
            );
        }
        if self.is_production() && self.mail.smtp_url.is_none() {
            anyhow::bail!(
                "APP_ENV=production needs SMTP_URL (without it, messages would only be logged)"
            );
        }
        if self.is_production() && self.mail.public_url == mail::DEFAULT_PUBLIC_URL {
            anyhow::bail!(
                "APP_ENV=production needs PUBLIC_URL (the storefront's public address, for links in emails)"
            );
        }
        let public_url = self.mail.public_base();
        let host = public_url
            .strip_prefix("https://")
            .or_else(|| public_url.strip_prefix("http://"))
            .unwrap_or_default();
        if host.is_empty() || host.contains(char::is_whitespace) {
            anyhow::bail!(
                "PUBLIC_URL must be the storefront's http(s) address, such as https://shop.example.com (got {public_url:?})"
            );
        }
        Ok(self)
    }

    /// Call once after parsing: an empty optional variable means unset (an
    /// empty `REDIS_URL` disables the cache); production turns GraphiQL and
    /// introspection off whatever their variables say.
    pub fn normalized(mut self) -> Self {
        if self.is_production() {
            self.graphiql = false;
            self.introspection = false;
        }
        for value in [
            &mut self.database_read_url,
            &mut self.redis_url,
            &mut self.mail.smtp_url,
        ] {
            *value = value.take().filter(|text| !text.trim().is_empty());
        }
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("app_env", &self.app_env)
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "database_read_url",
                &self.database_read_url.as_deref().map(redact_url),
            )
            .field("database_pool_size", &self.database_pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_namespace", &self.cache_namespace)
            .field("redis_timeout", &self.redis_timeout)
            .field("redis_backoff", &self.redis_backoff)
            .field("bind_addr", &self.bind_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("introspection", &self.introspection)
            .field("graphiql", &self.graphiql)
            .field("max_depth", &self.max_depth)
            .field("max_mutations", &self.max_mutations)
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
            .field("cache", &self.cache)
            .field("breaker", &self.breaker)
            .field("persisted", &self.persisted)
            .field("order_access", &self.order_access)
            .field("checkout", &self.checkout)
            .field("jobs", &self.jobs)
            .field("clients", &self.clients)
            .field("accounts_mail", &self.accounts_mail)
            .field("mail", &self.mail)
            .field("subscriptions", &self.subscriptions)
            .finish()
    }
}

#[cfg(test)]
mod tests;
