//! The GraphQL subscription transport's knobs (flattened into
//! [`super::Config`]): how long a new WebSocket may stay silent before its
//! `connection_init`, how many subscriptions one connection and how many
//! connections one client address may hold, and how large a message may be.
//!
//! Parsing and defaults only.

use std::time::Duration;

use super::values::seconds;
use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct SubscriptionsConfig {
    /// Seconds a WebSocket on `/graphql` may wait before its
    /// `connection_init`; then it is closed with 4408.
    #[arg(long = "ws-init-timeout-secs", env = "WS_INIT_TIMEOUT_SECS", default_value = "10", value_parser = seconds)]
    pub init_timeout: Duration,
    /// Subscriptions one WebSocket may hold at once; one more is refused
    /// with an `error` message (the connection stays).
    #[arg(
        long = "ws-max-subscriptions",
        env = "WS_MAX_SUBSCRIPTIONS",
        default_value_t = 100
    )]
    pub max_subscriptions: usize,
    /// Open WebSockets per client address (per instance; the address as
    /// `TRUSTED_PROXIES` decides it); one more is refused with 429.
    #[arg(
        long = "ws-max-connections-per-client",
        env = "WS_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = 50
    )]
    pub max_connections_per_client: usize,
    /// The largest WebSocket message (bytes) a client may send; a larger
    /// one closes the connection with 1009.
    #[arg(
        long = "ws-max-message-bytes",
        env = "WS_MAX_MESSAGE_BYTES",
        default_value_t = 65_536
    )]
    pub max_message_bytes: usize,
}
