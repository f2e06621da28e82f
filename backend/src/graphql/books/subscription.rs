//! `bookUpdated(ids)`: the current state of the books on a client's screen
//! (price, stock, availability, archived or not) each time a committed
//! write changes one of them, on any instance: a staff edit, a stock
//! adjustment, a checkout or cancellation moving stock, an archive. After
//! events may have been lost (Redis was away) every book is sent again.
//! Public: the same fields anyone may query.

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::Stream;

use super::live::LiveBooks;
use crate::db::Db;
use crate::db::books::Book;
use crate::error::Error;
use crate::graphql::ids::{NodeType, decode_as};

/// Books one `bookUpdated` may watch.
pub const MAX_WATCHED_BOOKS: usize = 100;

#[derive(Default)]
pub struct BookSubscription;

#[Subscription]
impl BookSubscription {
    /// Each watched book's current state whenever a committed write changes
    /// it (on any instance), one `next` per book; every book again after
    /// events may have been missed. 1 to 100 ids; unknown ids are never sent.
    async fn book_updated(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> Result<impl Stream<Item = Book> + use<>> {
        if ids.is_empty() || ids.len() > MAX_WATCHED_BOOKS {
            return Err(Error::BadUserInput(format!(
                "bookUpdated watches 1 to {MAX_WATCHED_BOOKS} books"
            ))
            .into());
        }
        let mut book_ids = ids
            .iter()
            .map(|id| decode_as(NodeType::Book, id))
            .collect::<Result<Vec<i64>, Error>>()?;
        book_ids.sort_unstable();
        book_ids.dedup();
        let db = ctx.data_unchecked::<Db>().clone();
        let watch = ctx.data_unchecked::<LiveBooks>().watch(book_ids);
        let batches = futures_util::stream::unfold((watch, db), |(mut watch, db)| async move {
            let rows = watch.next(&db).await?;
            Some((futures_util::stream::iter(rows), (watch, db)))
        });
        Ok(futures_util::StreamExt::flatten(batches))
    }
}
