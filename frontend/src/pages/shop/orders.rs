//! A customer's orders: an order's page (a guest's opened by the access
//! token its confirmation link carries), cancelling it (a question page
//! first, then the POST that does it), and the order history. A guest who
//! found the order by number and email (`order_lookup`) cancels with the
//! email in hidden form fields, never in an address.
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

use super::links::{cancel_path, events_path, order_path, path_safe, token_safe};
use super::operations::{
    CancelOrder, OrderHistory, OrderPage, cancel_order, order_history, order_page,
};
use super::order_lookup::{looked_up_order, lookup_not_found, lookup_refused};
use crate::pages::messages::sentence;
use crate::pages::page::{api_error_page, not_found_page, page};
use crate::pages::params::{PageParams, Window, given, page_links};
use crate::session::Visitor;
use crate::state::AppState;

/// Orders per page of the order history.
const ORDERS_PER_PAGE: i64 = 20;

/// A guest order's page address: its access token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenParams {
    token: String,
}

/// The token an address carries, if it could be one of ours.
fn token(params: Result<Query<TokenParams>, QueryRejection>) -> Option<String> {
    params
        .ok()
        .and_then(|Query(params)| given(&params.token))
        .filter(|token| token_safe(token))
}

/// The order a page shows: `number` as the visitor may see it (signed in,
/// or a guest with the order's token); or the page to answer instead (not
/// found, backend trouble).
async fn visible_order(
    state: &AppState,
    visitor: &Visitor,
    number: &str,
    token: Option<&str>,
) -> Result<order_page::OrderPageOrder, Response> {
    if !path_safe(number) {
        return Err(not_found_page(state));
    }
    let variables = order_page::Variables {
        number: number.to_owned(),
        access_token: token.map(str::to_owned),
    };
    match state
        .api
        .run::<OrderPage>(variables, visitor.session.as_deref())
        .await
    {
        Ok(order_page::ResponseData { order: Some(order) }) => Ok(order),
        Ok(_) => Err(not_found_page(state)),
        Err(error) => Err(api_error_page(state, &error)),
    }
}

pub async fn show_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    params: Result<Query<TokenParams>, QueryRejection>,
) -> Response {
    let token = token(params);
    let order = match visible_order(&state, &visitor, &number, token.as_deref()).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "order.html",
        context! {
            title => format!("Order {}", order.number),
            cancel_path => cancel_path(&order.number, token.as_deref()),
            events_path => events_path(&order.number, token.as_deref()),
            order => Value::from(Serde(&order)),
            token,
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
    params: Result<Query<TokenParams>, QueryRejection>,
) -> Response {
    let token = token(params);
    let order = match visible_order(&state, &visitor, &number, token.as_deref()).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    if !order.can_cancel {
        return visitor
            .redirect(
                &order_path(&number, token.as_deref()),
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
            order_path => order_path(&number, token.as_deref()),
            order => Value::from(Serde(&order)),
            token,
        },
    )
}

/// The cancel button: with the order's token (from its page), with the
/// checkout email (a guest who looked the order up), or neither (signed in).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CancelForm {
    csrf: String,
    token: String,
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
    let token = given(&form.token).filter(|token| token_safe(token));
    let email = given(&form.email);
    let variables = cancel_order::Variables {
        input: cancel_order::OrderLookupInput {
            number: number.clone(),
            email: email.clone(),
            access_token: token.clone(),
        },
    };
    let payload = match state
        .api
        .run::<CancelOrder>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => data.cancel_order,
        Err(error) => {
            return match email {
                Some(email) => lookup_refused(&state, &visitor, &number, &email, &error),
                None => api_error_page(&state, &error),
            };
        }
    };
    let message = match payload.user_errors.first() {
        Some(error) => sentence(&error.message),
        None => {
            format!("Your order {number} is cancelled. Anything you paid is refunded to your card.")
        }
    };
    match (email, payload.order) {
        // Looked up by email: the order is shown here, as the lookup showed
        // it (its address would have to carry the email).
        (Some(email), Some(order)) => {
            looked_up_order(&state, visitor, Value::from(Serde(&order)), &email, message)
        }
        (Some(email), None) => lookup_not_found(&state, &visitor, &number, &email),
        (None, _) => visitor
            .redirect(&order_path(&number, token.as_deref()), &message)
            .into_response(),
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
