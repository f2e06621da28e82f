//! `bookstore healthcheck`, as compose runs it inside the container: exit 0
//! for a running backend on BIND_ADDR, 1 when nothing answers there.

use std::process::{Command, Stdio};

use crate::support::TestApp;

fn healthcheck(bind_addr: &str) -> Option<i32> {
    healthcheck_with(bind_addr, &[])
}

fn healthcheck_with(bind_addr: &str, args: &[&str]) -> Option<i32> {
    Command::new(env!("CARGO_BIN_EXE_bookstore"))
        .arg("healthcheck")
        .args(args)
        .env_clear()
        .env("BIND_ADDR", bind_addr)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .code()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_healthcheck_command_tells_a_running_backend_from_a_closed_port() {
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let running = address.to_string();
    let code = tokio::task::spawn_blocking(move || healthcheck(&running))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "a running backend is healthy");
    // The same port through the wildcard address compose binds (0.0.0.0).
    let wildcard = format!("0.0.0.0:{}", address.port());
    let code = tokio::task::spawn_blocking(move || healthcheck(&wildcard))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "0.0.0.0 is checked on loopback");
    // `--ready` asks /readyz (what nginx's backends are checked by).
    let ready = address.to_string();
    let code = tokio::task::spawn_blocking(move || healthcheck_with(&ready, &["--ready"]))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "a backend whose Postgres answers is ready");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let code = tokio::task::spawn_blocking(move || healthcheck(&closed_address))
        .await
        .unwrap();
    assert_eq!(code, Some(1), "nothing listening is unhealthy");
}
