//! Checkout: the form (address, shipping, card) and placing the order.
//!
//! Owns the idempotency key each rendering carries (a double submit places
//! one order) and putting the backend's errors next to their fields. The
//! total with shipping is the backend's quote for the chosen method, shown
//! before "Place order"; "Update total" (a submit button, no JavaScript)
//! shows it again for another method, keeping what was typed. A signed-in
//! customer picks a saved address or types a new one (and may keep it). It
//! never puts the card number back into a page and never computes a total.

use std::collections::BTreeMap;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use super::cart::{Known, cart_id};
use super::links::order_path;
use super::operations::{Checkout, CheckoutPage, checkout, checkout_page};
use crate::pages::messages::sentence;
use crate::pages::page::{api_error_page, page};
use crate::pages::params::given;
use crate::session::Visitor;
use crate::state::AppState;
use crate::tokens::random_token;

/// The checkout form as submitted; serialized back into the page when it
/// is shown again, without the card number (never re-rendered) or the
/// tokens.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CheckoutForm {
    #[serde(skip_serializing)]
    csrf: String,
    #[serde(skip_serializing)]
    idempotency_key: String,
    email: String,
    name: String,
    line1: String,
    line2: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    shipping_method: String,
    /// A saved address's id, or "new" (or empty: a guest's form).
    saved_address: String,
    /// "1" to keep the new address in the account.
    save_address: String,
    /// "update": only show the total again, place nothing.
    #[serde(skip_serializing)]
    action: String,
    #[serde(skip_serializing)]
    card_number: String,
}

/// The form field a backend error is about, from its path in the input
/// (`["input", "shippingAddress", "postalCode"]`); `"form"` for errors
/// about the whole checkout (the cart, the idempotency key).
fn checkout_field(path: &[String]) -> &'static str {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["input", "email"] => "email",
        ["input", "shippingAddress", "name"] => "name",
        ["input", "shippingAddress", "line1"] => "line1",
        ["input", "shippingAddress", "line2"] => "line2",
        ["input", "shippingAddress", "city"] => "city",
        ["input", "shippingAddress", "region"] => "region",
        ["input", "shippingAddress", "postalCode"] => "postal_code",
        ["input", "shippingAddress", "country"] => "country",
        ["input", "shippingMethod"] => "shipping_method",
        ["input", "savedAddressId"] => "saved_address",
        ["input", "shippingAddress"] => "name",
        ["input", "payment", ..] => "card_number",
        _ => "form",
    }
}

/// The shipping method a form value names (each operation has its own
/// generated enum: a macro makes the one asked for).
macro_rules! method_of {
    ($operation:ident, $code:expr) => {{
        use $operation::ShippingMethodCode;
        match $code {
            "STANDARD" => Some(ShippingMethodCode::STANDARD),
            "EXPRESS" => Some(ShippingMethodCode::EXPRESS),
            "PICKUP" => Some(ShippingMethodCode::PICKUP),
            _ => None,
        }
    }};
}

fn shipping_method(code: &str) -> Option<checkout_page::ShippingMethodCode> {
    method_of!(checkout_page, code)
}

/// The checkout page: the cart's summary and the form. A fresh idempotency
/// key goes into every rendering, so submitting this form twice places one
/// order, while a corrected form (after an error) is a new attempt.
async fn render_checkout(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    values: &CheckoutForm,
    errors: BTreeMap<&'static str, String>,
) -> Response {
    let variables = checkout_page::Variables {
        cart_id: cart_id(visitor),
        method: shipping_method(&values.shipping_method)
            .unwrap_or(checkout_page::ShippingMethodCode::STANDARD),
    };
    let data = match state
        .api
        .run::<CheckoutPage>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => data,
        Err(error) => return api_error_page(state, &error),
    };
    let ready = data
        .cart
        .as_ref()
        .is_some_and(|cart| cart.shop_cart.ready_for_checkout);
    // Only the first visit is sent back to the cart; a refused checkout
    // keeps its form and says why.
    if !ready && errors.is_empty() {
        let message = match &data.cart {
            Some(cart) if !cart.shop_cart.lines.is_empty() => {
                "Some books in your cart cannot be ordered as they are. Please adjust them first."
            }
            _ => "Your cart is empty.",
        };
        return visitor.redirect("/cart", message).into_response();
    }
    let addresses = data
        .viewer
        .as_ref()
        .map(|viewer| &viewer.addresses[..])
        .unwrap_or_default();
    // The default address is picked until the customer picks another.
    let chosen = match values.saved_address.as_str() {
        "" => addresses
            .iter()
            .find(|address| address.is_default)
            .map_or("new", |address| address.id.as_str()),
        chosen => chosen,
    };
    let count = data
        .cart
        .as_ref()
        .map_or(0, |cart| cart.shop_cart.item_count);
    let page = page(
        state,
        visitor,
        status,
        "checkout.html",
        context! {
            title => "Checkout",
            guest => data.viewer.is_none(),
            addresses => Value::from(Serde(addresses)),
            chosen,
            quote => Value::from(Serde(data.cart.as_ref().map(|cart| &cart.quote))),
            cart => Value::from(Serde(&data.cart)),
            methods => Value::from(Serde(&data.shipping_methods)),
            values => Value::from(Serde(values)),
            errors,
            idempotency_key => random_token(),
        },
    );
    Known::mark(count, page)
}

pub async fn checkout_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    let values = CheckoutForm {
        shipping_method: "STANDARD".to_owned(),
        ..CheckoutForm::default()
    };
    render_checkout(&state, &visitor, StatusCode::OK, &values, BTreeMap::new()).await
}

pub async fn place_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<CheckoutForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let mut errors = BTreeMap::new();
    if form.action == "update" {
        // Only the total for the chosen method: nothing is placed.
        return render_checkout(&state, &visitor, StatusCode::OK, &form, errors).await;
    }
    let Some(method) = method_of!(checkout, form.shipping_method.as_str()) else {
        errors.insert(
            "shipping_method",
            "Choose how you want to receive your order.".to_owned(),
        );
        return render_checkout(
            &state,
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            errors,
        )
        .await;
    };
    let idempotency_key = given(&form.idempotency_key).unwrap_or_else(random_token);
    let saved = given(&form.saved_address).filter(|id| id != "new");
    let variables = checkout::Variables {
        input: checkout::CheckoutInput {
            idempotency_key,
            cart_id: cart_id(&visitor),
            email: given(&form.email),
            shipping_address: saved.is_none().then(|| checkout::AddressInput {
                name: form.name.clone(),
                line1: form.line1.clone(),
                line2: given(&form.line2),
                city: form.city.clone(),
                region: given(&form.region),
                postal_code: form.postal_code.clone(),
                country: form.country.clone(),
                phone: None,
            }),
            save_address: saved.is_none() && form.save_address == "1",
            saved_address_id: saved,
            shipping_method: method,
            payment: checkout::PaymentInput {
                card_number: form.card_number.clone(),
            },
        },
    };
    let payload = match state
        .api
        .run::<Checkout>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => data.checkout,
        Err(error) => return api_error_page(&state, &error),
    };
    let pending = |order: &checkout::CheckoutCheckoutOrder| {
        matches!(order.status, checkout::OrderStatus::PENDING_PAYMENT)
    };
    match (payload.order, payload.user_errors.is_empty()) {
        // Placed, or reserved while the card provider confirms the payment
        // (the order page shows the outcome; paying again would not help).
        (Some(order), placed) if placed || pending(&order) => {
            let thanks = if pending(&order) {
                format!(
                    "Thank you! Your order {} is reserved while the card provider confirms the payment. Please do not pay again.",
                    order.number
                )
            } else {
                format!("Thank you! Your order {} is placed.", order.number)
            };
            // A guest's order page is opened by its token (the link to keep);
            // a customer's by signing in.
            let location = match (&payload.order_access_token, visitor.session.is_some()) {
                (Some(token), _) => order_path(&order.number, Some(token)),
                (None, true) => order_path(&order.number, None),
                // A guest's answer without a token (a later retry took its
                // place): the lookup by number and email still finds it.
                (None, false) => "/orders/lookup".to_owned(),
            };
            let message = match (&payload.order_access_token, visitor.session.is_some()) {
                (Some(_), _) => format!(
                    "{thanks} Keep this page's address: it opens your order without an account."
                ),
                (None, false) => format!(
                    "{thanks} Find it here with its number and your email, {}.",
                    order.email
                ),
                (None, true) => thanks,
            };
            visitor
                .redirect(&location, &message)
                .cart(None)
                .into_response()
        }
        _ => {
            for error in &payload.user_errors {
                errors
                    .entry(checkout_field(&error.field))
                    .or_insert_with(|| sentence(&error.message));
            }
            errors
                .entry("form")
                .or_insert_with(|| "Your order could not be placed. Please try again.".to_owned());
            render_checkout(
                &state,
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                errors,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_errors_find_their_form_fields() {
        let path = |parts: &[&str]| {
            parts
                .iter()
                .map(|part| (*part).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            checkout_field(&path(&["input", "shippingAddress", "postalCode"])),
            "postal_code"
        );
        assert_eq!(checkout_field(&path(&["input", "email"])), "email");
        assert_eq!(checkout_field(&path(&["input", "payment"])), "card_number");
        assert_eq!(
            checkout_field(&path(&["input", "payment", "cardNumber"])),
            "card_number"
        );
        assert_eq!(checkout_field(&path(&["input", "cartId"])), "form");
        assert_eq!(checkout_field(&[]), "form");
    }
}
