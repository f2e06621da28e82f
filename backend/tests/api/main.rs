//! Integration tests: the real router against real Postgres and Redis, each
//! test on its own database (see `support`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod bad_input;
mod cache;
mod cache_bench;
mod cache_outages;
mod cache_races;
mod catalog;
mod checkout;
mod email_accounts;
mod guest_orders;
mod healthcheck;
mod http;
mod instances;
mod jobs;
mod migrations;
mod order_access;
mod order_lookup;
mod order_mail;
mod orders;
mod outbox;
mod production;
mod request_ids;
mod response_cache;
mod schema;
mod search;
mod snapshots;
mod support;
mod throttling;
mod timeouts;
