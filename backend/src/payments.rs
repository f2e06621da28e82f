//! Payment providers. [`PaymentGateway`] is what a real provider implements;
//! [`TestGateway`] is the built-in one for development and tests, driven by
//! documented card numbers:
//!
//! | card number | result |
//! |---|---|
//! | `4242 4242 4242 4242` | approved |
//! | `4000 0000 0000 0002` | declined |
//! | `4000 0000 0000 0119` | provider error (nothing charged) |
//! | `4000 0000 0000 0077` | the provider never answers (nothing charged) |
//! | `4000 0000 0000 0085` | charged, then the answer never arrives |
//!
//! Any other number that passes the Luhn check is approved; one that fails
//! it is declined. Card numbers are never stored or logged: only the last four
//! digits, for the receipt.
//!
//! Every charge carries an idempotency key: a provider that sees a key again
//! answers what it answered the first time and charges once, and
//! [`PaymentGateway::lookup`] tells what happened to a key whose answer was
//! lost (a timeout, a killed process). The test gateway keeps that record in
//! memory, for the life of the process.
//!
//! A leaf: it never touches the database. `crate::checkout`,
//! `crate::order_workflow` and `crate::jobs::sweeper` call the gateway and
//! have `db` record what it answered.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

pub const APPROVE_CARD: &str = "4242424242424242";
pub const DECLINE_CARD: &str = "4000000000000002";
pub const ERROR_CARD: &str = "4000000000000119";
/// The test gateway never answers: the charge times out, nothing charged.
pub const HANG_CARD: &str = "4000000000000077";
/// The test gateway charges, then never answers: only a lookup tells.
pub const CHARGE_THEN_HANG_CARD: &str = "4000000000000085";

/// What the shopper entered.
#[derive(Clone)]
pub struct Card {
    pub number: String,
}

impl Card {
    /// Digits only (spaces and dashes removed).
    pub fn new(number: &str) -> Self {
        Self {
            number: number.chars().filter(char::is_ascii_digit).collect(),
        }
    }

    pub fn last4(&self) -> String {
        let start = self.number.len().saturating_sub(4);
        self.number[start..].to_owned()
    }

    /// The shape of a card number: 12 to 19 digits passing the Luhn check.
    pub fn is_plausible(&self) -> bool {
        (12..=19).contains(&self.number.len()) && luhn(&self.number)
    }
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Card(…{})", self.last4())
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let digit = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A charge request. `idempotency_key` is stable across retries of one
/// order, so a provider that sees it twice charges once.
#[derive(Debug, Clone)]
pub struct Charge {
    pub idempotency_key: String,
    pub amount_cents: i32,
    pub currency: String,
    pub card: Card,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved {
        reference: String,
    },
    Declined {
        reason: String,
    },
    /// The provider answered that it failed: nothing was charged.
    Failed {
        reason: String,
    },
    /// No answer (a timeout, a dropped connection): the card may or may not
    /// have been charged. Only [`PaymentGateway::lookup`] can tell.
    Unknown {
        reason: String,
    },
}

/// What the provider knows of a charge, by its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Charged.
    Approved { reference: String },
    /// Refused: nothing was charged.
    Declined { reason: String },
    /// The provider never charged with this key.
    NotFound,
    /// The provider could not be asked: try again later.
    Unreachable { reason: String },
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait PaymentGateway: Send + Sync {
    /// The provider's name, stored with each payment.
    fn name(&self) -> &'static str;
    fn charge<'a>(&'a self, charge: &'a Charge) -> BoxFuture<'a, ChargeOutcome>;
    /// What became of the charge made with `idempotency_key`.
    fn lookup<'a>(&'a self, idempotency_key: &'a str) -> BoxFuture<'a, Lookup>;
    /// Returns `reference`'s money; `Err` with a reason when it could not.
    /// `idempotency_key` is stable across retries of one refund, so a
    /// provider that sees it twice refunds once.
    fn refund<'a>(
        &'a self,
        reference: &'a str,
        amount_cents: i32,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// The built-in gateway (see the module docs for its card numbers). It
/// remembers each key's outcome, as a real provider does.
#[derive(Default)]
pub struct TestGateway {
    charges: Mutex<HashMap<String, ChargeOutcome>>,
    requests: AtomicUsize,
    /// The idempotency keys of the refunds it made.
    refunds: Mutex<HashSet<String>>,
    /// How long each refund takes, in milliseconds (tests of a slow
    /// provider).
    refund_delay_ms: AtomicU64,
    /// Whether refunds are refused (tests of a provider saying no).
    refuse_refunds: AtomicBool,
}

impl TestGateway {
    /// How many charge requests it received (retries of a key included).
    pub fn charge_requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// How many refunds it made.
    pub fn refunds_made(&self) -> usize {
        self.refunds.lock().map_or(0, |refunds| refunds.len())
    }

    /// Makes every later refund take `delay` (a slow provider).
    pub fn set_refund_delay(&self, delay: std::time::Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.refund_delay_ms.store(millis, Ordering::Relaxed);
    }

    /// Makes every later refund be refused (or accepted again).
    pub fn set_refuse_refunds(&self, refuse: bool) {
        self.refuse_refunds.store(refuse, Ordering::Relaxed);
    }

    /// How many charges it approved (each key once).
    pub fn charges_made(&self) -> usize {
        self.charges.lock().map_or(0, |charges| {
            charges
                .values()
                .filter(|outcome| matches!(outcome, ChargeOutcome::Approved { .. }))
                .count()
        })
    }

    /// Records `outcome` for `key` unless the key has one: returns the
    /// key's outcome (the first one).
    fn remember(&self, key: &str, outcome: ChargeOutcome) -> ChargeOutcome {
        match self.charges.lock() {
            Ok(mut charges) => charges.entry(key.to_owned()).or_insert(outcome).clone(),
            Err(_) => ChargeOutcome::Unknown {
                reason: "the test gateway's record is poisoned".to_owned(),
            },
        }
    }
}

impl PaymentGateway for TestGateway {
    fn name(&self) -> &'static str {
        "test"
    }

    fn charge<'a>(&'a self, charge: &'a Charge) -> BoxFuture<'a, ChargeOutcome> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let key = charge.idempotency_key.as_str();
            let approved = ChargeOutcome::Approved {
                reference: format!("test_{key}"),
            };
            let declined = |reason: &str| ChargeOutcome::Declined {
                reason: reason.to_owned(),
            };
            match charge.card.number.as_str() {
                DECLINE_CARD => self.remember(key, declined("the card was declined")),
                ERROR_CARD => ChargeOutcome::Failed {
                    reason: "the payment provider could not take the payment".to_owned(),
                },
                HANG_CARD => std::future::pending().await,
                CHARGE_THEN_HANG_CARD => {
                    self.remember(key, approved);
                    std::future::pending().await
                }
                _ if !charge.card.is_plausible() => {
                    self.remember(key, declined("the card number is not valid"))
                }
                _ => self.remember(key, approved),
            }
        })
    }

    fn lookup<'a>(&'a self, idempotency_key: &'a str) -> BoxFuture<'a, Lookup> {
        Box::pin(async move {
            let Ok(charges) = self.charges.lock() else {
                return Lookup::Unreachable {
                    reason: "the test gateway's record is poisoned".to_owned(),
                };
            };
            match charges.get(idempotency_key) {
                Some(ChargeOutcome::Approved { reference }) => Lookup::Approved {
                    reference: reference.clone(),
                },
                Some(ChargeOutcome::Declined { reason }) => Lookup::Declined {
                    reason: reason.clone(),
                },
                _ => Lookup::NotFound,
            }
        })
    }

    fn refund<'a>(
        &'a self,
        _reference: &'a str,
        _amount_cents: i32,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async {
            let delay = self.refund_delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            if self.refuse_refunds.load(Ordering::Relaxed) {
                return Err("the provider refused the refund".to_owned());
            }
            // A key seen before was refunded already: once.
            if let Ok(mut refunds) = self.refunds.lock() {
                refunds.insert(idempotency_key.to_owned());
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards() {
        assert!(Card::new("4242 4242 4242 4242").is_plausible());
        assert!(Card::new(DECLINE_CARD).is_plausible());
        assert!(!Card::new("4242 4242 4242 4241").is_plausible());
        assert_eq!(Card::new("4242-4242-4242-4242").last4(), "4242");
        assert_eq!(format!("{:?}", Card::new(APPROVE_CARD)), "Card(…4242)");
    }

    #[tokio::test]
    async fn outcomes() {
        let charge = |number: &str| Charge {
            idempotency_key: "BK-1".into(),
            amount_cents: 100,
            currency: "USD".into(),
            card: Card::new(number),
        };
        let outcome = |number: &str| {
            let charge = charge(number);
            async move { TestGateway::default().charge(&charge).await }
        };
        assert!(matches!(
            outcome(APPROVE_CARD).await,
            ChargeOutcome::Approved { .. }
        ));
        assert!(matches!(
            outcome(DECLINE_CARD).await,
            ChargeOutcome::Declined { .. }
        ));
        assert!(matches!(
            outcome(ERROR_CARD).await,
            ChargeOutcome::Failed { .. }
        ));
        assert!(matches!(
            outcome("1234").await,
            ChargeOutcome::Declined { .. }
        ));
    }

    #[tokio::test]
    async fn a_key_is_charged_once_and_can_be_looked_up() {
        let charge = |key: &str, number: &str| Charge {
            idempotency_key: key.into(),
            amount_cents: 100,
            currency: "USD".into(),
            card: Card::new(number),
        };
        let gateway = TestGateway::default();
        let first = gateway.charge(&charge("order-1", APPROVE_CARD)).await;
        let again = gateway.charge(&charge("order-1", DECLINE_CARD)).await;
        assert_eq!(first, again, "a key answers as it did the first time");
        assert_eq!(gateway.charges_made(), 1);
        assert!(matches!(
            gateway.lookup("order-1").await,
            Lookup::Approved { .. }
        ));
        assert_eq!(gateway.lookup("order-2").await, Lookup::NotFound);

        let wait = std::time::Duration::from_millis(50);
        let hung = tokio::time::timeout(wait, gateway.charge(&charge("order-3", HANG_CARD))).await;
        assert!(hung.is_err(), "the hanging card never answers");
        assert_eq!(gateway.lookup("order-3").await, Lookup::NotFound);
        let silent = charge("order-4", CHARGE_THEN_HANG_CARD);
        assert!(
            tokio::time::timeout(wait, gateway.charge(&silent))
                .await
                .is_err()
        );
        assert!(matches!(
            gateway.lookup("order-4").await,
            Lookup::Approved { .. }
        ));
        assert_eq!(gateway.charges_made(), 2);
    }
}
