//! The `healthcheck` subcommand of both services: asks the server listening
//! on BIND_ADDR for `/healthz` (or another path, such as the backend's
//! `/readyz`; the container images have no curl). A plain
//! HTTP/1.0 request over TCP; healthy only on a `200` within a few seconds.
//!
//! Never follows a redirect or talks to any address but the configured one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the whole check may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the server listening on `bind_addr` answers `/healthz` with 200.
/// A wildcard address (`0.0.0.0`, `::`) is reached on loopback.
pub async fn healthy(bind_addr: SocketAddr) -> bool {
    answers_ok(bind_addr, "/healthz").await
}

/// Whether the server listening on `bind_addr` answers `path` with 200.
pub async fn answers_ok(bind_addr: SocketAddr, path: &str) -> bool {
    let address = match bind_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bind_addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bind_addr.port())
        }
        _ => bind_addr,
    };
    let check = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut head = Vec::new();
        (&mut stream).take(1024).read_to_end(&mut head).await.ok()?;
        let status_line = head.split(|byte| *byte == b'\n').next()?;
        let mut words = status_line.split(|byte| *byte == b' ');
        let version = words.next()?;
        let status = words.next()?;
        Some(version.starts_with(b"HTTP/1.") && status == b"200")
    };
    matches!(tokio::time::timeout(TIMEOUT, check).await, Ok(Some(true)))
}
