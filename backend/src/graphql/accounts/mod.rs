//! Accounts in the API, one submodule per concept:
//!
//! - [`user`]: the `User` type, `User.orders`, and the `viewer` query;
//! - [`sign_in`]: `register`, `login`, `logout`;
//! - [`profile`]: `updateProfile`, `changePassword`, email and name rules.
//!
//! A user's data is only ever returned to that user. Accounts import
//! `orders` (for `User.orders`) and `carts` (to merge a guest cart at
//! sign-in); neither imports accounts. This file only declares and
//! re-exports: submodules never import it.

pub mod profile;
pub mod sign_in;
pub mod user;

use async_graphql::MergedObject;

pub use user::{AccountQuery, Role, User};

/// The account mutations, in the schema's order.
#[derive(MergedObject, Default)]
pub struct AccountMutation(sign_in::SignInMutation, profile::ProfileMutation);
