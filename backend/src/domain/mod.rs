//! Small value types of the shop's domain, each with one home: slugs, ISBNs,
//! money and order numbers. The seed, the database layer and the GraphQL API all use
//! these, so a rule (what a valid ISBN is, how a price is written) is
//! written once.
//!
//! Never: import `db`, `graphql` or any other module of this crate, touch
//! I/O, or know about GraphQL errors — callers turn these results into
//! their own errors.

pub mod isbn;
pub mod money;
pub mod order_number;
pub mod slug;
