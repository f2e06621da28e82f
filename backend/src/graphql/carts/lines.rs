//! Changing a cart: `createCart`, `addToCart`, `updateCartLine`,
//! `removeCartLine`. Adding and setting a quantity share one path
//! ([`change_line`]): the book must be sold, the quantity within the
//! per-line limit and in stock, and a new line within the cart's line limit
//! (`CART_MAX_LINES`, `CART_MAX_COPIES`), so every cart can be checked out.
//! Never prices anything (the books do).

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::cart::{CartPayload, CartView, accessible_cart, limits};
use crate::auth;
use crate::db::{self, carts::Cart};
use crate::error::Error;
use crate::graphql::books::{Book, load_books};
use crate::graphql::connections::primary_connection;
use crate::graphql::ids::{NodeType, decode_as};
use crate::graphql::user_errors::{UserError, UserErrorCode};

#[derive(InputObject)]
pub struct AddToCartInput {
    /// The cart's id; omit to use the signed-in customer's cart, or (for a
    /// guest) to start a new one.
    pub cart_id: Option<ID>,
    pub book_id: ID,
    /// Copies to add (default 1).
    #[graphql(default = 1)]
    pub quantity: i32,
}

#[derive(InputObject)]
pub struct UpdateCartLineInput {
    pub cart_id: Option<ID>,
    pub book_id: ID,
    /// The line's new quantity, 1 to the per-line limit (99 by default; use
    /// removeCartLine to remove it).
    pub quantity: i32,
}

#[derive(InputObject)]
pub struct RemoveCartLineInput {
    pub cart_id: Option<ID>,
    pub book_id: ID,
}

/// The cart a change applies to, created when the caller has none.
pub async fn cart_for_change(
    ctx: &Context<'_>,
    cart_id: Option<&ID>,
) -> Result<Option<Cart>, Error> {
    if cart_id.is_some() {
        return accessible_cart(ctx, cart_id).await;
    }
    let viewer = auth::viewer(ctx).await?;
    let mut conn = primary_connection(ctx).await?;
    Ok(Some(match viewer {
        Some(viewer) => {
            db::carts::open_for_user(&mut conn, viewer.user_id, &auth::new_token()).await?
        }
        None => db::carts::create(&mut conn, &auth::new_token(), None).await?,
    }))
}

fn cart_not_found() -> UserError {
    UserError::new(
        &["input", "cartId"],
        UserErrorCode::NotFound,
        "no such cart (it may have been checked out)",
    )
}

fn no_such_book() -> UserError {
    UserError::new(
        &["input", "bookId"],
        UserErrorCode::NotFound,
        "no such book",
    )
}

/// The book to put in a cart, or why it cannot go in.
async fn sellable_book(ctx: &Context<'_>, book_id: &ID) -> Result<Result<Book, UserError>> {
    let Ok(id) = decode_as(NodeType::Book, book_id) else {
        return Ok(Err(no_such_book()));
    };
    let book = load_books(ctx, &[id], &ctx.look_ahead()).await?.pop();
    Ok(match book {
        None => Err(no_such_book()),
        Some(book) if book.archived => Err(UserError::new(
            &["input", "bookId"],
            UserErrorCode::Unavailable,
            "this book is no longer sold",
        )),
        Some(book) => Ok(book),
    })
}

/// Checks a quantity against the per-line limit.
fn check_limit(quantity: i32, max_copies: i32) -> Result<(), UserError> {
    if (1..=max_copies).contains(&quantity) {
        Ok(())
    } else {
        Err(UserError::invalid(
            "quantity",
            format!("choose 1 to {max_copies} copies"),
        ))
    }
}

/// Checks a wanted quantity against the limits and the book's stock.
fn check_quantity(book: &Book, quantity: i32, max_copies: i32) -> Result<(), UserError> {
    check_limit(quantity, max_copies)?;
    if quantity > book.stock {
        let message = match book.stock {
            0 => "this book is out of stock".to_owned(),
            stock => format!("only {stock} in stock"),
        };
        return Err(UserError::new(
            &["input", "quantity"],
            UserErrorCode::InsufficientStock,
            message,
        ));
    }
    Ok(())
}

/// How a change sets a line's quantity.
#[derive(Clone, Copy)]
enum Change {
    /// Adds copies to the line (a new cart when the caller has none).
    Add(i32),
    /// Sets the line's quantity (in an existing cart).
    Set(i32),
}

/// Adds to or sets a line of the caller's cart. The limit is checked before
/// the cart is looked up; an added quantity's stock once the line's total is
/// known.
async fn change_line(
    ctx: &Context<'_>,
    cart_id: Option<&ID>,
    book_id: &ID,
    change: Change,
) -> Result<CartPayload> {
    let book = match sellable_book(ctx, book_id).await? {
        Ok(book) => book,
        Err(error) => return Ok(CartPayload::failed(error)),
    };
    let limits = limits(ctx);
    let max_copies = limits.max_copies();
    let checked = match change {
        Change::Add(quantity) => check_limit(quantity, max_copies),
        Change::Set(quantity) => check_quantity(&book, quantity, max_copies),
    };
    if let Err(error) = checked {
        return Ok(CartPayload::failed(error));
    }
    let cart = match change {
        Change::Add(_) => cart_for_change(ctx, cart_id).await?,
        Change::Set(_) => accessible_cart(ctx, cart_id).await?,
    };
    let Some(cart) = cart else {
        return Ok(CartPayload::failed(cart_not_found()));
    };
    let mut conn = primary_connection(ctx).await?;
    let wanted = match change {
        Change::Set(quantity) => quantity,
        Change::Add(quantity) => {
            let existing = db::carts::lines(&mut conn, cart.id)
                .await
                .map_err(Error::from)?
                .into_iter()
                .find(|line| line.book_id == book.id)
                .map_or(0, |line| line.quantity);
            let wanted = existing.saturating_add(quantity);
            if let Err(error) = check_quantity(&book, wanted, max_copies) {
                return Ok(CartPayload::failed(error));
            }
            wanted
        }
    };
    let put = db::carts::put_line(&mut conn, cart.id, book.id, wanted, limits.max_lines())
        .await
        .map_err(Error::from)?;
    drop(conn);
    if put.is_err() {
        return Ok(CartPayload::failed(UserError::invalid(
            "bookId",
            format!(
                "a cart holds at most {} different books: check out or remove one first",
                limits.max_lines()
            ),
        )));
    }
    respond(ctx, cart).await
}

#[derive(Default)]
pub struct CartMutation;

#[Object]
impl CartMutation {
    /// Starts an empty cart (for a signed-in customer: their open cart).
    async fn create_cart(&self, ctx: &Context<'_>) -> Result<CartPayload> {
        let cart = cart_for_change(ctx, None)
            .await?
            .ok_or(Error::NotFound("cart"))?;
        respond(ctx, cart).await
    }

    /// Adds copies of a book (to the line if the book is already there).
    async fn add_to_cart(&self, ctx: &Context<'_>, input: AddToCartInput) -> Result<CartPayload> {
        let change = Change::Add(input.quantity);
        change_line(ctx, input.cart_id.as_ref(), &input.book_id, change).await
    }

    /// Sets a line's quantity.
    async fn update_cart_line(
        &self,
        ctx: &Context<'_>,
        input: UpdateCartLineInput,
    ) -> Result<CartPayload> {
        let change = Change::Set(input.quantity);
        change_line(ctx, input.cart_id.as_ref(), &input.book_id, change).await
    }

    /// Removes a book from the cart.
    async fn remove_cart_line(
        &self,
        ctx: &Context<'_>,
        input: RemoveCartLineInput,
    ) -> Result<CartPayload> {
        let Some(cart) = accessible_cart(ctx, input.cart_id.as_ref()).await? else {
            return Ok(CartPayload::failed(cart_not_found()));
        };
        let Ok(book_id) = decode_as(NodeType::Book, &input.book_id) else {
            return Ok(CartPayload::failed(no_such_book()));
        };
        let mut conn = primary_connection(ctx).await?;
        let removed = db::carts::remove_line(&mut conn, cart.id, book_id)
            .await
            .map_err(Error::from)?;
        drop(conn);
        if !removed {
            return Ok(CartPayload::failed(UserError::new(
                &["input", "bookId"],
                UserErrorCode::NotFound,
                "this book is not in the cart",
            )));
        }
        respond(ctx, cart).await
    }
}

/// The changed cart, its books loaded as the mutation's selection asks.
async fn respond(ctx: &Context<'_>, cart: Cart) -> Result<CartPayload> {
    let books = ctx.look_ahead().field("cart").field("lines").field("book");
    Ok(CartPayload {
        cart: Some(CartView::load(ctx, cart, &books).await?),
        user_errors: Vec::new(),
    })
}
