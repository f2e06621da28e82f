//! What the backend (`bookstore`) and the storefront (`bookstore-web`) do
//! alike at their HTTP edge, written once:
//!
//! - [`forwarded`]: `TRUSTED_PROXIES` and the client address (the rightmost
//!   `X-Forwarded-For` hop that is not a trusted proxy);
//! - [`request_id`]: which proxy-given `X-Request-Id` is kept, and new ids;
//! - [`healthcheck`]: the `healthcheck` subcommand's HTTP/1.0 probe;
//! - [`metrics`]: the Prometheus registry each app records into, and its
//!   `/metrics` text.
//!
//! Leaves only: no framework, no I/O but the probe's one request; the only
//! state is a registry of metric handles.

pub mod forwarded;
pub mod healthcheck;
pub mod metrics;
pub mod request_id;
