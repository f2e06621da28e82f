//! The live pages' event streams (Server-Sent Events, see `crate::live`):
//! `GET /orders/{number}/events` for an order's page (its status as it
//! changes; a guest's with the order's access token, `?token=`), and
//! `GET /staff/orders/events` for the staff order list (each newly paid
//! order). `static/live.js` opens them where JavaScript runs.
//!
//! Each stream first asks the backend over HTTP, as the visitor, whether
//! they may see what they ask for (an order they may not see is a 404, the
//! order list for anyone but staff a 403: the browser's `EventSource` then
//! stops), then follows the backend's subscription as that same visitor,
//! which the backend checks again. A backend that cannot be reached is a
//! stream that only says when to retry. Owns the events' wording; never
//! decides who may see an order.
#![allow(clippy::upper_case_acronyms, missing_docs)]

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use graphql_client::GraphQLQuery;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::ApiError;
use crate::live::{Refusal, json_event, refuse};
use crate::pages::page::has_code;
use crate::pages::params::given;
use crate::pages::shop::links::{path_safe, token_safe};
use crate::session::Visitor;
use crate::state::AppState;

pub type DateTime = String;

macro_rules! operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "../schema.graphql",
            query_path = "queries/live.graphql",
            response_derives = "Debug, Serialize"
        )]
        pub struct $name;
    };
}

operation!(LiveOrder);
operation!(LiveOrderUpdated);
operation!(LiveViewer);
operation!(LiveOrderPlaced);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders/{number}/events", get(order_events))
        .route("/staff/orders/events", get(placed_orders_events))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenParams {
    token: String,
}

/// What an order's page shows of its state: `status` (as the API names
/// it), its words, and whether it can still be cancelled.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderState {
    pub number: String,
    pub status: String,
    pub label: String,
    pub can_cancel: bool,
}

/// A row of the staff order list, as the page shows it.
#[derive(Debug, Serialize)]
pub struct OrderRow {
    pub number: String,
    pub placed: String,
    pub email: String,
    pub total: String,
    pub status: String,
}

/// "PENDING_PAYMENT" → "Pending payment", as the order page words it.
pub fn status_label(status: &str) -> String {
    let words = status.replace('_', " ").to_lowercase();
    let mut letters = words.chars();
    letters
        .next()
        .map(|first| first.to_uppercase().chain(letters).collect())
        .unwrap_or_default()
}

/// The status as the API names it (`PAID`, ...).
fn status_name(status: &impl Serialize) -> String {
    match serde_json::to_value(status) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

/// An order's status as it changes, for whoever may see the order: its
/// customer or staff (by session), or a guest order's token holder.
async fn order_events(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    params: Result<Query<TokenParams>, QueryRejection>,
) -> Response {
    let token = params
        .ok()
        .and_then(|Query(params)| given(&params.token))
        .filter(|token| token_safe(token));
    if !path_safe(&number) {
        return refuse(StatusCode::NOT_FOUND);
    }
    let Some(place) = state.live.admit() else {
        return state.live.no_place();
    };
    // A token opens a guest order by itself; the session is sent only
    // without one (a stale session cookie must not spoil a guest's link).
    let session = match token {
        Some(_) => None,
        None => visitor.session.as_deref(),
    };
    let variables = live_order::Variables {
        number: number.clone(),
        access_token: token.clone(),
    };
    let order = match state.api.run::<LiveOrder>(variables, session).await {
        Ok(live_order::ResponseData { order: Some(order) }) => order,
        Ok(_) => return refuse(StatusCode::NOT_FOUND),
        Err(error) => return refused(&state, &error),
    };
    let current = OrderState {
        number: order.live_order_state.number.clone(),
        status: status_name(&order.live_order_state.status),
        label: status_label(&status_name(&order.live_order_state.status)),
        can_cancel: order.live_order_state.can_cancel,
    };
    let operation = LiveOrderUpdated::build_query(live_order_updated::Variables {
        id: order.id,
        access_token: token,
    });
    let subscription = match state.live.subscribe(session, &operation).await {
        Ok(subscription) => subscription,
        Err(Refusal::SessionEnded) => return refuse(StatusCode::NOT_FOUND),
        Err(Refusal::Unavailable) => return state.live.retry_later(),
    };
    // The current state first: it may have changed since the page was
    // rendered, or while the browser was reconnecting.
    state.live.stream(
        place,
        subscription,
        json_event("status", &current),
        |data: Value| {
            let data: live_order_updated::ResponseData = serde_json::from_value(data).ok()?;
            let order = data.order_updated;
            let status = status_name(&order.status);
            json_event(
                "status",
                &OrderState {
                    number: order.number,
                    label: status_label(&status),
                    status,
                    can_cancel: order.can_cancel,
                },
            )
        },
    )
}

/// Each newly paid order, for staff.
async fn placed_orders_events(State(state): State<AppState>, visitor: Visitor) -> Response {
    let Some(session) = visitor.session.as_deref() else {
        return refuse(StatusCode::FORBIDDEN);
    };
    let Some(place) = state.live.admit() else {
        return state.live.no_place();
    };
    match state
        .api
        .run::<LiveViewer>(live_viewer::Variables, Some(session))
        .await
    {
        Ok(live_viewer::ResponseData {
            viewer: Some(viewer),
        }) if matches!(viewer.role, live_viewer::Role::STAFF) => {}
        Ok(_) => return refuse(StatusCode::FORBIDDEN),
        Err(error) => return refused(&state, &error),
    }
    let operation = LiveOrderPlaced::build_query(live_order_placed::Variables);
    let subscription = match state.live.subscribe(Some(session), &operation).await {
        Ok(subscription) => subscription,
        Err(Refusal::SessionEnded) => return refuse(StatusCode::FORBIDDEN),
        Err(Refusal::Unavailable) => return state.live.retry_later(),
    };
    state.live.stream(place, subscription, None, |data: Value| {
        let data: live_order_placed::ResponseData = serde_json::from_value(data).ok()?;
        let order = data.order_placed;
        json_event(
            "order",
            &OrderRow {
                placed: order
                    .created_at
                    .get(..16)
                    .unwrap_or(&order.created_at)
                    .replace('T', " "),
                status: status_name(&order.status).replace('_', " ").to_lowercase(),
                number: order.number,
                email: order.email,
                total: order.total.formatted,
            },
        )
    })
}

/// The backend refused (not found, not allowed: the stream is refused) or
/// could not answer (come back later).
fn refused(state: &AppState, error: &ApiError) -> Response {
    if has_code(error, "NOT_FOUND") {
        refuse(StatusCode::NOT_FOUND)
    } else if has_code(error, "UNAUTHENTICATED") || has_code(error, "FORBIDDEN") {
        refuse(StatusCode::FORBIDDEN)
    } else {
        state.live.retry_later()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_worded_as_the_order_page_words_them() {
        assert_eq!(status_label("PENDING_PAYMENT"), "Pending payment");
        assert_eq!(status_label("SHIPPED"), "Shipped");
        assert_eq!(status_label(""), "");
    }
}
