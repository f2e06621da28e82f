//! Account tokens: single-use, expiring tokens mailed to an address to
//! verify it (`verify_email`), to reset the password (`reset_password`) or
//! to move the account to it (`change_email`), and the transactions that
//! issue and use them together with the messages they cause.
//!
//! Only a token's SHA-256 is stored. A token is used by one conditional
//! `UPDATE … WHERE used_at IS NULL AND expires_at > now() RETURNING`, so
//! two concurrent uses succeed once. Issuing a token deletes the unused
//! tokens of the same user and purpose (the newest link wins). Every
//! message is queued (`db::outbox::enqueue`) in the transaction of the
//! change it reports, so it is sent if and only if the change commits.
//!
//! Never sees a token itself, never builds a message's content (callers
//! pass the messages, or closures that make them once the account is
//! known), never talks to SMTP.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::constraints::unique_violation;
use super::outbox::{self, NewMessage};
use super::schema::account_tokens;
use super::users::{self, NewUser, User};
use super::{orders, sessions};

/// Proves the account's current address when followed.
pub const VERIFY_EMAIL: &str = "verify_email";
/// Sets a new password (and proves the address it was mailed to).
pub const RESET_PASSWORD: &str = "reset_password";
/// Moves the account to the address it was mailed to.
pub const CHANGE_EMAIL: &str = "change_email";

/// A token to store: its hash, what it is for, and where it was mailed.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = account_tokens)]
pub struct NewAccountToken {
    pub user_id: i64,
    pub purpose: &'static str,
    /// The address the token is mailed to.
    pub email: String,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = account_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct AccountToken {
    pub id: i64,
    pub user_id: i64,
    pub purpose: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Stores `token`, deleting the unused tokens of the same user and purpose
/// first. Returns its id. Run it inside the transaction that mails it.
pub async fn issue(conn: &mut AsyncPgConnection, token: &NewAccountToken) -> QueryResult<i64> {
    diesel::delete(
        account_tokens::table
            .filter(account_tokens::user_id.eq(token.user_id))
            .filter(account_tokens::purpose.eq(token.purpose))
            .filter(account_tokens::used_at.is_null()),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(account_tokens::table)
        .values(token)
        .returning(account_tokens::id)
        .get_result(conn)
        .await
}

/// Issues `token` and queues `messages` (the one carrying it, and any
/// notice), in one transaction.
pub async fn issue_and_send(
    conn: &mut AsyncPgConnection,
    token: &NewAccountToken,
    messages: &[NewMessage],
) -> QueryResult<()> {
    conn.transaction(async |conn| {
        issue(conn, token).await?;
        for message in messages {
            outbox::enqueue(conn, message).await?;
        }
        Ok(())
    })
    .await
}

/// The token with this hash if it can still be used (unused, unexpired)
/// for one of `purposes`. A look only: [`consume`] decides.
pub async fn find_live(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    purposes: &[&str],
) -> QueryResult<Option<AccountToken>> {
    account_tokens::table
        .filter(account_tokens::token_hash.eq(token_hash))
        .filter(account_tokens::purpose.eq_any(purposes))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(diesel::dsl::now))
        .select(AccountToken::as_select())
        .first(conn)
        .await
        .optional()
}

/// Uses the token with this hash if it is unused, unexpired and for one of
/// `purposes`: one statement, so of two concurrent uses one gets the token
/// and the other `None` (it waits for the first's row lock, then finds the
/// token used).
async fn consume(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    purposes: &[&str],
) -> QueryResult<Option<AccountToken>> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::token_hash.eq(token_hash))
            .filter(account_tokens::purpose.eq_any(purposes))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(diesel::dsl::now)),
    )
    .set(account_tokens::used_at.eq(diesel::dsl::sql::<
        diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
    >("now()")))
    .returning(AccountToken::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Deletes the user's unused tokens of `purposes` (their links stop working).
pub async fn delete_unused(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    purposes: &[&str],
) -> QueryResult<usize> {
    diesel::delete(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user_id))
            .filter(account_tokens::purpose.eq_any(purposes))
            .filter(account_tokens::used_at.is_null()),
    )
    .execute(conn)
    .await
}

/// The address a pending email change would move the account to: the one
/// its live `change_email` token was mailed to.
pub async fn pending_email(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<Option<String>> {
    account_tokens::table
        .filter(account_tokens::user_id.eq(user_id))
        .filter(account_tokens::purpose.eq(CHANGE_EMAIL))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(diesel::dsl::now))
        .order(account_tokens::created_at.desc())
        .select(account_tokens::email)
        .first(conn)
        .await
        .optional()
}

/// Deletes tokens that expired, or were used, before `before` (the
/// periodic cleanup; expiry is enforced on use whatever this did).
pub async fn delete_expired(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        account_tokens::table.filter(
            account_tokens::expires_at
                .lt(before)
                .or(account_tokens::used_at.lt(before)),
        ),
    )
    .execute(conn)
    .await
}

/// What [`register`] did. The caller answers the same in every case.
#[derive(Debug)]
pub enum Registration {
    /// A new, unverified account, with its verification link queued.
    Created(User),
    /// The email has an account: its owner is told, with a reset link.
    Existing(User),
    /// The email has an account and its owner was told enough lately.
    Quiet,
}

/// A token to issue and the message that carries it, made once the
/// account it is for is known.
pub struct Mailing<F> {
    pub purpose: &'static str,
    pub token_hash: [u8; 32],
    pub expires_at: DateTime<Utc>,
    pub message: F,
}

impl<F: FnOnce(&User) -> NewMessage> Mailing<F> {
    /// Issues the token for `user` (to their current address) and queues
    /// its message.
    async fn send(self, conn: &mut AsyncPgConnection, user: &User) -> QueryResult<()> {
        let token = NewAccountToken {
            user_id: user.id,
            purpose: self.purpose,
            email: user.email.clone(),
            token_hash: self.token_hash.to_vec(),
            expires_at: self.expires_at,
        };
        let id = issue(conn, &token).await?;
        let message = (self.message)(user).once_per(format!("account_token:{id}"));
        outbox::enqueue(conn, &message).await?;
        Ok(())
    }
}

/// Registers `new_user` in one transaction: a new email gets the account
/// (unverified) and `verify`'s token and message; an existing one (any
/// letter case) gets `existing`'s instead (`None`: nothing is sent).
pub async fn register(
    conn: &mut AsyncPgConnection,
    new_user: &NewUser,
    verify: Mailing<impl FnOnce(&User) -> NewMessage + Send>,
    existing: Option<Mailing<impl FnOnce(&User) -> NewMessage + Send>>,
) -> QueryResult<Registration> {
    conn.transaction(async |conn| {
        if let Some(user) = users::insert_if_new(conn, new_user).await? {
            verify.send(conn, &user).await?;
            return Ok(Registration::Created(user));
        }
        let (Some(owner), Some(existing)) =
            (users::find_by_email(conn, &new_user.email).await?, existing)
        else {
            return Ok(Registration::Quiet);
        };
        existing.send(conn, &owner).await?;
        Ok(Registration::Existing(owner))
    })
    .await
}

/// Issues `mailing`'s token for the account `user_id` and queues its
/// message, in one transaction (`None` if there is no such account).
pub async fn mail_token(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    mailing: Mailing<impl FnOnce(&User) -> NewMessage + Send>,
) -> QueryResult<Option<User>> {
    conn.transaction(async |conn| {
        let Some(user) = users::find(conn, user_id).await? else {
            return Ok(None);
        };
        mailing.send(conn, &user).await?;
        Ok(Some(user))
    })
    .await
}

/// Follows a `verify_email` or `change_email` link, in one transaction:
/// the token is used; `verify_email` marks the account's address verified
/// if it is still the address the link was mailed to; `change_email` moves
/// the account to the new address (verified), queues `changed(account
/// before, new address)` for the old one, and ends the links mailed to the
/// old address. Then the guest orders placed with the verified address
/// join the account. `None` (and nothing changes) when the token is
/// unknown, used, expired, no longer for the account's address, or its new
/// address has another account by now.
pub async fn verify_email(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    changed: impl FnOnce(&User, &str) -> NewMessage + Send,
) -> QueryResult<Option<User>> {
    let outcome = conn
        .transaction(async |conn| {
            let Some(token) = consume(conn, token_hash, &[VERIFY_EMAIL, CHANGE_EMAIL]).await?
            else {
                return Ok(None);
            };
            let user = users::find(conn, token.user_id)
                .await?
                .ok_or(diesel::result::Error::RollbackTransaction)?;
            let user = if token.purpose == CHANGE_EMAIL {
                // The old address hears of it first: if the switch fails,
                // the rollback takes this message back too.
                outbox::enqueue(conn, &changed(&user, &token.email)).await?;
                let moved = users::switch_email(conn, user.id, &token.email).await?;
                delete_unused(conn, user.id, &[VERIFY_EMAIL, RESET_PASSWORD, CHANGE_EMAIL]).await?;
                moved
            } else if user.has_email(&token.email) {
                users::mark_verified(conn, user.id).await?
            } else {
                // Mailed to an address the account has left.
                return Err(diesel::result::Error::RollbackTransaction);
            };
            orders::attach_guest_orders_of_verified_email(conn, user.id, &user.email).await?;
            Ok(Some(user))
        })
        .await;
    refused_as_none(outcome)
}

/// Follows a `reset_password` link, in one transaction: the token is used,
/// the password hash replaced, every session of the account ended, its
/// other reset links deleted, and `reset(account)` queued. The address the
/// link was mailed to is proven: if it is still the account's, it is
/// marked verified and its guest orders join. `None` (and nothing changes)
/// when the token is unknown, used or expired.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    password_hash: &str,
    reset: impl FnOnce(&User) -> NewMessage + Send,
) -> QueryResult<Option<User>> {
    let outcome = conn
        .transaction(async |conn| {
            let Some(token) = consume(conn, token_hash, &[RESET_PASSWORD]).await? else {
                return Ok(None);
            };
            let changes = users::UserChanges {
                password_hash: Some(password_hash.to_owned()),
                ..users::UserChanges::default()
            };
            let mut user = users::update(conn, token.user_id, &changes)
                .await?
                .ok_or(diesel::result::Error::RollbackTransaction)?;
            if user.has_email(&token.email) {
                user = users::mark_verified(conn, user.id).await?;
                orders::attach_guest_orders_of_verified_email(conn, user.id, &user.email).await?;
            }
            sessions::delete_others(conn, user.id, None).await?;
            delete_unused(conn, user.id, &[RESET_PASSWORD]).await?;
            outbox::enqueue(conn, &reset(&user)).await?;
            Ok(Some(user))
        })
        .await;
    refused_as_none(outcome)
}

/// A transaction given up on purpose (`RollbackTransaction`), or one that
/// broke the unique email (another account took the address meanwhile),
/// is a refused token.
fn refused_as_none(outcome: QueryResult<Option<User>>) -> QueryResult<Option<User>> {
    match outcome {
        Err(diesel::result::Error::RollbackTransaction) => Ok(None),
        Err(error) if unique_violation(&error) == Some("users_email_key") => Ok(None),
        outcome => outcome,
    }
}
