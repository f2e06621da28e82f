//! Postgres connections for resolvers, taken from the schema's shared `Db`:
//! the replica (when configured) for catalog reads, the primary for writes
//! and for reads that must see them. A leaf: it knows no GraphQL type.

use async_graphql::Context;

use crate::cache::ReadTags;
use crate::db::{self, Db};
use crate::error::Error;

/// A connection for a resolver's catalog read (the replica when configured).
/// The answer is then tagged as having read the catalog (any catalog write
/// retires it from the response cache).
pub async fn read_connection(ctx: &Context<'_>) -> Result<db::Connection, Error> {
    if let Some(tags) = ctx.data_opt::<ReadTags>() {
        tags.catalog();
    }
    Ok(ctx.data_unchecked::<Db>().replica().await?)
}

/// A connection for a resolver's write (always the primary).
pub async fn primary_connection(ctx: &Context<'_>) -> Result<db::Connection, Error> {
    Ok(ctx.data_unchecked::<Db>().primary().await?)
}
