//! The GraphQL API: one `MergedObject` query root made of a query struct per
//! domain (the mutation and subscription roots alike), and `build_schema`,
//! the one place that wires limits, extensions and shared data.

pub mod accounts;
pub mod books;
pub mod carts;
pub mod connections;
pub mod contributors;
pub mod genres;
pub mod ids;
pub mod loaders;
pub mod money;
pub mod node;
pub mod orders;
pub mod pagination;
pub mod user_errors;
pub mod validation;

use std::sync::Arc;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::auth::{Sessions, Throttle};
use crate::cache::Cache;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
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
    books::BookMutation,
    contributors::ContributorMutation,
    genres::GenreMutation,
    carts::CartMutation,
    orders::OrderMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(books::BookSubscription, orders::OrderSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The limits a schema enforces (from [`Config`]). Depth (with
/// introspection exempt), aliases, mutation fields per document and refusing
/// introspection are the HTTP handler's (`http::query_shape`): async-graphql's
/// depth limit would count the introspection query too.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_complexity: usize,
    pub introspection: bool,
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Self {
        Self {
            max_complexity: config.max_complexity,
            introspection: config.introspection,
        }
    }
}

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The served schema. Per-request data (the DataLoaders) is added by the
/// HTTP handler.
pub fn build_schema(
    db: Db,
    cache: Cache,
    gateway: Arc<dyn PaymentGateway>,
    metrics: Metrics,
    config: &Config,
) -> AppSchema {
    let limits = Limits::from(config);
    let mut builder = builder()
        .data(Sessions::new(db.clone(), config))
        .data(Throttle::new(cache.clone(), config))
        .data(config.order_access.clone())
        .data(gateway)
        .data(config.checkout.clone())
        .data(config.accounts_mail.clone())
        .data(books::live::LiveBooks::start(db.clone(), &cache))
        .data(db)
        .data(cache)
        .data(metrics)
        .limit_complexity(limits.max_complexity)
        .limit_directives(10);
    if !limits.introspection {
        // No schema to read, and no "Did you mean" hints that leak it either.
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL that `bookstore export-schema` prints and `schema.graphql` holds.
pub fn sdl() -> String {
    builder().finish().sdl()
}
