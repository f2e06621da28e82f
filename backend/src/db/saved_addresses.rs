//! A customer's saved addresses (their address book): listing, adding (at
//! most [`MAX_PER_USER`], counted under a lock on the user's row so two
//! adds at once cannot pass it), editing, deleting and choosing the default
//! (at most one, a partial unique index says so).
//!
//! Every read and write is scoped by the owner's id: a customer never sees
//! nor changes another's row (the id alone finds nothing). An order copies
//! its address into `addresses` (`super::reservations`), so nothing here
//! changes a placed order. Knows nothing of GraphQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::orders::NewAddress;
use super::schema::{saved_addresses, users};

/// The most addresses one customer may keep.
pub const MAX_PER_USER: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = saved_addresses)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct SavedAddress {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = saved_addresses)]
struct NewSavedAddress<'a> {
    user_id: i64,
    name: &'a str,
    line1: &'a str,
    line2: Option<&'a str>,
    city: &'a str,
    region: Option<&'a str>,
    postal_code: &'a str,
    country: &'a str,
    phone: Option<&'a str>,
    is_default: bool,
}

/// The fields an edit replaces (all of them: `None` clears an optional one).
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = saved_addresses, treat_none_as_null = true)]
struct SavedAddressChanges<'a> {
    name: &'a str,
    line1: &'a str,
    line2: Option<&'a str>,
    city: &'a str,
    region: Option<&'a str>,
    postal_code: &'a str,
    country: &'a str,
    phone: Option<&'a str>,
}

/// The customer already keeps [`MAX_PER_USER`] addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressBookFull;

/// The customer's addresses, the default first, then oldest first.
pub async fn list(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<SavedAddress>> {
    saved_addresses::table
        .filter(saved_addresses::user_id.eq(user_id))
        .order((saved_addresses::is_default.desc(), saved_addresses::id))
        .select(SavedAddress::as_select())
        .load(conn)
        .await
}

/// One of the customer's addresses (`None` if it is not theirs).
pub async fn find(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<SavedAddress>> {
    saved_addresses::table
        .filter(saved_addresses::id.eq(id))
        .filter(saved_addresses::user_id.eq(user_id))
        .select(SavedAddress::as_select())
        .first(conn)
        .await
        .optional()
}

/// Adds an address; the customer's first becomes the default, and so does
/// one added with `make_default`.
pub async fn add(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    address: &NewAddress,
    make_default: bool,
) -> QueryResult<Result<SavedAddress, AddressBookFull>> {
    conn.transaction(async |conn| {
        // One add at a time per customer: the count below sees them all.
        users::table
            .find(user_id)
            .select(users::id)
            .for_no_key_update()
            .first::<i64>(conn)
            .await?;
        let kept: i64 = saved_addresses::table
            .filter(saved_addresses::user_id.eq(user_id))
            .count()
            .get_result(conn)
            .await?;
        if kept >= MAX_PER_USER {
            return Ok(Err(AddressBookFull));
        }
        let is_default = make_default || kept == 0;
        if is_default {
            clear_default(conn, user_id).await?;
        }
        let row = NewSavedAddress {
            user_id,
            name: &address.name,
            line1: &address.line1,
            line2: address.line2.as_deref(),
            city: &address.city,
            region: address.region.as_deref(),
            postal_code: &address.postal_code,
            country: &address.country,
            phone: address.phone.as_deref(),
            is_default,
        };
        let saved = diesel::insert_into(saved_addresses::table)
            .values(&row)
            .returning(SavedAddress::as_returning())
            .get_result(conn)
            .await?;
        Ok(Ok(saved))
    })
    .await
}

async fn clear_default(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<usize> {
    diesel::update(
        saved_addresses::table
            .filter(saved_addresses::user_id.eq(user_id))
            .filter(saved_addresses::is_default),
    )
    .set(saved_addresses::is_default.eq(false))
    .execute(conn)
    .await
}

/// Replaces one of the customer's addresses (`None` if it is not theirs).
pub async fn update(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
    address: &NewAddress,
) -> QueryResult<Option<SavedAddress>> {
    let changes = SavedAddressChanges {
        name: &address.name,
        line1: &address.line1,
        line2: address.line2.as_deref(),
        city: &address.city,
        region: address.region.as_deref(),
        postal_code: &address.postal_code,
        country: &address.country,
        phone: address.phone.as_deref(),
    };
    diesel::update(
        saved_addresses::table
            .filter(saved_addresses::id.eq(id))
            .filter(saved_addresses::user_id.eq(user_id)),
    )
    .set(&changes)
    .returning(SavedAddress::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Makes one of the customer's addresses the default (`None` if it is not
/// theirs; then nothing changes).
pub async fn set_default(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<SavedAddress>> {
    conn.transaction(async |conn| {
        if find(conn, user_id, id).await?.is_none() {
            return Ok(None);
        }
        clear_default(conn, user_id).await?;
        diesel::update(
            saved_addresses::table
                .filter(saved_addresses::id.eq(id))
                .filter(saved_addresses::user_id.eq(user_id)),
        )
        .set(saved_addresses::is_default.eq(true))
        .returning(SavedAddress::as_returning())
        .get_result(conn)
        .await
        .optional()
    })
    .await
}

/// Deletes one of the customer's addresses (`false` if it is not theirs).
/// When it was the default, the oldest one left becomes the default.
pub async fn delete(conn: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        let deleted: Option<bool> = diesel::delete(
            saved_addresses::table
                .filter(saved_addresses::id.eq(id))
                .filter(saved_addresses::user_id.eq(user_id)),
        )
        .returning(saved_addresses::is_default)
        .get_result(conn)
        .await
        .optional()?;
        let Some(was_default) = deleted else {
            return Ok(false);
        };
        if was_default {
            let oldest = saved_addresses::table
                .filter(saved_addresses::user_id.eq(user_id))
                .order(saved_addresses::id)
                .select(saved_addresses::id)
                .first::<i64>(conn)
                .await
                .optional()?;
            if let Some(oldest) = oldest {
                diesel::update(saved_addresses::table.find(oldest))
                    .set(saved_addresses::is_default.eq(true))
                    .execute(conn)
                    .await?;
            }
        }
        Ok(true)
    })
    .await
}
