//! User queries: accounts by id or (case-insensitive) email, creation,
//! profile and password changes. Never hashes or checks a password
//! (`auth::passwords` does); stores only the hash it is given.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

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
}

impl User {
    pub fn is_staff(&self) -> bool {
        self.role == ROLE_STAFF
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
/// new password. Returns the user and whether it was created.
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
        let user = update(conn, existing.id, &changes)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
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
    Ok((user, true))
}
