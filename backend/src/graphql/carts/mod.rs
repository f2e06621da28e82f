//! Carts in the API, one submodule per concept:
//!
//! - [`cart`]: the `Cart` type, who may use a cart, the `cart` and
//!   `shippingMethods` queries;
//! - [`lines`]: `createCart`, `addToCart`, `updateCartLine`, `removeCartLine`;
//! - [`merge`]: a guest cart joining the customer's at sign-in;
//! - [`shipping`]: shipping methods, their prices and estimates.
//!
//! A cart that belongs to a user is that user's alone; prices always come
//! from the books. Carts import neither `accounts` nor `orders`. This file
//! only declares and re-exports: submodules never import it.

pub mod cart;
pub mod lines;
pub mod merge;
pub mod shipping;

pub use cart::{CartQuery, CartView, accessible_cart, limits};
pub use lines::{CartMutation, cart_for_change};
pub use shipping::ShippingMethodCode;
