//! The `Cart` type and the `cart` and `shippingMethods` queries. A cart's
//! id is its token: a guest keeps it (in the app, or the storefront's
//! cookie) and passes it as `cartId`; a signed-in customer's cart is found
//! without it. A cart that belongs to a user is that user's alone
//! ([`accessible_cart`]). Prices always come from the books, never from the
//! cart. Never changes a cart.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, Lookahead, Object, Result, SimpleObject};

use super::shipping::{Charges, ShippingMethod, ShippingMethodCode};
use crate::auth;
use crate::config::checkout::CheckoutConfig;
use crate::db::{self, carts::Cart};
use crate::error::Error;
use crate::graphql::books::{Book, Money, load_books};
use crate::graphql::connections::primary_connection;
use crate::graphql::user_errors::UserError;

/// The cart limits (`CART_MAX_LINES`, `CART_MAX_COPIES`): what one
/// checkout can finish.
pub fn limits(ctx: &Context<'_>) -> CheckoutConfig {
    ctx.data_opt::<CheckoutConfig>()
        .cloned()
        .unwrap_or_default()
}

/// Why a line cannot be checked out as it is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CartLineProblem {
    /// The book is no longer sold.
    Unavailable,
    OutOfStock,
    /// Fewer copies are in stock than the line wants.
    InsufficientStock,
}

pub struct CartLineView {
    pub book: Book,
    pub quantity: i32,
}

impl CartLineView {
    fn problem_now(&self) -> Option<CartLineProblem> {
        if self.book.archived {
            Some(CartLineProblem::Unavailable)
        } else if self.book.stock == 0 {
            Some(CartLineProblem::OutOfStock)
        } else if self.book.stock < self.quantity {
            Some(CartLineProblem::InsufficientStock)
        } else {
            None
        }
    }

    fn line_total_cents(&self) -> i64 {
        i64::from(self.book.price_cents) * i64::from(self.quantity)
    }
}

#[Object(name = "CartLine")]
impl CartLineView {
    async fn book(&self) -> &Book {
        &self.book
    }
    async fn quantity(&self) -> i32 {
        self.quantity
    }
    /// The book's current price.
    async fn unit_price(&self) -> Money {
        Money::new(self.book.price_cents, &self.book.currency)
    }
    async fn line_total(&self) -> Money {
        Money::new(clamp_cents(self.line_total_cents()), &self.book.currency)
    }
    /// Set when the line cannot be checked out as it is.
    async fn problem(&self) -> Option<CartLineProblem> {
        self.problem_now()
    }
    /// Copies that can be ordered now (0 when unavailable), at most the
    /// per-line limit.
    async fn available_quantity(&self, ctx: &Context<'_>) -> i32 {
        if self.book.archived {
            0
        } else {
            self.book.stock.min(limits(ctx).max_copies())
        }
    }
}

fn clamp_cents(cents: i64) -> i32 {
    i32::try_from(cents).unwrap_or(i32::MAX)
}

pub struct CartView {
    pub cart: Cart,
    pub lines: Vec<CartLineView>,
}

impl CartView {
    /// Loads the cart's lines and their books (one batched load).
    pub async fn load(ctx: &Context<'_>, cart: Cart, books: &Lookahead<'_>) -> Result<Self> {
        let lines = {
            // Carts are read where they are written: a replica may lag.
            let mut conn = primary_connection(ctx).await?;
            db::carts::lines(&mut conn, cart.id)
                .await
                .map_err(Error::from)?
        };
        let ids: Vec<i64> = lines.iter().map(|line| line.book_id).collect();
        let mut found: HashMap<i64, Book> = load_books(ctx, &ids, books)
            .await?
            .into_iter()
            .map(|book| (book.id, book))
            .collect();
        let lines = lines
            .into_iter()
            .filter_map(|line| {
                found.remove(&line.book_id).map(|book| CartLineView {
                    book,
                    quantity: line.quantity,
                })
            })
            .collect();
        Ok(Self { cart, lines })
    }

    pub fn subtotal_cents(&self) -> i64 {
        self.lines.iter().map(CartLineView::line_total_cents).sum()
    }

    pub fn currency(&self) -> &str {
        self.lines
            .first()
            .map_or("USD", |line| line.book.currency.as_str())
    }
}

#[Object(name = "Cart")]
impl CartView {
    /// The cart's token: keep it, and pass it as `cartId`.
    async fn id(&self) -> ID {
        ID(self.cart.token.clone())
    }
    async fn lines(&self) -> &[CartLineView] {
        &self.lines
    }
    /// Copies in the cart.
    async fn item_count(&self) -> i32 {
        self.lines.iter().map(|line| line.quantity).sum()
    }
    /// Sum of the lines at current prices, before shipping.
    async fn subtotal(&self) -> Money {
        Money::new(clamp_cents(self.subtotal_cents()), self.currency())
    }
    /// True when the cart has lines and none has a problem.
    async fn ready_for_checkout(&self) -> bool {
        !self.lines.is_empty() && self.lines.iter().all(|line| line.problem_now().is_none())
    }
    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.cart.updated_at
    }
    /// What checking out now with `shippingMethod` would charge: the same
    /// sum `checkout` charges (the lines at current prices plus the
    /// method's price), so a shopper sees the total before placing the order.
    async fn quote(&self, shipping_method: ShippingMethodCode) -> CartQuote {
        let charges = Charges::of(self.subtotal_cents(), shipping_method);
        let money = |cents: i64| Money::new(clamp_cents(cents), self.currency());
        CartQuote {
            shipping_method: ShippingMethod::from(shipping_method),
            subtotal: money(charges.subtotal_cents),
            shipping: money(charges.shipping_cents),
            total: money(charges.total_cents),
        }
    }
}

/// A cart priced for one shipping method (`Cart.quote`).
#[derive(SimpleObject)]
pub struct CartQuote {
    pub shipping_method: ShippingMethod,
    pub subtotal: Money,
    pub shipping: Money,
    pub total: Money,
}

#[derive(SimpleObject)]
pub struct CartPayload {
    pub cart: Option<CartView>,
    pub user_errors: Vec<UserError>,
}

impl CartPayload {
    pub fn failed(error: UserError) -> Self {
        Self {
            cart: None,
            user_errors: vec![error],
        }
    }
}

/// The open cart the caller may use: by token (a cart that belongs to a
/// user only for that user), else the signed-in user's. `None` when there
/// is none (or it is someone else's).
pub async fn accessible_cart(
    ctx: &Context<'_>,
    cart_id: Option<&ID>,
) -> Result<Option<Cart>, Error> {
    let viewer = auth::viewer(ctx).await?;
    let mut conn = primary_connection(ctx).await?;
    let cart = match cart_id {
        Some(token) => db::carts::find_open(&mut conn, token).await?,
        None => match &viewer {
            Some(viewer) => db::carts::find_open_for_user(&mut conn, viewer.user_id).await?,
            None => None,
        },
    };
    Ok(cart.filter(|cart| match cart.user_id {
        Some(owner) => viewer
            .as_ref()
            .is_some_and(|viewer| viewer.user_id == owner),
        None => true,
    }))
}

#[derive(Default)]
pub struct CartQuery;

#[Object]
impl CartQuery {
    /// A cart by its id, or the signed-in customer's open cart.
    async fn cart(&self, ctx: &Context<'_>, id: Option<ID>) -> Result<Option<CartView>> {
        match accessible_cart(ctx, id.as_ref()).await? {
            Some(cart) => {
                let books = ctx.look_ahead().field("lines").field("book");
                Ok(Some(CartView::load(ctx, cart, &books).await?))
            }
            None => Ok(None),
        }
    }

    /// How an order can be delivered, with prices and estimates.
    async fn shipping_methods(&self) -> Vec<ShippingMethod> {
        ShippingMethodCode::ALL
            .into_iter()
            .map(ShippingMethod::from)
            .collect()
    }
}
