//! Reading orders: `order` (one by number, for whoever may see it), the
//! staff's `orders` list, and [`user_orders`], which serves `User.orders`.
//! Every list pages the same way ([`OrderList`]). Never changes an order.

use async_graphql::{Context, Object, Result};
use diesel_async::AsyncPgConnection;

use super::order::{Order, OrderConnection, OrderStatus};
use crate::auth::{self, require_staff};
use crate::db::{self, orders::Order as OrderRow};
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::pagination::{Page, PageArgs, page_complexity, split_extra};

/// Which orders a list shows.
#[derive(Clone, Copy)]
enum OrderList<'a> {
    /// A user's, newest first.
    OfUser(i64),
    /// All (optionally of one status), oldest first.
    ByStatus(Option<&'a str>),
}

impl OrderList<'_> {
    async fn load(
        self,
        conn: &mut AsyncPgConnection,
        offset: i64,
        limit: i64,
    ) -> diesel::QueryResult<(Vec<OrderRow>, i64)> {
        match self {
            OrderList::OfUser(user_id) => {
                db::orders::page_for_user(conn, user_id, offset, limit).await
            }
            OrderList::ByStatus(status) => {
                db::orders::page_by_status(conn, status, offset, limit).await
            }
        }
    }

    /// One page of the list.
    async fn page(self, ctx: &Context<'_>, page: PageArgs) -> Result<OrderConnection> {
        let mut conn = primary_connection(ctx).await?;
        let total = match page.needs_total() {
            true => Some(self.load(&mut conn, 0, 0).await.map_err(Error::from)?.1),
            false => None,
        };
        let window = page.window(total)?;
        let (mut rows, total) = self
            .load(&mut conn, window.offset, window.limit + 1)
            .await
            .map_err(Error::from)?;
        let more = split_extra(&mut rows, window);
        Ok(Page::new(
            rows.into_iter().map(Order).collect(),
            window,
            Some(total),
            more,
        )
        .into())
    }
}

/// `User.orders`: the user's orders, newest first, for that user only.
pub async fn user_orders(
    ctx: &Context<'_>,
    user_id: i64,
    page: PageArgs,
) -> Result<OrderConnection> {
    // A User is only ever the viewer themself; check anyway.
    let viewer = auth::viewer(ctx).await?.ok_or(Error::Unauthenticated)?;
    if viewer.user_id != user_id {
        return Err(Error::Forbidden.into());
    }
    OrderList::OfUser(user_id).page(ctx, page).await
}

/// The order with `number` if the caller may see it: its customer, staff,
/// or anyone giving the checkout email.
pub async fn visible_order(
    ctx: &Context<'_>,
    number: &str,
    email: Option<&str>,
) -> Result<Option<OrderRow>, Error> {
    let viewer = auth::viewer(ctx).await?;
    let mut conn = primary_connection(ctx).await?;
    let Some(order) = db::orders::find_by_number(&mut conn, number).await? else {
        return Ok(None);
    };
    let by_owner = viewer
        .as_ref()
        .is_some_and(|viewer| viewer.is_staff() || Some(viewer.user_id) == order.user_id);
    let by_email = email.is_some_and(|email| email.trim().eq_ignore_ascii_case(&order.email));
    Ok((by_owner || by_email).then_some(order))
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// One order by number: the signed-in customer's own, any for staff, or
    /// (for a guest) with the checkout email. Null otherwise.
    async fn order(
        &self,
        ctx: &Context<'_>,
        number: String,
        email: Option<String>,
    ) -> Result<Option<Order>> {
        Ok(visible_order(ctx, &number, email.as_deref())
            .await?
            .map(Order))
    }

    /// Staff: all orders (optionally of one status), oldest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        status: Option<OrderStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OrderConnection> {
        require_staff(ctx).await?;
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        OrderList::ByStatus(status.map(OrderStatus::as_db))
            .page(ctx, page)
            .await
    }
}
