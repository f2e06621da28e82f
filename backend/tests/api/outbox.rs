//! The transactional outbox against a real SMTP server (the test sink): a
//! message is sent if and only if its transaction committed, once per
//! cause; the worker waits out a mail server that is down or hung, gives up
//! after its last attempt with the error kept, and several workers never
//! send one message twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bookstore::db::outbox::{self, NewMessage};
use bookstore::jobs::mail::Mailer;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use crate::support::{PUBLIC_URL, SinkMode, TestApp};

fn test_message(to: &str, note: &str) -> NewMessage {
    NewMessage::new("test_message", to, &json!({ "note": note })).unwrap()
}

async fn enqueue(app: &TestApp, message: NewMessage) -> bool {
    let mut conn = app.db.primary().await.unwrap();
    conn.transaction(async |conn| outbox::enqueue(conn, &message).await)
        .await
        .unwrap()
}

#[derive(QueryableByName, Debug)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: serde_json::Value,
}

async fn rows(app: &TestApp) -> Vec<Row> {
    let mut conn = app.db.primary().await.unwrap();
    diesel::sql_query("SELECT status, attempts, last_error, payload FROM outbox ORDER BY id")
        .load(&mut *conn)
        .await
        .unwrap()
}

/// Waits (up to 15 s) until the outbox's rows satisfy `done`.
async fn wait_rows(app: &TestApp, what: &str, done: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rows = rows(app).await;
        if done(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "{what}: the outbox is {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_committed_message_arrives_once_as_text_and_html_and_its_secrets_leave_the_table() {
    let app = TestApp::new().await;
    assert!(
        enqueue(
            &app,
            test_message("reader@example.com", "secret-link-token")
        )
        .await
    );

    let mail = app.mail.wait_for_to("reader@example.com", 1).await;
    assert_eq!(mail.len(), 1);
    let mail = &mail[0];
    assert_eq!(mail.subject, "Test message from Bookstore");
    assert!(mail.text.contains("secret-link-token"), "{}", mail.text);
    assert!(
        mail.text.contains(&format!("{PUBLIC_URL}/account")),
        "{}",
        mail.text
    );
    assert!(
        mail.html
            .contains("<p>this is a test message: secret-link-token</p>"),
        "{}",
        mail.html
    );
    assert_eq!(mail.from, "no-reply@bookstore.localhost");
    assert!(
        mail.message_id.starts_with("outbox-") && mail.message_id.ends_with("@shop.test"),
        "{}",
        mail.message_id
    );
    assert_eq!(
        mail.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(mail.raw.contains("multipart/alternative"), "{}", mail.raw);

    let rows = wait_rows(&app, "marked sent", |rows| rows[0].status == "sent").await;
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(
        rows[0].payload,
        json!({}),
        "a sent message keeps no link secret"
    );
    assert_eq!(app.mail.settle(Duration::from_millis(500)).await.len(), 1);
}

#[tokio::test]
async fn html_escapes_the_data_and_plain_text_keeps_it() {
    let app = TestApp::new().await;
    enqueue(
        &app,
        test_message("reader@example.com", "<script>alert(1)</script> & co"),
    )
    .await;
    let mail = &app.mail.wait_for(1).await[0];
    assert!(!mail.html.contains("<script>"), "{}", mail.html);
    assert!(mail.html.contains("&lt;script&gt;"), "{}", mail.html);
    assert!(
        mail.text.contains("<script>alert(1)</script> & co"),
        "{}",
        mail.text
    );
}

#[tokio::test]
async fn a_message_whose_transaction_rolled_back_is_never_sent() {
    let app = TestApp::new().await;
    {
        let mut conn = app.db.primary().await.unwrap();
        let rolled_back: Result<(), diesel::result::Error> = conn
            .transaction(async |conn| {
                outbox::enqueue(conn, &test_message("ghost@example.com", "never")).await?;
                // The change that caused it fails: everything rolls back.
                Err(diesel::result::Error::RollbackTransaction)
            })
            .await;
        assert!(rolled_back.is_err());
    }
    // A later committed message: once it arrives, the worker has been
    // through the table after the rollback.
    enqueue(&app, test_message("reader@example.com", "marker")).await;
    app.mail.wait_for_to("reader@example.com", 1).await;
    let all = app.mail.settle(Duration::from_millis(300)).await;
    assert!(app.mail.to("ghost@example.com").is_empty(), "{all:?}");
    assert_eq!(rows(&app).await.len(), 1);
}

#[tokio::test]
async fn one_cause_sends_one_message_however_often_it_is_queued() {
    let app = TestApp::new().await;
    let message = || test_message("reader@example.com", "once").once_per("test:42");
    assert!(enqueue(&app, message()).await);
    assert!(
        !enqueue(&app, message()).await,
        "the same cause again is a no-op"
    );
    app.mail.wait_for(1).await;
    // Even after it was sent, the cause is remembered.
    wait_rows(&app, "sent", |rows| rows[0].status == "sent").await;
    assert!(!enqueue(&app, message()).await);
    assert_eq!(app.mail.settle(Duration::from_millis(500)).await.len(), 1);
}

#[tokio::test]
async fn while_the_mail_server_is_down_messages_wait_and_go_out_when_it_returns() {
    let app = TestApp::with_env(&[
        ("OUTBOX_RETRY_BASE_SECS", "1"),
        ("OUTBOX_RETRY_MAX_SECS", "1"),
    ])
    .await;
    app.mail.set_mode(SinkMode::Down);
    enqueue(&app, test_message("reader@example.com", "patience")).await;
    let rows = wait_rows(&app, "two failed attempts", |rows| {
        rows[0].attempts >= 2 && rows[0].last_error.is_some()
    })
    .await;
    assert_eq!(rows[0].status, "pending");
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("421"),
        "{rows:?}"
    );
    assert!(app.mail.messages().is_empty());

    app.mail.set_mode(SinkMode::Up);
    let mail = app.mail.wait_for(1).await;
    assert!(mail[0].text.contains("patience"));
    let rows = wait_rows(&app, "sent", |rows| rows[0].status == "sent").await;
    assert!(rows[0].attempts >= 3, "{rows:?}");
    assert_eq!(rows[0].last_error, None);
}

#[tokio::test]
async fn a_hung_mail_server_times_out_and_the_message_is_tried_again() {
    let app = TestApp::with_env(&[
        ("SMTP_TIMEOUT_SECS", "1"),
        ("OUTBOX_RETRY_BASE_SECS", "1"),
        ("OUTBOX_RETRY_MAX_SECS", "1"),
    ])
    .await;
    app.mail.set_mode(SinkMode::Silent);
    enqueue(&app, test_message("reader@example.com", "slow")).await;
    let rows = wait_rows(&app, "a timed-out attempt", |rows| {
        rows[0].last_error.is_some()
    })
    .await;
    assert_eq!(rows[0].status, "pending", "{rows:?}");
    app.mail.set_mode(SinkMode::Up);
    app.mail.wait_for(1).await;
}

#[tokio::test]
async fn after_its_last_attempt_a_message_is_dead_with_its_error_kept() {
    let app = TestApp::with_env(&[
        ("OUTBOX_MAX_ATTEMPTS", "2"),
        ("OUTBOX_RETRY_BASE_SECS", "1"),
        ("OUTBOX_RETRY_MAX_SECS", "1"),
    ])
    .await;
    app.mail.set_mode(SinkMode::Deferring);
    enqueue(&app, test_message("reader@example.com", "doomed")).await;
    let rows = wait_rows(&app, "dead", |rows| rows[0].status == "dead").await;
    assert_eq!(rows[0].attempts, 2);
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("451"),
        "{rows:?}"
    );
    assert_eq!(rows[0].payload, json!({}));
    app.mail.set_mode(SinkMode::Up);
    assert!(
        app.mail
            .settle(Duration::from_millis(1500))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_message_that_can_never_be_sent_is_dead_at_its_first_attempt() {
    let app = TestApp::new().await;
    let no_template =
        NewMessage::new("no_such_template", "reader@example.com", &json!({})).unwrap();
    enqueue(&app, no_template).await;
    let rows = wait_rows(&app, "dead", |rows| rows[0].status == "dead").await;
    assert_eq!(rows[0].attempts, 1);
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("no_such_template"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn several_workers_never_send_one_message_twice() {
    let app = TestApp::with_env(&[("OUTBOX_CONCURRENCY", "8")]).await;
    const MESSAGES: usize = 200;
    {
        let mut conn = app.db.primary().await.unwrap();
        conn.transaction(async |conn| {
            for n in 0..MESSAGES {
                outbox::enqueue(
                    conn,
                    &test_message(&format!("reader{n}@example.com"), "many"),
                )
                .await?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .await
        .unwrap();
    }
    // The app's worker plus three more, as on four instances.
    let mailer = Arc::new(Mailer::from_config(&app.config.mail).unwrap());
    let mut others = Vec::new();
    for _ in 0..3 {
        let (db, mailer, mail, url) = (
            app.db.clone(),
            mailer.clone(),
            app.config.mail.clone(),
            app.config.database_url.clone(),
        );
        others.push(bookstore::jobs::Task::spawn_stoppable(move |stop| {
            bookstore::jobs::outbox::run(db, mailer, mail, url, stop)
        }));
    }
    app.mail.wait_for(MESSAGES).await;
    let mail = app.mail.settle(Duration::from_millis(500)).await;
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for message in &mail {
        *per_id.entry(message.message_id.clone()).or_default() += 1;
    }
    assert_eq!(
        mail.len(),
        MESSAGES,
        "sent twice: {:?}",
        per_id.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert_eq!(per_id.len(), MESSAGES);
    drop(others);
}

#[tokio::test]
async fn a_commit_wakes_the_worker_without_waiting_for_its_poll() {
    let app = TestApp::with_env(&[("OUTBOX_POLL_SECS", "120")]).await;
    // Let the worker go idle (its first round found nothing).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    enqueue(&app, test_message("reader@example.com", "quick")).await;
    app.mail.wait_for(1).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Its LISTEN connection is killed (a Postgres restart would do that):
    // it reconnects and is woken again.
    let mut admin = AsyncPgConnection::establish(&crate::support::admin_url())
        .await
        .unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{}' AND query = 'LISTEN outbox'",
        app.database.name
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    enqueue(&app, test_message("reader@example.com", "again")).await;
    app.mail.wait_for(2).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn without_smtp_url_messages_are_logged_and_marked_sent() {
    let app = TestApp::with_env(&[("SMTP_URL", "")]).await;
    // The app's own worker logs instead of sending.
    enqueue(&app, test_message("reader@example.com", "logged")).await;
    wait_rows(&app, "sent to the log", |rows| rows[0].status == "sent").await;
    assert!(app.mail.messages().is_empty());
}

#[tokio::test]
async fn a_worker_asked_to_stop_records_the_message_it_was_sending() {
    let mut app = TestApp::new().await;
    app.mail.set_mode(SinkMode::Slow);
    enqueue(&app, test_message("reader@example.com", "in flight")).await;
    // The message is being sent (the server answers after a second)...
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.mail.sessions() == 0 {
        assert!(Instant::now() < deadline, "the worker never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.mail.messages().is_empty());
    // ...when SIGTERM comes: the worker finishes and records it.
    let worker = app.worker.take().unwrap();
    worker.shut_down(Duration::from_secs(10)).await;
    assert_eq!(app.mail.messages().len(), 1);
    let rows = rows(&app).await;
    assert_eq!(rows[0].status, "sent", "{rows:?}");
}
