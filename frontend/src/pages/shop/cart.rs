//! The cart: its page, and adding, changing and removing lines.
//!
//! Owns which cart a visitor has (a signed-in customer's by the session, a
//! guest's by its cookie) and starting a new guest cart when the old one is
//! gone. It never computes a price or checks stock (the backend does).

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use graphql_client::GraphQLQuery;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

use super::links::path_safe;
use super::operations::{
    AddToCart, CartPage, RemoveCartLine, UpdateCartLine, add_to_cart, cart_page, remove_cart_line,
    update_cart_line,
};
use crate::pages::messages::sentence;
use crate::pages::page::{api_error_page, page};
use crate::session::Visitor;
use crate::state::AppState;

/// What a form with a quantity that is not a number is told.
const ASK_QUANTITY: &str = "Enter how many copies you want, from 1 to 99.";

/// A page that read the visitor's cart itself (the cart, checkout) says
/// how many items it holds, in its response's extensions: `cart_count` then
/// fills the slot without asking the backend again.
#[derive(Debug, Clone, Copy)]
pub struct Known(pub i64);

impl Known {
    /// `response` marked with the count its page read.
    pub fn mark(count: i64, mut response: Response) -> Response {
        response.extensions_mut().insert(Self(count));
        response
    }
}

/// The guest cart to use: a signed-in customer's cart needs no id (the
/// backend finds it by the session), a guest's is in its cookie.
pub(super) fn cart_id(visitor: &Visitor) -> Option<String> {
    match visitor.session {
        Some(_) => None,
        None => visitor.cart.clone(),
    }
}

/// A quantity typed into a form; the backend checks the range.
fn quantity(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

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
    let count = cart.as_ref().map_or(0, |cart| cart.item_count);
    let page = page(
        &state,
        &visitor,
        StatusCode::OK,
        "cart.html",
        context! {
            title => "Your cart",
            cart => Value::from(Serde(&cart)),
        },
    );
    Known::mark(count, page)
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
        return visitor.redirect(&back, ASK_QUANTITY).into_response();
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
        return visitor.redirect("/cart", ASK_QUANTITY).into_response();
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
    change_line::<UpdateCartLine>(
        &state,
        &visitor,
        variables,
        "Your cart is updated.",
        |data| {
            data.update_cart_line
                .user_errors
                .into_iter()
                .next()
                .map(|error| error.message)
        },
    )
    .await
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
    change_line::<RemoveCartLine>(
        state,
        visitor,
        variables,
        "Removed from your cart.",
        |data| {
            data.remove_cart_line
                .user_errors
                .into_iter()
                .next()
                .map(|error| error.message)
        },
    )
    .await
}

/// Runs a change to a cart line, then back to the cart with the backend's
/// first userError as a sentence, or `done`.
async fn change_line<Q: GraphQLQuery>(
    state: &AppState,
    visitor: &Visitor,
    variables: Q::Variables,
    done: &str,
    first_error: impl FnOnce(Q::ResponseData) -> Option<String>,
) -> Response {
    match state
        .api
        .run::<Q>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => {
            let message = match first_error(data) {
                Some(error) => sentence(&error),
                None => done.to_owned(),
            };
            visitor.redirect("/cart", &message).into_response()
        }
        Err(error) => api_error_page(state, &error),
    }
}
