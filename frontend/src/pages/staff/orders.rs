//! The staff order pages: the list (by status), an order, and its workflow
//! (ship, deliver, refund).
//!
//! Owns those pages and the wording of each change; which change is allowed
//! in which state is always the backend's answer (INVALID_STATE), never
//! decided here.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use graphql_client::GraphQLQuery;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use super::access::{here, load, run, staff_viewer};
use super::links::order_path;
use super::operations::{
    StaffDeliverOrder, StaffOrder, StaffOrders, StaffRefundOrder, StaffShipOrder,
    staff_deliver_order, staff_order, staff_orders, staff_refund_order, staff_ship_order,
};
use crate::format;
use crate::pages::messages::flash_of;
use crate::pages::page::{not_found_page, page};
use crate::pages::params::{Paged, page_links, set};
use crate::session::Visitor;
use crate::state::AppState;

/// Rows per page of the order list.
const PAGE_SIZE: i64 = 50;

/// The status filter's choices in the staff's working order (to ship
/// first), worded as every page words them (`format::order_status`).
const STATUSES: [&str; 6] = [
    "PAID",
    "SHIPPED",
    "DELIVERED",
    "PENDING_PAYMENT",
    "CANCELLED",
    "REFUNDED",
];

/// The list's own parameters; the cursors come with [`Paged`].
#[derive(Debug, Default, Deserialize, Serialize)]
pub(super) struct OrdersFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

pub(super) async fn orders(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    params: Result<Query<Paged<OrdersFilter>>, QueryRejection>,
) -> Response {
    use staff_orders::OrderStatus;
    let params = params.map(|Query(params)| params).unwrap_or_default();
    // Without a choice: the orders waiting to be shipped.
    let chosen = set(&params.filter.status).unwrap_or("PAID").to_owned();
    let status = match chosen.as_str() {
        "PENDING_PAYMENT" => Some(OrderStatus::PENDING_PAYMENT),
        "PAID" => Some(OrderStatus::PAID),
        "SHIPPED" => Some(OrderStatus::SHIPPED),
        "DELIVERED" => Some(OrderStatus::DELIVERED),
        "CANCELLED" => Some(OrderStatus::CANCELLED),
        "REFUNDED" => Some(OrderStatus::REFUNDED),
        _ => None,
    };
    let chosen = if status.is_some() {
        chosen
    } else {
        "all".to_owned()
    };
    let window = params.window(PAGE_SIZE);
    let variables = staff_orders::Variables {
        status,
        first: window.first,
        after: window.after,
        last: window.last,
        before: window.before,
    };
    let data = match load::<StaffOrders>(
        &state,
        &visitor,
        &here(&uri),
        variables,
        staff_viewer!(staff_orders),
    )
    .await
    {
        Ok(data) => data,
        Err(response) => return response,
    };
    let (next, previous) = page_links!(data.orders.page_info, |after, before| params.with_cursors(
        "/staff/orders",
        after,
        before
    ));
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "staff_orders.html",
        context! {
            title => "Orders",
            orders => Value::from(Serde(&data.orders.nodes)),
            total => data.orders.total_count,
            status => chosen,
            statuses => STATUSES.map(|code| (code, format::order_status(code))),
            next,
            previous,
        },
    )
}

pub(super) async fn order(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    Path(number): Path<String>,
) -> Response {
    let data = match load::<StaffOrder>(
        &state,
        &visitor,
        &here(&uri),
        staff_order::Variables { number },
        staff_viewer!(staff_order),
    )
    .await
    {
        Ok(data) => data,
        Err(response) => return response,
    };
    let Some(order) = data.order else {
        return not_found_page(&state);
    };
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "staff_order.html",
        context! {
            title => format!("Order {}", order.number),
            path => order_path(&order.number),
            order => Value::from(Serde(&order)),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ShipForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    tracking: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn ship_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<ShipForm>,
) -> Response {
    let variables = staff_ship_order::Variables {
        input: staff_ship_order::ShipOrderInput {
            number: number.clone(),
            carrier: form.carrier,
            tracking_number: form.tracking,
        },
    };
    change_status::<StaffShipOrder>(
        &state,
        &visitor,
        &form.csrf,
        &number,
        variables,
        "is marked as shipped",
        |data| changed_order!(data.mark_order_shipped),
    )
    .await
}

pub(super) async fn deliver_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let variables = staff_deliver_order::Variables {
        number: number.clone(),
    };
    change_status::<StaffDeliverOrder>(
        &state,
        &visitor,
        &form.csrf,
        &number,
        variables,
        "is marked as delivered",
        |data| changed_order!(data.mark_order_delivered),
    )
    .await
}

pub(super) async fn refund_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let variables = staff_refund_order::Variables {
        number: number.clone(),
    };
    change_status::<StaffRefundOrder>(
        &state,
        &visitor,
        &form.csrf,
        &number,
        variables,
        "is refunded",
        |data| changed_order!(data.refund_order),
    )
    .await
}

/// `(the changed order's number, its userErrors)`, from a status change's
/// payload (each operation has its own generated types, hence a macro).
macro_rules! changed_order {
    ($payload:expr) => {{
        let payload = $payload;
        let errors = payload.user_errors.into_iter().map(|error| error.message);
        (payload.order.map(|order| order.number), errors.collect())
    }};
}
use changed_order;

/// Checks the form's CSRF token, runs a status change of order `number`
/// (nothing is sent when the token is wrong), then back to the order with
/// what happened: "Order BK-1 {done}.", or a refused change (such as
/// INVALID_STATE) as the flash message. `outcome` reads the payload: the
/// changed order's number, and the userErrors.
async fn change_status<Q: GraphQLQuery>(
    state: &AppState,
    visitor: &Visitor,
    csrf: &str,
    number: &str,
    variables: Q::Variables,
    done: &str,
    outcome: impl FnOnce(Q::ResponseData) -> (Option<String>, Vec<String>),
) -> Response {
    if !visitor.csrf_ok(csrf) {
        return visitor.csrf_failure(state);
    }
    let back = order_path(number);
    let data = match run::<Q>(state, visitor, &back, variables).await {
        Ok(data) => data,
        Err(response) => return response,
    };
    let message = match outcome(data) {
        (Some(changed), errors) if errors.is_empty() => format!("Order {changed} {done}."),
        (_, errors) => flash_of(errors.iter().map(String::as_str)),
    };
    visitor.redirect(&back, &message).into_response()
}
