//! The per-request DataLoader: one batched `= ANY` query per key type per
//! request, behind the Redis read-through (`Cache::read_through`).
//!
//! Resolvers never query Postgres for a related entity themselves: they ask
//! the loader with one of the key types below.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::{Serialize, de::DeserializeOwned};

use crate::cache::{Cache, Entry, Kind, ReadTags, Source};
use crate::db::{
    self, Db, books::Book, contributors::Contributor, credits::BookRelations, genres::Genre,
};
use crate::error::Error;

pub type Loaders = DataLoader<CatalogLoader, HashMapCache>;

pub struct CatalogLoader {
    db: Db,
    cache: Cache,
    /// What the request read, for the response cache.
    tags: ReadTags,
}

/// A request's loaders. Within one request an entity is loaded at most once
/// (the `HashMapCache`), so several fields asking for it cost nothing extra.
/// Every key asked for (found or not) is recorded in `tags`.
pub fn loaders(db: Db, cache: Cache, tags: ReadTags) -> Loaders {
    DataLoader::with_cache(
        CatalogLoader { db, cache, tags },
        tokio::spawn,
        HashMapCache::default(),
    )
}

/// A key type: which cache kind it lives under and how its misses load.
pub trait CatalogKey:
    From<i64> + Into<i64> + Copy + Hash + Eq + fmt::Display + Send + Sync + 'static
{
    const KIND: Kind;
    type Value: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
    fn query(
        conn: &mut AsyncPgConnection,
        ids: Vec<i64>,
    ) -> impl Future<Output = QueryResult<HashMap<i64, Self::Value>>> + Send;
}

macro_rules! key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for i64 {
            fn from(key: $name) -> Self {
                key.0
            }
        }
    };
}

key!(
    /// A book by id.
    BookId
);
key!(
    /// A book's credits and genres, by book id.
    RelationsOfBook
);
key!(
    /// A contributor by id.
    ContributorId
);
key!(
    /// The live book ids of a contributor, newest first.
    BooksOfContributor
);
key!(
    /// A genre by id.
    GenreId
);

fn by_id<T>(rows: Vec<T>, id: impl Fn(&T) -> i64) -> HashMap<i64, T> {
    rows.into_iter().map(|row| (id(&row), row)).collect()
}

impl CatalogKey for BookId {
    const KIND: Kind = Kind::Book;
    type Value = Book;
    async fn query(conn: &mut AsyncPgConnection, ids: Vec<i64>) -> QueryResult<HashMap<i64, Book>> {
        Ok(by_id(db::books::find_by_ids(conn, &ids).await?, |book| {
            book.id
        }))
    }
}

impl CatalogKey for RelationsOfBook {
    const KIND: Kind = Kind::BookRelations;
    type Value = BookRelations;
    async fn query(
        conn: &mut AsyncPgConnection,
        ids: Vec<i64>,
    ) -> QueryResult<HashMap<i64, BookRelations>> {
        db::credits::relations_for(conn, &ids).await
    }
}

impl CatalogKey for ContributorId {
    const KIND: Kind = Kind::Contributor;
    type Value = Contributor;
    async fn query(
        conn: &mut AsyncPgConnection,
        ids: Vec<i64>,
    ) -> QueryResult<HashMap<i64, Contributor>> {
        Ok(by_id(
            db::contributors::find_by_ids(conn, &ids).await?,
            |contributor| contributor.id,
        ))
    }
}

impl CatalogKey for BooksOfContributor {
    const KIND: Kind = Kind::ContributorBooks;
    type Value = Vec<i64>;
    async fn query(
        conn: &mut AsyncPgConnection,
        ids: Vec<i64>,
    ) -> QueryResult<HashMap<i64, Vec<i64>>> {
        db::contributors::book_ids_for(conn, &ids).await
    }
}

impl CatalogKey for GenreId {
    const KIND: Kind = Kind::Genre;
    type Value = Genre;
    async fn query(
        conn: &mut AsyncPgConnection,
        ids: Vec<i64>,
    ) -> QueryResult<HashMap<i64, Genre>> {
        Ok(by_id(db::genres::find_by_ids(conn, &ids).await?, |genre| {
            genre.id
        }))
    }
}

impl<K: CatalogKey> Loader<K> for CatalogLoader {
    type Value = K::Value;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, K::Value>, Self::Error> {
        self.tags
            .entities(K::KIND, keys.iter().map(|key| (*key).into()));
        let loaded = self
            .cache
            .read_through_from(K::KIND, keys, |misses: Vec<K>, source| async move {
                let ids: Vec<i64> = misses.iter().map(|key| (*key).into()).collect();
                // Right after a write the replica may not have it yet.
                let mut conn = match source {
                    Source::Replica => self.db.replica().await?,
                    Source::Primary => self.db.primary().await?,
                };
                let rows = K::query(&mut conn, ids).await?;
                Ok::<_, Error>(
                    rows.into_iter()
                        .map(|(id, value)| (K::from(id), value))
                        .collect(),
                )
            })
            .await?;
        Ok(loaded)
    }
}

/// Per-request loaders for order details. Orders are private, per-user
/// data: batched, never cached in Redis.
pub struct OrderLoader {
    db: Db,
}

pub type OrderLoaders = DataLoader<OrderLoader, HashMapCache>;

pub fn order_loaders(db: Db) -> OrderLoaders {
    DataLoader::with_cache(OrderLoader { db }, tokio::spawn, HashMapCache::default())
}

key!(
    /// An order's lines.
    LinesOfOrder
);
key!(
    /// An address by id.
    AddressId
);
key!(
    /// An order's payments, oldest first.
    PaymentsOfOrder
);
key!(
    /// An order's shipment.
    ShipmentOfOrder
);

macro_rules! order_loader {
    ($key:ident, $value:ty, $query:path) => {
        impl Loader<$key> for OrderLoader {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let ids: Vec<i64> = keys.iter().map(|key| key.0).collect();
                let mut conn = self.db.primary().await.map_err(Error::from)?;
                let rows = $query(&mut conn, &ids).await.map_err(Error::from)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, value)| ($key(id), value))
                    .collect())
            }
        }
    };
}

order_loader!(
    LinesOfOrder,
    Vec<db::orders::OrderLine>,
    db::orders::lines_for
);
order_loader!(AddressId, db::orders::Address, db::orders::addresses_by_id);
order_loader!(
    PaymentsOfOrder,
    Vec<db::orders::Payment>,
    db::orders::payments_for
);
order_loader!(
    ShipmentOfOrder,
    db::orders::Shipment,
    db::orders::shipments_for
);

/// Forgets what a committed write made stale: in Redis, for every later
/// request, and in this request's loaders, for the rest of this one (a
/// later mutation in the same document must see it too).
pub async fn forget(ctx: &async_graphql::Context<'_>, entries: &[Entry]) {
    ctx.data_unchecked::<Cache>().invalidate(entries).await;
    let Some(loaders) = ctx.data_opt::<Loaders>() else {
        return;
    };
    // Clearing a key type empties it for this request; a repeat is free.
    for entry in entries {
        match entry {
            Entry::Entity(Kind::Book, _) => loaders.clear::<BookId>(),
            Entry::Entity(Kind::BookRelations, _) => loaders.clear::<RelationsOfBook>(),
            Entry::Entity(Kind::Contributor, _) => loaders.clear::<ContributorId>(),
            Entry::Entity(Kind::ContributorBooks, _) => loaders.clear::<BooksOfContributor>(),
            Entry::Entity(Kind::Genre, _) => loaders.clear::<GenreId>(),
            Entry::BookCounts => {}
        }
    }
}

/// `entry` and the cached relations of `book_ids`, which embed it (a
/// contributor or genre is stored whole in each of its books' relations).
pub fn embedded_in_books(entry: Entry, book_ids: &[i64]) -> Vec<Entry> {
    std::iter::once(entry)
        .chain(
            book_ids
                .iter()
                .map(|book_id| Entry::Entity(Kind::BookRelations, *book_id)),
        )
        .collect()
}
