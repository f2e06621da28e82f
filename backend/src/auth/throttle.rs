//! Throttles, the one home of them: events counted per key over a fixed
//! window, in Redis (shared by every instance) and always in this process
//! too ([`LocalCounts`]), so that when Redis fails or hangs the limits
//! still hold: a throttle never fails open. The count that decides is the
//! larger of the two.
//!
//! The rules: sign-in attempts per account (a success resets it) and per
//! client address (a success is taken back: only failures use it up);
//! `changePassword` and email changes count as sign-in attempts (they
//! guess the current password); registrations per client; profile and
//! password changes per account; guest order lookups (number + email) per
//! client and per order number; mailed account links (verification and
//! reset: uses per client, requests per account, per client and per email).
//! Other throttles define a [`Rule`] and call [`Throttle::count`] with a
//! [`client_key`].
//!
//! Client keys are addresses, and an IPv6 client is its /64 (one
//! subscriber's network), so rotating addresses within it does not help.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::local_counts::LocalCounts;
use crate::cache::Cache;
use crate::config::Config;
use crate::error::Error;

/// One throttle: at most `max` events per key per `window`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The counters' prefix, such as `login:client`.
    pub name: &'static str,
    pub max: i64,
    pub window: Duration,
}

#[derive(Clone)]
pub struct Throttle {
    cache: Cache,
    local: Arc<LocalCounts>,
    pub login_account: Rule,
    pub login_client: Rule,
    pub register_client: Rule,
    pub profile_account: Rule,
}

/// The throttling key of a client address: an IPv6 address stands for its
/// /64; anything else as it is.
pub fn client_key(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        _ => address.to_owned(),
    }
}

fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Throttle {
    pub fn new(cache: Cache, config: &Config) -> Self {
        let clients = &config.clients;
        Self {
            cache,
            local: Arc::new(LocalCounts::new(clients.throttle_local_max_keys)),
            login_account: Rule {
                name: "login:account",
                max: config.login_attempts_per_account,
                window: config.login_throttle_window,
            },
            login_client: Rule {
                name: "login:client",
                max: config.login_attempts_per_client,
                window: config.login_throttle_window,
            },
            register_client: Rule {
                name: "register:client",
                max: clients.register_per_client,
                window: clients.register_window,
            },
            profile_account: Rule {
                name: "profile:account",
                max: clients.profile_changes_per_account,
                window: clients.profile_changes_window,
            },
        }
    }

    /// Counts one event of `rule` for `key`; `TOO_MANY_ATTEMPTS` past the
    /// limit. Redis counts across instances; this process counts too, and
    /// alone decides while Redis is unavailable.
    pub async fn count(&self, rule: &Rule, key: &str) -> Result<(), Error> {
        let name = format!("{}:{key}", rule.name);
        let shared = self.cache.count_event(&name, rule.window).await;
        let local = self.local.count(&name, rule.window);
        let count = shared.map_or(local, |shared| shared.max(local));
        if count > rule.max {
            return Err(Error::TooManyAttempts {
                retry_after_secs: rule.window.as_secs(),
            });
        }
        Ok(())
    }

    /// Takes back one event of `rule` for `key` (it turned out not to count).
    pub async fn uncount(&self, rule: &Rule, key: &str) {
        let name = format!("{}:{key}", rule.name);
        self.local.uncount(&name);
        self.cache.uncount_event(&name, rule.window).await;
    }

    /// Forgets every event of `rule` for `key`.
    pub async fn reset(&self, rule: &Rule, key: &str) {
        let name = format!("{}:{key}", rule.name);
        self.local.reset(&name);
        self.cache.reset_events(&name).await;
    }

    /// One sign-in attempt (or a guess at the current password) on the
    /// account `email` from `client_address`: counted on both before the
    /// password is checked, so parallel guesses cannot slip through.
    pub async fn attempt(&self, email: &str, client_address: &str) -> Result<(), Error> {
        let account = account_key(email);
        let client = client_key(client_address);
        let (account, client) = tokio::join!(
            self.count(&self.login_account, &account),
            self.count(&self.login_client, &client),
        );
        account.and(client)
    }

    /// The password was right: the account's count starts over and the
    /// attempt is taken back from the client's (successes never lock out a
    /// shared address).
    pub async fn succeeded(&self, email: &str, client_address: &str) {
        let account = account_key(email);
        let client = client_key(client_address);
        tokio::join!(
            self.reset(&self.login_account, &account),
            self.uncount(&self.login_client, &client),
        );
    }

    /// One registration from `client_address`.
    pub async fn register(&self, client_address: &str) -> Result<(), Error> {
        self.count(&self.register_client, &client_key(client_address))
            .await
    }

    /// One profile or password change of the account `user_id`.
    pub async fn profile_change(&self, user_id: i64) -> Result<(), Error> {
        self.count(&self.profile_account, &user_id.to_string())
            .await
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
        let by_number = Rule {
            name: "order-lookup:number",
            max: config.lookups_per_number,
            window: config.lookup_window,
        };
        let by_client = Rule {
            name: "order-lookup:client",
            max: config.lookups_per_client,
            window: config.lookup_window,
        };
        let client = client_key(client_address);
        let (number, client) = tokio::join!(
            self.count(&by_number, &number),
            self.count(&by_client, &client),
        );
        number.and(client)
    }
}

/// Mailed account links (`config.accounts_mail`): using a verification or
/// reset link, per client address (a success is taken back, like a
/// sign-in); asking for a verification link, per account; asking for a
/// password reset, per client address and per email address (whether or
/// not it has an account, so a refusal tells nothing).
impl Throttle {
    fn token_use_rule(config: &crate::config::AccountsMailConfig) -> Rule {
        Rule {
            name: "account-token:client",
            max: config.token_uses_per_client,
            window: config.token_window,
        }
    }

    fn reset_email_rule(config: &crate::config::AccountsMailConfig) -> Rule {
        Rule {
            name: "password-reset:email",
            max: config.resets_per_email,
            window: config.reset_window,
        }
    }

    /// One try of a mailed link from `client_address`, counted before the
    /// token is looked up, so parallel guesses cannot slip through.
    pub async fn token_use(
        &self,
        config: &crate::config::AccountsMailConfig,
        client_address: &str,
    ) -> Result<(), Error> {
        self.count(&Self::token_use_rule(config), &client_key(client_address))
            .await
    }

    /// The link worked: the try is taken back (only failures use the
    /// client's allowance up).
    pub async fn token_used(
        &self,
        config: &crate::config::AccountsMailConfig,
        client_address: &str,
    ) {
        self.uncount(&Self::token_use_rule(config), &client_key(client_address))
            .await;
    }

    /// One verification link asked for by the account `user_id`.
    pub async fn verification_request(
        &self,
        config: &crate::config::AccountsMailConfig,
        user_id: i64,
    ) -> Result<(), Error> {
        let rule = Rule {
            name: "email-verification:account",
            max: config.verification_requests_per_account,
            window: config.verification_window,
        };
        self.count(&rule, &user_id.to_string()).await
    }

    /// One password reset asked for `email` from `client_address`.
    pub async fn password_reset_request(
        &self,
        config: &crate::config::AccountsMailConfig,
        email: &str,
        client_address: &str,
    ) -> Result<(), Error> {
        let by_client = Rule {
            name: "password-reset:client",
            max: config.resets_per_client,
            window: config.reset_window,
        };
        let by_email = Self::reset_email_rule(config);
        let (client, email) = (client_key(client_address), account_key(email));
        let (client, email) = tokio::join!(
            self.count(&by_client, &client),
            self.count(&by_email, &email),
        );
        client.and(email)
    }

    /// Whether the owner of `email` may be mailed about a registration
    /// with their address: counted with the password resets of `email`, so
    /// registering again and again cannot flood their inbox. Never refuses
    /// the registration itself (that would tell the address has an account).
    pub async fn may_mail_account_owner(
        &self,
        config: &crate::config::AccountsMailConfig,
        email: &str,
    ) -> bool {
        self.count(&Self::reset_email_rule(config), &account_key(email))
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_their_64_and_mapped_ones_their_ipv4() {
        assert_eq!(client_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(client_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(client_key("192.0.2.1"), "192.0.2.1");
        assert_eq!(client_key("unknown"), "unknown");
    }
}
