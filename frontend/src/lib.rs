//! The storefront: server-rendered HTML over the backend's GraphQL API.
//!
//! It never talks to Postgres or Redis: everything it shows comes from the
//! GraphQL endpoint (`api`), with operations checked against the schema at
//! compile time. Pages work without JavaScript.
//!
//! Modules, leaves first (each imports only modules above it in this list):
//! `tokens`, `money`, `format`, `cookies`, `stylesheet`, `script`, `queries`,
//! `conditional`, `page_cache`, `metrics` (leaves; trusted proxies, request ids and
//! the healthcheck probe are `bookstore_edge`); `seo` (robots, sitemap XML,
//! JSON-LD, favicon); `caller`; `api`, `live`; `render`; `config`;
//! `state`; `session`; `forms`, `pages`; `app`. The crate root only
//! declares them and re-exports the entry points; no module imports it.

pub mod api;
pub mod app;
pub mod caller;
pub mod conditional;
pub mod config;
pub mod cookies;
pub mod format;
pub mod forms;
pub mod live;
pub mod metrics;
pub mod money;
pub mod page_cache;
pub mod pages;
pub mod queries;
pub mod render;
pub mod script;
pub mod seo;
pub mod session;
pub mod state;
pub mod stylesheet;
pub mod tokens;

pub use app::{router, serve};
pub use state::AppState;
