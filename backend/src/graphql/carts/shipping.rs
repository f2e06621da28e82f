//! Shipping methods: what each costs, how long it takes, and the code an
//! order stores. Prices here are the server's, never the client's.

use async_graphql::{Enum, SimpleObject};

use crate::graphql::books::Money;

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

/// What an order costs: its lines' subtotal plus its shipping method's
/// price. `Cart.quote` shows it; checkout charges the same sum (its
/// reservation adds `shipping_cents` from [`ShippingMethodCode::price_cents`]
/// to the locked books' subtotal, the same prices the cart's lines read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charges {
    pub subtotal_cents: i64,
    pub shipping_cents: i64,
    pub total_cents: i64,
}

impl Charges {
    pub fn of(subtotal_cents: i64, method: ShippingMethodCode) -> Self {
        let shipping_cents = i64::from(method.price_cents());
        Self {
            subtotal_cents,
            shipping_cents,
            total_cents: subtotal_cents.saturating_add(shipping_cents),
        }
    }
}
