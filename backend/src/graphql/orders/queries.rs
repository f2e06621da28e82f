//! Reading orders: `order` (one by number, for whoever may see it: see
//! [`super::access`]), the staff's `orders` list, and [`user_orders`],
//! which serves `User.orders`.
//! Every list pages the same way ([`OrderList`]): the page, its lines and
//! their books in one statement (handed to the orders, not the loaders), the
//! count only when asked for. Never changes an order.

use async_graphql::{Context, Object, Result};
use diesel_async::AsyncPgConnection;

use super::access::{GuestProof, visible_order};
use super::order::{Order, OrderConnection, OrderStatus};
use crate::auth::{self, require_staff};
use crate::cache::{Kind, ReadTags};
use crate::db::{
    self,
    order_pages::{Details, Listed},
};
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
        details: Details,
    ) -> diesel::QueryResult<Vec<Listed>> {
        match self {
            OrderList::OfUser(user_id) => {
                db::order_pages::page_for_user(conn, user_id, offset, limit, details).await
            }
            OrderList::ByStatus(status) => {
                db::order_pages::page_by_status(conn, status, offset, limit, details).await
            }
        }
    }

    async fn count(self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
        match self {
            OrderList::OfUser(user_id) => db::order_pages::count_for_user(conn, user_id).await,
            OrderList::ByStatus(status) => db::order_pages::count_by_status(conn, status).await,
        }
    }

    /// One page of the list: one statement for the orders and (when the
    /// query asks for them) their lines and books, handed to the orders; a
    /// count only when `totalCount` is asked for (or `last` needs it).
    async fn page(self, ctx: &Context<'_>, page: PageArgs) -> Result<OrderConnection> {
        let selection = ctx.look_ahead();
        let nodes = [
            selection.field("edges").field("node"),
            selection.field("nodes"),
        ];
        let details = if nodes
            .iter()
            .any(|node| node.field("lines").field("book").exists())
        {
            Details::LinesAndBooks
        } else if nodes.iter().any(|node| node.field("lines").exists()) {
            Details::Lines
        } else {
            Details::None
        };
        let mut conn = primary_connection(ctx).await?;
        let total = match page.needs_total() || selection.field("totalCount").exists() {
            true => Some(self.count(&mut conn).await.map_err(Error::from)?),
            false => None,
        };
        let window = page.window(total)?;
        let mut rows = self
            .load(&mut conn, window.offset, window.limit + 1, details)
            .await
            .map_err(Error::from)?;
        drop(conn);
        let more = split_extra(&mut rows, window);
        if let (Details::LinesAndBooks, Some(tags)) = (details, ctx.data_opt::<ReadTags>()) {
            // A viewer's kept answer is retired when a book it shows changes.
            let books = rows.iter().flat_map(|(_, lines)| lines.iter().flatten());
            tags.entities(Kind::Book, books.filter_map(|line| line.0.book_id));
        }
        let orders = rows
            .into_iter()
            .map(|(order, lines)| match lines {
                Some(lines) => Order::listed(order, lines),
                None => Order::new(order),
            })
            .collect();
        Ok(Page::new(orders, window, total, more).into())
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

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// One order by number: the signed-in customer's own, any for staff, or
    /// a guest order with its access token (from `checkout`, or from the
    /// confirmation email's link) or its checkout email. Null otherwise, the same as for a number no order has. Lookups
    /// by email are throttled per client and per number (TOO_MANY_ATTEMPTS).
    async fn order(
        &self,
        ctx: &Context<'_>,
        number: String,
        email: Option<String>,
        access_token: Option<String>,
    ) -> Result<Option<Order>> {
        let proof = GuestProof {
            access_token: access_token.as_deref(),
            email: email.as_deref(),
        };
        Ok(visible_order(ctx, &number, proof).await?.map(Order::new))
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
