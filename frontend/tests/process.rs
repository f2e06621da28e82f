//! The `bookstore-web` binary as a container runs it: it stops cleanly on
//! SIGTERM, its `healthcheck` command tells a running storefront from a
//! dead one, and in production it refuses to start without `CSRF_SECRET`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_bookstore-web");

/// A port nobody listens on (bound, then released).
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn storefront(address: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("BIND_ADDR", address)
        .env("GRAPHQL_URL", "http://127.0.0.1:1/graphql")
        .env("RUST_LOG", "info");
    command
}

fn healthcheck(address: &str) -> std::process::ExitStatus {
    storefront(address)
        .arg("healthcheck")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
}

/// Waits until the storefront answers (its healthcheck passes).
fn wait_until_up(address: &str) {
    let started = Instant::now();
    while !healthcheck(address).success() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the storefront did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_healthcheck_passes_for_a_running_storefront_and_fails_for_a_closed_port() {
    let address = free_address();
    assert_eq!(healthcheck(&address).code(), Some(1), "nothing listens yet");
    let mut server = storefront(&address)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_up(&address);
    assert_eq!(healthcheck(&address).code(), Some(0));
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn sigterm_stops_the_storefront_cleanly() {
    let address = free_address();
    let mut server = storefront(&address)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_up(&address);
    let sent = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{status:?}: not a clean exit");
    assert_eq!(
        healthcheck(&address).code(),
        Some(1),
        "it stopped listening"
    );
}

#[test]
fn production_refuses_to_start_without_a_csrf_secret() {
    let address = free_address();
    let mut starting = storefront(&address)
        .env("APP_ENV", "production")
        .env("CSRF_SECRET", "")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while starting.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = starting.kill();
    let output = starting.wait_with_output().unwrap();
    assert!(!output.status.success(), "it started");
    assert_eq!(healthcheck(&address).code(), Some(1), "it never listened");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CSRF_SECRET"), "{stderr}");
    assert!(stderr.contains("production"), "{stderr}");
}
