//! Orders in the API, one submodule per concept:
//!
//! - [`order`]: the `Order` type, its details and connection, `OrderPayload`;
//! - [`access`]: who may see and cancel an order, and guest access tokens;
//! - [`queries`]: `order` (by number), the staff's `orders` list, and
//!   `User.orders` (declared by `accounts`, served by [`user_orders`]);
//! - [`checkout`]: the `checkout` mutation, [`checkout_input`] its input
//!   and the checks that need no cart;
//! - [`workflow`]: `cancelOrder` and the staff's `markOrderShipped`,
//!   `markOrderDelivered`, `refundOrder`;
//! - [`buy_again`]: `buyAgain`, a past order's books back in the cart;
//! - [`subscription`]: `orderUpdated` and the staff's `orderPlaced`.
//!
//! An order is shown only to its customer, to staff, or — a guest order
//! only — to whoever holds its access token or gives its number and
//! checkout email (throttled); anyone else gets "not found". Orders
//! never import `accounts` (accounts imports orders) and never talk to the
//! payment gateway (`crate::checkout` and `crate::order_workflow` do).
//! This file only declares and re-exports: submodules never import it.

pub mod access;
pub mod buy_again;
pub mod checkout;
pub mod checkout_input;
pub mod order;
pub mod queries;
pub mod subscription;
pub mod workflow;

use async_graphql::MergedObject;

pub use order::{Order, OrderConnection, OrderEdge, OrderPayload, OrderStatus};
pub use queries::{OrderQuery, user_orders};
pub use subscription::OrderSubscription;

/// The order mutations, in the schema's order.
#[derive(MergedObject, Default)]
pub struct OrderMutation(
    checkout::CheckoutMutation,
    workflow::OrderWorkflowMutation,
    buy_again::BuyAgainMutation,
);
