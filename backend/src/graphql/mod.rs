//! The GraphQL API: one `MergedObject` query root made of a query struct per
//! domain, and `build_schema`, the one place that wires limits, extensions
//! and shared data.

pub mod accounts;
pub mod admin;
pub mod books;
pub mod carts;
pub mod contributors;
pub mod genres;
pub mod http;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod node;
pub mod orders;
pub mod pagination;
pub mod user_errors;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::auth::{Sessions, Throttle};
use crate::cache::Cache;
use crate::config::Config;
use crate::db::{self, Db};
use crate::error::Error;
use crate::payments::PaymentGateway;

#[derive(MergedObject, Default)]
pub struct Query(
    books::BookQuery,
    contributors::ContributorQuery,
    genres::GenreQuery,
    node::NodeQuery,
    accounts::AccountQuery,
    carts::CartQuery,
    orders::OrderQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    accounts::AccountMutation,
    admin::AdminMutation,
    carts::CartMutation,
    orders::OrderMutation,
);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The limits a schema enforces (from [`Config`]; the alias limit is the
/// HTTP handler's).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Self {
        Self {
            max_depth: config.max_depth,
            max_complexity: config.max_complexity,
            introspection: config.introspection,
        }
    }
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

/// The served schema. Per-request data (the DataLoaders) is added by the
/// HTTP handler.
pub fn build_schema(
    db: Db,
    cache: Cache,
    gateway: Arc<dyn PaymentGateway>,
    config: &Config,
) -> AppSchema {
    let limits = Limits::from(config);
    let mut builder = builder()
        .data(Sessions::new(db.clone(), cache.clone(), config))
        .data(Throttle::new(cache.clone(), config))
        .data(gateway)
        .data(db)
        .data(cache)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_directives(10);
    if !limits.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// A connection for a resolver's catalog read (the replica when configured).
pub async fn read_connection(ctx: &async_graphql::Context<'_>) -> Result<db::Connection, Error> {
    Ok(ctx.data_unchecked::<Db>().replica().await?)
}

/// A connection to the primary, for writes and for reads that must see
/// them (carts, orders, accounts).
pub async fn primary_connection(ctx: &async_graphql::Context<'_>) -> Result<db::Connection, Error> {
    Ok(ctx.data_unchecked::<Db>().primary().await?)
}

/// The SDL that `bookstore export-schema` prints and `schema.graphql` holds.
pub fn sdl() -> String {
    builder().finish().sdl()
}
