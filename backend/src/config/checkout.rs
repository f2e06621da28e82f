//! Checkout's configuration: how long a charge may take, how the payment
//! sweeper resolves orders left awaiting payment, and the cart limits that
//! keep every cart one checkout can finish. Read by `crate::checkout`,
//! `crate::jobs::sweeper` and the cart resolvers; never read elsewhere.

use std::time::Duration;

use super::values::{milliseconds, seconds};
use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct CheckoutConfig {
    /// A charge the payment gateway has not answered in this many
    /// milliseconds is "unknown": the order stays awaiting payment (the
    /// shopper is told the payment is being confirmed) until the sweeper
    /// asks the gateway. Keep it below REQUEST_TIMEOUT_SECS.
    #[arg(long = "charge-timeout-ms", env = "CHARGE_TIMEOUT_MS", default_value = "8000", value_parser = milliseconds)]
    pub charge_timeout: Duration,
    /// How often (seconds) the payment sweeper looks for orders awaiting
    /// payment for longer than PAYMENT_SWEEP_AGE_SECS.
    #[arg(long = "payment-sweep-interval-secs", env = "PAYMENT_SWEEP_INTERVAL_SECS", default_value = "60", value_parser = seconds)]
    pub sweep_interval: Duration,
    /// An order awaiting payment this long (seconds) is resolved by asking
    /// the gateway: paid, or cancelled with its stock returned. Never less
    /// than the charge timeout, whatever is set.
    #[arg(long = "payment-sweep-age-secs", env = "PAYMENT_SWEEP_AGE_SECS", default_value = "900", value_parser = seconds)]
    pub sweep_age: Duration,
    /// Different books one cart may hold (1 to 1000).
    #[arg(long = "cart-max-lines", env = "CART_MAX_LINES", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub cart_max_lines: u16,
    /// Copies of one book a cart line may hold (1 to 99).
    #[arg(long = "cart-max-copies", env = "CART_MAX_COPIES", default_value_t = 99, value_parser = clap::value_parser!(u8).range(1..=99))]
    pub cart_max_copies: u8,
}

impl CheckoutConfig {
    /// Copies per line, as the quantity type.
    pub fn max_copies(&self) -> i32 {
        i32::from(self.cart_max_copies)
    }

    /// Lines per cart, as the count type.
    pub fn max_lines(&self) -> usize {
        usize::from(self.cart_max_lines)
    }

    /// The sweep age actually used: never shorter than a charge may take
    /// (plus a margin), so the sweeper never resolves a charge still in
    /// flight.
    pub fn effective_sweep_age(&self) -> Duration {
        self.sweep_age
            .max(self.charge_timeout + Duration::from_secs(1))
    }
}

impl Default for CheckoutConfig {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            charge_timeout: Duration::from_secs(8),
            sweep_interval: Duration::from_secs(60),
            sweep_age: Duration::from_secs(900),
            cart_max_lines: 100,
            cart_max_copies: 99,
        }
    }
}
