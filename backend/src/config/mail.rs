//! Mail and the outbox worker: where messages go (`SMTP_URL`, `MAIL_FROM`),
//! what their links point at (`PUBLIC_URL`), and how the worker retries.
//! Read by `crate::jobs::mail` and `crate::jobs::outbox`; never elsewhere.

use std::fmt;
use std::time::Duration;

use super::values::seconds;
use clap::Args;
use clap::builder::BoolishValueParser;

/// The built-in `PUBLIC_URL` (the storefront on a developer machine);
/// refused in production.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

#[derive(Clone, Args)]
pub struct MailConfig {
    /// The SMTP server: `smtp://127.0.0.1:1025` (plain: a local mail
    /// catcher), `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS). Unset in development: messages
    /// are logged, not sent. Required in production.
    #[arg(long = "smtp-url", env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of every message.
    #[arg(
        long = "mail-from",
        env = "MAIL_FROM",
        default_value = "Bookstore <no-reply@bookstore.localhost>"
    )]
    pub mail_from: String,
    /// The storefront's public address, for links in messages (no trailing
    /// slash needed). Required in production.
    #[arg(
        long = "public-url",
        env = "PUBLIC_URL",
        default_value = DEFAULT_PUBLIC_URL
    )]
    pub public_url: String,
    /// The shop's name in messages.
    #[arg(long = "shop-name", env = "SHOP_NAME", default_value = "Bookstore")]
    pub shop_name: String,
    /// `bookstore serve` also runs the background worker (outbox delivery
    /// and periodic jobs). Set false when `bookstore worker` runs apart.
    #[arg(long = "serve-runs-worker", env = "SERVE_RUNS_WORKER", default_value = "true", value_parser = BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub serve_runs_worker: bool,
    /// One SMTP exchange (connect, send) longer than this (seconds) fails
    /// and is retried later.
    #[arg(long = "smtp-timeout-secs", env = "SMTP_TIMEOUT_SECS", default_value = "10", value_parser = seconds)]
    pub smtp_timeout: Duration,
    /// Messages sent at once (and SMTP connections kept open). lettre's
    /// connections wait ~40 ms per message (Nagle against the server's
    /// delayed ACK), so one connection carries ~22 messages/s: lower this
    /// only if your provider limits connections.
    #[arg(long = "outbox-concurrency", env = "OUTBOX_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Attempts before a message is given up (dead, its last error kept).
    #[arg(long = "outbox-max-attempts", env = "OUTBOX_MAX_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub max_attempts: i32,
    /// The first retry waits this long (seconds); each next one twice as
    /// long (with jitter), at most OUTBOX_RETRY_MAX_SECS.
    #[arg(long = "outbox-retry-base-secs", env = "OUTBOX_RETRY_BASE_SECS", default_value = "10", value_parser = seconds)]
    pub retry_base: Duration,
    /// The longest wait between two attempts (seconds).
    #[arg(long = "outbox-retry-max-secs", env = "OUTBOX_RETRY_MAX_SECS", default_value = "3600", value_parser = seconds)]
    pub retry_max: Duration,
    /// Besides being woken at each commit (LISTEN/NOTIFY), the worker looks
    /// for due messages this often (seconds).
    #[arg(long = "outbox-poll-secs", env = "OUTBOX_POLL_SECS", default_value = "10", value_parser = seconds)]
    pub poll_interval: Duration,
}

impl MailConfig {
    /// `PUBLIC_URL` without its trailing slashes.
    pub fn public_base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// How long a claimed message is kept from other workers: longer than
    /// a batch may take (each worker claims two sends per slot, each
    /// bounded by SMTP_TIMEOUT_SECS), so a live worker never loses a claim.
    pub fn lease(&self) -> Duration {
        self.smtp_timeout * 3 + Duration::from_secs(30)
    }

    /// The wait before attempt `attempts + 1`: base × 2^(attempts-1),
    /// capped, with up to a fifth added at random so retries of many
    /// messages spread out.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let wait = self
            .retry_base
            .saturating_mul(1 << doublings)
            .min(self.retry_max);
        let jitter = wait.mul_f64(rand::random::<f64>() / 5.0);
        (wait + jitter).min(self.retry_max)
    }
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field(
                "smtp_url",
                &self.smtp_url.as_deref().map(|_| "<set, redacted>"),
            )
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field("shop_name", &self.shop_name)
            .field("serve_runs_worker", &self.serve_runs_worker)
            .field("smtp_timeout", &self.smtp_timeout)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base", &self.retry_base)
            .field("retry_max", &self.retry_max)
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}
