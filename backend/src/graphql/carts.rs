//! Carts: `cart`, `createCart`, `addToCart`, `updateCartLine`,
//! `removeCartLine`, and `shippingMethods`. A cart's id is its token: a
//! guest keeps it (in the app, or the storefront's cookie) and passes it as
//! `cartId`; a signed-in customer's cart is found without it. A cart that
//! belongs to a user is that user's alone. Prices always come from the books.

use async_graphql::{Context, Enum, ID, InputObject, Lookahead, Object, Result, SimpleObject};

use super::books::{Book, Money, load_books};
use super::ids::{NodeType, decode_as};
use super::user_errors::{UserError, UserErrorCode};
use crate::auth::{self, RequestAuth, Sessions, Viewer};
use crate::db::{self, Db, carts::Cart};
use crate::error::Error;

/// The most copies of one book a line may hold.
pub const MAX_QUANTITY: i32 = 99;

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
    /// Copies that can be ordered now (0 when unavailable).
    async fn available_quantity(&self) -> i32 {
        if self.book.archived {
            0
        } else {
            self.book.stock.min(MAX_QUANTITY)
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
            let mut conn = ctx
                .data_unchecked::<Db>()
                .primary()
                .await
                .map_err(Error::from)?;
            db::carts::lines(&mut conn, cart.id)
                .await
                .map_err(Error::from)?
        };
        let ids: Vec<i64> = lines.iter().map(|line| line.book_id).collect();
        let mut found: std::collections::HashMap<i64, Book> = load_books(ctx, &ids, books)
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
}

#[derive(SimpleObject)]
pub struct CartPayload {
    pub cart: Option<CartView>,
    pub user_errors: Vec<UserError>,
}

impl CartPayload {
    fn failed(error: UserError) -> Self {
        Self {
            cart: None,
            user_errors: vec![error],
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ShippingMethodCode {
    Standard,
    Express,
    Pickup,
}

impl ShippingMethodCode {
    pub const ALL: [ShippingMethodCode; 3] = [Self::Standard, Self::Express, Self::Pickup];

    pub fn as_db(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Express => "express",
            Self::Pickup => "pickup",
        }
    }

    pub fn from_db(value: &str) -> Self {
        match value {
            "express" => Self::Express,
            "pickup" => Self::Pickup,
            _ => Self::Standard,
        }
    }

    pub fn price_cents(self) -> i32 {
        match self {
            Self::Standard => 499,
            Self::Express => 1499,
            Self::Pickup => 0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Standard => "Standard delivery",
            Self::Express => "Express delivery",
            Self::Pickup => "Pick up in store",
        }
    }

    fn estimate(self) -> &'static str {
        match self {
            Self::Standard => "3 to 5 business days",
            Self::Express => "1 to 2 business days",
            Self::Pickup => "ready the next business day",
        }
    }

    /// Business days until delivery (or pickup), at the most.
    fn max_days(self) -> i32 {
        match self {
            Self::Standard => 5,
            Self::Express => 2,
            Self::Pickup => 1,
        }
    }
}

#[derive(SimpleObject)]
pub struct ShippingMethod {
    pub code: ShippingMethodCode,
    pub name: String,
    pub price: Money,
    /// Such as "3 to 5 business days".
    pub estimate: String,
    pub max_business_days: i32,
}

impl From<ShippingMethodCode> for ShippingMethod {
    fn from(code: ShippingMethodCode) -> Self {
        Self {
            code,
            name: code.name().to_owned(),
            price: Money::new(code.price_cents(), "USD"),
            estimate: code.estimate().to_owned(),
            max_business_days: code.max_days(),
        }
    }
}

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
    /// The line's new quantity, 1 to 99 (use removeCartLine to remove it).
    pub quantity: i32,
}

#[derive(InputObject)]
pub struct RemoveCartLineInput {
    pub cart_id: Option<ID>,
    pub book_id: ID,
}

async fn viewer(ctx: &Context<'_>) -> Result<Option<Viewer>, Error> {
    ctx.data_unchecked::<RequestAuth>()
        .viewer(ctx.data_unchecked::<Sessions>())
        .await
}

/// The open cart the caller may use: by token (a cart that belongs to a
/// user only for that user), else the signed-in user's. `None` when there
/// is none (or it is someone else's).
pub async fn accessible_cart(
    ctx: &Context<'_>,
    cart_id: Option<&ID>,
) -> Result<Option<Cart>, Error> {
    let viewer = viewer(ctx).await?;
    let mut conn = ctx.data_unchecked::<Db>().primary().await?;
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

/// The cart a change applies to, created when the caller has none.
async fn cart_for_change(ctx: &Context<'_>, cart_id: Option<&ID>) -> Result<Option<Cart>, Error> {
    if cart_id.is_some() {
        return accessible_cart(ctx, cart_id).await;
    }
    let viewer = viewer(ctx).await?;
    let mut conn = ctx.data_unchecked::<Db>().primary().await?;
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

/// The book to put in a cart, or why it cannot go in.
async fn sellable_book(ctx: &Context<'_>, book_id: &ID) -> Result<Result<Book, UserError>> {
    let Ok(id) = decode_as(NodeType::Book, book_id) else {
        return Ok(Err(UserError::new(
            &["input", "bookId"],
            UserErrorCode::NotFound,
            "no such book",
        )));
    };
    let book = load_books(ctx, &[id], &ctx.look_ahead()).await?.pop();
    Ok(match book {
        None => Err(UserError::new(
            &["input", "bookId"],
            UserErrorCode::NotFound,
            "no such book",
        )),
        Some(book) if book.archived => Err(UserError::new(
            &["input", "bookId"],
            UserErrorCode::Unavailable,
            "this book is no longer sold",
        )),
        Some(book) => Ok(book),
    })
}

/// Checks a wanted quantity against the limits and the book's stock.
fn check_quantity(book: &Book, quantity: i32) -> Result<(), UserError> {
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(UserError::invalid(
            "quantity",
            format!("choose 1 to {MAX_QUANTITY} copies"),
        ));
    }
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
        let book = match sellable_book(ctx, &input.book_id).await? {
            Ok(book) => book,
            Err(error) => return Ok(CartPayload::failed(error)),
        };
        if !(1..=MAX_QUANTITY).contains(&input.quantity) {
            return Ok(CartPayload::failed(UserError::invalid(
                "quantity",
                format!("choose 1 to {MAX_QUANTITY} copies"),
            )));
        }
        let Some(cart) = cart_for_change(ctx, input.cart_id.as_ref()).await? else {
            return Ok(CartPayload::failed(cart_not_found()));
        };
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
        let existing = db::carts::lines(&mut conn, cart.id)
            .await
            .map_err(Error::from)?
            .into_iter()
            .find(|line| line.book_id == book.id)
            .map_or(0, |line| line.quantity);
        let wanted = existing + input.quantity;
        if let Err(error) = check_quantity(&book, wanted) {
            return Ok(CartPayload::failed(error));
        }
        db::carts::set_quantity(&mut conn, cart.id, book.id, wanted)
            .await
            .map_err(Error::from)?;
        drop(conn);
        respond(ctx, cart).await
    }

    /// Sets a line's quantity.
    async fn update_cart_line(
        &self,
        ctx: &Context<'_>,
        input: UpdateCartLineInput,
    ) -> Result<CartPayload> {
        let book = match sellable_book(ctx, &input.book_id).await? {
            Ok(book) => book,
            Err(error) => return Ok(CartPayload::failed(error)),
        };
        if let Err(error) = check_quantity(&book, input.quantity) {
            return Ok(CartPayload::failed(error));
        }
        let Some(cart) = accessible_cart(ctx, input.cart_id.as_ref()).await? else {
            return Ok(CartPayload::failed(cart_not_found()));
        };
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
        db::carts::set_quantity(&mut conn, cart.id, book.id, input.quantity)
            .await
            .map_err(Error::from)?;
        drop(conn);
        respond(ctx, cart).await
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
            return Ok(CartPayload::failed(UserError::new(
                &["input", "bookId"],
                UserErrorCode::NotFound,
                "no such book",
            )));
        };
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
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

async fn respond(ctx: &Context<'_>, cart: Cart) -> Result<CartPayload> {
    let books = ctx.look_ahead().field("cart").field("lines").field("book");
    Ok(CartPayload {
        cart: Some(CartView::load(ctx, cart, &books).await?),
        user_errors: Vec::new(),
    })
}

/// What happened to a guest cart's line when it joined the customer's cart.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CartMergeOutcome {
    /// All the copies joined.
    Merged,
    /// Fewer copies joined than wanted (stock or the 99-copy limit).
    Reduced,
    /// None joined (the book is unavailable or out of stock).
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
    let db = ctx.data_unchecked::<Db>();
    let (guest, target, guest_lines, target_lines) = {
        let mut conn = db.primary().await.map_err(Error::from)?;
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
    let mut books: std::collections::HashMap<i64, Book> = load_books(ctx, &ids, &ctx.look_ahead())
        .await?
        .into_iter()
        .map(|book| (book.id, book))
        .collect();
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
        let allowed = if book.archived {
            0
        } else {
            requested.min(MAX_QUANTITY).min(book.stock)
        };
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
        let mut conn = db.primary().await.map_err(Error::from)?;
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
