//! End-to-end: the shopper's and the staff's journeys in a real headless
//! Chromium (Debian's `chromium`, driven by playwright-core from
//! `frontend/e2e`), against the real storefront and backend on local ports.
//! Screenshots of the main pages land in `target/e2e-screenshots/`. Also
//! live updates with JavaScript on (`live.mjs`: a page changes in place,
//! axe-core finds no violation). Also
//! the backend's GraphiQL, with every other host blocked (it must render
//! from the backend's own assets alone).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

mod support;
use support::Shop;

const CHROMIUM: &str = "/usr/bin/chromium";

fn require_tools(e2e: &Path) {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|output| output.status.success()),
        "Node.js is missing: install it (apt-get install -y nodejs npm)"
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "Chromium is missing: apt-get install -y chromium"
    );
    assert!(
        e2e.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: npm ci --prefix frontend/e2e"
    );
    assert!(
        e2e.join("node_modules/axe-core").exists(),
        "axe-core is missing: npm ci --prefix frontend/e2e"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shopper_and_staff_journeys_in_chromium() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e");
    require_tools(&e2e);
    let shop = Shop::new().await;
    shop.create_staff("staff@example.com", "staff password 1")
        .await;
    serve_and_run(&shop, &e2e, "journeys.mjs", "browser journeys").await;
}

/// Issue #15: the catalog on a 390 px phone (its height, collapsed filters,
/// covers), numbered pages, the checkout's total, saved addresses, with
/// axe-core on each page.
#[tokio::test(flavor = "multi_thread")]
async fn a_phone_and_a_laptop_in_chromium() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e");
    require_tools(&e2e);
    let shop = Shop::new().await;
    serve_and_run(&shop, &e2e, "phone.mjs", "phone and laptop pages").await;
}

/// With JavaScript on: the order page and the staff order list update
/// themselves (live updates), and axe-core finds no violation on them.
#[tokio::test(flavor = "multi_thread")]
async fn live_updates_in_chromium_without_a_reload() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e");
    require_tools(&e2e);
    let shop = Shop::new().await;
    shop.create_staff("staff@example.com", "staff password 1")
        .await;
    serve_and_run(&shop, &e2e, "live.mjs", "live updates in the browser").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_renders_in_chromium_with_other_hosts_blocked() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e");
    require_tools(&e2e);
    let database = bookstore_test_support::TestDatabase::seeded().await;
    let graphql_url = support::backend(&database).await;
    let base = graphql_url.trim_end_matches("/graphql").to_owned();
    run_script(&e2e, "graphiql.mjs", base, "GraphiQL in the browser").await;
}

/// Runs `e2e/<script>` with node against `url` (screenshots under
/// target/e2e-screenshots); fails the test with its output if it fails.
/// Serves `shop`'s storefront on a local port and runs `script` against it.
async fn serve_and_run(shop: &Shop, e2e: &Path, script: &str, what: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = shop.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    run_script(e2e, script, url, what).await;
}

async fn run_script(e2e: &Path, script: &str, url: String, what: &str) {
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let script = e2e.join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(url)
            .arg(screenshots)
            .env("CHROMIUM", CHROMIUM)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}\n{stderr}"
    );
}
