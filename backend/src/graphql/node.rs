//! The Relay `Node` interface and `node(id)`.

use async_graphql::{Context, ID, Interface, Object, Result};

use super::ids::{NodeType, decode};
use super::loaders::{BookId, ContributorId, GenreId, Loaders};
use crate::db::{books::Book, contributors::Contributor, genres::Genre};

/// An object with a global id that `node(id)` fetches again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Book(Book),
    Contributor(Contributor),
    Genre(Genre),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when it does not exist.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        Ok(match decode(&id) {
            Some((NodeType::Book, id)) => loaders.load_one(BookId(id)).await?.map(Node::Book),
            Some((NodeType::Contributor, id)) => loaders
                .load_one(ContributorId(id))
                .await?
                .map(Node::Contributor),
            Some((NodeType::Genre, id)) => loaders.load_one(GenreId(id)).await?.map(Node::Genre),
            // Users, orders and addresses are not public: `viewer` and
            // `order` are the ways to one's own.
            Some((NodeType::User | NodeType::Order | NodeType::SavedAddress, _)) | None => None,
        })
    }
}
