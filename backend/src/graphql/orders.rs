//! Orders: `checkout`, the customer's order history and `cancelOrder`, a
//! guest's lookup by number and email, and the staff's order list and
//! `markOrderShipped` / `markOrderDelivered` / `refundOrder`.
//!
//! An order is shown only to its customer, to a guest who gives its number
//! and checkout email, or to staff; anyone else gets "not found".

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::accounts::User;
use super::books::{Book, Money, load_books};
use super::carts::{ShippingMethodCode, accessible_cart};
use super::ids::{NodeType, global_id};
use super::loaders::{AddressId, LinesOfOrder, OrderLoaders, PaymentsOfOrder, ShipmentOfOrder};
use super::pagination::{Page, PageArgs, connection, page_complexity, split_extra};
use super::user_errors::{UserError, UserErrorCode};
use crate::auth::{RequestAuth, Sessions, Viewer, require_staff};
use crate::cache::{Cache, Entry, Kind};
use crate::db::{self, Db, orders::Order as OrderRow};
use crate::error::Error;
use crate::payments::{Card, ChargeOutcome, PaymentGateway};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    fn from_db(value: &str) -> Self {
        match value {
            db::orders::PAID => Self::Paid,
            db::orders::SHIPPED => Self::Shipped,
            db::orders::DELIVERED => Self::Delivered,
            db::orders::CANCELLED => Self::Cancelled,
            db::orders::REFUNDED => Self::Refunded,
            _ => Self::PendingPayment,
        }
    }

    fn as_db(self) -> &'static str {
        match self {
            Self::PendingPayment => db::orders::PENDING_PAYMENT,
            Self::Paid => db::orders::PAID,
            Self::Shipped => db::orders::SHIPPED,
            Self::Delivered => db::orders::DELIVERED,
            Self::Cancelled => db::orders::CANCELLED,
            Self::Refunded => db::orders::REFUNDED,
        }
    }
}

/// An order, as its customer (or staff) sees it.
#[derive(Clone)]
pub struct Order(pub OrderRow);

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct OrderLine {
    pub title: String,
    pub isbn: String,
    pub quantity: i32,
    /// The price paid per copy.
    pub unit_price: Money,
    pub line_total: Money,
    #[graphql(skip)]
    pub book_id: Option<i64>,
}

#[derive(SimpleObject, Clone)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, such as "US".
    pub country: String,
    pub phone: Option<String>,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    Approved,
    Declined,
    Failed,
    Refunded,
}

#[derive(SimpleObject, Clone)]
pub struct Payment {
    pub status: PaymentStatus,
    pub amount: Money,
    pub card_last4: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(SimpleObject, Clone)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

connection!(OrderConnection, OrderEdge, Order);

#[Object]
impl Order {
    async fn id(&self) -> ID {
        global_id(NodeType::Order, self.0.id)
    }
    /// The human-readable number, such as BK-100123.
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn status(&self) -> OrderStatus {
        OrderStatus::from_db(&self.0.status)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }
    async fn subtotal(&self) -> Money {
        Money::new(self.0.subtotal_cents, &self.0.currency)
    }
    async fn shipping(&self) -> Money {
        Money::new(self.0.shipping_cents, &self.0.currency)
    }
    async fn total(&self) -> Money {
        Money::new(self.0.total_cents, &self.0.currency)
    }
    async fn shipping_method(&self) -> ShippingMethodCode {
        ShippingMethodCode::from_db(&self.0.shipping_method)
    }
    /// Whether the customer can still cancel it (not shipped yet).
    async fn can_cancel(&self) -> bool {
        [db::orders::PENDING_PAYMENT, db::orders::PAID].contains(&self.0.status.as_str())
    }
    #[graphql(complexity = "10 * child_complexity")]
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        let lines = ctx
            .data_unchecked::<OrderLoaders>()
            .load_one(LinesOfOrder(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(lines
            .into_iter()
            .map(|line| OrderLine {
                unit_price: Money::new(line.unit_price_cents, &self.0.currency),
                line_total: Money::new(
                    line.unit_price_cents.saturating_mul(line.quantity),
                    &self.0.currency,
                ),
                title: line.title,
                isbn: line.isbn,
                quantity: line.quantity,
                book_id: line.book_id,
            })
            .collect())
    }
    async fn shipping_address(&self, ctx: &Context<'_>) -> Result<Option<Address>> {
        let address = ctx
            .data_unchecked::<OrderLoaders>()
            .load_one(AddressId(self.0.shipping_address_id))
            .await?;
        Ok(address.map(|address| Address {
            name: address.name,
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            region: address.region,
            postal_code: address.postal_code,
            country: address.country,
            phone: address.phone,
        }))
    }
    /// Payment attempts and refunds, oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let payments = ctx
            .data_unchecked::<OrderLoaders>()
            .load_one(PaymentsOfOrder(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(payments
            .into_iter()
            .map(|payment| Payment {
                status: match payment.status.as_str() {
                    "APPROVED" => PaymentStatus::Approved,
                    "DECLINED" => PaymentStatus::Declined,
                    "REFUNDED" => PaymentStatus::Refunded,
                    _ => PaymentStatus::Failed,
                },
                amount: Money::new(payment.amount_cents, &payment.currency),
                card_last4: payment.card_last4,
                message: payment.message,
                created_at: payment.created_at,
            })
            .collect())
    }
    /// Carrier and tracking, once shipped.
    async fn shipment(&self, ctx: &Context<'_>) -> Result<Option<Shipment>> {
        let shipment = ctx
            .data_unchecked::<OrderLoaders>()
            .load_one(ShipmentOfOrder(self.0.id))
            .await?;
        Ok(shipment.map(|shipment| Shipment {
            carrier: shipment.carrier,
            tracking_number: shipment.tracking_number,
            shipped_at: shipment.shipped_at,
            delivered_at: shipment.delivered_at,
        }))
    }
}

#[ComplexObject]
impl OrderLine {
    /// The book as it is now (null if it was deleted).
    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        match self.book_id {
            Some(id) => Ok(ctx
                .data_unchecked::<super::loaders::Loaders>()
                .load_one(super::loaders::BookId(id))
                .await?),
            None => Ok(None),
        }
    }
}

#[ComplexObject]
impl User {
    /// The user's orders, newest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OrderConnection> {
        // A User is only ever the viewer themself; check anyway.
        let viewer = viewer(ctx).await?.ok_or(Error::Unauthenticated)?;
        if viewer.user_id != self.user_id {
            return Err(Error::Forbidden.into());
        }
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
        let total = match page.needs_total() {
            true => Some(
                db::orders::page_for_user(&mut conn, self.user_id, 0, 0)
                    .await
                    .map_err(Error::from)?
                    .1,
            ),
            false => None,
        };
        let window = page.window(total)?;
        let (mut rows, total) =
            db::orders::page_for_user(&mut conn, self.user_id, window.offset, window.limit + 1)
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

#[derive(InputObject, serde::Serialize)]
pub struct AddressInput {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, such as "US".
    pub country: String,
    pub phone: Option<String>,
}

#[derive(InputObject, serde::Serialize)]
pub struct PaymentInput {
    /// With the built-in test gateway: 4242 4242 4242 4242 is approved,
    /// 4000 0000 0000 0002 declined, 4000 0000 0000 0119 fails.
    pub card_number: String,
}

#[derive(InputObject, serde::Serialize)]
pub struct CheckoutInput {
    /// Any unique string per checkout attempt (a UUID): a retry with the same
    /// key and input returns the same order and charges once.
    pub idempotency_key: String,
    /// The cart's id; omit for the signed-in customer's cart.
    pub cart_id: Option<ID>,
    /// Where the receipt goes; required for guests (signed-in customers use
    /// their account's email).
    pub email: Option<String>,
    pub shipping_address: AddressInput,
    pub shipping_method: ShippingMethodCode,
    pub payment: PaymentInput,
}

#[derive(SimpleObject, Default)]
pub struct OrderPayload {
    pub order: Option<Order>,
    pub user_errors: Vec<UserError>,
}

impl OrderPayload {
    fn failed(error: UserError) -> Self {
        Self {
            order: None,
            user_errors: vec![error],
        }
    }
}

#[derive(InputObject)]
pub struct OrderLookupInput {
    /// The order's number, such as BK-100123.
    pub number: String,
    /// The checkout email: how a guest proves the order is theirs.
    pub email: Option<String>,
}

#[derive(InputObject)]
pub struct ShipOrderInput {
    pub number: String,
    pub carrier: String,
    pub tracking_number: String,
}

async fn viewer(ctx: &Context<'_>) -> Result<Option<Viewer>, Error> {
    ctx.data_unchecked::<RequestAuth>()
        .viewer(ctx.data_unchecked::<Sessions>())
        .await
}

/// The order with `number` if the caller may see it: its customer, staff,
/// or anyone giving the checkout email.
async fn visible_order(
    ctx: &Context<'_>,
    number: &str,
    email: Option<&str>,
) -> Result<Option<OrderRow>, Error> {
    let viewer = viewer(ctx).await?;
    let mut conn = ctx.data_unchecked::<Db>().primary().await?;
    let Some(order) = db::orders::find_by_number(&mut conn, number).await? else {
        return Ok(None);
    };
    let by_owner = viewer
        .as_ref()
        .is_some_and(|viewer| viewer.is_staff() || Some(viewer.user_id) == order.user_id);
    let by_email = email.is_some_and(|email| email.trim().eq_ignore_ascii_case(&order.email));
    Ok((by_owner || by_email).then_some(order))
}

fn check_address(address: &AddressInput) -> Result<db::orders::NewAddress, UserError> {
    let field = |name: &str| {
        vec![
            "input".to_owned(),
            "shippingAddress".to_owned(),
            name.to_owned(),
        ]
    };
    let required = |name: &str, value: &str, max: usize| -> Result<String, UserError> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > max {
            Err(UserError {
                field: field(name),
                message: format!("enter up to {max} characters"),
                code: UserErrorCode::Invalid,
            })
        } else {
            Ok(value.to_owned())
        }
    };
    let optional =
        |name: &str, value: &Option<String>, max: usize| -> Result<Option<String>, UserError> {
            match value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
            {
                Some(value) if value.chars().count() > max => Err(UserError {
                    field: field(name),
                    message: format!("use at most {max} characters"),
                    code: UserErrorCode::Invalid,
                }),
                value => Ok(value.map(str::to_owned)),
            }
        };
    let country = address.country.trim().to_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(UserError {
            field: field("country"),
            message: "use the two-letter country code, such as US".to_owned(),
            code: UserErrorCode::Invalid,
        });
    }
    Ok(db::orders::NewAddress {
        name: required("name", &address.name, 200)?,
        line1: required("line1", &address.line1, 200)?,
        line2: optional("line2", &address.line2, 200)?,
        city: required("city", &address.city, 100)?,
        region: optional("region", &address.region, 100)?,
        postal_code: required("postalCode", &address.postal_code, 20)?,
        country,
        phone: optional("phone", &address.phone, 40)?,
    })
}

/// After stock changed: the books' cached rows and the listing counts.
async fn stock_changed(ctx: &Context<'_>, book_ids: &[i64]) {
    let mut entries: Vec<Entry> = book_ids
        .iter()
        .map(|id| Entry::Entity(Kind::Book, *id))
        .collect();
    entries.push(Entry::BookCounts);
    ctx.data_unchecked::<Cache>().invalidate(&entries).await;
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
        let status = status.map(OrderStatus::as_db);
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
        let total = match page.needs_total() {
            true => Some(
                db::orders::page_by_status(&mut conn, status, 0, 0)
                    .await
                    .map_err(Error::from)?
                    .1,
            ),
            false => None,
        };
        let window = page.window(total)?;
        let (mut rows, total) =
            db::orders::page_by_status(&mut conn, status, window.offset, window.limit + 1)
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

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Places an order for the cart: stock is reserved and the order created
    /// in one transaction, then the card charged. Retrying with the same
    /// idempotency key and input returns the same order, charged once.
    async fn checkout(&self, ctx: &Context<'_>, input: CheckoutInput) -> Result<OrderPayload> {
        let key = input.idempotency_key.trim();
        if key.is_empty() || key.len() > 200 {
            return Ok(OrderPayload::failed(UserError::invalid(
                "idempotencyKey",
                "use 1 to 200 characters",
            )));
        }
        let viewer = viewer(ctx).await?;
        let db = ctx.data_unchecked::<Db>();
        let email = match &viewer {
            Some(viewer) => {
                let mut conn = db.primary().await.map_err(Error::from)?;
                db::users::find(&mut conn, viewer.user_id)
                    .await
                    .map_err(Error::from)?
                    .ok_or(Error::Unauthenticated)?
                    .email
            }
            None => match input.email.as_deref().map(str::trim) {
                Some(email)
                    if email.contains('@')
                        && email.len() <= 254
                        && !email.contains(char::is_whitespace) =>
                {
                    email.to_owned()
                }
                _ => {
                    return Ok(OrderPayload::failed(UserError::invalid(
                        "email",
                        "enter the email for the receipt",
                    )));
                }
            },
        };
        let address = match check_address(&input.shipping_address) {
            Ok(address) => address,
            Err(error) => return Ok(OrderPayload::failed(error)),
        };
        let card = Card::new(&input.payment.card_number);
        if !card.is_plausible() {
            return Ok(OrderPayload::failed(UserError {
                field: vec!["input".into(), "payment".into(), "cardNumber".into()],
                message: "enter a valid card number".to_owned(),
                code: UserErrorCode::Invalid,
            }));
        }
        // A retry may come after the cart was closed by the first attempt:
        // look the cart up whatever its state, by token or the user's.
        let cart = {
            let mut conn = db.primary().await.map_err(Error::from)?;
            match (&input.cart_id, &viewer) {
                (Some(token), _) => db::carts::find_any(&mut conn, token)
                    .await
                    .map_err(Error::from)?,
                (None, Some(viewer)) => match accessible_cart(ctx, None).await? {
                    Some(cart) => Some(cart),
                    None => db::carts::latest_for_user(&mut conn, viewer.user_id)
                        .await
                        .map_err(Error::from)?,
                },
                (None, None) => None,
            }
        };
        let cart = cart.filter(|cart| match cart.user_id {
            Some(owner) => viewer
                .as_ref()
                .is_some_and(|viewer| viewer.user_id == owner),
            None => true,
        });
        let Some(cart) = cart else {
            return Ok(OrderPayload::failed(UserError::new(
                &["input", "cartId"],
                UserErrorCode::NotFound,
                "no such cart",
            )));
        };
        let scope = match &viewer {
            Some(viewer) => format!("user:{}", viewer.user_id),
            None => format!("cart:{}", cart.id),
        };
        let request_hash: Vec<u8> =
            Sha256::digest(serde_json::to_vec(&input).map_err(|e| Error::Internal(e.into()))?)
                .to_vec();
        let method = input.shipping_method;
        let request = db::orders::CheckoutRequest {
            scope: &scope,
            key,
            request_hash: &request_hash,
            cart_id: cart.id,
            user_id: viewer.as_ref().map(|viewer| viewer.user_id),
            email: &email,
            address: &address,
            shipping_method: method.as_db(),
            shipping_cents: method.price_cents(),
        };
        let reservation = {
            let mut conn = db.primary().await.map_err(Error::from)?;
            db::orders::reserve(&mut conn, &request)
                .await
                .map_err(Error::from)?
        };
        use db::orders::Reservation;
        let order = match reservation {
            Reservation::Created(order, books) => {
                stock_changed(ctx, &books).await;
                order
            }
            Reservation::Existing(order) => order,
            Reservation::KeyReused => {
                return Ok(OrderPayload::failed(UserError::new(
                    &["input", "idempotencyKey"],
                    UserErrorCode::IdempotencyKeyReused,
                    "this idempotency key was used for a different checkout",
                )));
            }
            Reservation::EmptyCart => {
                return Ok(OrderPayload::failed(UserError::new(
                    &["input", "cartId"],
                    UserErrorCode::EmptyCart,
                    "the cart is empty",
                )));
            }
            Reservation::CartClosed => {
                return Ok(OrderPayload::failed(UserError::new(
                    &["input", "cartId"],
                    UserErrorCode::NotFound,
                    "this cart was already checked out",
                )));
            }
            Reservation::Unavailable(ids) => {
                let titles: Vec<String> = load_books(ctx, &ids, &ctx.look_ahead())
                    .await?
                    .into_iter()
                    .map(|book| book.title)
                    .collect();
                return Ok(OrderPayload::failed(UserError::new(
                    &["input", "cartId"],
                    UserErrorCode::InsufficientStock,
                    format!("not enough in stock: {}", titles.join(", ")),
                )));
            }
            Reservation::MixedCurrencies | Reservation::TooLarge => {
                return Ok(OrderPayload::failed(UserError::new(
                    &["input", "cartId"],
                    UserErrorCode::Invalid,
                    "this cart cannot be checked out in one order",
                )));
            }
        };
        let gateway = ctx.data_unchecked::<std::sync::Arc<dyn PaymentGateway>>();
        let (order, outcome, restocked) = {
            let mut conn = db.primary().await.map_err(Error::from)?;
            db::orders::pay(&mut conn, order.id, cart.id, gateway.as_ref(), &card)
                .await
                .map_err(Error::from)?
        };
        if !restocked.is_empty() {
            stock_changed(ctx, &restocked).await;
        }
        // A retry of a declined checkout answers as the first attempt did.
        let outcome = match outcome {
            Some(outcome) => Some(outcome),
            None if order.status == db::orders::CANCELLED => {
                let mut conn = db.primary().await.map_err(Error::from)?;
                let payments = db::orders::payments_for(&mut conn, &[order.id])
                    .await
                    .map_err(Error::from)?;
                payments
                    .get(&order.id)
                    .and_then(|payments| payments.last())
                    .map(|payment| {
                        let reason = payment.message.clone().unwrap_or_default();
                        match payment.status.as_str() {
                            "DECLINED" => ChargeOutcome::Declined { reason },
                            _ => ChargeOutcome::Failed { reason },
                        }
                    })
            }
            None => None,
        };
        let user_errors = match outcome {
            Some(ChargeOutcome::Declined { reason }) => vec![UserError::new(
                &["input", "payment"],
                UserErrorCode::PaymentDeclined,
                format!("{reason}; nothing was charged"),
            )],
            Some(ChargeOutcome::Failed { reason }) => vec![UserError::new(
                &["input", "payment"],
                UserErrorCode::PaymentFailed,
                format!("{reason}; nothing was charged, try again"),
            )],
            _ => Vec::new(),
        };
        Ok(OrderPayload {
            order: Some(Order(order)),
            user_errors,
        })
    }

    /// Cancels an order that has not shipped (the customer's own, a guest's
    /// with the checkout email, or any for staff): stock returns and a paid
    /// order is refunded.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        input: OrderLookupInput,
    ) -> Result<OrderPayload> {
        let Some(order) = visible_order(ctx, &input.number, input.email.as_deref()).await? else {
            return Ok(not_found());
        };
        let gateway = ctx.data_unchecked::<std::sync::Arc<dyn PaymentGateway>>();
        apply(ctx, order.id, db::orders::Action::Cancel(gateway.as_ref())).await
    }

    /// Staff: a paid order leaves the warehouse.
    async fn mark_order_shipped(
        &self,
        ctx: &Context<'_>,
        input: ShipOrderInput,
    ) -> Result<OrderPayload> {
        require_staff(ctx).await?;
        let carrier = input.carrier.trim();
        let tracking_number = input.tracking_number.trim();
        if carrier.is_empty() || carrier.len() > 100 {
            return Ok(OrderPayload::failed(UserError::invalid(
                "carrier",
                "enter the carrier",
            )));
        }
        if tracking_number.is_empty() || tracking_number.len() > 100 {
            return Ok(OrderPayload::failed(UserError::invalid(
                "trackingNumber",
                "enter the tracking number",
            )));
        }
        let Some(order) = staff_order(ctx, &input.number).await? else {
            return Ok(not_found());
        };
        apply(
            ctx,
            order.id,
            db::orders::Action::Ship {
                carrier,
                tracking_number,
            },
        )
        .await
    }

    /// Staff: a shipped order arrived.
    async fn mark_order_delivered(
        &self,
        ctx: &Context<'_>,
        number: String,
    ) -> Result<OrderPayload> {
        require_staff(ctx).await?;
        let Some(order) = staff_order(ctx, &number).await? else {
            return Ok(not_found());
        };
        apply(ctx, order.id, db::orders::Action::Deliver).await
    }

    /// Staff: a delivered order was returned; its payment is refunded.
    async fn refund_order(&self, ctx: &Context<'_>, number: String) -> Result<OrderPayload> {
        require_staff(ctx).await?;
        let Some(order) = staff_order(ctx, &number).await? else {
            return Ok(not_found());
        };
        let gateway = ctx.data_unchecked::<std::sync::Arc<dyn PaymentGateway>>();
        apply(ctx, order.id, db::orders::Action::Refund(gateway.as_ref())).await
    }
}

fn not_found() -> OrderPayload {
    OrderPayload::failed(UserError::new(
        &["input", "number"],
        UserErrorCode::NotFound,
        "no such order",
    ))
}

async fn staff_order(ctx: &Context<'_>, number: &str) -> Result<Option<OrderRow>, Error> {
    let mut conn = ctx.data_unchecked::<Db>().primary().await?;
    Ok(db::orders::find_by_number(&mut conn, number).await?)
}

async fn apply(
    ctx: &Context<'_>,
    order_id: i64,
    action: db::orders::Action<'_>,
) -> Result<OrderPayload> {
    let transition = {
        let mut conn = ctx
            .data_unchecked::<Db>()
            .primary()
            .await
            .map_err(Error::from)?;
        db::orders::transition(&mut conn, order_id, action)
            .await
            .map_err(Error::from)?
    };
    Ok(match transition {
        db::orders::Transition::Done(order, restocked) => {
            if !restocked.is_empty() {
                stock_changed(ctx, &restocked).await;
            }
            OrderPayload {
                order: Some(Order(order)),
                user_errors: Vec::new(),
            }
        }
        db::orders::Transition::Rejected(order) => OrderPayload {
            user_errors: vec![UserError::new(
                &[],
                UserErrorCode::InvalidState,
                format!(
                    "not possible for an order that is {}",
                    order.status.to_lowercase().replace('_', " ")
                ),
            )],
            order: Some(Order(order)),
        },
        db::orders::Transition::NotFound => not_found(),
    })
}
