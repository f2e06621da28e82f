//! The runner: one round per interval fleet-wide, whatever the number of
//! instances; a failing job stops no other; the payment sweeper runs in it.

use std::time::Duration;

use bookstore::config::Config;
use bookstore::jobs::periodic::{Job, Runner};

use super::{cart, count, customer, instance, job_run, runner};
use crate::checkout::support::*;
use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn runners_racing_for_a_round_run_it_once_per_interval() {
    let app = TestApp::new().await;
    let user = customer(&app, "dave@example.com").await;
    app.sql(&format!(
        "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (sha256('1'), {user}, now() - interval '1 second')"
    ))
    .await;
    let instances: Vec<Runner> = (0..4).map(|_| instance(&app, &app.config)).collect();

    let results = futures_util::future::join_all(
        instances
            .iter()
            .map(|runner| runner.run_once(Job::ExpiredSessions)),
    )
    .await;

    let ran: Vec<u64> = results
        .into_iter()
        .filter_map(|result| result.unwrap())
        .collect();
    assert_eq!(
        ran,
        vec![1],
        "one instance ran the round, and deleted the session"
    );
    // Within the interval (an hour by default), no instance runs it again.
    for runner in &instances {
        assert_eq!(runner.run_once(Job::ExpiredSessions).await.unwrap(), None);
    }
    let run = job_run(&app, "expired_sessions").await;
    assert_eq!(
        (run.rounds, run.last_count, run.last_error),
        (1, Some(1), None)
    );
    assert!(run.last_finished_at.is_some());
    // Once the interval has passed (for one instance's clock or another's:
    // the database's decides), one instance runs it again.
    app.sql("UPDATE job_runs SET last_started_at = now() - interval '1 hour'")
        .await;
    let results = futures_util::future::join_all(
        instances
            .iter()
            .map(|runner| runner.run_once(Job::ExpiredSessions)),
    )
    .await;
    assert_eq!(
        results
            .iter()
            .filter(|result| matches!(result, Ok(Some(_))))
            .count(),
        1
    );
}

/// Only the expired-sessions job, every `interval`.
fn sessions_every(app: &TestApp, interval: Duration) -> Config {
    let mut config = app.config.clone();
    config.checkout.sweep_interval = Duration::ZERO;
    config.jobs.session_sweep_interval = interval;
    config.jobs.cart_sweep_interval = Duration::ZERO;
    config.jobs.idempotency_sweep_interval = Duration::ZERO;
    config.jobs.outbox_sweep_interval = Duration::ZERO;
    config.jobs.account_token_sweep_interval = Duration::ZERO;
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn spawned_runners_on_three_instances_share_one_schedule() {
    let app = TestApp::new().await;
    let config = sessions_every(&app, Duration::from_millis(500));
    let handles: Vec<_> = (0..3)
        .flat_map(|_| instance(&app, &config).spawn())
        .collect();
    assert_eq!(handles.len(), 3, "one job per instance");
    tokio::time::sleep(Duration::from_millis(1800)).await;
    drop(handles);
    let run = job_run(&app, "expired_sessions").await;
    // Rounds at about 0, 0.5, 1 and 1.5 s: each on one instance (three
    // instances each on their own clock would have run about twelve).
    assert!(
        (2..=4).contains(&run.rounds),
        "{} rounds in 1.8 s at one per 0.5 s",
        run.rounds
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_job_stops_no_other_and_runs_again_next_interval() {
    let app = TestApp::new().await;
    let user = customer(&app, "erin@example.com").await;
    let expired_session = |tag: u8| {
        format!(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (sha256('{tag}'), {user}, now() - interval '1 second')"
        )
    };
    app.sql(&expired_session(1)).await;
    cart(&app, "abandoned", None, 31).await;
    // The idempotency job's table is gone: its rounds fail.
    app.sql("ALTER TABLE idempotency_keys RENAME TO idempotency_keys_away")
        .await;

    let results = runner(&app).run_all_once().await;

    for (job, result) in &results {
        match job {
            Job::IdempotencyRecords => assert!(result.is_err(), "{job:?}: {result:?}"),
            Job::ExpiredSessions | Job::AbandonedCarts => {
                assert_eq!(result.as_ref().unwrap(), &Some(1), "{job:?}")
            }
            _ => assert!(result.is_ok(), "{job:?}: {result:?}"),
        }
    }
    let failed = job_run(&app, "idempotency_records").await;
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("idempotency_keys"),
        "{failed:?}"
    );

    // Spawned: the failing job goes on failing, the others on working...
    let mut config = sessions_every(&app, Duration::from_millis(300));
    config.jobs.idempotency_sweep_interval = Duration::from_millis(300);
    app.sql("UPDATE job_runs SET last_started_at = now() - interval '1 day'")
        .await;
    let handles = instance(&app, &config).spawn();
    app.sql(&expired_session(2)).await;
    wait_for(&app, "SELECT 1 FROM sessions", 0).await;
    // ... and once it can, the failed job succeeds a round later.
    app.sql("ALTER TABLE idempotency_keys_away RENAME TO idempotency_keys")
        .await;
    wait_for(
        &app,
        "SELECT 1 FROM job_runs WHERE name = 'idempotency_records' AND last_error IS NULL AND last_finished_at > last_started_at",
        1,
    )
    .await;
    drop(handles);
}

/// Waits (up to 10 s) until `sql` returns `rows` rows.
async fn wait_for(app: &TestApp, sql: &str, rows: i64) {
    for _ in 0..100 {
        if count(app, sql).await == rows {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never {rows} rows: {sql}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runner_resolves_orders_left_awaiting_payment() {
    let app = TestApp::with_env(&[
        ("CHARGE_TIMEOUT_MS", "200"),
        ("PAYMENT_SWEEP_AGE_SECS", "0"),
    ])
    .await;
    let (book, book_id) = book_with_stock(&app, 0, 10).await;
    let cart = guest_cart(&app, &book, 2).await;
    let data = app
        .data(&checkout_mutation(), checkout_input("hangs", &cart, HANG))
        .await;
    let number = data["checkout"]["order"]["number"].clone();
    assert_eq!(stock_of(&app, book_id).await, 8);
    // Never charged: the effective age (the charge timeout + 1 s) passes.
    tokio::time::sleep(Duration::from_millis(1300)).await;

    let results = runner(&app).run_all_once().await;

    let swept = results
        .iter()
        .find(|(job, _)| *job == Job::PaymentSweeper)
        .map(|(_, result)| result.as_ref().unwrap());
    assert_eq!(swept, Some(&Some(1)));
    assert_eq!(order_status(&app, &number).await, "CANCELLED");
    assert_eq!(stock_of(&app, book_id).await, 10);
}
