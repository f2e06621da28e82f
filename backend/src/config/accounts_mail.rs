//! Configuration of the mailed account links (email verification, password
//! reset, email change): how long each link lives, and how often links may
//! be asked for and used before `TOO_MANY_ATTEMPTS`. Flattened into
//! [`super::Config`].
//!
//! Owns only these variables; the counting is `auth::Throttle`'s, the
//! tokens are `db::account_tokens`'.

use std::time::Duration;

use super::values::seconds;
use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct AccountsMailConfig {
    /// How long an email verification link (after registering, or to a new
    /// address) stays valid, in seconds.
    #[arg(long = "email-verification-ttl-secs", env = "EMAIL_VERIFICATION_TTL_SECS", default_value = "86400", value_parser = seconds)]
    pub verification_ttl: Duration,
    /// How long a password reset link stays valid, in seconds.
    #[arg(long = "password-reset-ttl-secs", env = "PASSWORD_RESET_TTL_SECS", default_value = "3600", value_parser = seconds)]
    pub reset_ttl: Duration,
    /// Verification and reset links one client address may try (used or
    /// not) per `ACCOUNT_TOKEN_WINDOW_SECS`; successful uses are taken back.
    #[arg(
        long = "account-token-max-uses-per-client",
        env = "ACCOUNT_TOKEN_MAX_USES_PER_CLIENT",
        default_value_t = 20
    )]
    pub token_uses_per_client: i64,
    /// The link-use throttling window, in seconds.
    #[arg(long = "account-token-window-secs", env = "ACCOUNT_TOKEN_WINDOW_SECS", default_value = "900", value_parser = seconds)]
    pub token_window: Duration,
    /// Verification links an account may ask for
    /// (`requestEmailVerification`) per `EMAIL_VERIFICATION_WINDOW_SECS`.
    #[arg(
        long = "email-verification-max-requests-per-account",
        env = "EMAIL_VERIFICATION_MAX_REQUESTS_PER_ACCOUNT",
        default_value_t = 5
    )]
    pub verification_requests_per_account: i64,
    /// The verification-request throttling window, in seconds.
    #[arg(long = "email-verification-window-secs", env = "EMAIL_VERIFICATION_WINDOW_SECS", default_value = "3600", value_parser = seconds)]
    pub verification_window: Duration,
    /// Password resets one client address may ask for per
    /// `PASSWORD_RESET_WINDOW_SECS`, whatever the emails.
    #[arg(
        long = "password-reset-max-per-client",
        env = "PASSWORD_RESET_MAX_PER_CLIENT",
        default_value_t = 10
    )]
    pub resets_per_client: i64,
    /// Password resets asked for one email address per
    /// `PASSWORD_RESET_WINDOW_SECS` from anywhere (accounts or not, so the
    /// refusal tells nothing). Registering with an address that has an
    /// account counts here too: past the limit its owner is not mailed
    /// again (the answer stays the same).
    #[arg(
        long = "password-reset-max-per-email",
        env = "PASSWORD_RESET_MAX_PER_EMAIL",
        default_value_t = 5
    )]
    pub resets_per_email: i64,
    /// The password-reset throttling window, in seconds.
    #[arg(long = "password-reset-window-secs", env = "PASSWORD_RESET_WINDOW_SECS", default_value = "3600", value_parser = seconds)]
    pub reset_window: Duration,
}
