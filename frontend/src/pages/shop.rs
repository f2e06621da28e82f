//! Cart, checkout, order confirmation, order history and order pages.
//!
//! Each page sends one GraphQL operation as the shopper (their session token
//! forwarded; a guest's cart by the token in its cookie). Every form POSTs,
//! checks its CSRF token before anything else, and answers with a redirect
//! and a flash message (post/redirect/get), except a checkout the backend
//! refuses: that form comes back (422) with each error next to its field and
//! every value kept but the card number, which never goes back into a page.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use super::catalog::PageParams;
use super::{api_error_page, not_found_page, page};
use crate::AppState;
use crate::session::Visitor;

/// The operations of `queries/shop.graphql`, checked against the schema
/// when the crate compiles.
mod operations {
    #![allow(clippy::upper_case_acronyms, missing_docs)]

    use graphql_client::GraphQLQuery;

    // The API's custom scalars, as the storefront handles them: text. (Only
    // the ones these operations use: `ID` is always a `String` to
    // graphql_client, and none asks for a `Date`.)
    pub type DateTime = String;

    macro_rules! operation {
        ($name:ident) => {
            #[derive(GraphQLQuery)]
            #[graphql(
                schema_path = "../schema.graphql",
                query_path = "queries/shop.graphql",
                response_derives = "Debug, Serialize"
            )]
            pub struct $name;
        };
    }

    operation!(CartPage);
    operation!(AddToCart);
    operation!(UpdateCartLine);
    operation!(RemoveCartLine);
    operation!(CheckoutPage);
    operation!(Checkout);
    operation!(OrderPage);
    operation!(FindOrder);
    operation!(CancelOrder);
    operation!(OrderHistory);
}

use operations::{
    AddToCart, CancelOrder, CartPage, Checkout, CheckoutPage, FindOrder, OrderHistory, OrderPage,
    RemoveCartLine, UpdateCartLine, add_to_cart, cancel_order, cart_page, checkout, checkout_page,
    find_order, order_history, order_page, remove_cart_line, update_cart_line,
};

/// Orders per page of the order history.
const ORDERS_PER_PAGE: i64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cart", get(show_cart))
        .route("/cart/add", post(add))
        .route("/cart/update", post(update_line))
        .route("/cart/remove", post(remove_line))
        .route("/checkout", get(checkout_form).post(place_order))
        .route("/orders/lookup", get(lookup_form).post(lookup))
        .route("/orders/{number}", get(show_order))
        .route("/orders/{number}/cancel", post(cancel))
        .route("/account/orders", get(list_orders))
}

/// The guest cart to use: a signed-in customer's cart needs no id (the
/// backend finds it by the session), a guest's is in its cookie.
fn cart_id(visitor: &Visitor) -> Option<String> {
    match visitor.session {
        Some(_) => None,
        None => visitor.cart.clone(),
    }
}

/// Trimmed, and `None` when empty.
fn given(value: &str) -> Option<String> {
    Some(value.trim())
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// A backend message ("only 3 in stock") as a sentence for the shopper.
fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut text: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return "That did not work. Please try again.".to_owned(),
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// Whether text from a form may go into a redirect's path: slugs and order
/// numbers are letters, digits and hyphens (anything else could break the
/// `Location` header or point elsewhere).
fn path_safe(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// An order's page; a guest's carries the checkout email that proves it is
/// theirs.
fn order_path(number: &str, email: Option<&str>) -> String {
    match email {
        Some(email) => format!(
            "/orders/{number}?{}",
            serde_urlencoded::to_string([("email", email)]).unwrap_or_default()
        ),
        None => format!("/orders/{number}"),
    }
}

/// A quantity typed into a form; the backend checks the range.
fn quantity(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

// --- The cart -------------------------------------------------------------

pub async fn show_cart(State(state): State<AppState>, visitor: Visitor) -> Response {
    let id = cart_id(&visitor);
    // A guest without a cart cookie has nothing to look up.
    let cart = if visitor.session.is_none() && id.is_none() {
        None
    } else {
        let variables = cart_page::Variables { id };
        match state
            .api
            .run::<CartPage>(variables, visitor.session.as_deref())
            .await
        {
            Ok(data) => data.cart,
            Err(error) => return api_error_page(&state, &error),
        }
    };
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "cart.html",
        context! {
            title => "Your cart",
            cart => Value::from(Serde(&cart)),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    csrf: String,
    book_id: String,
    slug: String,
    quantity: String,
}

pub async fn add(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AddForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let back = if path_safe(&form.slug) {
        format!("/books/{}", form.slug)
    } else {
        "/books".to_owned()
    };
    let Some(quantity) = quantity(&form.quantity) else {
        return visitor
            .redirect(&back, "Enter how many copies you want, from 1 to 99.")
            .into_response();
    };
    let guest = visitor.session.is_none();
    let mut cart = cart_id(&visitor);
    loop {
        let variables = add_to_cart::Variables {
            input: add_to_cart::AddToCartInput {
                cart_id: cart.clone(),
                book_id: form.book_id.clone(),
                quantity,
            },
        };
        let payload = match state
            .api
            .run::<AddToCart>(variables, visitor.session.as_deref())
            .await
        {
            Ok(data) => data.add_to_cart,
            Err(error) => return api_error_page(&state, &error),
        };
        if let Some(error) = payload.user_errors.first() {
            // The guest's cart was checked out (in another tab, say): start
            // a new one, once.
            let stale_cart = cart.is_some()
                && matches!(error.code, add_to_cart::UserErrorCode::NOT_FOUND)
                && error.field.last().map(String::as_str) == Some("cartId");
            if stale_cart {
                cart = None;
                continue;
            }
            return visitor
                .redirect(&back, &sentence(&error.message))
                .into_response();
        }
        let redirect = visitor.redirect("/cart", "Added to your cart");
        return match payload.cart {
            Some(new) if guest && visitor.cart.as_deref() != Some(new.id.as_str()) => {
                redirect.cart(Some(&new.id)).into_response()
            }
            _ => redirect.into_response(),
        };
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LineForm {
    csrf: String,
    book_id: String,
    quantity: String,
}

pub async fn update_line(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<LineForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let Some(quantity) = quantity(&form.quantity) else {
        return visitor
            .redirect("/cart", "Enter how many copies you want, from 1 to 99.")
            .into_response();
    };
    if quantity == 0 {
        return remove(&state, &visitor, form.book_id).await;
    }
    let variables = update_cart_line::Variables {
        input: update_cart_line::UpdateCartLineInput {
            cart_id: cart_id(&visitor),
            book_id: form.book_id,
            quantity,
        },
    };
    match state
        .api
        .run::<UpdateCartLine>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => {
            let message = match data.update_cart_line.user_errors.first() {
                Some(error) => sentence(&error.message),
                None => "Your cart is updated.".to_owned(),
            };
            visitor.redirect("/cart", &message).into_response()
        }
        Err(error) => api_error_page(&state, &error),
    }
}

pub async fn remove_line(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<LineForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    remove(&state, &visitor, form.book_id).await
}

async fn remove(state: &AppState, visitor: &Visitor, book_id: String) -> Response {
    let variables = remove_cart_line::Variables {
        input: remove_cart_line::RemoveCartLineInput {
            cart_id: cart_id(visitor),
            book_id,
        },
    };
    match state
        .api
        .run::<RemoveCartLine>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => {
            let message = match data.remove_cart_line.user_errors.first() {
                Some(error) => sentence(&error.message),
                None => "Removed from your cart.".to_owned(),
            };
            visitor.redirect("/cart", &message).into_response()
        }
        Err(error) => api_error_page(state, &error),
    }
}

// --- Checkout -------------------------------------------------------------

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
        ["input", "payment", ..] => "card_number",
        _ => "form",
    }
}

fn shipping_method(code: &str) -> Option<checkout::ShippingMethodCode> {
    use checkout::ShippingMethodCode;
    match code {
        "STANDARD" => Some(ShippingMethodCode::STANDARD),
        "EXPRESS" => Some(ShippingMethodCode::EXPRESS),
        "PICKUP" => Some(ShippingMethodCode::PICKUP),
        _ => None,
    }
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
        .is_some_and(|cart| cart.ready_for_checkout);
    // Only the first visit is sent back to the cart; a refused checkout
    // keeps its form and says why.
    if !ready && errors.is_empty() {
        let message = match &data.cart {
            Some(cart) if !cart.lines.is_empty() => {
                "Some books in your cart cannot be ordered as they are. Please adjust them first."
            }
            _ => "Your cart is empty.",
        };
        return visitor.redirect("/cart", message).into_response();
    }
    page(
        state,
        visitor,
        status,
        "checkout.html",
        context! {
            title => "Checkout",
            guest => data.viewer.is_none(),
            cart => Value::from(Serde(&data.cart)),
            methods => Value::from(Serde(&data.shipping_methods)),
            values => Value::from(Serde(values)),
            errors,
            idempotency_key => crate::session::random_token(),
        },
    )
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
    let Some(method) = shipping_method(&form.shipping_method) else {
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
    let idempotency_key = given(&form.idempotency_key).unwrap_or_else(crate::session::random_token);
    let variables = checkout::Variables {
        input: checkout::CheckoutInput {
            idempotency_key,
            cart_id: cart_id(&visitor),
            email: given(&form.email),
            shipping_address: checkout::AddressInput {
                name: form.name.clone(),
                line1: form.line1.clone(),
                line2: given(&form.line2),
                city: form.city.clone(),
                region: given(&form.region),
                postal_code: form.postal_code.clone(),
                country: form.country.clone(),
                phone: None,
            },
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
    match (payload.order, payload.user_errors.is_empty()) {
        (Some(order), true) => {
            // The guest form asks for the email; a guest's order page needs it.
            let email = given(&form.email).map(|_| order.email.as_str());
            visitor
                .redirect(
                    &order_path(&order.number, email),
                    &format!("Thank you! Your order {} is placed.", order.number),
                )
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

// --- Orders ---------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailParams {
    email: String,
}

pub async fn show_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    params: Result<Query<EmailParams>, QueryRejection>,
) -> Response {
    if !path_safe(&number) {
        return not_found_page(&state);
    }
    let email = params
        .map(|Query(params)| given(&params.email))
        .unwrap_or_default();
    let variables = order_page::Variables {
        number,
        email: email.clone(),
    };
    match state
        .api
        .run::<OrderPage>(variables, visitor.session.as_deref())
        .await
    {
        Ok(order_page::ResponseData { order: Some(order) }) => page(
            &state,
            &visitor,
            StatusCode::OK,
            "order.html",
            context! {
                title => format!("Order {}", order.number),
                order => Value::from(Serde(&order)),
                email,
            },
        ),
        Ok(_) => not_found_page(&state),
        Err(error) => api_error_page(&state, &error),
    }
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
    let before = params.before.as_deref().and_then(given);
    let after = params.after.as_deref().and_then(given);
    let backwards = before.is_some();
    let variables = order_history::Variables {
        first: (!backwards).then_some(ORDERS_PER_PAGE),
        after: after.filter(|_| !backwards),
        last: backwards.then_some(ORDERS_PER_PAGE),
        before,
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
    let link = |after: Option<String>, before: Option<String>| {
        let query = serde_urlencoded::to_string(PageParams { after, before }).unwrap_or_default();
        format!("/account/orders?{query}")
    };
    let info = &orders.page_info;
    let next = info
        .has_next_page
        .then(|| link(info.end_cursor.clone(), None));
    let previous = info
        .has_previous_page
        .then(|| link(None, info.start_cursor.clone()));
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

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("only 3 in stock"), "Only 3 in stock.");
        assert_eq!(sentence("Done!"), "Done!");
        assert!(!sentence("").is_empty());
    }

    #[test]
    fn only_plain_slugs_and_numbers_go_into_redirects() {
        assert!(path_safe("BK-100001"));
        assert!(path_safe("moby-dick"));
        assert!(!path_safe(""));
        assert!(!path_safe("//evil.example"));
        assert!(!path_safe("a\r\nSet-Cookie: x"));
        assert_eq!(
            order_path("BK-1", Some("a+b@example.com")),
            "/orders/BK-1?email=a%2Bb%40example.com"
        );
        assert_eq!(order_path("BK-1", None), "/orders/BK-1");
    }
}
