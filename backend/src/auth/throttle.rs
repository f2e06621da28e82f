//! Sign-in throttling, the one home of it: attempts per account and per
//! client address, counted in Redis over a window. `login` and
//! `changePassword` (guessing the current password) both count here, and
//! so do guest order lookups by number and email (per client address and
//! per order number).

use std::time::Duration;

use crate::cache::Cache;
use crate::config::Config;
use crate::error::Error;

/// Sign-in throttling: attempts per account and per client address.
#[derive(Clone)]
pub struct Throttle {
    cache: Cache,
    per_account: i64,
    per_client: i64,
    window: Duration,
}

impl Throttle {
    pub fn new(cache: Cache, config: &Config) -> Self {
        Self {
            cache,
            per_account: config.login_attempts_per_account,
            per_client: config.login_attempts_per_client,
            window: config.login_throttle_window,
        }
    }

    /// Counts one attempt; `Err(TooManyAttempts)` past either limit. Fails
    /// open (with the cache's one warning) when Redis is unavailable.
    pub async fn attempt(&self, email: &str, client_address: &str) -> Result<(), Error> {
        let account = format!("login:account:{}", email.trim().to_lowercase());
        let client = format!("login:client:{client_address}");
        let (account_count, client_count) = tokio::join!(
            self.cache.count_event(&account, self.window),
            self.cache.count_event(&client, self.window),
        );
        let over = account_count.is_some_and(|count| count > self.per_account)
            || client_count.is_some_and(|count| count > self.per_client);
        if over {
            return Err(Error::TooManyAttempts {
                retry_after_secs: self.window.as_secs(),
            });
        }
        Ok(())
    }

    /// A successful sign-in clears the account's count.
    pub async fn succeeded(&self, email: &str) {
        self.cache
            .reset_events(&format!("login:account:{}", email.trim().to_lowercase()))
            .await;
    }
}

/// Guest order lookups (order number + checkout email), counted like
/// sign-ins: per client address and per order number (as normalized, so
/// `bk-…` and `BK-…` share a count), over `config.lookup_window`.
impl Throttle {
    /// Counts one lookup of `number`; `Err(TooManyAttempts)` past either
    /// limit, whether or not such an order exists.
    pub async fn order_lookup(
        &self,
        config: &crate::config::OrderAccessConfig,
        number: &str,
        client_address: &str,
    ) -> Result<(), Error> {
        let number: String = number.chars().take(64).collect();
        let by_number = format!("order-lookup:number:{number}");
        let by_client = format!("order-lookup:client:{client_address}");
        let (number_count, client_count) = tokio::join!(
            self.cache.count_event(&by_number, config.lookup_window),
            self.cache.count_event(&by_client, config.lookup_window),
        );
        let over = number_count.is_some_and(|count| count > config.lookups_per_number)
            || client_count.is_some_and(|count| count > config.lookups_per_client);
        if over {
            return Err(Error::TooManyAttempts {
                retry_after_secs: config.lookup_window.as_secs(),
            });
        }
        Ok(())
    }
}
