//! Order status changes through the API: the customer's `cancelOrder` and
//! the staff's `markOrderShipped`, `markOrderDelivered` and `refundOrder`.
//! Each finds the order the caller may change and hands the change to
//! `crate::order_workflow` (lock → refund → apply); a change the order's
//! status does not allow answers `INVALID_STATE`. Never talks to the gateway
//! or writes SQL itself.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result};

use super::access::{GuestProof, visible_order};
use super::order::{Order, OrderPayload};
use crate::auth::require_staff;
use crate::cache::Cache;
use crate::db::order_status::{Action, Transition, refund_in_flight};
use crate::db::{self, Db};
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::user_errors::{UserError, UserErrorCode};
use crate::order_workflow::change_status;
use crate::payments::PaymentGateway;

#[derive(InputObject)]
pub struct OrderLookupInput {
    /// The order's number, such as BK-7KQ2M9XW4H.
    pub number: String,
    /// A guest order's checkout email (throttled, like the `order` lookup).
    pub email: Option<String>,
    /// A guest order's access token, as `checkout` returned it.
    pub access_token: Option<String>,
}

#[derive(InputObject)]
pub struct ShipOrderInput {
    pub number: String,
    pub carrier: String,
    pub tracking_number: String,
}

#[derive(Default)]
pub struct OrderWorkflowMutation;

#[Object]
impl OrderWorkflowMutation {
    /// Cancels an order that has not shipped (the customer's own, a guest
    /// order with its access token or checkout email, or any for staff):
    /// stock returns and a paid order is refunded. Any other order answers
    /// NOT_FOUND, as a missing one does.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        input: OrderLookupInput,
    ) -> Result<OrderPayload> {
        let proof = GuestProof {
            access_token: input.access_token.as_deref(),
            email: input.email.as_deref(),
        };
        let Some(order) = visible_order(ctx, &input.number, proof).await? else {
            return Ok(OrderPayload::not_found());
        };
        apply(ctx, order.id, Action::Cancel).await
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
        let required = [
            ("carrier", carrier, "enter the carrier"),
            (
                "trackingNumber",
                tracking_number,
                "enter the tracking number",
            ),
        ];
        for (field, value, message) in required {
            if value.is_empty() || value.len() > 100 {
                return Ok(OrderPayload::failed(UserError::invalid(field, message)));
            }
        }
        let action = Action::Ship {
            carrier,
            tracking_number,
        };
        staff_change(ctx, &input.number, action).await
    }

    /// Staff: a shipped order arrived.
    async fn mark_order_delivered(
        &self,
        ctx: &Context<'_>,
        number: String,
    ) -> Result<OrderPayload> {
        require_staff(ctx).await?;
        staff_change(ctx, &number, Action::Deliver).await
    }

    /// Staff: a delivered order was returned; its payment is refunded.
    async fn refund_order(&self, ctx: &Context<'_>, number: String) -> Result<OrderPayload> {
        require_staff(ctx).await?;
        staff_change(ctx, &number, Action::Refund).await
    }
}

/// A staff member's change to the order with `number` (the caller checked
/// they are staff).
async fn staff_change(ctx: &Context<'_>, number: &str, action: Action<'_>) -> Result<OrderPayload> {
    let order = {
        let mut conn = primary_connection(ctx).await?;
        db::orders::find_by_number(&mut conn, number)
            .await
            .map_err(Error::from)?
    };
    let Some(order) = order else {
        return Ok(OrderPayload::not_found());
    };
    apply(ctx, order.id, action).await
}

async fn apply(ctx: &Context<'_>, order_id: i64, action: Action<'_>) -> Result<OrderPayload> {
    let transition = change_status(
        ctx.data_unchecked::<Db>(),
        ctx.data_unchecked::<Cache>(),
        ctx.data_unchecked::<Arc<dyn PaymentGateway>>().as_ref(),
        order_id,
        action,
    )
    .await?;
    Ok(match transition {
        Transition::Done(order, _) => OrderPayload {
            order: Some(Order::new(order)),
            user_errors: Vec::new(),
        },
        Transition::Rejected(order) => OrderPayload {
            user_errors: vec![UserError::new(
                &[],
                UserErrorCode::InvalidState,
                if refund_in_flight(&order) {
                    "a refund of this order is in progress; try again in a few minutes".to_owned()
                } else {
                    format!(
                        "not possible for an order that is {}",
                        order.status.to_lowercase().replace('_', " ")
                    )
                },
            )],
            order: Some(Order::new(order)),
        },
        Transition::RefundFailed(order, reason) => OrderPayload {
            user_errors: vec![UserError::new(&[], UserErrorCode::PaymentFailed, reason)],
            order: Some(Order::new(order)),
        },
        Transition::NotFound => OrderPayload::not_found(),
    })
}
