//! Session rows: created at sign-in, found by the SHA-256 of the token,
//! touched while used (in the statement that finds them), deleted at sign-out (one) or password change (all
//! others). Never sees a token, only its hash; never touches Redis
//! (sessions are not cached: these rows are the only truth).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::prepared::Prepared;
use super::schema::sessions;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession {
    pub token_hash: Vec<u8>,
    pub user_id: i64,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
}

/// What a request needs to know about its session and user: never the
/// password hash.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ActiveSession {
    #[diesel(sql_type = BigInt)]
    pub session_id: i64,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// The version of everything the user's `viewer` shows (moved by
    /// triggers on every write to it).
    #[diesel(sql_type = BigInt)]
    pub data_version: i64,
    /// The primary's WAL position after the session's last write, as text
    /// (`16/B374D848`); set only where reads go to a replica.
    #[diesel(sql_type = Nullable<Text>)]
    pub write_lsn: Option<String>,
}

pub async fn insert(conn: &mut AsyncPgConnection, session: &NewSession) -> QueryResult<i64> {
    diesel::insert_into(sessions::table)
        .values(session)
        .returning(sessions::id)
        .get_result(conn)
        .await
}

/// The session for a token hash, with its user's profile, if it has not
/// expired, absolutely (`expires_at` not after `now`) or by idleness
/// (`last_seen_at` not after `idle_since`); in the same statement, its
/// `last_seen_at` becomes `now` if it was before `touch_before` (so a
/// session in use is written at most once per interval, and a request
/// costs one round trip whether or not it touches).
pub async fn find_active_and_touch(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
    touch_before: DateTime<Utc>,
) -> QueryResult<Option<ActiveSession>> {
    // Prepared (kept per connection): planning this text on every request
    // cost more than running it.
    Prepared::new(
        "WITH found AS (
           SELECT s.id AS session_id, s.last_seen_at, s.expires_at, u.id AS user_id, u.role,
                  u.email, u.name, u.created_at, u.email_verified_at, u.data_version,
                  s.write_lsn::text AS write_lsn
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = ",
    )
    .bind::<Bytea, _>(token_hash)
    .sql(" AND s.expires_at > ")
    .bind::<Timestamptz, _>(now)
    .sql(" AND s.last_seen_at > ")
    .bind::<Timestamptz, _>(idle_since)
    .sql(
        "),
         touched AS (
           UPDATE sessions SET last_seen_at = $2
           WHERE id IN (SELECT session_id FROM found) AND last_seen_at < ",
    )
    .bind::<Timestamptz, _>(touch_before)
    .sql(
        "
           RETURNING last_seen_at)
         SELECT f.session_id, f.user_id, f.role, f.expires_at, f.email, f.name, f.created_at,
                f.email_verified_at, f.data_version, f.write_lsn,
                coalesce((SELECT max(last_seen_at) FROM touched), f.last_seen_at) AS last_seen_at
         FROM found f",
    )
    .get_result(conn)
    .await
    .optional()
}

/// Records that the session holding `token_hash` just wrote: its
/// `write_lsn` becomes the primary's current WAL position (at or past the
/// commit of everything it wrote so far). Run on the primary, after the
/// write committed.
pub async fn record_write(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE sessions SET write_lsn = pg_current_wal_lsn() \
         WHERE token_hash = $1 AND expires_at > now()",
    )
    .bind::<Bytea, _>(token_hash)
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
