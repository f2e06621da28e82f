//! The HTTP transport of the GraphQL API: the `/graphql` handler (content
//! negotiation, request limits the schema cannot see, the parsed-query
//! cache, automatic persisted queries), subscriptions over WebSocket on the
//! same path (`ws`), who is asking (token, address), and
//! the plain error responses shared by every route.
//!
//! Owns: turning HTTP requests into GraphQL requests and GraphQL responses
//! into HTTP responses. Must never: resolve fields, touch the database other
//! than through the schema, or know any domain type.

mod caching;
pub mod client;
pub mod cors;
mod encoding;
mod endpoint;
pub mod errors;
pub mod graphiql;
pub mod graphql;
pub mod health;
mod negotiation;
mod parsed_queries;
pub mod persisted;
mod query_shape;
mod read_your_writes;
pub mod request_id;
pub mod ws;
