//! User queries: accounts by id or (case-insensitive) email, creation,
//! profile and password changes, the verified mark. Never hashes or checks a
//! password (`auth::passwords` does); stores only the hash it is given. The
//! mailed-token flows (verify, reset, change of email) are in
//! `db::account_tokens`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::constraints::none_if_taken;
use super::schema::users;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the current email was proven (a mailed link followed); `None`:
    /// unverified.
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_staff(&self) -> bool {
        self.role == ROLE_STAFF
    }

    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// Whether `email` is this account's address (in any letter case).
    pub fn has_email(&self, email: &str) -> bool {
        self.email.to_lowercase() == email.to_lowercase()
    }
}

pub const ROLE_CUSTOMER: &str = "customer";
pub const ROLE_STAFF: &str = "staff";

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: String,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<String>,
}

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Inserts the user unless the email is taken (in any letter case): then
/// `Ok(None)`, and no statement failed, so a transaction can go on (a
/// concurrent insert of the same email is waited for, then conflicts).
pub async fn insert_if_new(
    conn: &mut AsyncPgConnection,
    user: &NewUser,
) -> QueryResult<Option<User>> {
    diesel::insert_into(users::table)
        .values(user)
        .on_conflict_do_nothing()
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Inserts the user; `Ok(None)` when the email is taken (in any letter case).
pub async fn insert(conn: &mut AsyncPgConnection, user: &NewUser) -> QueryResult<Option<User>> {
    let written = diesel::insert_into(users::table)
        .values(user)
        .returning(User::as_returning())
        .get_result(conn)
        .await;
    none_if_taken(written)
}

/// Applies `changes`; `Ok(None)` when a new email is taken by someone else.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &UserChanges,
) -> QueryResult<Option<User>> {
    let written = diesel::update(users::table.find(id))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await;
    none_if_taken(written)
}

/// Creates the staff account, or makes an existing account staff with the
/// new password; either way its email counts as verified (the operator
/// vouches for it). Returns the user and whether it was created.
pub async fn upsert_staff(
    conn: &mut AsyncPgConnection,
    email: &str,
    name: &str,
    password_hash: &str,
) -> QueryResult<(User, bool)> {
    if let Some(existing) = find_by_email(conn, email).await? {
        let changes = UserChanges {
            password_hash: Some(password_hash.to_owned()),
            role: Some(ROLE_STAFF.to_owned()),
            ..UserChanges::default()
        };
        update(conn, existing.id, &changes)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
        let user = mark_verified(conn, existing.id).await?;
        return Ok((user, false));
    }
    let new_user = NewUser {
        email: email.to_owned(),
        name: name.to_owned(),
        password_hash: password_hash.to_owned(),
        role: ROLE_STAFF.to_owned(),
    };
    let user = insert(conn, &new_user)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    let user = mark_verified(conn, user.id).await?;
    Ok((user, true))
}

/// Marks the account's current email verified (kept as it was if it
/// already was).
pub async fn mark_verified(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(users::email_verified_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(email_verified_at, now())")))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Moves the account to `email`, verified now. A unique violation when
/// another account has it meanwhile (the caller's transaction is then
/// aborted: let it roll back).
pub async fn switch_email(conn: &mut AsyncPgConnection, id: i64, email: &str) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("now()")),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Whether an account other than `except` has `email` (any letter case).
pub async fn email_taken_by_other(
    conn: &mut AsyncPgConnection,
    email: &str,
    except: i64,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(lower(users::email).eq(email.to_lowercase()))
            .filter(users::id.ne(except)),
    ))
    .get_result(conn)
    .await
}

/// Sets a new password hash, ends every session of the account but
/// `keep`, and queues `changed(account)`, in one transaction.
pub async fn change_password(
    conn: &mut AsyncPgConnection,
    id: i64,
    password_hash: &str,
    keep: Option<i64>,
    changed: impl FnOnce(&User) -> super::outbox::NewMessage + Send,
) -> QueryResult<Option<User>> {
    conn.transaction(async |conn| {
        let changes = UserChanges {
            password_hash: Some(password_hash.to_owned()),
            ..UserChanges::default()
        };
        let Some(user) = update(conn, id, &changes).await? else {
            return Ok(None);
        };
        super::sessions::delete_others(conn, id, keep).await?;
        super::outbox::enqueue(conn, &changed(&user)).await?;
        Ok(Some(user))
    })
    .await
}
