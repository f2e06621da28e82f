//! A customer's orders: an order's page (a guest's proven by the checkout
//! email), cancelling it (a question page first, then the POST that does
//! it), and the order history.
//!
//! Owns the order pages' wording; whether an order may be seen or
//! cancelled is always the backend's answer, never decided here.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

use super::links::{order_path, path_safe};
use super::operations::{
    CancelOrder, OrderHistory, OrderPage, cancel_order, order_history, order_page,
};
use crate::pages::messages::sentence;
use crate::pages::page::{api_error_page, not_found_page, page};
use crate::pages::params::{PageParams, Window, given, page_links};
use crate::session::Visitor;
use crate::state::AppState;

/// Orders per page of the order history.
const ORDERS_PER_PAGE: i64 = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailParams {
    email: String,
}

/// The order a page shows: `number` as the visitor may see it (signed in,
/// or a guest with the checkout email), with that email; or the page to
/// answer instead (not found, backend trouble).
async fn visible_order(
    state: &AppState,
    visitor: &Visitor,
    number: &str,
    params: Result<Query<EmailParams>, QueryRejection>,
) -> Result<(order_page::OrderPageOrder, Option<String>), Response> {
    if !path_safe(number) {
        return Err(not_found_page(state));
    }
    let email = params
        .map(|Query(params)| given(&params.email))
        .unwrap_or_default();
    let variables = order_page::Variables {
        number: number.to_owned(),
        email: email.clone(),
    };
    match state
        .api
        .run::<OrderPage>(variables, visitor.session.as_deref())
        .await
    {
        Ok(order_page::ResponseData { order: Some(order) }) => Ok((order, email)),
        Ok(_) => Err(not_found_page(state)),
        Err(error) => Err(api_error_page(state, &error)),
    }
}

pub async fn show_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    params: Result<Query<EmailParams>, QueryRejection>,
) -> Response {
    let (order, email) = match visible_order(&state, &visitor, &number, params).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "order.html",
        context! {
            title => format!("Order {}", order.number),
            order => Value::from(Serde(&order)),
            email,
        },
    )
}

/// "Cancel order BK-…?": the order's summary and the one button that
/// cancels it. Asking changes nothing; an order that can no longer be
/// cancelled goes back to its page.
pub async fn confirm_cancel(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    params: Result<Query<EmailParams>, QueryRejection>,
) -> Response {
    let (order, email) = match visible_order(&state, &visitor, &number, params).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !order.can_cancel {
        return visitor
            .redirect(
                &order_path(&number, email.as_deref()),
                "This order can no longer be cancelled.",
            )
            .into_response();
    }
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "cancel_order.html",
        context! {
            title => format!("Cancel order {}?", order.number),
            order => Value::from(Serde(&order)),
            order_path => order_path(&number, email.as_deref()),
            email,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CancelForm {
    csrf: String,
    email: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<CancelForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    if !path_safe(&number) {
        return not_found_page(&state);
    }
    let email = given(&form.email);
    let location = order_path(&number, email.as_deref());
    let variables = cancel_order::Variables {
        input: cancel_order::OrderLookupInput {
            number: number.clone(),
            email,
        },
    };
    match state
        .api
        .run::<CancelOrder>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => {
            let message = match data.cancel_order.user_errors.first() {
                Some(error) => sentence(&error.message),
                None => format!(
                    "Your order {number} is cancelled. Anything you paid is refunded to your card."
                ),
            };
            visitor.redirect(&location, &message).into_response()
        }
        Err(error) => api_error_page(&state, &error),
    }
}

pub async fn list_orders(
    State(state): State<AppState>,
    visitor: Visitor,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Response {
    const SIGN_IN: &str = "/login?next=/account/orders";
    if visitor.session.is_none() {
        return visitor
            .redirect(SIGN_IN, "Please sign in to see your orders.")
            .into_response();
    }
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let window = Window::new(&params.after, &params.before, ORDERS_PER_PAGE);
    let variables = order_history::Variables {
        first: window.first,
        after: window.after,
        last: window.last,
        before: window.before,
    };
    let orders = match state
        .api
        .run::<OrderHistory>(variables, visitor.session.as_deref())
        .await
    {
        Ok(order_history::ResponseData {
            viewer: Some(viewer),
        }) => viewer.orders,
        // The session has ended: the cookie is of no more use.
        Ok(_) => {
            return visitor
                .redirect(SIGN_IN, "Please sign in again to see your orders.")
                .session(None)
                .into_response();
        }
        Err(error) => return api_error_page(&state, &error),
    };
    let (next, previous) = page_links!(orders.page_info, |after, before| {
        let query = serde_urlencoded::to_string(PageParams { after, before }).unwrap_or_default();
        format!("/account/orders?{query}")
    });
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "orders.html",
        context! {
            title => "Your orders",
            total => orders.total_count,
            orders => Value::from(Serde(&orders.nodes)),
            next,
            previous,
        },
    )
}
