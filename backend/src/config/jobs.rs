//! The periodic jobs' configuration: how often each cleanup runs and how
//! long what it removes is kept. Read by `crate::jobs::periodic` only (the
//! payment sweeper keeps its own settings in `checkout`).
//!
//! An interval is how often the job runs fleet-wide, however many backends
//! run it: each round runs on one instance. An interval of 0 turns the job
//! off on this instance (another instance may still run it).

use std::time::Duration;

use super::values::{seconds, whole};
use clap::Args;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

#[derive(Clone, Debug, Args)]
pub struct JobsConfig {
    /// How often (seconds) expired sessions are deleted. Expiry is enforced
    /// on every request anyway; this keeps the table small.
    #[arg(long = "session-sweep-interval-secs", env = "SESSION_SWEEP_INTERVAL_SECS", default_value = "3600", value_parser = seconds)]
    pub session_sweep_interval: Duration,
    /// How often (seconds) abandoned carts are deleted.
    #[arg(long = "cart-sweep-interval-secs", env = "CART_SWEEP_INTERVAL_SECS", default_value = "3600", value_parser = seconds)]
    pub cart_sweep_interval: Duration,
    /// A guest's open cart untouched (no line added, changed or removed)
    /// for this many days is deleted. Checked-out carts are never deleted.
    #[arg(long = "cart-retention-days", env = "CART_RETENTION_DAYS", default_value = "30", value_parser = days)]
    pub cart_retention: Duration,
    /// A signed-in customer's open cart untouched for this many days is
    /// deleted.
    #[arg(long = "customer-cart-retention-days", env = "CUSTOMER_CART_RETENTION_DAYS", default_value = "180", value_parser = days)]
    pub customer_cart_retention: Duration,
    /// How often (seconds) old checkout idempotency records are deleted.
    #[arg(long = "idempotency-sweep-interval-secs", env = "IDEMPOTENCY_SWEEP_INTERVAL_SECS", default_value = "3600", value_parser = seconds)]
    pub idempotency_sweep_interval: Duration,
    /// A checkout retried with its idempotency key within this many hours
    /// returns the first attempt's order; later, the key is forgotten (the
    /// cart is closed by then, so a late retry orders nothing). A record
    /// whose order still awaits payment is kept whatever its age.
    #[arg(long = "idempotency-retention-hours", env = "IDEMPOTENCY_RETENTION_HOURS", default_value = "24", value_parser = hours)]
    pub idempotency_retention: Duration,
    /// How often (seconds) sent and dead outbox messages are deleted.
    #[arg(long = "outbox-sweep-interval-secs", env = "OUTBOX_SWEEP_INTERVAL_SECS", default_value = "3600", value_parser = seconds)]
    pub outbox_sweep_interval: Duration,
    /// Sent and dead outbox messages are kept this many days (for support
    /// and for their dedup keys), then deleted. Pending ones never are.
    #[arg(long = "outbox-retention-days", env = "OUTBOX_RETENTION_DAYS", default_value = "30", value_parser = days)]
    pub outbox_retention: Duration,
    /// How often (seconds) expired email-verification and password-reset
    /// tokens are deleted.
    #[arg(long = "account-token-sweep-interval-secs", env = "ACCOUNT_TOKEN_SWEEP_INTERVAL_SECS", default_value = "3600", value_parser = seconds)]
    pub account_token_sweep_interval: Duration,
}

impl Default for JobsConfig {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            session_sweep_interval: Duration::from_secs(HOUR),
            cart_sweep_interval: Duration::from_secs(HOUR),
            cart_retention: Duration::from_secs(30 * DAY),
            customer_cart_retention: Duration::from_secs(180 * DAY),
            idempotency_sweep_interval: Duration::from_secs(HOUR),
            idempotency_retention: Duration::from_secs(24 * HOUR),
            outbox_sweep_interval: Duration::from_secs(HOUR),
            outbox_retention: Duration::from_secs(30 * DAY),
            account_token_sweep_interval: Duration::from_secs(HOUR),
        }
    }
}

/// A retention: at least one unit (0 would delete what is in use).
fn at_least_one(value: &str, unit: &str, unit_secs: u64) -> Result<Duration, String> {
    match whole(value, unit)? {
        0 => Err(format!(
            "{value:?}: keep at least 1 (0 {unit} would delete what is in use)"
        )),
        count => count
            .checked_mul(unit_secs)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{value:?} {unit} is too long")),
    }
}

fn hours(value: &str) -> Result<Duration, String> {
    at_least_one(value, "hours", HOUR)
}

fn days(value: &str) -> Result<Duration, String> {
    at_least_one(value, "days", DAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(name: &'static str, value: &'static str) -> anyhow::Result<Config> {
        Config::from_lookup(|asked| (asked == name).then(|| value.to_owned()))
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let parsed = config("UNRELATED", "").unwrap().jobs;
        let documented = JobsConfig::default();
        assert_eq!(format!("{parsed:?}"), format!("{documented:?}"));
        assert_eq!(
            parsed.customer_cart_retention,
            Duration::from_secs(180 * DAY)
        );
    }

    #[test]
    fn a_zero_interval_turns_a_job_off_but_a_zero_retention_is_refused() {
        let off = config("CART_SWEEP_INTERVAL_SECS", "0").unwrap();
        assert!(off.jobs.cart_sweep_interval.is_zero());
        for name in [
            "CART_RETENTION_DAYS",
            "CUSTOMER_CART_RETENTION_DAYS",
            "IDEMPOTENCY_RETENTION_HOURS",
            "OUTBOX_RETENTION_DAYS",
        ] {
            let error = config(name, "0").err().map(|error| error.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|error| error.contains("at least 1")),
                "{name}: {error:?}"
            );
        }
        let hours = config("IDEMPOTENCY_RETENTION_HOURS", "2").unwrap();
        assert_eq!(hours.jobs.idempotency_retention, Duration::from_secs(7200));
    }
}
