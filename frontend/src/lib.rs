//! The storefront: server-rendered HTML over the backend's GraphQL API.
//!
//! Not built yet (its own issue); the crate exists so the workspace has its
//! final shape. It must never talk to Postgres or Redis: everything it shows
//! comes from the GraphQL endpoint.
