//! The `checkout` mutation: validates the input, finds the cart the caller
//! may check out, and hands the rest to `crate::checkout` (reserve → charge
//! → record); then turns its outcome into a `CheckoutPayload`, with a guest
//! order's access token. Never talks to the gateway or opens a transaction
//! itself.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use sha2::{Digest, Sha256};

use super::access::AccessToken;
use super::checkout_input::{CheckoutInput, check_input};
use super::order::{Order, OrderPayload};
use crate::auth::{self, Viewer};
use crate::cache::Cache;
use crate::checkout::{Payment, Placed, place_order};
use crate::config::checkout::CheckoutConfig;
use crate::db::{
    self, Db,
    carts::Cart,
    orders::NewAddress,
    orders::PENDING_PAYMENT,
    reservations::{CheckoutRequest, Refusal},
};
use crate::error::Error;
use crate::graphql::books::load_books;
use crate::graphql::carts::accessible_cart;
use crate::graphql::connections::primary_connection;
use crate::graphql::user_errors::{UserError, UserErrorCode};
use crate::metrics::{CheckoutOutcome, Metrics};
use crate::payments::PaymentGateway;

/// The cart to check out, if the caller may. A retry may come after the
/// first attempt closed the cart: look it up whatever its state, by token or
/// the user's.
async fn checkout_cart(
    ctx: &Context<'_>,
    viewer: Option<&Viewer>,
    cart_id: Option<&ID>,
) -> Result<Option<Cart>> {
    let cart = {
        let mut conn = primary_connection(ctx).await?;
        match (cart_id, viewer) {
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
    Ok(cart.filter(|cart| match cart.user_id {
        Some(owner) => viewer.is_some_and(|viewer| viewer.user_id == owner),
        None => true,
    }))
}

fn checkout_config(ctx: &Context<'_>) -> CheckoutConfig {
    ctx.data_opt::<CheckoutConfig>()
        .cloned()
        .unwrap_or_default()
}

/// Why nothing was ordered, for the customer.
async fn refusal_error(ctx: &Context<'_>, refusal: Refusal) -> Result<UserError> {
    Ok(match refusal {
        Refusal::TooManyLines(lines) => UserError::new(
            &["input", "cartId"],
            UserErrorCode::Invalid,
            format!(
                "this cart holds {lines} different books; one order holds at most {}. \
                 Remove some to check out",
                checkout_config(ctx).max_lines()
            ),
        ),
        Refusal::KeyReused => UserError::new(
            &["input", "idempotencyKey"],
            UserErrorCode::IdempotencyKeyReused,
            "this idempotency key was used for a different checkout",
        ),
        Refusal::EmptyCart => UserError::new(
            &["input", "cartId"],
            UserErrorCode::EmptyCart,
            "the cart is empty",
        ),
        Refusal::CartClosed => UserError::new(
            &["input", "cartId"],
            UserErrorCode::NotFound,
            "this cart was already checked out",
        ),
        Refusal::Unavailable(ids) => {
            let titles: Vec<String> = load_books(ctx, &ids, &ctx.look_ahead())
                .await?
                .into_iter()
                .map(|book| book.title)
                .collect();
            UserError::new(
                &["input", "cartId"],
                UserErrorCode::InsufficientStock,
                format!("not enough in stock: {}", titles.join(", ")),
            )
        }
        Refusal::MixedCurrencies | Refusal::TooLarge => UserError::new(
            &["input", "cartId"],
            UserErrorCode::Invalid,
            "this cart cannot be checked out in one order",
        ),
    })
}

/// Keeps a placed order's new address in the customer's addresses. Never
/// fails the checkout (the order is placed): a full address book or an
/// error is logged, and the address is simply not kept.
async fn keep_address(ctx: &Context<'_>, user_id: i64, address: &NewAddress) {
    let kept = match primary_connection(ctx).await {
        Ok(mut conn) => db::saved_addresses::add(&mut conn, user_id, address, false)
            .await
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match kept {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => tracing::info!(user_id, "address book full: the order's address not kept"),
        Err(error) => tracing::warn!(user_id, %error, "the order's address could not be kept"),
    }
}

/// How a checkout ended, for metrics.
fn checkout_outcome(placed: &Result<OrderPayload>) -> CheckoutOutcome {
    let Ok(payload) = placed else {
        return CheckoutOutcome::Error;
    };
    let codes = payload.user_errors.iter().map(|error| error.code);
    if let Some(code) = codes.clone().next() {
        return match code {
            UserErrorCode::PaymentDeclined => CheckoutOutcome::Declined,
            UserErrorCode::PaymentFailed => CheckoutOutcome::PaymentFailed,
            UserErrorCode::PaymentPending => CheckoutOutcome::Pending,
            _ => CheckoutOutcome::Refused,
        };
    }
    match &payload.order {
        Some(order) if order.0.status == PENDING_PAYMENT => CheckoutOutcome::Pending,
        Some(_) => CheckoutOutcome::Paid,
        None => CheckoutOutcome::Refused,
    }
}

/// What the shopper is told about the payment (nothing when it settled).
fn payment_errors(payment: &Payment) -> Vec<UserError> {
    let card = &["input", "payment", "cardNumber"];
    match payment {
        Payment::Settled => Vec::new(),
        Payment::Declined { reason } => vec![UserError::new(
            card,
            UserErrorCode::PaymentDeclined,
            format!("{reason}; nothing was charged. No order was placed: try another card"),
        )],
        Payment::Failed { reason } => vec![UserError::new(
            card,
            UserErrorCode::PaymentFailed,
            format!(
                "{reason}; nothing was charged. No order was placed: try again or use another card"
            ),
        )],
        Payment::Pending => vec![UserError::new(
            &["input", "payment"],
            UserErrorCode::PaymentPending,
            "the payment provider has not confirmed the payment yet; the order is reserved and \
             will be confirmed or released shortly. Do not pay again",
        )],
    }
}

#[derive(Default)]
pub struct CheckoutMutation;

/// What `checkout` returns: the order (or why there is none) and, for a
/// guest's order, the token that opens it.
#[derive(SimpleObject)]
pub struct CheckoutPayload {
    pub order: Option<Order>,
    /// Only for a guest's order: the secret that opens it (`order(number:,
    /// accessToken:)`, `cancelOrder`), shown this once; keep it (the
    /// confirmation link carries it). A retry with the same idempotency key
    /// returns a new one, and the previous one stops working.
    pub order_access_token: Option<String>,
    pub user_errors: Vec<UserError>,
}

#[Object]
impl CheckoutMutation {
    /// Places an order for the cart: stock is reserved and the order created
    /// in one transaction, then the card charged. Retrying with the same
    /// idempotency key and input returns the same order, charged once (and,
    /// for a guest, a new access token).
    async fn checkout(&self, ctx: &Context<'_>, input: CheckoutInput) -> Result<CheckoutPayload> {
        // A new token on every attempt, retries too: the idempotency key is
        // the client's secret, and only the token's hash is kept, so a lost
        // answer's token cannot be sent again (see `CheckoutRequest`).
        let access = AccessToken::generate();
        let placed = self.place(ctx, input, &access.hash).await;
        if let Some(metrics) = ctx.data_opt::<Metrics>() {
            metrics.checkout(checkout_outcome(&placed));
        }
        let placed = placed?;
        let order_access_token = placed
            .order
            .as_ref()
            .filter(|order| order.0.access_token_hash.as_deref() == Some(access.hash.as_slice()))
            .map(|_| access.token);
        Ok(CheckoutPayload {
            order: placed.order,
            order_access_token,
            user_errors: placed.user_errors,
        })
    }

    /// Validates the input and places the order (a guest's with
    /// `access_token_hash`); the order (if any) and why it is not placed
    /// (if so).
    #[graphql(skip)]
    async fn place(
        &self,
        ctx: &Context<'_>,
        input: CheckoutInput,
        access_token_hash: &[u8; 32],
    ) -> Result<OrderPayload> {
        let viewer = auth::viewer(ctx).await?;
        let (email, address, card) = match check_input(ctx, viewer.as_ref(), &input).await? {
            Ok(checked) => checked,
            Err(errors) => {
                return Ok(OrderPayload {
                    order: None,
                    user_errors: errors,
                });
            }
        };
        let key = input.idempotency_key.trim();
        let Some(cart) = checkout_cart(ctx, viewer.as_ref(), input.cart_id.as_ref()).await? else {
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
        let gateway = ctx.data_unchecked::<Arc<dyn PaymentGateway>>().clone();
        let config = checkout_config(ctx);
        let request = CheckoutRequest {
            scope: &scope,
            key,
            request_hash: &request_hash,
            cart_id: cart.id,
            user_id: viewer.as_ref().map(|viewer| viewer.user_id),
            email: &email,
            address: &address,
            shipping_method: method.as_db(),
            shipping_cents: method.price_cents(),
            access_token_hash: viewer.is_none().then_some(access_token_hash),
            // A cart built before the cap (or by hand) is refused whole.
            max_lines: config.max_lines(),
        };
        let checkout = place_order(
            ctx.data_unchecked::<Db>(),
            ctx.data_unchecked::<Cache>(),
            gateway,
            &config,
            &request,
            &card,
            ctx.data_unchecked::<Metrics>(),
        )
        .await?;
        if let (Ok(placed), Some(viewer)) = (&checkout, &viewer) {
            let ordered = matches!(placed.payment, Payment::Settled | Payment::Pending);
            if ordered && input.save_address && input.saved_address_id.is_none() {
                keep_address(ctx, viewer.user_id, &address).await;
            }
        }
        Ok(match checkout {
            Ok(Placed { order, payment }) => OrderPayload {
                // A checkout whose card was refused placed no order.
                order: matches!(payment, Payment::Settled | Payment::Pending)
                    .then_some(Order::new(order)),
                user_errors: payment_errors(&payment),
            },
            Err(refusal) => OrderPayload::failed(refusal_error(ctx, refusal).await?),
        })
    }
}
