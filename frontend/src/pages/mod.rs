//! Page handlers, one module per area of the shop. Each page asks the
//! backend for everything it shows in one GraphQL operation and renders one
//! template; every form POSTs, checks its CSRF token first and answers with
//! a redirect (post/redirect/get) or its form again.
//!
//! This file only declares the areas and the pieces they share; it holds no
//! code, so no page module ever imports its parent.

pub mod accounts;
pub mod catalog;
pub mod live;
pub mod messages;
pub mod page;
pub mod page_numbers;
pub mod params;
pub mod public;
pub mod seo;
pub mod shop;
pub mod staff;
