//! A TCP proxy that can make the service behind it fail the way real ones
//! do (crates.io's `ChaosProxy` idea): forward everything, hang (accept
//! connections and never answer), cut (close every connection and refuse
//! new ones), or delay (answer everything, late: a slow reply, not a dead
//! link). Tests put one in front of the shared Redis per app instance,
//! so one instance can lose Redis while the others keep it.
//!
//! Never touches the service itself: a hung or cut proxy leaves the shared
//! Redis untouched for every other test.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Accept connections and swallow requests; never answer.
    Hang,
    /// Close every connection; new ones are closed at once.
    Cut,
    /// Forward both ways, holding each reply this long first.
    Delay(Duration),
}

pub struct ChaosProxy {
    address: SocketAddr,
    mode: watch::Sender<Mode>,
    accepting: tokio::task::JoinHandle<()>,
}

impl ChaosProxy {
    /// A proxy on a free local port in front of `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Pass);
        let modes = mode.clone();
        let upstream = upstream.to_owned();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mode = modes.subscribe();
                tokio::spawn(serve(client, upstream.clone(), mode));
            }
        });
        Self {
            address,
            mode,
            accepting,
        }
    }

    /// A proxy in front of the test Redis; [`ChaosProxy::url`] is its URL.
    pub async fn for_redis() -> Self {
        let url = crate::redis_url();
        let upstream = url
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        Self::start(&upstream).await
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `redis://` + the proxy's address.
    pub fn url(&self) -> String {
        format!("redis://{}", self.address)
    }

    /// Forward again. Connections that lived through a hang are closed (the
    /// client reconnects), as after a real stalled server was restarted.
    pub fn pass(&self) {
        self.mode.send_replace(Mode::Pass);
    }

    pub fn hang(&self) {
        self.mode.send_replace(Mode::Hang);
    }

    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    /// Answer everything, each reply `by` late; connections stay usable
    /// (back to normal with [`ChaosProxy::pass`]).
    pub fn delay(&self, by: Duration) {
        self.mode.send_replace(Mode::Delay(by));
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Cut);
        self.accepting.abort();
    }
}

async fn serve(mut client: TcpStream, upstream: String, mut mode: watch::Receiver<Mode>) {
    // Without it, Nagle's algorithm and delayed ACKs add ~40 ms stalls to
    // the small request/reply exchanges a real Redis link does not have.
    let _ = client.set_nodelay(true);
    let mut buffer = [0u8; 16 * 1024];
    let mut upstream_buffer = [0u8; 16 * 1024];
    let mut server: Option<TcpStream> = None;
    // A connection that saw a hang never forwards again.
    let mut tainted = false;
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Cut => return,
            Mode::Hang => {
                tainted = true;
                tokio::select! {
                    changed = mode.changed() => if changed.is_err() { return },
                    read = client.read(&mut buffer) => if matches!(read, Ok(0) | Err(_)) { return },
                }
            }
            Mode::Pass | Mode::Delay(_) if tainted => return,
            Mode::Pass | Mode::Delay(_) => {
                if server.is_none() {
                    match TcpStream::connect(&upstream).await {
                        Ok(stream) => {
                            let _ = stream.set_nodelay(true);
                            server = Some(stream);
                        }
                        Err(_) => return,
                    }
                }
                let Some(upstream_stream) = server.as_mut() else {
                    return;
                };
                tokio::select! {
                    changed = mode.changed() => if changed.is_err() { return },
                    read = client.read(&mut buffer) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) => if upstream_stream.write_all(&buffer[..n]).await.is_err() { return },
                    },
                    read = upstream_stream.read(&mut upstream_buffer) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if let Mode::Delay(by) = current {
                                tokio::time::sleep(by).await;
                            }
                            if client.write_all(&upstream_buffer[..n]).await.is_err() { return }
                        }
                    },
                }
            }
        }
    }
}
