//! Finding a guest order by its number and the checkout email, and what a
//! guest does with it then: the lookup form POSTs, and its answer is the
//! order's page itself, whose cancel button POSTs the email again in hidden
//! fields (`/orders/{number}/cancel/ask`, then the cancel) — the email
//! never goes into an address.
//!
//! Owns the lookup form and the looked-up order's pages; it never says
//! whether a number exists without the matching email (the backend answers
//! the same, and throttles the lookups).

use std::collections::BTreeMap;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use super::links::path_safe;
use super::operations::{FindOrder, find_order};
use crate::api::ApiError;
use crate::pages::page::{api_error_page, has_code, page};
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

const NOT_FOUND: &str = "We found no order with that number and email. Please check both.";
const TOO_MANY: &str = "Too many tries for now. Please try again in a little while, \
     or open your order with the link from its confirmation page.";

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

/// The lookup form again (422), saying nothing about whether the number
/// exists.
pub(super) fn lookup_not_found(
    state: &AppState,
    visitor: &Visitor,
    number: &str,
    email: &str,
) -> Response {
    let values = LookupForm {
        csrf: String::new(),
        number: number.to_owned(),
        email: email.to_owned(),
    };
    render_lookup(
        state,
        visitor,
        StatusCode::UNPROCESSABLE_ENTITY,
        &values,
        BTreeMap::from([("number", NOT_FOUND)]),
    )
}

/// The answer when the backend refused a lookup by email: the form with
/// "too many tries" (429) when throttled, an error page otherwise.
pub(super) fn lookup_refused(
    state: &AppState,
    visitor: &Visitor,
    number: &str,
    email: &str,
    error: &ApiError,
) -> Response {
    if !has_code(error, "TOO_MANY_ATTEMPTS") {
        return api_error_page(state, error);
    }
    let values = LookupForm {
        csrf: String::new(),
        number: number.to_owned(),
        email: email.to_owned(),
    };
    render_lookup(
        state,
        visitor,
        StatusCode::TOO_MANY_REQUESTS,
        &values,
        BTreeMap::from([("form", TOO_MANY)]),
    )
}

/// A looked-up order's page (200, as the answer to a POST): its cancel
/// button carries `email` in a hidden field. `message` is shown as the
/// page's notice.
pub(super) fn looked_up_order(
    state: &AppState,
    mut visitor: Visitor,
    order: Value,
    email: &str,
    message: String,
) -> Response {
    visitor.flash = Some(message);
    let number = order
        .get_attr("number")
        .ok()
        .map(|number| number.to_string())
        .unwrap_or_default();
    page(
        state,
        &visitor,
        StatusCode::OK,
        "order.html",
        context! {
            title => format!("Order {number}"),
            order,
            lookup_email => email,
        },
    )
}

/// The order with `number` and checkout `email`, or the page to answer
/// instead (the form again: not found, or too many tries).
async fn find(
    state: &AppState,
    visitor: &Visitor,
    number: &str,
    email: &str,
) -> Result<Value, Response> {
    if !path_safe(number) {
        return Err(lookup_not_found(state, visitor, number, email));
    }
    let variables = find_order::Variables {
        number: number.to_owned(),
        email: email.to_owned(),
    };
    match state
        .api
        .run::<FindOrder>(variables, visitor.session.as_deref())
        .await
    {
        Ok(find_order::ResponseData { order: Some(order) }) => Ok(Value::from(Serde(&order))),
        Ok(_) => Err(lookup_not_found(state, visitor, number, email)),
        Err(error) => Err(lookup_refused(state, visitor, number, email, &error)),
    }
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
            "Enter the order number from your confirmation, such as BK-7KQ2M9XW4H.",
        );
    }
    if email.is_empty() {
        errors.insert("email", "Enter the email you checked out with.");
    }
    if !errors.is_empty() {
        return render_lookup(
            &state,
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            errors,
        );
    }
    match find(&state, &visitor, &number, &email).await {
        Ok(order) => looked_up_order(
            &state,
            visitor,
            order,
            &email,
            format!("Here is your order {number}."),
        ),
        Err(response) => response,
    }
}

/// The cancel button of a looked-up order: the checkout email again, in the
/// form (never in the address).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AskForm {
    csrf: String,
    email: String,
}

/// "Cancel order BK-…?" for a guest who looked the order up: the order's
/// summary, a button that cancels (the email in a hidden field), and one
/// that keeps it. Asking changes nothing.
pub async fn ask_cancel(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<AskForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let email = form.email.trim().to_owned();
    let order = match find(&state, &visitor, &number, &email).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    let can_cancel = order
        .get_attr("canCancel")
        .is_ok_and(|can_cancel| can_cancel.is_true());
    if !can_cancel {
        return looked_up_order(
            &state,
            visitor,
            order,
            &email,
            "This order can no longer be cancelled.".to_owned(),
        );
    }
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "cancel_order.html",
        context! {
            title => format!("Cancel order {number}?"),
            order,
            lookup_email => email,
        },
    )
}
