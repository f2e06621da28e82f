//! Accounts in the API, one submodule per concept:
//!
//! - [`user`]: the `User` type, `User.orders`, and the `viewer` query;
//! - [`sign_in`]: `register`, `login`, `logout`;
//! - [`email`]: `requestEmailVerification`, `verifyEmail`;
//! - [`password_reset`]: `requestPasswordReset`, `resetPassword`;
//! - [`profile`]: `updateProfile`, `changePassword`, email and name rules;
//! - [`addresses`]: saved addresses (`User.addresses`, `addAddress`, ...);
//! - [`mail`]: the messages these queue and the tokens their links carry.
//!
//! A user's data is only ever returned to that user. Accounts import
//! `orders` (for `User.orders`) and `carts` (to merge a guest cart at
//! sign-in); neither imports accounts. This file only declares and
//! re-exports: submodules never import it.

pub mod addresses;
pub mod email;
pub mod mail;
pub mod password_reset;
pub mod profile;
pub mod sign_in;
pub mod user;

use async_graphql::MergedObject;

pub use user::{AccountQuery, Role, User};

/// The account mutations, in the schema's order.
#[derive(MergedObject, Default)]
pub struct AccountMutation(
    sign_in::SignInMutation,
    email::EmailMutation,
    password_reset::PasswordResetMutation,
    profile::ProfileMutation,
    addresses::AddressMutation,
);
