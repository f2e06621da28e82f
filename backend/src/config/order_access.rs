//! Configuration of the guest order lookup (order number + checkout email):
//! how many attempts each client address and each order number get per
//! window before `TOO_MANY_ATTEMPTS`. Flattened into [`super::Config`].
//!
//! Owns only these variables; the counting is `auth::Throttle`'s.

use std::time::Duration;

use super::values::seconds;
use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct OrderAccessConfig {
    /// Guest order lookups (number + email, successful or not) per client
    /// address per window, whatever the numbers: guessing numbers stops here.
    #[arg(
        long = "order-lookup-max-attempts-per-client",
        env = "ORDER_LOOKUP_MAX_ATTEMPTS_PER_CLIENT",
        default_value_t = 20
    )]
    pub lookups_per_client: i64,
    /// Guest order lookups per order number per window, from any client:
    /// guessing the email of a known number stops here (even the right
    /// email is refused until the window ends; the confirmation link's
    /// token still works).
    #[arg(
        long = "order-lookup-max-attempts-per-number",
        env = "ORDER_LOOKUP_MAX_ATTEMPTS_PER_NUMBER",
        default_value_t = 10
    )]
    pub lookups_per_number: i64,
    /// The order lookup throttling window, in seconds.
    #[arg(long = "order-lookup-window-secs", env = "ORDER_LOOKUP_WINDOW_SECS", default_value = "900", value_parser = seconds)]
    pub lookup_window: Duration,
}
