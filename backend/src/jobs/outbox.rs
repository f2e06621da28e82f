//! The outbox worker: delivers the messages that committed transactions
//! queued (`db::outbox`). A message is sent if and only if its change
//! committed, and at most once per cause (its `dedup_key`).
//!
//! Each round claims due messages (`FOR UPDATE SKIP LOCKED` plus a lease
//! longer than any send: several workers never hold one message at once),
//! renders and sends them a few at a time with no transaction or pooled
//! connection held, then records each outcome: sent; or due again after an
//! exponential back-off; or dead after `OUTBOX_MAX_ATTEMPTS` (or at once
//! for a permanent failure: a missing template, a refused address), its
//! last error kept. A worker killed between sending and recording leaves
//! the claim to expire and the message is sent again, with the same
//! Message-ID: SMTP cannot do better than at least once there.
//!
//! The worker sleeps until a commit wakes it (`LISTEN outbox`: the table's
//! trigger notifies at commit), the next retry is due, or
//! `OUTBOX_POLL_SECS` pass, whichever is first; a lost LISTEN connection is
//! re-opened and only costs latency.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;

use super::Stop;
use super::mail::{Mailer, SendError};
use crate::config::MailConfig;
use crate::db::outbox::{self, Message};
use crate::db::{self, Db};
use crate::error::Error;
use crate::metrics::{OUTBOX_FAILED, OUTBOX_SENT};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    /// Failed, due again later.
    pub retrying: usize,
    /// Given up.
    pub dead: usize,
}

impl Delivered {
    /// Adds this round to the process's counters (the global recorder:
    /// `bookstore serve` and `bookstore worker` install the app's).
    fn count(self) {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        metrics::counter!(OUTBOX_SENT).increment(count(self.sent));
        metrics::counter!(OUTBOX_FAILED, "outcome" => "retrying").increment(count(self.retrying));
        metrics::counter!(OUTBOX_FAILED, "outcome" => "dead").increment(count(self.dead));
    }

    fn add(&mut self, other: Self) {
        self.sent += other.sent;
        self.retrying += other.retrying;
        self.dead += other.dead;
    }
}

/// Delivers messages until asked to stop (it then finishes and records
/// the round in flight). `database_url` is the primary's, for LISTEN.
pub async fn run(
    db: Db,
    mailer: Arc<Mailer>,
    config: MailConfig,
    database_url: String,
    mut stop: Stop,
) {
    if mailer.logs_only() {
        tracing::warn!("SMTP_URL is unset: messages are written to the log, not sent");
    }
    let wake = Arc::new(Notify::new());
    let _listener = super::Task::spawn(listen(database_url, wake.clone()));
    while !stop.requested() {
        match deliver_due(&db, &mailer, &config, &stop).await {
            Ok(done) if done == Delivered::default() => {}
            Ok(done) => {
                done.count();
                tracing::info!(?done, "outbox delivered");
            }
            Err(error) => tracing::warn!(%error, "outbox round failed; will retry"),
        }
        let sleep = next_wait(&db, config.poll_interval).await;
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(sleep) => {}
            () = stop.wait() => {}
        }
    }
    tracing::info!("outbox worker stopped");
}

/// Until the next message is due, at most `poll`.
async fn next_wait(db: &Db, poll: Duration) -> Duration {
    let next = async {
        let mut conn = db.primary().await.ok()?;
        outbox::next_due(&mut conn).await.ok().flatten()
    }
    .await;
    next.map_or(poll, |at| {
        (at - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(poll)
    })
}

/// Delivers every message due now (claiming batch after batch),
/// `OUTBOX_CONCURRENCY` at a time. Stops claiming (after the batch in
/// flight) once `stop` is requested.
pub async fn deliver_due(
    db: &Db,
    mailer: &Mailer,
    config: &MailConfig,
    stop: &Stop,
) -> Result<Delivered, Error> {
    let lease = i32::try_from(config.lease().as_secs()).unwrap_or(i32::MAX);
    let concurrency = usize::from(config.concurrency);
    let mut total = Delivered::default();
    loop {
        let claimed = {
            let mut conn = db.primary().await?;
            // Two sends per slot at most: even if every send runs to
            // SMTP_TIMEOUT_SECS, the batch ends well within the lease
            // (3 x the timeout + 30 s), so no other worker re-claims a
            // message this one has yet to send.
            outbox::claim_due(
                &mut conn,
                lease,
                i64::try_from(concurrency * 2).unwrap_or(32),
            )
            .await?
        };
        if claimed.is_empty() {
            return Ok(total);
        }
        let outcomes: Vec<Delivered> = futures_util::stream::iter(claimed)
            .map(|message| deliver_one(db, mailer, config, message))
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut round = Delivered::default();
        for outcome in outcomes {
            round.add(outcome);
        }
        total.add(round);
        if round.sent == 0 || stop.requested() {
            // Nothing went through (the server is down?): the failed ones
            // wait for their back-off rather than being hammered now.
            return Ok(total);
        }
    }
}

async fn deliver_one(db: &Db, mailer: &Mailer, config: &MailConfig, message: Message) -> Delivered {
    let result = match mailer.render(&message) {
        Ok(email) => mailer.send(email).await,
        Err(error) => Err(error),
    };
    let (outcome, error, retry_at) = match &result {
        Ok(()) => (
            Delivered {
                sent: 1,
                ..Delivered::default()
            },
            None,
            None,
        ),
        Err(error) => {
            let retry_at = match error {
                SendError::Transient(_) if message.attempts < config.max_attempts => Some(
                    chrono::Utc::now()
                        + chrono::Duration::from_std(config.backoff(message.attempts))
                            .unwrap_or(chrono::Duration::hours(1)),
                ),
                _ => None,
            };
            let text = error.to_string();
            if retry_at.is_some() {
                tracing::info!(id = message.id, kind = %message.kind, attempts = message.attempts, error = %text, "message not sent; will retry");
                (
                    Delivered {
                        retrying: 1,
                        ..Delivered::default()
                    },
                    Some(text),
                    retry_at,
                )
            } else {
                tracing::error!(id = message.id, kind = %message.kind, attempts = message.attempts, error = %text, "message given up (dead)");
                (
                    Delivered {
                        dead: 1,
                        ..Delivered::default()
                    },
                    Some(text),
                    None,
                )
            }
        }
    };
    let recorded = async {
        let mut conn = db.primary().await?;
        let still_ours = match &error {
            None => outbox::mark_sent(&mut conn, &message).await?,
            Some(text) => outbox::mark_failed(&mut conn, &message, text, retry_at).await?,
        };
        if !still_ours {
            tracing::warn!(
                id = message.id,
                "a message's claim had expired before its outcome was recorded"
            );
        }
        Ok::<_, Error>(())
    }
    .await;
    if let Err(error) = recorded {
        // The claim expires and the message is tried again.
        tracing::warn!(id = message.id, %error, "could not record a message's outcome");
    }
    outcome
}

/// Wakes the worker whenever a transaction that queued a message commits.
/// Reconnects (with a pause) whenever the connection drops.
async fn listen(database_url: String, wake: Arc<Notify>) {
    loop {
        match tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let listening = client.batch_execute("LISTEN outbox");
                // The connection must be polled for LISTEN to complete.
                let mut listening = std::pin::pin!(listening);
                let mut ready = false;
                loop {
                    tokio::select! {
                        done = &mut listening, if !ready => {
                            if let Err(error) = done {
                                tracing::warn!(%error, "LISTEN outbox failed");
                                break;
                            }
                            ready = true;
                            // Whatever committed while we were not listening.
                            wake.notify_one();
                        }
                        message = messages.next() => match message {
                            Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => wake.notify_one(),
                            Some(Ok(_)) => {}
                            Some(Err(error)) => {
                                tracing::warn!(%error, "the outbox LISTEN connection failed");
                                break;
                            }
                            None => break,
                        },
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not open the outbox LISTEN connection"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Queues a test message to `to` (`bookstore send-test-mail`): checks the
/// whole path, outbox to SMTP server.
pub async fn enqueue_test_message(db: &Db, to: &str) -> Result<(), Error> {
    let message = outbox::NewMessage::new(
        "test_message",
        to,
        &serde_json::json!({"note": "if you can read this, the shop can send mail"}),
    )
    .map_err(|error| Error::Internal(error.into()))?;
    let mut conn = db.primary().await?;
    db::outbox::enqueue(&mut conn, &message).await?;
    Ok(())
}
