//! The real `bookstore` binary killed (SIGKILL) while a charge is in
//! flight: the order it leaves awaiting payment keeps its stock only until
//! the sweeper of the next backend asks the gateway and releases it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::support::*;
use crate::support::{TestApp, redis_url};

/// A port nobody listens on (bound, then released).
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn backend(app: &TestApp, address: &str, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bookstore"));
    command
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", &app.database.url)
        .env("REDIS_URL", redis_url())
        .env("CACHE_NAMESPACE", &app.config.cache_namespace)
        .env("BIND_ADDR", address)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

async fn wait_until_up(address: &str) {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        let healthy = client
            .get(format!("http://{address}/healthz"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if healthy {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the backend did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_killed_mid_charge_leaves_an_order_the_next_backend_resolves() {
    let app = TestApp::new().await;
    let (book, book_id) = book_with_stock(&app, 0, 5).await;
    let cart = guest_cart(&app, &book, 2).await;

    let address = free_address();
    let mut first = backend(&app, &address, &[("CHARGE_TIMEOUT_MS", "60000")]);
    wait_until_up(&address).await;
    let body =
        json!({"query": checkout_mutation(), "variables": checkout_input("killed", &cart, HANG)});
    let url = format!("http://{address}/graphql");
    let request = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
    });
    // The order is reserved, then the charge hangs at the gateway.
    let started = Instant::now();
    let in_flight = "SELECT count(*) AS n FROM orders WHERE charge_started_at IS NOT NULL";
    while number(&app, in_flight).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no charge started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        request.await.unwrap().is_err(),
        "the shopper's request died with the process"
    );
    let order_number = json!(bookstore_test_order_number(&app).await);
    assert_eq!(order_status(&app, &order_number).await, "PENDING_PAYMENT");
    assert_eq!(
        stock_of(&app, book_id).await,
        3,
        "the killed checkout left its 2 copies reserved"
    );

    // The next backend's sweeper asks the gateway (no such charge) and
    // releases the stock.
    let address = free_address();
    let restarted = Instant::now();
    let mut second = backend(
        &app,
        &address,
        &[
            ("CHARGE_TIMEOUT_MS", "500"),
            ("PAYMENT_SWEEP_AGE_SECS", "1"),
            ("PAYMENT_SWEEP_INTERVAL_SECS", "1"),
        ],
    );
    wait_until_up(&address).await;
    while order_status(&app, &order_number).await == "PENDING_PAYMENT" {
        assert!(
            restarted.elapsed() < Duration::from_secs(20),
            "the sweeper never resolved the order"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resolved_after = restarted.elapsed();
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(order_status(&app, &order_number).await, "CANCELLED");
    assert_eq!(stock_of(&app, book_id).await, 5, "the stock came back");
    let shown = app
        .data(
            "query($id: ID!) { book(id: $id) { stock } }",
            json!({"id": book}),
        )
        .await;
    assert_eq!(shown["book"]["stock"], 5, "and the cache shows it");
    assert_eq!(number(&app, "SELECT count(*) AS n FROM payments").await, 0);
    eprintln!(
        "killed mid-charge: order {order_number} held 2 copies; the restarted backend's sweeper released them {resolved_after:?} after start"
    );
}

async fn bookstore_test_order_number(app: &TestApp) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        number: String,
    }
    use diesel_async::RunQueryDsl;
    let rows: Vec<Row> = diesel::sql_query("SELECT number FROM orders")
        .load(&mut app.connection().await)
        .await
        .unwrap();
    rows[0].number.clone()
}
