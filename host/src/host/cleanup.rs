//! Cleanup: a task per store that purges its expired entries every
//! `cleanup_interval`, stopped with the store.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::Wait;
use crate::backend::SharedStore;

/// A store's running cleanup task.
pub(super) struct Cleanup {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Cleanup {
    /// Purge `store`'s expired entries every `interval`; none for a zero
    /// interval.
    pub(super) fn spawn(store: SharedStore, interval: Duration) -> Option<Self> {
        if interval.is_zero() {
            return None;
        }
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                purge(&store).await;
            }
        });
        Some(Self { stop, task })
    }

    /// Stop the task, waiting up to `timeout` for a purge under way.
    pub(super) async fn stop(self, id: &str, timeout: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(timeout, self.task).await.is_err() {
            tracing::warn!(%id, "cleanup task did not stop within stop_timeout");
        }
    }
}

/// One purge, on a blocking thread: a memory store's purge is CPU work that
/// would hold up a runtime worker for its whole pass.
async fn purge(store: &SharedStore) {
    let s = store.clone();
    match tokio::task::spawn_blocking(move || s.remove_expired().wait()).await {
        Ok(Ok(n)) if n > 0 => tracing::debug!(id = %store.info().id, removed = n, "cleanup"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(id = %store.info().id, error = %e, "cleanup failed"),
        Err(e) => tracing::warn!(id = %store.info().id, error = %e, "cleanup task panicked"),
    }
}
