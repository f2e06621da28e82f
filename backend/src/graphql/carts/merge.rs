//! Merging a guest cart into the customer's cart when they sign in with
//! one: quantities are capped by stock and the per-line limit, and each line
//! says what happened. Called by `accounts::sign_in`; never signs anyone in.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, Result, SimpleObject};

use super::cart::{CartView, limits};
use crate::auth;
use crate::db;
use crate::error::Error;
use crate::graphql::books::{Book, load_books};
use crate::graphql::connections::primary_connection;

/// What happened to a guest cart's line when it joined the customer's cart
/// (within the cart limits: `CART_MAX_LINES`, `CART_MAX_COPIES`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CartMergeOutcome {
    /// All the copies joined.
    Merged,
    /// Fewer copies joined than wanted (stock or the per-line limit).
    Reduced,
    /// None joined (the book is unavailable or out of stock, or the cart
    /// holds as many books as it may).
    Dropped,
}

#[derive(SimpleObject)]
pub struct CartMergeLine {
    pub book: Book,
    /// Copies in the customer's cart plus the guest cart's.
    pub requested: i32,
    /// Copies in the cart now.
    pub quantity: i32,
    pub outcome: CartMergeOutcome,
}

#[derive(SimpleObject)]
pub struct CartMerge {
    /// The customer's cart after the merge.
    pub cart: CartView,
    pub lines: Vec<CartMergeLine>,
}

/// Moves a guest cart's lines into the user's open cart (signing in with a
/// cart). Quantities are capped by stock and the per-line limit, and each
/// line says what happened. `None` when there is no such open guest cart.
pub async fn merge_guest_cart(
    ctx: &Context<'_>,
    guest_token: &ID,
    user_id: i64,
) -> Result<Option<CartMerge>> {
    let (guest, target, guest_lines, target_lines) = {
        let mut conn = primary_connection(ctx).await?;
        let Some(guest) = db::carts::find_open(&mut conn, guest_token)
            .await
            .map_err(Error::from)?
            .filter(|cart| cart.user_id.is_none())
        else {
            return Ok(None);
        };
        let target = db::carts::open_for_user(&mut conn, user_id, &auth::new_token())
            .await
            .map_err(Error::from)?;
        let guest_lines = db::carts::lines(&mut conn, guest.id)
            .await
            .map_err(Error::from)?;
        let target_lines = db::carts::lines(&mut conn, target.id)
            .await
            .map_err(Error::from)?;
        (guest, target, guest_lines, target_lines)
    };
    let ids: Vec<i64> = guest_lines.iter().map(|line| line.book_id).collect();
    let mut books: HashMap<i64, Book> = load_books(ctx, &ids, &ctx.look_ahead())
        .await?
        .into_iter()
        .map(|book| (book.id, book))
        .collect();
    let limits = limits(ctx);
    let mut line_count = target_lines.len();
    let mut merged = Vec::new();
    let mut report = Vec::new();
    for line in &guest_lines {
        let Some(book) = books.remove(&line.book_id) else {
            continue; // deleted since: nothing to report against
        };
        let existing = target_lines
            .iter()
            .find(|target| target.book_id == line.book_id)
            .map_or(0, |target| target.quantity);
        let requested = existing + line.quantity;
        // A book not in the customer's cart yet needs a line to spare.
        let no_room = existing == 0 && line_count >= limits.max_lines();
        let allowed = if book.archived || no_room {
            0
        } else {
            requested.min(limits.max_copies()).min(book.stock)
        };
        if existing == 0 && allowed > 0 {
            line_count += 1;
        }
        let quantity = allowed.max(existing);
        let outcome = if allowed <= existing {
            CartMergeOutcome::Dropped
        } else if allowed < requested {
            CartMergeOutcome::Reduced
        } else {
            CartMergeOutcome::Merged
        };
        if quantity > 0 {
            merged.push(db::carts::CartLine {
                book_id: book.id,
                quantity,
            });
        }
        report.push(CartMergeLine {
            book,
            requested,
            quantity,
            outcome,
        });
    }
    {
        let mut conn = primary_connection(ctx).await?;
        db::carts::merge(&mut conn, guest.id, target.id, &merged)
            .await
            .map_err(Error::from)?;
    }
    let books = ctx
        .look_ahead()
        .field("cartMerge")
        .field("cart")
        .field("lines")
        .field("book");
    Ok(Some(CartMerge {
        cart: CartView::load(ctx, target, &books).await?,
        lines: report,
    }))
}
