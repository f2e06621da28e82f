//! The `checkout` mutation's input and its checks that need no cart: the
//! receipt's email, the shipping address and the card, every problem at
//! once. Never reserves, charges or looks at the cart (that is
//! [`super::checkout`]).

use async_graphql::{Context, ID, InputObject, Result};

use super::order::Address;
use crate::auth::Viewer;
use crate::db::{self, orders::NewAddress};
use crate::error::Error;
use crate::graphql::carts::ShippingMethodCode;
use crate::graphql::connections::primary_connection;
use crate::graphql::ids::{NodeType, decode_as};
use crate::graphql::user_errors::{UserError, UserErrorCode};
use crate::graphql::validation::{NOT_ONE_LINE, is_one_line};
use crate::payments::Card;

#[derive(InputObject, serde::Serialize)]
pub struct PaymentInput {
    /// With the built-in test gateway: 4242 4242 4242 4242 is approved,
    /// 4000 0000 0000 0002 declined, 4000 0000 0000 0119 fails,
    /// 4000 0000 0000 0077 never answers, 4000 0000 0000 0085 is charged but
    /// the answer never arrives.
    pub card_number: String,
}

#[derive(InputObject, serde::Serialize)]
pub struct CheckoutInput {
    /// Any unique string per checkout attempt (a UUID): a retry with the same
    /// key and input returns the same order and charges once.
    pub idempotency_key: String,
    /// The cart's id; omit for the signed-in customer's cart.
    pub cart_id: Option<ID>,
    /// Where the receipt goes; required for guests (signed-in customers use
    /// their account's email).
    pub email: Option<String>,
    /// Where to ship; omit when `savedAddressId` is given.
    pub shipping_address: Option<Address>,
    /// One of the signed-in customer's saved addresses (`viewer.addresses`)
    /// to ship to, instead of `shippingAddress`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_address_id: Option<ID>,
    /// With `shippingAddress`, for a signed-in customer: also keep it in
    /// their addresses once the order is placed (skipped when they already
    /// keep the most allowed).
    #[graphql(default = false)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub save_address: bool,
    pub shipping_method: ShippingMethodCode,
    pub payment: PaymentInput,
}

/// The customer's saved address to ship to, or why it cannot be used.
async fn saved_address(
    ctx: &Context<'_>,
    viewer: Option<&Viewer>,
    id: &ID,
) -> Result<Result<NewAddress, Vec<UserError>>> {
    let not_found = |message: &str| {
        Ok(Err(vec![UserError::new(
            &["input", "savedAddressId"],
            UserErrorCode::NotFound,
            message,
        )]))
    };
    let Some(viewer) = viewer else {
        return not_found("sign in to use a saved address");
    };
    let Ok(id) = decode_as(NodeType::SavedAddress, id) else {
        return not_found("no such saved address");
    };
    let mut conn = primary_connection(ctx).await?;
    let found = db::saved_addresses::find(&mut conn, viewer.user_id, id)
        .await
        .map_err(Error::from)?;
    let Some(saved) = found else {
        return not_found("no such saved address");
    };
    Ok(Ok(NewAddress {
        name: saved.name,
        line1: saved.line1,
        line2: saved.line2,
        city: saved.city,
        region: saved.region,
        postal_code: saved.postal_code,
        country: saved.country,
        phone: saved.phone,
    }))
}

/// The address as stored, or every problem with it (all at once), each at
/// `path` + the field's name (`["input", "shippingAddress", "city"]`). Also
/// checks a customer's saved addresses (`accounts::addresses`).
pub fn check_address(address: &Address, path: &[&str]) -> Result<NewAddress, Vec<UserError>> {
    let mut errors = Vec::new();
    let mut problem = |name: &str, message: String| {
        let mut field: Vec<String> = path.iter().map(|part| (*part).to_owned()).collect();
        field.push(name.to_owned());
        errors.push(UserError {
            field,
            message,
            code: UserErrorCode::Invalid,
        });
    };
    let mut required = |name: &str, value: &str, max: usize| -> String {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > max {
            problem(name, format!("enter up to {max} characters"));
        } else if !is_one_line(value) {
            problem(name, NOT_ONE_LINE.to_owned());
        }
        value.to_owned()
    };
    let name = required("name", &address.name, 200);
    let line1 = required("line1", &address.line1, 200);
    let city = required("city", &address.city, 100);
    let postal_code = required("postalCode", &address.postal_code, 20);
    let mut optional = |name: &str, value: &Option<String>, max: usize| -> Option<String> {
        let value = value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())?;
        if value.chars().count() > max {
            problem(name, format!("use at most {max} characters"));
        } else if !is_one_line(value) {
            problem(name, NOT_ONE_LINE.to_owned());
        }
        Some(value.to_owned())
    };
    let line2 = optional("line2", &address.line2, 200);
    let region = optional("region", &address.region, 100);
    let phone = optional("phone", &address.phone, 40);
    let country = address.country.trim().to_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        problem(
            "country",
            "use the two-letter country code, such as US".to_owned(),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewAddress {
        name,
        line1,
        line2,
        city,
        region,
        postal_code,
        country,
        phone,
    })
}

/// The receipt's email: the signed-in customer's, else the guest's input.
async fn receipt_email(
    ctx: &Context<'_>,
    viewer: Option<&Viewer>,
    input: Option<&str>,
) -> Result<Result<String, UserError>> {
    if let Some(viewer) = viewer {
        if let Some(profile) = &viewer.profile {
            return Ok(Ok(profile.email.clone()));
        }
        let mut conn = primary_connection(ctx).await?;
        let user = db::users::find(&mut conn, viewer.user_id)
            .await
            .map_err(Error::from)?
            .ok_or(Error::Unauthenticated)?;
        return Ok(Ok(user.email));
    }
    Ok(match input.map(str::trim) {
        Some(email)
            if email.contains('@')
                && email.len() <= 254
                && !email.contains(char::is_whitespace) =>
        {
            Ok(email.to_owned())
        }
        _ => Err(UserError::invalid(
            "email",
            "enter the email for the receipt",
        )),
    })
}

/// Every problem with the input that needs no database, all at once, or
/// the validated email, address and card.
pub(super) async fn check_input(
    ctx: &Context<'_>,
    viewer: Option<&Viewer>,
    input: &CheckoutInput,
) -> Result<Result<(String, NewAddress, Card), Vec<UserError>>> {
    let mut errors = Vec::new();
    let key = input.idempotency_key.trim();
    if key.is_empty() || key.len() > 200 {
        errors.push(UserError::invalid(
            "idempotencyKey",
            "use 1 to 200 characters",
        ));
    }
    let email = receipt_email(ctx, viewer, input.email.as_deref())
        .await?
        .map_err(|error| errors.push(error))
        .ok();
    let address = match (&input.saved_address_id, &input.shipping_address) {
        (Some(id), _) => saved_address(ctx, viewer, id).await?,
        (None, Some(address)) => check_address(address, &["input", "shippingAddress"]),
        (None, None) => Err(vec![UserError::invalid(
            "shippingAddress",
            "enter the shipping address",
        )]),
    }
    .map_err(|problems| errors.extend(problems))
    .ok();
    let card = Card::new(&input.payment.card_number);
    if !card.is_plausible() {
        errors.push(UserError {
            field: vec!["input".into(), "payment".into(), "cardNumber".into()],
            message: "enter a valid card number".to_owned(),
            code: UserErrorCode::Invalid,
        });
    }
    Ok(match (email, address) {
        (Some(email), Some(address)) if errors.is_empty() => Ok((email, address, card)),
        _ => Err(errors),
    })
}
