//! Expected failures of a mutation (a taken email, a wrong password, stock
//! that would go negative): returned in the payload's `userErrors`, with the
//! input field they concern, rather than as GraphQL errors.

use async_graphql::{Enum, SimpleObject};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserErrorCode {
    /// The value is malformed or out of range.
    Invalid,
    /// The value must be unique and is already in use.
    Taken,
    /// The email and password do not match an account.
    InvalidCredentials,
    /// What the input refers to does not exist.
    NotFound,
    /// The change would take stock below zero, or the cart wants more
    /// copies than are in stock.
    InsufficientStock,
    /// The book is no longer sold.
    Unavailable,
    /// The cart has nothing to check out.
    EmptyCart,
    /// The idempotency key was used before for a different request.
    IdempotencyKeyReused,
    /// The payment was declined; nothing was charged.
    PaymentDeclined,
    /// The payment provider failed; nothing was charged.
    PaymentFailed,
    /// The payment provider has not answered yet: the order awaits payment
    /// and is confirmed or released shortly. Do not pay again.
    PaymentPending,
    /// The order's status does not allow this change.
    InvalidState,
    /// The link's token is unknown, used, expired or no longer applies:
    /// ask for a new link.
    InvalidToken,
    /// The account's email is verified and no change waits: there is
    /// nothing to verify.
    AlreadyVerified,
}

#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// The path to the input field, such as `["input", "email"]`; empty when
    /// the error concerns the whole input.
    pub field: Vec<String>,
    pub message: String,
    pub code: UserErrorCode,
}

impl UserError {
    pub fn new(field: &[&str], code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.iter().map(|part| (*part).to_owned()).collect(),
            message: message.into(),
            code,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(&["input", field], UserErrorCode::Invalid, message)
    }
}
