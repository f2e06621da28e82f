//! Finding a guest order by its number and the checkout email.
//!
//! Owns the lookup form; it never says whether a number exists without the
//! matching email (the backend throttles the lookups).

use std::collections::BTreeMap;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use super::links::{order_path, path_safe};
use super::operations::{FindOrder, find_order};
use crate::pages::page::{api_error_page, page};
use crate::session::Visitor;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LookupForm {
    #[serde(skip_serializing)]
    csrf: String,
    number: String,
    email: String,
}

fn render_lookup(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    values: &LookupForm,
    errors: BTreeMap<&'static str, &'static str>,
) -> Response {
    page(
        state,
        visitor,
        status,
        "order_lookup.html",
        context! {
            title => "Find your order",
            values => Value::from(Serde(values)),
            errors,
        },
    )
}

pub async fn lookup_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    render_lookup(
        &state,
        &visitor,
        StatusCode::OK,
        &LookupForm::default(),
        BTreeMap::new(),
    )
}

pub async fn lookup(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<LookupForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let number = form.number.trim().to_uppercase();
    let email = form.email.trim().to_owned();
    let mut errors = BTreeMap::new();
    if number.is_empty() {
        errors.insert(
            "number",
            "Enter the order number from your receipt, such as BK-100123.",
        );
    }
    if email.is_empty() {
        errors.insert("email", "Enter the email you checked out with.");
    }
    if errors.is_empty() {
        let found = if path_safe(&number) {
            let variables = find_order::Variables {
                number: number.clone(),
                email: Some(email.clone()),
            };
            match state
                .api
                .run::<FindOrder>(variables, visitor.session.as_deref())
                .await
            {
                Ok(data) => data.order.is_some(),
                Err(error) => return api_error_page(&state, &error),
            }
        } else {
            false
        };
        if found {
            return visitor
                .redirect(
                    &order_path(&number, Some(&email)),
                    &format!("Here is your order {number}."),
                )
                .into_response();
        }
        errors.insert(
            "number",
            "We found no order with that number and email. Please check both.",
        );
    }
    render_lookup(
        &state,
        &visitor,
        StatusCode::UNPROCESSABLE_ENTITY,
        &form,
        errors,
    )
}
