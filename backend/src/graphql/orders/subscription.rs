//! Live orders: `orderUpdated(id)` follows one order's status for whoever
//! may see it (the same rule as `order`: see [`super::access`]; anyone else
//! gets "not found"), `orderPlaced` tells staff of each newly paid order.
//! Both follow the order events (`crate::events`) every instance publishes
//! after a status change commits; `orderUpdated` re-sends the order's
//! current state after events may have been lost (Redis was away).
//! A subscription allowed through a session checks that session again
//! before each event it sends: signing out (or losing staff rights) ends
//! it, whichever instance it runs on.
//!
//! Never changes an order.

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::access::visible_order_by_id;
use super::order::Order;
use crate::auth::{RequestAuth, Sessions, require_staff, viewer};
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
        let Some(order) = visible_order_by_id(ctx, order_id, access_token.as_deref()).await? else {
            return Err(Error::NotFound("order").into());
        };
        // Allowed by the session rather than a guest token: checked again.
        let guard = match viewer(ctx).await? {
            Some(viewer) if viewer.is_staff() || Some(viewer.user_id) == order.user_id => {
                Guard::new(ctx, Allowed::OwnerOrStaff(viewer.user_id))
            }
            _ => None,
        };
        let db = ctx.data_unchecked::<Db>().clone();
        Ok(orders(signals, db, guard, move |signal| match signal {
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
        let guard = Guard::new(ctx, Allowed::Staff);
        Ok(orders(signals, db, guard, |signal| match signal {
            Signal::Event(text) => match Event::decode(text)? {
                Event::OrderChanged { order_id, status } => (status == PAID).then_some(order_id),
            },
            Signal::Resync | Signal::Changed(_) => None,
        }))
    }
}

/// Who a subscription was allowed for.
#[derive(Clone, Copy)]
enum Allowed {
    Staff,
    /// The order's customer (this user), or staff.
    OwnerOrStaff(i64),
}

/// The session a subscription was allowed through, checked again per event.
struct Guard {
    sessions: Sessions,
    token: String,
    allowed: Allowed,
}

impl Guard {
    fn new(ctx: &Context<'_>, allowed: Allowed) -> Option<Self> {
        let token = ctx.data_unchecked::<RequestAuth>().token()?.to_owned();
        Some(Self {
            sessions: ctx.data_unchecked::<Sessions>().clone(),
            token,
            allowed,
        })
    }

    /// Whether the session still allows it (a failed check counts as no).
    async fn holds(&self) -> bool {
        let viewer = self.sessions.resolve(&self.token).await.ok().flatten();
        viewer.is_some_and(|viewer| match self.allowed {
            Allowed::Staff => viewer.is_staff(),
            Allowed::OwnerOrStaff(user_id) => viewer.is_staff() || viewer.user_id == user_id,
        })
    }
}

/// The current row of each order `pick` names, from the primary (which has
/// the change); a lagging listener counts as told to resynchronise. Ends
/// once the `guard`'s session no longer allows it.
fn orders(
    signals: broadcast::Receiver<Signal>,
    db: Db,
    guard: Option<Guard>,
    pick: impl Fn(&Signal) -> Option<i64> + Send + 'static,
) -> impl Stream<Item = Order> {
    let state = (signals, db, guard, pick);
    futures_util::stream::unfold(state, |(mut signals, db, guard, pick)| async move {
        loop {
            let signal = match signals.recv().await {
                Ok(signal) => signal,
                Err(RecvError::Lagged(_)) => Signal::Resync,
                Err(RecvError::Closed) => return None,
            };
            let Some(order_id) = pick(&signal) else {
                continue;
            };
            if let Some(guard) = &guard
                && !guard.holds().await
            {
                return None;
            }
            let loaded = async {
                let mut conn = db.primary().await.map_err(|error| error.to_string())?;
                db::orders::find(&mut conn, order_id)
                    .await
                    .map_err(|error| error.to_string())
            }
            .await;
            match loaded {
                Ok(Some(order)) => return Some((Order::new(order), (signals, db, guard, pick))),
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, order_id, "order subscription: could not load the order");
                }
            }
        }
    })
}
