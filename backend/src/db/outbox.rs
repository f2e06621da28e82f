//! The outbox table: messages (emails) written in the same transaction as
//! the change that causes them ([`enqueue`]), claimed by workers with `FOR
//! UPDATE SKIP LOCKED` and a lease ([`claim_due`]), then marked sent
//! ([`mark_sent`]), due again after a back-off, or dead after the last
//! attempt ([`mark_failed`]).
//!
//! Never talks to SMTP: `crate::jobs::outbox` sends what it claims here,
//! with no transaction or pooled connection held.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::outbox;

/// Waiting to be sent (or retried).
pub const PENDING: &str = "pending";
/// Handed to the SMTP server.
pub const SENT: &str = "sent";
/// Given up after the last attempt; `last_error` says why.
pub const DEAD: &str = "dead";

/// A message to send once its transaction commits.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewMessage {
    /// The template (`backend/templates/mail/<kind>.txt` and `.html`).
    pub kind: &'static str,
    pub recipient: String,
    /// The template's data.
    pub payload: serde_json::Value,
    /// At most one message per key, ever (e.g. `order_confirmation:42`):
    /// a second enqueue with the same key is a no-op.
    pub dedup_key: Option<String>,
}

impl NewMessage {
    /// A message of `kind` to `recipient`, its template fed `data`.
    pub fn new(
        kind: &'static str,
        recipient: impl Into<String>,
        data: &impl Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            kind,
            recipient: recipient.into(),
            payload: serde_json::to_value(data)?,
            dedup_key: None,
        })
    }

    /// Sent at most once per `key`.
    #[must_use]
    pub fn once_per(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }
}

/// Queues `message`. **Call it inside the transaction of the change that
/// causes the message**: it is then sent if and only if that change
/// commits (the insert's trigger wakes the workers at commit). Returns
/// false when a message with the same `dedup_key` was queued before.
pub async fn enqueue(conn: &mut AsyncPgConnection, message: &NewMessage) -> QueryResult<bool> {
    let inserted = diesel::insert_into(outbox::table)
        .values(message)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// A claimed message.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = outbox)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Message {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub payload: serde_json::Value,
    pub dedup_key: Option<String>,
    pub status: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Claims up to `limit` due messages for `lease_secs` (other workers skip
/// them meanwhile; a worker that dies loses its claim when the lease ends)
/// and counts the attempt. Oldest due first.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    lease_secs: i32,
    limit: i64,
) -> QueryResult<Vec<Message>> {
    diesel::sql_query(
        "UPDATE outbox SET locked_until = now() + make_interval(secs => $1), \
                           attempts = attempts + 1 \
         WHERE id IN ( \
             SELECT id FROM outbox \
             WHERE status = 'pending' AND next_attempt_at <= now() \
               AND (locked_until IS NULL OR locked_until <= now()) \
             ORDER BY next_attempt_at, id \
             LIMIT $2 \
             FOR UPDATE SKIP LOCKED) \
         RETURNING *",
    )
    .bind::<Integer, _>(lease_secs)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The message was handed to the SMTP server: sent, its payload (which
/// may hold a link's secret) emptied. Only while this claim holds
/// (`attempts` as claimed): a claim that expired meanwhile is not ours.
pub async fn mark_sent(conn: &mut AsyncPgConnection, claimed: &Message) -> QueryResult<bool> {
    let updated = diesel::update(
        outbox::table
            .find(claimed.id)
            .filter(outbox::status.eq(PENDING))
            .filter(outbox::attempts.eq(claimed.attempts)),
    )
    .set((
        outbox::status.eq(SENT),
        outbox::sent_at.eq(diesel::dsl::now),
        outbox::locked_until.eq(None::<DateTime<Utc>>),
        outbox::payload.eq(serde_json::json!({})),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// The attempt failed with `error`: due again at `retry_at`, or dead (its
/// payload emptied) when `retry_at` is `None`.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    claimed: &Message,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<bool> {
    let error: String = error.chars().take(2000).collect();
    let row = outbox::table
        .find(claimed.id)
        .filter(outbox::status.eq(PENDING))
        .filter(outbox::attempts.eq(claimed.attempts));
    let updated = match retry_at {
        Some(at) => {
            diesel::update(row)
                .set((
                    outbox::next_attempt_at.eq(at),
                    outbox::locked_until.eq(None::<DateTime<Utc>>),
                    outbox::last_error.eq(error),
                ))
                .execute(conn)
                .await?
        }
        None => {
            diesel::update(row)
                .set((
                    outbox::status.eq(DEAD),
                    outbox::locked_until.eq(None::<DateTime<Utc>>),
                    outbox::last_error.eq(error),
                    outbox::payload.eq(serde_json::json!({})),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(updated == 1)
}

/// When the next pending message is due (the worker sleeps until then,
/// or until woken).
pub async fn next_due(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    outbox::table
        .filter(outbox::status.eq(PENDING))
        .select(diesel::dsl::min(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >(
            "GREATEST(next_attempt_at, coalesce(locked_until, next_attempt_at))",
        )))
        .first(conn)
        .await
}

/// How many messages are pending and how many dead (for `/metrics`): one
/// statement, the pending ones counted on the due index.
pub async fn depth(conn: &mut AsyncPgConnection) -> QueryResult<(i64, i64)> {
    outbox::table
        .filter(outbox::status.eq_any([PENDING, DEAD]))
        .select((
            diesel::dsl::sql::<BigInt>("count(*) FILTER (WHERE status = 'pending')"),
            diesel::dsl::sql::<BigInt>("count(*) FILTER (WHERE status = 'dead')"),
        ))
        .first(conn)
        .await
}

/// Deletes up to `limit` sent and dead messages created before `before`;
/// returns how many (a periodic job loops on it to keep the table small, a
/// batch at a time; pending ones are never deleted). A deleted message's
/// `dedup_key` is forgotten with it.
pub async fn delete_finished(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM outbox WHERE id IN ( \
             SELECT id FROM outbox WHERE status <> 'pending' AND created_at < $1 \
             LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await
}

/// Pending messages (the outbox's depth, for metrics and tests).
pub async fn pending_count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::status.eq(PENDING))
        .count()
        .get_result(conn)
        .await
}
