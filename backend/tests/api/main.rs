//! Integration tests: the real router against real Postgres and Redis, each
//! test on its own database (see `support`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod bad_input;
mod cache;
mod catalog;
mod checkout;
mod healthcheck;
mod http;
mod migrations;
mod orders;
mod production;
mod schema;
mod search;
mod snapshots;
mod support;
mod timeouts;
