//! A signed-in customer's saved addresses (`/account/addresses`): the list,
//! adding one, editing, deleting and choosing the default. Checkout offers
//! them (`checkout`). A signed-out visitor is sent to sign in. Every check
//! (fields, the limit, whose address it is) is the backend's; its errors
//! go next to their fields (adding) or into the page's message (the rest).

use std::collections::BTreeMap;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use super::operations::{
    AddAddress, AddressBook, DeleteAddress, SetDefaultAddress, UpdateAddress, add_address,
    address_book, delete_address, set_default_address, update_address,
};
use crate::pages::messages::sentence;
use crate::pages::page::{api_error_page, page};
use crate::pages::params::given;
use crate::session::Visitor;
use crate::state::AppState;

const HERE: &str = "/account/addresses";

/// An address form as submitted (adding, or editing one).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AddressForm {
    #[serde(skip_serializing)]
    csrf: String,
    /// Editing: "update", "delete" or "default".
    #[serde(skip_serializing)]
    action: String,
    name: String,
    line1: String,
    line2: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    make_default: String,
}

/// The form field a backend error is about (`["input", "address", "city"]`).
fn address_field(path: &[String]) -> &'static str {
    match path.get(2).map(String::as_str) {
        Some("name") => "name",
        Some("line1") => "line1",
        Some("line2") => "line2",
        Some("city") => "city",
        Some("region") => "region",
        Some("postalCode") => "postal_code",
        Some("country") => "country",
        _ => "form",
    }
}

fn sign_in(visitor: &Visitor) -> Response {
    visitor
        .redirect(
            &format!("/login?next={HERE}"),
            "Please sign in to see your addresses.",
        )
        .into_response()
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    values: &AddressForm,
    errors: BTreeMap<&'static str, String>,
) -> Response {
    let data = match state
        .api
        .run::<AddressBook>(address_book::Variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => data,
        Err(error) => return api_error_page(state, &error),
    };
    let Some(viewer) = data.viewer else {
        return sign_in(visitor);
    };
    page(
        state,
        visitor,
        status,
        "addresses.html",
        context! {
            title => "Your addresses",
            addresses => Value::from(Serde(&viewer.addresses)),
            values => Value::from(Serde(values)),
            errors,
        },
    )
}

pub async fn list(State(state): State<AppState>, visitor: Visitor) -> Response {
    if visitor.session.is_none() {
        return sign_in(&visitor);
    }
    let values = AddressForm::default();
    render(&state, &visitor, StatusCode::OK, &values, BTreeMap::new()).await
}

macro_rules! address_input {
    ($operation:ident, $form:expr) => {
        $operation::AddressInput {
            name: $form.name.clone(),
            line1: $form.line1.clone(),
            line2: given(&$form.line2),
            city: $form.city.clone(),
            region: given(&$form.region),
            postal_code: $form.postal_code.clone(),
            country: $form.country.clone(),
            phone: None,
        }
    };
}

pub async fn add(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<AddressForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    if visitor.session.is_none() {
        return sign_in(&visitor);
    }
    let variables = add_address::Variables {
        input: add_address::AddAddressInput {
            address: address_input!(add_address, form),
            make_default: form.make_default == "1",
        },
    };
    let payload = match state
        .api
        .run::<AddAddress>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => data.add_address,
        Err(error) => return api_error_page(&state, &error),
    };
    if payload.user_errors.is_empty() {
        return visitor.redirect(HERE, "Address saved.").into_response();
    }
    let mut errors = BTreeMap::new();
    for error in &payload.user_errors {
        errors
            .entry(address_field(&error.field))
            .or_insert_with(|| sentence(&error.message));
    }
    render(
        &state,
        &visitor,
        StatusCode::UNPROCESSABLE_ENTITY,
        &form,
        errors,
    )
    .await
}

/// Edits, deletes or makes default one address (`action`).
pub async fn change(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<AddressForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    if visitor.session.is_none() {
        return sign_in(&visitor);
    }
    let session = visitor.session.as_deref();
    let (done, errors) = match form.action.as_str() {
        "delete" => {
            let input = delete_address::AddressIdInput { id };
            let variables = delete_address::Variables { input };
            match state.api.run::<DeleteAddress>(variables, session).await {
                Ok(data) => (
                    "Address deleted.",
                    data.delete_address
                        .user_errors
                        .into_iter()
                        .map(|e| e.message)
                        .collect::<Vec<_>>(),
                ),
                Err(error) => return api_error_page(&state, &error),
            }
        }
        "default" => {
            let input = set_default_address::AddressIdInput { id };
            let variables = set_default_address::Variables { input };
            match state.api.run::<SetDefaultAddress>(variables, session).await {
                Ok(data) => (
                    "Default address changed.",
                    data.set_default_address
                        .user_errors
                        .into_iter()
                        .map(|e| e.message)
                        .collect(),
                ),
                Err(error) => return api_error_page(&state, &error),
            }
        }
        _ => {
            let input = update_address::UpdateAddressInput {
                id,
                address: address_input!(update_address, form),
            };
            let variables = update_address::Variables { input };
            match state.api.run::<UpdateAddress>(variables, session).await {
                Ok(data) => (
                    "Address saved.",
                    data.update_address
                        .user_errors
                        .into_iter()
                        .map(|e| e.message)
                        .collect(),
                ),
                Err(error) => return api_error_page(&state, &error),
            }
        }
    };
    let message = if errors.is_empty() {
        done.to_owned()
    } else {
        let errors: Vec<String> = errors.iter().map(|error| sentence(error)).collect();
        format!("Nothing was changed: {}", errors.join(" "))
    };
    visitor.redirect(HERE, &message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_errors_find_their_fields() {
        let path = |parts: &[&str]| parts.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            address_field(&path(&["input", "address", "postalCode"])),
            "postal_code"
        );
        assert_eq!(address_field(&path(&["input", "address"])), "form");
    }
}
