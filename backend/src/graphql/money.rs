//! The GraphQL `Money` object: an amount in minor units with its currency
//! and the human-readable text (written by `domain::money`).
//!
//! Never: compute an amount; resolvers pass what the database holds.

use async_graphql::SimpleObject;

use crate::domain::money;

/// An amount of money in integer minor units (cents) of a currency.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    /// The amount in minor units: 1299 is 12.99.
    pub amount_cents: i32,
    /// ISO 4217 code, such as USD.
    pub currency: String,
    /// Human-readable, such as "$12.99".
    pub formatted: String,
}

impl Money {
    pub fn new(amount_cents: i32, currency: &str) -> Self {
        Self {
            amount_cents,
            currency: currency.to_owned(),
            formatted: money::format(amount_cents, currency),
        }
    }
}
