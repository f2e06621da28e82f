//! `buyAgain`: puts a past order's books back in the caller's cart, as many
//! copies as that order had (less when fewer are in stock or the per-line
//! limit is reached), skipping books no longer sold or out of stock, and
//! saying which. Only for whoever may see the order (`access`); another's
//! order is "not found". Prices are the books' current ones, as always.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use super::access::{GuestProof, visible_order};
use crate::db;
use crate::error::Error;
use crate::graphql::books::{Book, load_books};
use crate::graphql::carts::{CartView, cart_for_change, limits};
use crate::graphql::connections::primary_connection;
use crate::graphql::user_errors::{UserError, UserErrorCode};

#[derive(InputObject)]
pub struct BuyAgainInput {
    pub number: String,
    /// For a guest order: its access token.
    pub access_token: Option<String>,
    /// The cart to add to; omit for the signed-in customer's cart (or, for a
    /// guest, a new one).
    pub cart_id: Option<ID>,
}

/// Why a book of the order was not added, or not all its copies.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum BuyAgainProblem {
    /// The book is no longer sold (archived or deleted).
    Unavailable,
    OutOfStock,
    /// Fewer copies were added than the order had (stock or the per-line
    /// limit).
    InsufficientStock,
    /// The cart holds the most different books allowed.
    CartFull,
}

/// One line of the order, and what became of it.
#[derive(SimpleObject)]
pub struct BuyAgainLine {
    /// The title as ordered.
    pub title: String,
    pub ordered_quantity: i32,
    /// The line's quantity in the cart now (0 when not added).
    pub cart_quantity: i32,
    pub problem: Option<BuyAgainProblem>,
}

#[derive(SimpleObject, Default)]
pub struct BuyAgainPayload {
    pub cart: Option<CartView>,
    pub lines: Vec<BuyAgainLine>,
    pub user_errors: Vec<UserError>,
}

impl BuyAgainPayload {
    fn failed(field: &str, message: &str) -> Self {
        Self {
            user_errors: vec![UserError::new(
                &["input", field],
                UserErrorCode::NotFound,
                message,
            )],
            ..Self::default()
        }
    }
}

#[derive(Default)]
pub struct BuyAgainMutation;

#[Object]
impl BuyAgainMutation {
    /// Adds a past order's books that can still be bought to the cart.
    async fn buy_again(&self, ctx: &Context<'_>, input: BuyAgainInput) -> Result<BuyAgainPayload> {
        let proof = GuestProof {
            access_token: input.access_token.as_deref(),
            email: None,
        };
        let Some(order) = visible_order(ctx, &input.number, proof).await? else {
            return Ok(BuyAgainPayload::failed("number", "no such order"));
        };
        let lines = {
            let mut conn = primary_connection(ctx).await?;
            db::orders::lines_for(&mut conn, &[order.id])
                .await
                .map_err(Error::from)?
                .remove(&order.id)
                .unwrap_or_default()
        };
        let ids: Vec<i64> = lines.iter().filter_map(|line| line.book_id).collect();
        let books: HashMap<i64, Book> = load_books(ctx, &ids, &ctx.look_ahead())
            .await?
            .into_iter()
            .map(|book| (book.id, book))
            .collect();
        let Some(cart) = cart_for_change(ctx, input.cart_id.as_ref()).await? else {
            return Ok(BuyAgainPayload::failed(
                "cartId",
                "no such cart (it may have been checked out)",
            ));
        };
        let limits = limits(ctx);
        let sellable = |line: &db::orders::OrderLine| {
            let book = books.get(&line.book_id?)?;
            (!book.archived && book.stock > 0).then_some(book)
        };
        let wanted: Vec<(i64, i32, i32)> = lines
            .iter()
            .filter_map(|line| {
                let book = sellable(line)?;
                Some((book.id, line.quantity, book.stock.min(limits.max_copies())))
            })
            .collect();
        let added: HashMap<i64, Option<i32>> = if wanted.is_empty() {
            HashMap::new()
        } else {
            let mut conn = primary_connection(ctx).await?;
            db::carts::add_lines(&mut conn, cart.id, &wanted, limits.max_lines())
                .await
                .map_err(Error::from)?
                .into_iter()
                .collect()
        };
        let outcome = lines
            .iter()
            .map(|line| {
                let book = line.book_id.and_then(|id| books.get(&id));
                let (cart_quantity, problem) = match book {
                    None => (0, Some(BuyAgainProblem::Unavailable)),
                    Some(book) if book.archived => (0, Some(BuyAgainProblem::Unavailable)),
                    Some(book) if book.stock == 0 => (0, Some(BuyAgainProblem::OutOfStock)),
                    Some(book) => match added.get(&book.id).copied().flatten() {
                        None => (0, Some(BuyAgainProblem::CartFull)),
                        Some(quantity) if quantity < line.quantity => {
                            (quantity, Some(BuyAgainProblem::InsufficientStock))
                        }
                        Some(quantity) => (quantity, None),
                    },
                };
                BuyAgainLine {
                    title: line.title.clone(),
                    ordered_quantity: line.quantity,
                    cart_quantity,
                    problem,
                }
            })
            .collect();
        let books = ctx.look_ahead().field("cart").field("lines").field("book");
        Ok(BuyAgainPayload {
            cart: Some(CartView::load(ctx, cart, &books).await?),
            lines: outcome,
            user_errors: Vec::new(),
        })
    }
}
