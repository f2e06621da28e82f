//! The `Order` type as the API shows it: status, totals, and its details
//! (lines, address, payments, shipment) through the order DataLoaders; its
//! connection; and `OrderPayload`, what every order mutation returns.
//! Never queries Postgres itself (the loaders do) and never imports
//! `accounts`.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::{self, order_pages::ListedLine, orders::Order as OrderRow};
use crate::graphql::books::{Book, Money};
use crate::graphql::carts::ShippingMethodCode;
use crate::graphql::ids::{NodeType, global_id};
use crate::graphql::loaders::{
    AddressId, BookId, LinesOfOrder, Loaders, OrderLoaders, PaymentsOfOrder, ShipmentOfOrder,
};
use crate::graphql::pagination::connection;
use crate::graphql::user_errors::{UserError, UserErrorCode};

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
    pub fn from_db(value: &str) -> Self {
        match value {
            db::orders::PAID => Self::Paid,
            db::orders::SHIPPED => Self::Shipped,
            db::orders::DELIVERED => Self::Delivered,
            db::orders::CANCELLED => Self::Cancelled,
            db::orders::REFUNDED => Self::Refunded,
            _ => Self::PendingPayment,
        }
    }

    pub fn as_db(self) -> &'static str {
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

/// An order, as its customer (or staff) sees it; with its lines when the
/// page that listed it read them (else the order loaders fetch them).
#[derive(Clone)]
pub struct Order(pub OrderRow, Option<Arc<[ListedLine]>>);

impl Order {
    pub fn new(row: OrderRow) -> Self {
        Self(row, None)
    }

    /// An order whose lines (and their books, if read) came with its page.
    pub fn listed(row: OrderRow, lines: Vec<ListedLine>) -> Self {
        Self(row, Some(lines.into()))
    }
}

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
    /// The book as it is now, when it was read with the line's page
    /// (otherwise the loader fetches it by `book_id`).
    #[graphql(skip)]
    pub read_book: Option<Book>,
}

impl OrderLine {
    /// A line of an order placed in `currency`.
    fn new(line: db::orders::OrderLine, currency: &str) -> Self {
        Self {
            unit_price: Money::new(line.unit_price_cents, currency),
            line_total: Money::new(
                line.unit_price_cents.saturating_mul(line.quantity),
                currency,
            ),
            title: line.title,
            isbn: line.isbn,
            quantity: line.quantity,
            book_id: line.book_id,
            read_book: None,
        }
    }
}

// One struct for the `Address` an order shows and the `AddressInput`
// checkout takes: the same fields, written once. (A doc comment here would
// become both types' description in the schema.)
#[derive(SimpleObject, InputObject, Clone, serde::Serialize)]
#[graphql(input_name = "AddressInput")]
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

impl From<db::orders::Address> for Address {
    fn from(address: db::orders::Address) -> Self {
        Self {
            name: address.name,
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            region: address.region,
            postal_code: address.postal_code,
            country: address.country,
            phone: address.phone,
        }
    }
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

impl From<db::orders::Payment> for Payment {
    fn from(payment: db::orders::Payment) -> Self {
        Self {
            status: match payment.status.as_str() {
                db::payments::APPROVED => PaymentStatus::Approved,
                db::payments::DECLINED => PaymentStatus::Declined,
                db::orders::REFUNDED => PaymentStatus::Refunded,
                _ => PaymentStatus::Failed,
            },
            amount: Money::new(payment.amount_cents, &payment.currency),
            card_last4: payment.card_last4,
            message: payment.message,
            created_at: payment.created_at,
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<db::orders::Shipment> for Shipment {
    fn from(shipment: db::orders::Shipment) -> Self {
        Self {
            carrier: shipment.carrier,
            tracking_number: shipment.tracking_number,
            shipped_at: shipment.shipped_at,
            delivered_at: shipment.delivered_at,
        }
    }
}

connection!(OrderConnection, OrderEdge, Order);

#[Object]
impl Order {
    async fn id(&self) -> ID {
        global_id(NodeType::Order, self.0.id)
    }
    /// The human-readable number, such as BK-7KQ2M9XW4H (random; older
    /// orders have sequential ones such as BK-100123).
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
    /// Whether the customer can still cancel it (not shipped yet, and not
    /// while its payment is being confirmed).
    async fn can_cancel(&self) -> bool {
        db::order_status::Action::Cancel.allowed_for(&self.0)
    }
    #[graphql(complexity = "10 * child_complexity")]
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        if let Some(listed) = &self.1 {
            return Ok(listed
                .iter()
                .map(|ListedLine(line, book)| OrderLine {
                    read_book: book.clone(),
                    ..OrderLine::new(line.clone(), &self.0.currency)
                })
                .collect());
        }
        let lines = ctx
            .data_unchecked::<OrderLoaders>()
            .load_one(LinesOfOrder(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(lines
            .into_iter()
            .map(|line| OrderLine::new(line, &self.0.currency))
            .collect())
    }
    async fn shipping_address(&self, ctx: &Context<'_>) -> Result<Option<Address>> {
        let address = ctx
            .data_unchecked::<OrderLoaders>()
            .load_one(AddressId(self.0.shipping_address_id))
            .await?;
        Ok(address.map(Address::from))
    }
    /// Payment attempts and refunds, oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let payments = ctx
            .data_unchecked::<OrderLoaders>()
            .load_one(PaymentsOfOrder(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(payments.into_iter().map(Payment::from).collect())
    }
    /// Carrier and tracking, once shipped.
    async fn shipment(&self, ctx: &Context<'_>) -> Result<Option<Shipment>> {
        let shipment = ctx
            .data_unchecked::<OrderLoaders>()
            .load_one(ShipmentOfOrder(self.0.id))
            .await?;
        Ok(shipment.map(Shipment::from))
    }
}

#[ComplexObject]
impl OrderLine {
    /// The book as it is now (null if it was deleted).
    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        if let Some(book) = &self.read_book {
            return Ok(Some(book.clone()));
        }
        match self.book_id {
            Some(id) => Ok(ctx.data_unchecked::<Loaders>().load_one(BookId(id)).await?),
            None => Ok(None),
        }
    }
}

#[derive(SimpleObject, Default)]
pub struct OrderPayload {
    pub order: Option<Order>,
    pub user_errors: Vec<UserError>,
}

impl OrderPayload {
    pub fn failed(error: UserError) -> Self {
        Self {
            order: None,
            user_errors: vec![error],
        }
    }

    pub fn not_found() -> Self {
        Self::failed(UserError::new(
            &["input", "number"],
            UserErrorCode::NotFound,
            "no such order",
        ))
    }
}
