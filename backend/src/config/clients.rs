//! Who the clients are and how hard they may push: the trusted proxies
//! (whose `X-Forwarded-For` and `X-Request-Id` are believed), the throttles
//! beyond sign-in (registration, profile changes) and the in-process
//! fallback counters used while Redis is away.
//!
//! Parsing and defaults only; every default is the safe one (trust nobody).

use std::time::Duration;

use super::values::seconds;
use clap::Args;

use bookstore_edge::forwarded::TrustedProxies;

#[derive(Clone, Debug, Args)]
pub struct ClientConfig {
    /// Proxies allowed to say who the client is (`X-Forwarded-For`) and to
    /// pass a request id: comma-separated addresses and CIDR networks, such
    /// as `10.0.0.5, 172.30.0.0/24`. Behind the storefront or nginx, list
    /// their addresses here (the storefront's is required for per-shopper
    /// sign-in throttling). Empty (default): trust nobody; the client is
    /// the peer address.
    #[arg(
        long = "trusted-proxies",
        env = "TRUSTED_PROXIES",
        default_value = "",
        value_parser = TrustedProxies::parse
    )]
    pub trusted_proxies: TrustedProxies,
    /// Accounts one client address may create per `REGISTER_WINDOW_SECS`.
    #[arg(
        long = "register-max-per-client",
        env = "REGISTER_MAX_PER_CLIENT",
        default_value_t = 10
    )]
    pub register_per_client: i64,
    /// The registration throttling window, in seconds.
    #[arg(long = "register-window-secs", env = "REGISTER_WINDOW_SECS", default_value = "3600", value_parser = seconds)]
    pub register_window: Duration,
    /// Profile and password changes per account per
    /// `PROFILE_CHANGES_WINDOW_SECS` (wrong current passwords also count as
    /// sign-in attempts).
    #[arg(
        long = "profile-max-changes-per-account",
        env = "PROFILE_MAX_CHANGES_PER_ACCOUNT",
        default_value_t = 20
    )]
    pub profile_changes_per_account: i64,
    /// The profile-change throttling window, in seconds.
    #[arg(long = "profile-changes-window-secs", env = "PROFILE_CHANGES_WINDOW_SECS", default_value = "3600", value_parser = seconds)]
    pub profile_changes_window: Duration,
    /// Throttle counters kept in process (used whenever Redis fails or
    /// hangs, so throttles never fail open); the oldest are dropped beyond
    /// this many.
    #[arg(
        long = "throttle-local-max-keys",
        env = "THROTTLE_LOCAL_MAX_KEYS",
        default_value_t = 100_000
    )]
    pub throttle_local_max_keys: usize,
}
