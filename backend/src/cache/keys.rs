//! What is cached, by name: the kinds of entity, what a write can make
//! stale, and the version every key carries. A leaf: no Redis calls here.

/// Bump whenever the shape of a cached value changes: old entries are then
/// simply never read again (and expire with their TTL).
pub const CACHE_VERSION: u32 = 3;

/// One kind of cached entity; the kind names the Redis key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `db::books::Book` by book id.
    Book,
    /// `db::books::BookRelations` (credits and genres) by book id.
    BookRelations,
    /// `db::contributors::Contributor` by id.
    Contributor,
    /// The live book ids of a contributor, by contributor id.
    ContributorBooks,
    /// `db::genres::Genre` by id.
    Genre,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Book => "book",
            Kind::BookRelations => "book-relations",
            Kind::Contributor => "contributor",
            Kind::ContributorBooks => "contributor-books",
            Kind::Genre => "genre",
        }
    }

    pub(super) fn from_str(text: &str) -> Option<Self> {
        [
            Kind::Book,
            Kind::BookRelations,
            Kind::Contributor,
            Kind::ContributorBooks,
            Kind::Genre,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// Something a write made stale, for [`Cache::invalidate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entry {
    /// One cached entity.
    Entity(Kind, i64),
    /// Every cached `totalCount` of the book listing (a write that adds,
    /// archives, restores or re-prices a book, or changes whether it is in
    /// stock, can change any of them).
    BookCounts,
}
