//! A signed-in customer's saved addresses: the `SavedAddress` type,
//! `User.addresses` (served by [`addresses_of`]) and `addAddress`,
//! `updateAddress`, `deleteAddress`, `setDefaultAddress`. Checkout ships
//! to one by `savedAddressId` (`orders::checkout_input`).
//!
//! Addresses are checked as checkout checks them (one function,
//! `orders::checkout_input::check_address`). A customer only ever sees and
//! changes their own: another's id is `NOT_FOUND`, exactly like an id that
//! never existed.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::auth::require_user;
use crate::db::saved_addresses::{self, MAX_PER_USER};
use crate::error::Error;
use crate::graphql::connections::primary_connection;
use crate::graphql::ids::{NodeType, decode_as, global_id};
use crate::graphql::orders::checkout_input::check_address;
use crate::graphql::orders::order::Address;
use crate::graphql::user_errors::{UserError, UserErrorCode};

/// An address the customer keeps for their next orders.
#[derive(SimpleObject)]
pub struct SavedAddress {
    pub id: ID,
    pub address: Address,
    /// The one checkout offers first.
    pub is_default: bool,
    pub updated_at: DateTime<Utc>,
}

impl From<saved_addresses::SavedAddress> for SavedAddress {
    fn from(row: saved_addresses::SavedAddress) -> Self {
        Self {
            id: global_id(NodeType::SavedAddress, row.id),
            is_default: row.is_default,
            updated_at: row.updated_at,
            address: Address {
                name: row.name,
                line1: row.line1,
                line2: row.line2,
                city: row.city,
                region: row.region,
                postal_code: row.postal_code,
                country: row.country,
                phone: row.phone,
            },
        }
    }
}

/// The user's addresses, the default first (one statement).
pub async fn addresses_of(ctx: &Context<'_>, user_id: i64) -> Result<Vec<SavedAddress>> {
    let mut conn = primary_connection(ctx).await?;
    let rows = saved_addresses::list(&mut conn, user_id)
        .await
        .map_err(Error::from)?;
    Ok(rows.into_iter().map(SavedAddress::from).collect())
}

#[derive(InputObject)]
pub struct AddAddressInput {
    pub address: Address,
    /// Make it the default (a customer's first address always is).
    #[graphql(default = false)]
    pub make_default: bool,
}

#[derive(InputObject)]
pub struct UpdateAddressInput {
    pub id: ID,
    /// Replaces every field (omitted optional ones are cleared).
    pub address: Address,
}

#[derive(InputObject)]
pub struct AddressIdInput {
    pub id: ID,
}

/// What the address mutations return: the address changed (none after a
/// delete), all the customer's addresses as they now are, and what was wrong.
#[derive(SimpleObject, Default)]
pub struct AddressPayload {
    pub address: Option<SavedAddress>,
    pub addresses: Vec<SavedAddress>,
    pub user_errors: Vec<UserError>,
}

impl AddressPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self {
            user_errors: errors,
            ..Self::default()
        }
    }

    fn not_found() -> Self {
        Self::failed(vec![UserError::new(
            &["input", "id"],
            UserErrorCode::NotFound,
            "no such address",
        )])
    }

    /// The changed address and the customer's addresses after the change.
    async fn done(
        ctx: &Context<'_>,
        user_id: i64,
        address: Option<saved_addresses::SavedAddress>,
    ) -> Result<Self> {
        Ok(Self {
            address: address.map(SavedAddress::from),
            addresses: addresses_of(ctx, user_id).await?,
            user_errors: Vec::new(),
        })
    }
}

/// The database id of one of *some* customer's addresses; whose is checked
/// by every statement (scoped by the owner).
fn address_id(id: &ID) -> Option<i64> {
    decode_as(NodeType::SavedAddress, id).ok()
}

#[derive(Default)]
pub struct AddressMutation;

#[Object]
impl AddressMutation {
    /// Keeps a new address (at most 20 per customer).
    async fn add_address(
        &self,
        ctx: &Context<'_>,
        input: AddAddressInput,
    ) -> Result<AddressPayload> {
        let viewer = require_user(ctx).await?;
        let address = match check_address(&input.address, &["input", "address"]) {
            Ok(address) => address,
            Err(errors) => return Ok(AddressPayload::failed(errors)),
        };
        let added = {
            let mut conn = primary_connection(ctx).await?;
            saved_addresses::add(&mut conn, viewer.user_id, &address, input.make_default)
                .await
                .map_err(Error::from)?
        };
        match added {
            Ok(saved) => AddressPayload::done(ctx, viewer.user_id, Some(saved)).await,
            Err(_) => Ok(AddressPayload::failed(vec![UserError::invalid(
                "address",
                format!("you can keep at most {MAX_PER_USER} addresses: delete one first"),
            )])),
        }
    }

    /// Changes one of the customer's addresses.
    async fn update_address(
        &self,
        ctx: &Context<'_>,
        input: UpdateAddressInput,
    ) -> Result<AddressPayload> {
        let viewer = require_user(ctx).await?;
        let address = match check_address(&input.address, &["input", "address"]) {
            Ok(address) => address,
            Err(errors) => return Ok(AddressPayload::failed(errors)),
        };
        let Some(id) = address_id(&input.id) else {
            return Ok(AddressPayload::not_found());
        };
        let updated = {
            let mut conn = primary_connection(ctx).await?;
            saved_addresses::update(&mut conn, viewer.user_id, id, &address)
                .await
                .map_err(Error::from)?
        };
        match updated {
            Some(saved) => AddressPayload::done(ctx, viewer.user_id, Some(saved)).await,
            None => Ok(AddressPayload::not_found()),
        }
    }

    /// Deletes one of the customer's addresses (placed orders keep their
    /// own copy). If it was the default, the oldest left becomes it.
    async fn delete_address(
        &self,
        ctx: &Context<'_>,
        input: AddressIdInput,
    ) -> Result<AddressPayload> {
        let viewer = require_user(ctx).await?;
        let Some(id) = address_id(&input.id) else {
            return Ok(AddressPayload::not_found());
        };
        let deleted = {
            let mut conn = primary_connection(ctx).await?;
            saved_addresses::delete(&mut conn, viewer.user_id, id)
                .await
                .map_err(Error::from)?
        };
        if !deleted {
            return Ok(AddressPayload::not_found());
        }
        AddressPayload::done(ctx, viewer.user_id, None).await
    }

    /// Makes one of the customer's addresses the default.
    async fn set_default_address(
        &self,
        ctx: &Context<'_>,
        input: AddressIdInput,
    ) -> Result<AddressPayload> {
        let viewer = require_user(ctx).await?;
        let Some(id) = address_id(&input.id) else {
            return Ok(AddressPayload::not_found());
        };
        let changed = {
            let mut conn = primary_connection(ctx).await?;
            saved_addresses::set_default(&mut conn, viewer.user_id, id)
                .await
                .map_err(Error::from)?
        };
        match changed {
            Some(saved) => AddressPayload::done(ctx, viewer.user_id, Some(saved)).await,
            None => Ok(AddressPayload::not_found()),
        }
    }
}
