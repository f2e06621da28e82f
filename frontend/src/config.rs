//! The storefront's configuration: one struct, read by clap from the
//! command line or the environment (`bookstore-web --help` lists every
//! variable with its meaning and default; README.md and .env.example say
//! the same).
//!
//! Owns parsing and defaults only. It must never print a secret (`Debug`
//! and `--help` redact `CSRF_SECRET`), never read the environment behind
//! clap's back, and imports nothing of the crate but `tokens` and `forwarded`.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::tokens::random_token;
use bookstore_edge::forwarded::TrustedProxies;

mod caching;
mod live;
mod seo;
pub use caching::CachingConfig;
pub use live::LiveConfig;
pub use seo::SeoConfig;

const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";
const DEFAULT_GRAPHQL_URL: &str = "http://127.0.0.1:8000/graphql";
const DEFAULT_BACKEND_TIMEOUT_MS: &str = "5000";
const DEFAULT_COOKIE_SECURE: &str = "false";
const DEFAULT_APP_ENV: &str = "development";

/// The storefront: server-rendered HTML over the bookstore's GraphQL API.
///
/// Every option can also be set by the environment variable it names. An
/// empty (or blank) variable counts as unset.
#[derive(Clone, Debug, Parser)]
#[command(name = "bookstore-web", version)]
pub struct Config {
    /// The address to listen on.
    #[arg(
        long,
        env = "BIND_ADDR",
        value_name = "ADDRESS",
        default_value = DEFAULT_BIND_ADDR,
        value_parser = bind_addr,
    )]
    pub bind_addr: SocketAddr,

    /// The backend's GraphQL endpoint.
    #[arg(
        long,
        env = "GRAPHQL_URL",
        value_name = "URL",
        default_value = DEFAULT_GRAPHQL_URL,
        value_parser = graphql_url,
    )]
    pub graphql_url: String,

    /// How long a page waits for the backend, in milliseconds, before
    /// showing the shopper the "try again" page (503).
    #[arg(
        long = "backend-timeout-ms",
        env = "BACKEND_TIMEOUT_MS",
        value_name = "MILLISECONDS",
        default_value = DEFAULT_BACKEND_TIMEOUT_MS,
        value_parser = backend_timeout,
    )]
    pub backend_timeout: Duration,

    /// `development` or `production`. In production, `CSRF_SECRET` must be
    /// set: the storefront refuses to start without it.
    #[arg(
        long,
        env = "APP_ENV",
        value_name = "ENVIRONMENT",
        default_value = DEFAULT_APP_ENV,
        value_parser = app_env,
    )]
    pub app_env: AppEnv,

    /// Signs the forms' CSRF tokens: set the same value on every instance.
    /// Unset: a random one per process (forms shown by a previous process
    /// then fail once, with a clear message); with `APP_ENV=production`,
    /// unset is a start-up error.
    #[arg(
        long,
        env = "CSRF_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        default_value = "",
        hide_default_value = true,
        value_parser = csrf_secret,
    )]
    pub csrf_secret: Secret,

    /// Served over HTTPS: cookies get `Secure` and the `__Host-` prefix
    /// (`1`, `true`, `yes` or `on`; anything else is false).
    #[arg(
        long,
        env = "COOKIE_SECURE",
        value_name = "BOOLEAN",
        default_value = DEFAULT_COOKIE_SECURE,
        action = ArgAction::Set,
        value_parser = cookie_secure,
    )]
    pub cookie_secure: bool,

    /// Proxies (nginx, a load balancer) allowed to say who the shopper is
    /// (`X-Forwarded-For`) and to pass a request id: comma-separated
    /// addresses and CIDR networks. The storefront passes the shopper's
    /// address on to the backend (whose own `TRUSTED_PROXIES` must list the
    /// storefront). Empty (default): trust nobody; the shopper is the peer.
    #[arg(
        long,
        env = "TRUSTED_PROXIES",
        value_name = "ADDRESSES",
        default_value = "",
        value_parser = TrustedProxies::parse,
    )]
    pub trusted_proxies: TrustedProxies,

    /// Serve `/metrics` (Prometheus) on this separate, internal address.
    /// Unset: on BIND_ADDR in development; 127.0.0.1:9101 in production,
    /// which never serves it on BIND_ADDR.
    #[arg(
        long = "metrics-addr",
        env = "METRICS_ADDR",
        value_name = "ADDRESS",
        default_value = "",
        hide_default_value = true,
        value_parser = metrics_addr,
    )]
    pub metrics_addr: MetricsAddr,

    #[command(flatten)]
    pub caching: CachingConfig,

    #[command(flatten)]
    pub seo: SeoConfig,

    #[command(flatten)]
    pub live: LiveConfig,
}

/// Where the storefront runs: production requires its secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// A secret value: `Debug` never shows it.
#[derive(Clone)]
pub struct Secret {
    value: Vec<u8>,
    /// Made up at start-up because none was configured.
    generated: bool,
}

impl Secret {
    pub fn expose(&self) -> &[u8] {
        &self.value
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `text`, or `default` when it is blank (an empty variable is unset).
fn or_default<'a>(text: &'a str, default: &'a str) -> &'a str {
    if text.trim().is_empty() {
        default
    } else {
        text
    }
}

fn bind_addr(text: &str) -> Result<SocketAddr, String> {
    or_default(text, DEFAULT_BIND_ADDR)
        .parse()
        .map_err(|_| "BIND_ADDR must be an address such as 127.0.0.1:8080".to_owned())
}

/// `METRICS_ADDR`: an address, or unset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricsAddr(pub Option<SocketAddr>);

/// Where `/metrics` is served in production unless `METRICS_ADDR` says
/// (the backend's default is port 9100 on the same loopback).
const PRODUCTION_METRICS_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9101);

fn metrics_addr(text: &str) -> Result<MetricsAddr, String> {
    if text.trim().is_empty() {
        return Ok(MetricsAddr(None));
    }
    text.trim()
        .parse()
        .map(|address| MetricsAddr(Some(address)))
        .map_err(|_| "METRICS_ADDR must be an address such as 0.0.0.0:9100".to_owned())
}

fn graphql_url(text: &str) -> Result<String, String> {
    Ok(or_default(text, DEFAULT_GRAPHQL_URL).to_owned())
}

fn backend_timeout(text: &str) -> Result<Duration, String> {
    or_default(text, DEFAULT_BACKEND_TIMEOUT_MS)
        .parse()
        .map(Duration::from_millis)
        .map_err(|_| "BACKEND_TIMEOUT_MS must be a number of milliseconds".to_owned())
}

fn app_env(text: &str) -> Result<AppEnv, String> {
    match or_default(text, DEFAULT_APP_ENV) {
        "development" => Ok(AppEnv::Development),
        "production" => Ok(AppEnv::Production),
        _ => Err("APP_ENV must be `development` or `production`".to_owned()),
    }
}

/// Only an empty secret is unset: spaces are a (poor) secret all the same.
fn csrf_secret(text: &str) -> Result<Secret, String> {
    Ok(if text.is_empty() {
        Secret {
            value: random_token().into_bytes(),
            generated: true,
        }
    } else {
        Secret {
            value: text.as_bytes().to_vec(),
            generated: false,
        }
    })
}

fn cookie_secure(text: &str) -> Result<bool, String> {
    Ok(matches!(
        or_default(text, DEFAULT_COOKIE_SECURE)
            .to_ascii_lowercase()
            .as_str(),
        "1" | "true" | "yes" | "on"
    ))
}

impl Config {
    /// From the command line and the process environment (`--help` and
    /// errors are printed, and end the process).
    pub fn from_args_and_env() -> Self {
        Self::parse().checked()
    }

    /// The internal address serving `/metrics`, if any (always one in
    /// production); `None`: `/metrics` is on BIND_ADDR.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_addr
            .0
            .or((self.app_env == AppEnv::Production).then_some(PRODUCTION_METRICS_ADDR))
    }

    /// What no single variable can say alone: in production, the CSRF
    /// secret must be configured (instances must agree on it, and a
    /// restart must not void every open form), and so must the shop's
    /// public address (canonical links and the sitemap name it).
    pub fn check(&self) -> Result<(), String> {
        if self.app_env == AppEnv::Production && self.csrf_secret.generated {
            return Err(
                "CSRF_SECRET must be set when APP_ENV=production (the same long random value on every instance)"
                    .to_owned(),
            );
        }
        if self.app_env == AppEnv::Production && self.seo.public_url_is_default() {
            return Err(
                "PUBLIC_URL must be set when APP_ENV=production (the shop's public address, such as https://shop.example.com)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// `self` if [`Config::check`] passes; otherwise prints the error the
    /// way clap does and ends the process.
    pub fn checked(self) -> Self {
        if let Err(message) = self.check() {
            Self::command()
                .error(clap::error::ErrorKind::MissingRequiredArgument, message)
                .exit();
        }
        self
    }

    /// From `lookup` alone (tests): the variables it knows, each as its
    /// option; nothing comes from the process environment or command line.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut arguments = vec![OsString::from("bookstore-web")];
        let command = Self::command().mut_args(|arg| {
            let given = arg
                .get_env()
                .and_then(|name| name.to_str())
                .and_then(&lookup);
            if let (Some(value), Some(long)) = (given, arg.get_long()) {
                arguments.push(OsString::from(format!("--{long}={value}")));
            }
            arg.env(None)
        });
        let matches = command
            .try_get_matches_from(arguments)
            .map_err(|error| anyhow::anyhow!("{}", error.render().to_string().trim()))?;
        let config = Self::from_arg_matches(&matches)?;
        config.check().map_err(|message| anyhow::anyhow!(message))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests;
