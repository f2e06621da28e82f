//! Session rows: created at sign-in, found by the SHA-256 of the token,
//! touched while used, deleted at sign-out (one) or password change (all
//! others). Never sees a token, only its hash; never touches Redis
//! (sessions are not cached: these rows are the only truth).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{sessions, users};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession {
    pub token_hash: Vec<u8>,
    pub user_id: i64,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
}

/// What a request needs to know about its session and user.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ActiveSession {
    pub session_id: i64,
    pub user_id: i64,
    pub role: String,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, session: &NewSession) -> QueryResult<i64> {
    diesel::insert_into(sessions::table)
        .values(session)
        .returning(sessions::id)
        .get_result(conn)
        .await
}

/// The session for a token hash if it has not expired, absolutely
/// (`expires_at`) or by idleness (`last_seen_at` older than `idle_since`).
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    idle_since: DateTime<Utc>,
) -> QueryResult<Option<ActiveSession>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(Utc::now()))
        .filter(sessions::last_seen_at.gt(idle_since))
        .select((
            sessions::id,
            users::id,
            users::role,
            sessions::last_seen_at,
            sessions::expires_at,
        ))
        .first(conn)
        .await
        .optional()
}

pub async fn touch(conn: &mut AsyncPgConnection, session_id: i64) -> QueryResult<usize> {
    diesel::update(sessions::table.find(session_id))
        .set(sessions::last_seen_at.eq(Utc::now()))
        .execute(conn)
        .await
}

/// Deletes one session; returns its token hash if it existed.
pub async fn delete(conn: &mut AsyncPgConnection, session_id: i64) -> QueryResult<Option<Vec<u8>>> {
    diesel::delete(sessions::table.find(session_id))
        .returning(sessions::token_hash)
        .get_result(conn)
        .await
        .optional()
}

/// Deletes every session of `user_id` except `keep`; returns their token
/// hashes.
pub async fn delete_others(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    keep: Option<i64>,
) -> QueryResult<Vec<Vec<u8>>> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep.unwrap_or(-1))),
    )
    .returning(sessions::token_hash)
    .get_results(conn)
    .await
}

/// Removes up to `limit` expired sessions (expired absolutely, or unused
/// since `idle_since`); returns how many. Run now and then in a loop (a
/// batch never holds many locks); expiry is enforced on read. Sessions a
/// request holds locked right now are skipped, not waited for.
pub async fn delete_expired(
    conn: &mut AsyncPgConnection,
    idle_since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM sessions WHERE id IN ( \
             SELECT id FROM sessions WHERE expires_at <= now() OR last_seen_at <= $1 \
             LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(idle_since)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await
}
