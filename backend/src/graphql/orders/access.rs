//! Who may see and cancel an order, the one home of that rule: its
//! customer (signed in), staff, or — for a guest order only — whoever holds
//! its access token, or gives its number and checkout email (throttled per
//! client address and per order number). Anyone else gets `None`, exactly
//! as for a number no order has. Also makes a guest order's access token
//! (checkout stores its hash with the order). A guest order has up to two
//! tokens: the checkout's (replaced by each retry) and its confirmation
//! email's (`db::order_mail`, never replaced); either opens it.
//!
//! A customer's order never answers to a token or an email, and a guest
//! order never becomes a customer's here (see
//! `db::orders::attach_guest_orders_of_verified_email`). Never changes an
//! order's status.

use async_graphql::Context;

use crate::auth::{self, RequestAuth, Throttle, new_token, token_hash};
use crate::config::OrderAccessConfig;
use crate::db::{self, orders::Order as OrderRow};
use crate::domain::order_number;
use crate::error::Error;
use crate::graphql::connections::primary_connection;

/// Longer text is no order number (nor a token of ours): nothing is looked
/// up or hashed for it.
const MAX_NUMBER_CHARS: usize = 40;
const MAX_TOKEN_CHARS: usize = 64;

/// What a caller who is neither the customer nor staff offers to open a
/// guest order.
#[derive(Clone, Copy, Default)]
pub struct GuestProof<'a> {
    /// A token the checkout returned, or the one its confirmation email
    /// links with.
    pub access_token: Option<&'a str>,
    /// The checkout email (with the number: the throttled lookup).
    pub email: Option<&'a str>,
}

/// The order with `number` if the caller may see it (see the module doc);
/// `Err(TooManyAttempts)` when the caller relies on the email and has
/// tried too often, whether or not the order exists.
pub async fn visible_order(
    ctx: &Context<'_>,
    number: &str,
    proof: GuestProof<'_>,
) -> Result<Option<OrderRow>, Error> {
    let viewer = auth::viewer(ctx).await?;
    let number = order_number::normalize(number);
    let order = match number.chars().count() <= MAX_NUMBER_CHARS {
        true => {
            let mut conn = primary_connection(ctx).await?;
            db::orders::find_by_number(&mut conn, &number).await?
        }
        false => None,
    };
    if let Some(order) = &order {
        let by_account = viewer
            .as_ref()
            .is_some_and(|viewer| viewer.is_staff() || Some(viewer.user_id) == order.user_id);
        let by_token = proof
            .access_token
            .is_some_and(|token| token_opens(token, order));
        if by_account || by_token {
            return Ok(Some(order.clone()));
        }
    }
    let Some(email) = proof.email.map(str::trim).filter(|email| !email.is_empty()) else {
        return Ok(None);
    };
    // Counted before the answer is known: a missing order and a wrong
    // email cost the same and look the same.
    ctx.data_unchecked::<Throttle>()
        .order_lookup(
            ctx.data_unchecked::<OrderAccessConfig>(),
            &number,
            &ctx.data_unchecked::<RequestAuth>().client_address,
        )
        .await?;
    Ok(order.filter(|order| order.user_id.is_none() && order.email.eq_ignore_ascii_case(email)))
}

/// The order with database id `order_id` if the caller may see it: its
/// customer, staff, or (a guest order) the holder of its access token. No
/// email lookup here: it needs the number. Anyone else gets `None`.
pub async fn visible_order_by_id(
    ctx: &Context<'_>,
    order_id: i64,
    access_token: Option<&str>,
) -> Result<Option<OrderRow>, Error> {
    let viewer = auth::viewer(ctx).await?;
    let order = {
        let mut conn = primary_connection(ctx).await?;
        db::orders::find(&mut conn, order_id).await?
    };
    Ok(order.filter(|order| {
        let by_account = viewer
            .as_ref()
            .is_some_and(|viewer| viewer.is_staff() || Some(viewer.user_id) == order.user_id);
        by_account || access_token.is_some_and(|token| token_opens(token, order))
    }))
}

/// Whether `token` is one of the guest order's access tokens: the one the
/// checkout returned last, or the one its confirmation email links with
/// (compared as hashes, in constant time, both always compared).
fn token_opens(token: &str, order: &OrderRow) -> bool {
    if order.user_id.is_some() || token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return false;
    }
    let given = token_hash(token);
    let matches = |stored: Option<&[u8]>| {
        stored.is_some_and(|stored| {
            stored.len() == given.len()
                && stored
                    .iter()
                    .zip(given.iter())
                    .fold(0u8, |difference, (a, b)| difference | (a ^ b))
                    == 0
        })
    };
    let by_checkout = matches(order.access_token_hash.as_deref());
    let by_email = matches(order.mail_access_token_hash.as_deref());
    by_checkout | by_email
}

/// A new access token for a guest order: 256 random bits, shown once; only
/// `hash` is stored.
pub struct AccessToken {
    pub token: String,
    pub hash: [u8; 32],
}

impl AccessToken {
    pub fn generate() -> Self {
        let token = new_token();
        let hash = token_hash(&token);
        Self { token, hash }
    }
}
