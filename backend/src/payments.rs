//! Payment providers. [`PaymentGateway`] is what a real provider implements;
//! [`TestGateway`] is the built-in one for development and tests, driven by
//! documented card numbers:
//!
//! | card number | result |
//! |---|---|
//! | `4242 4242 4242 4242` | approved |
//! | `4000 0000 0000 0002` | declined |
//! | `4000 0000 0000 0119` | provider error |
//!
//! Any other number that passes the Luhn check is approved; one that fails
//! it is declined. Card numbers are never stored or logged: only the last four
//! digits, for the receipt.
//!
//! A leaf: it never touches the database. `crate::checkout` and
//! `crate::order_workflow` call the gateway and have `db` record what it
//! answered.

use std::future::Future;
use std::pin::Pin;

pub const APPROVE_CARD: &str = "4242424242424242";
pub const DECLINE_CARD: &str = "4000000000000002";
pub const ERROR_CARD: &str = "4000000000000119";

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
    /// The provider could not be reached or failed: nothing was charged.
    Failed {
        reason: String,
    },
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait PaymentGateway: Send + Sync {
    /// The provider's name, stored with each payment.
    fn name(&self) -> &'static str;
    fn charge<'a>(&'a self, charge: &'a Charge) -> BoxFuture<'a, ChargeOutcome>;
    /// Returns `reference`'s money; `Err` with a reason when it could not.
    fn refund<'a>(
        &'a self,
        reference: &'a str,
        amount_cents: i32,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// The built-in gateway (see the module docs for its card numbers).
pub struct TestGateway;

impl PaymentGateway for TestGateway {
    fn name(&self) -> &'static str {
        "test"
    }

    fn charge<'a>(&'a self, charge: &'a Charge) -> BoxFuture<'a, ChargeOutcome> {
        Box::pin(async move {
            match charge.card.number.as_str() {
                DECLINE_CARD => ChargeOutcome::Declined {
                    reason: "the card was declined".to_owned(),
                },
                ERROR_CARD => ChargeOutcome::Failed {
                    reason: "the payment provider did not respond".to_owned(),
                },
                _ if !charge.card.is_plausible() => ChargeOutcome::Declined {
                    reason: "the card number is not valid".to_owned(),
                },
                _ => ChargeOutcome::Approved {
                    reference: format!("test_{}", charge.idempotency_key),
                },
            }
        })
    }

    fn refund<'a>(
        &'a self,
        _reference: &'a str,
        _amount_cents: i32,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
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
        let gateway = TestGateway;
        assert!(matches!(
            gateway.charge(&charge(APPROVE_CARD)).await,
            ChargeOutcome::Approved { .. }
        ));
        assert!(matches!(
            gateway.charge(&charge(DECLINE_CARD)).await,
            ChargeOutcome::Declined { .. }
        ));
        assert!(matches!(
            gateway.charge(&charge(ERROR_CARD)).await,
            ChargeOutcome::Failed { .. }
        ));
        assert!(matches!(
            gateway.charge(&charge("1234")).await,
            ChargeOutcome::Declined { .. }
        ));
    }
}
