//! Periodic work the backend process runs beside serving requests, one
//! module per job. Jobs are safe with several backends running: each
//! claims its work in Postgres. This file only declares, and holds the
//! handle that stops a background task when dropped.

pub mod mail;
pub mod outbox;
pub mod periodic;
pub mod sweeper;

/// A spawned background task, aborted when dropped (so a test's worker
/// ends with its test, and `serve` owns its tasks).
pub struct Task(tokio::task::JoinHandle<()>);

impl Task {
    pub fn spawn(work: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        Self(tokio::spawn(work))
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}
