//! Live orders: `orderUpdated(id)` follows one order's status for whoever
//! may see it (the same rule as `order`: see [`super::access`]; anyone else
//! gets "not found"), `orderPlaced` tells staff of each newly paid order.
//! Both follow the order events (`crate::events`) every instance publishes
//! after a status change commits; `orderUpdated` re-sends the order's
//! current state after events may have been lost (Redis was away).
//!
//! Never changes an order.

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::access::visible_order_by_id;
use super::order::Order;
use crate::auth::require_staff;
use crate::cache::{Cache, Signal};
use crate::db::{self, Db, orders::PAID};
use crate::error::Error;
use crate::events::Event;
use crate::graphql::ids::{NodeType, decode_as};

#[derive(Default)]
pub struct OrderSubscription;

#[Subscription]
impl OrderSubscription {
    /// The order (its current status and details) each time its status
    /// changes, on any instance; again after events may have been missed.
    /// For its customer, staff, or a guest order's `accessToken` holder;
    /// NOT_FOUND for anyone else, as for an id no order has.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
        access_token: Option<String>,
    ) -> Result<impl Stream<Item = Order> + use<>> {
        let order_id = decode_as(NodeType::Order, &id)?;
        // Listening before the check: a change right after it is not missed.
        let signals = ctx.data_unchecked::<Cache>().signals();
        if visible_order_by_id(ctx, order_id, access_token.as_deref())
            .await?
            .is_none()
        {
            return Err(Error::NotFound("order").into());
        }
        let db = ctx.data_unchecked::<Db>().clone();
        Ok(orders(signals, db, move |signal| match signal {
            Signal::Resync => Some(order_id),
            Signal::Event(text) => match Event::decode(text)? {
                Event::OrderChanged { order_id: id, .. } => (id == order_id).then_some(id),
            },
            Signal::Changed(_) => None,
        }))
    }

    /// Staff: each order just paid, on any instance (an order paid while
    /// Redis was away is not announced: the `orders` list has it).
    async fn order_placed(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Order> + use<>> {
        require_staff(ctx).await?;
        let signals = ctx.data_unchecked::<Cache>().signals();
        let db = ctx.data_unchecked::<Db>().clone();
        Ok(orders(signals, db, |signal| match signal {
            Signal::Event(text) => match Event::decode(text)? {
                Event::OrderChanged { order_id, status } => (status == PAID).then_some(order_id),
            },
            Signal::Resync | Signal::Changed(_) => None,
        }))
    }
}

/// The current row of each order `pick` names, from the primary (which has
/// the change); a lagging listener counts as told to resynchronise.
fn orders(
    signals: broadcast::Receiver<Signal>,
    db: Db,
    pick: impl Fn(&Signal) -> Option<i64> + Send + 'static,
) -> impl Stream<Item = Order> {
    futures_util::stream::unfold((signals, db, pick), |(mut signals, db, pick)| async move {
        loop {
            let signal = match signals.recv().await {
                Ok(signal) => signal,
                Err(RecvError::Lagged(_)) => Signal::Resync,
                Err(RecvError::Closed) => return None,
            };
            let Some(order_id) = pick(&signal) else {
                continue;
            };
            let loaded = async {
                let mut conn = db.primary().await.map_err(|error| error.to_string())?;
                db::orders::find(&mut conn, order_id)
                    .await
                    .map_err(|error| error.to_string())
            }
            .await;
            match loaded {
                Ok(Some(order)) => return Some((Order(order), (signals, db, pick))),
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, order_id, "order subscription: could not load the order");
                }
            }
        }
    })
}
