//! Periodic work the backend process runs beside serving requests, one
//! module per job. Jobs are safe with several backends running: each
//! claims its work in Postgres. This file only declares, and holds the
//! handle that stops a background task when dropped.

pub mod mail;
pub mod outbox;
pub mod periodic;
pub mod sweeper;

/// A spawned background task, aborted when dropped (so a test's worker
/// ends with its test). A task spawned with [`Task::spawn_stoppable`] can
/// instead be asked to stop and given time to finish what it started
/// ([`Task::shut_down`]): a worker stopped by SIGTERM records the messages
/// it was sending instead of leaving them to be sent twice.
pub struct Task {
    handle: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

/// A stoppable task's side: whether it has been asked to stop.
#[derive(Clone)]
pub struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the task is asked to stop.
    pub async fn wait(&mut self) {
        if self.0.wait_for(|stop| *stop).await.is_err() {
            // The owner is gone without asking: wait forever (it aborts us).
            std::future::pending::<()>().await;
        }
    }
}

impl Task {
    pub fn spawn(work: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        Self {
            handle: tokio::spawn(work),
            stop: None,
        }
    }

    pub fn spawn_stoppable<F>(work: impl FnOnce(Stop) -> F) -> Self
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::watch::channel(false);
        Self {
            handle: tokio::spawn(work(Stop(receiver))),
            stop: Some(sender),
        }
    }

    /// Asks a stoppable task to stop and waits up to `grace` for it; then
    /// (or at once, for other tasks) aborts it.
    pub async fn shut_down(mut self, grace: std::time::Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
            let _ = tokio::time::timeout(grace, &mut self.handle).await;
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
