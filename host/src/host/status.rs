//! [`HostStatus`]: what a host's entries are doing now, readable (and
//! awaitable) from anywhere while its components run.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;

/// The state of one registry entry in a running [`crate::Host`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryState {
    /// Being started (connecting, opening its table, loading its component).
    Starting,
    /// A store or database that is up, or a command that is running.
    Running,
    /// An HTTP component accepting requests at this address.
    Serving(SocketAddr),
    /// A watcher component whose subscriptions are live.
    Watching,
    /// A command that ended with this exit code.
    Finished(i32),
    /// It could not start, or it failed; why.
    Failed(String),
    /// Stopped by the host's shutdown.
    Stopped,
}

impl EntryState {
    /// Whether entries that require this one may start: it is up, or it is a
    /// command that has done its work.
    pub fn is_ready(&self) -> bool {
        matches!(self, Self::Running | Self::Serving(_) | Self::Watching | Self::Finished(0))
    }

    /// Whether it will not become ready any more.
    pub fn is_over(&self) -> bool {
        matches!(self, Self::Finished(_) | Self::Failed(_) | Self::Stopped)
    }
}

impl fmt::Display for EntryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => f.write_str("starting"),
            Self::Running => f.write_str("running"),
            Self::Serving(addr) => write!(f, "serving http://{addr}/"),
            Self::Watching => f.write_str("watching"),
            Self::Finished(code) => write!(f, "exited with code {code}"),
            Self::Failed(why) => write!(f, "failed: {why}"),
            Self::Stopped => f.write_str("stopped"),
        }
    }
}

/// A cloneable handle on a host's entry states: the metrics endpoint, the
/// key browser or an embedder's health check read it while the host runs
/// its components; a component that `requires` another waits on it.
#[derive(Clone)]
pub struct HostStatus(Arc<watch::Sender<BTreeMap<String, EntryState>>>);

impl Default for HostStatus {
    fn default() -> Self {
        Self(Arc::new(watch::channel(BTreeMap::new()).0))
    }
}

impl fmt::Debug for HostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.borrow().iter()).finish()
    }
}

impl HostStatus {
    /// The state of entry `id`, if the host has touched it.
    pub fn get(&self, id: &str) -> Option<EntryState> {
        self.0.borrow().get(id).cloned()
    }

    /// Every entry the host has touched, by ID.
    pub fn entries(&self) -> BTreeMap<String, EntryState> {
        self.0.borrow().clone()
    }

    /// Wait until entry `id` is ready ([`EntryState::is_ready`]); its state
    /// if it ends without being so.
    pub async fn ready(&self, id: &str) -> Result<(), EntryState> {
        let mut changes = self.0.subscribe();
        let state = changes
            .wait_for(|states| states.get(id).is_some_and(|s| s.is_ready() || s.is_over()))
            .await
            .map(|states| states[id].clone())
            .unwrap_or(EntryState::Stopped);
        if state.is_ready() { Ok(()) } else { Err(state) }
    }

    pub(crate) fn set(&self, id: &str, state: EntryState) {
        self.0.send_modify(|states| {
            states.insert(id.to_owned(), state);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_waits_for_an_entry_to_come_up() {
        let status = HostStatus::default();
        status.set("app:web", EntryState::Starting);
        let waiter = tokio::spawn({
            let status = status.clone();
            async move { status.ready("app:web").await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        status.set("app:web", EntryState::Serving("127.0.0.1:80".parse().unwrap()));
        assert_eq!(waiter.await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn ready_reports_an_entry_that_failed() {
        let status = HostStatus::default();
        status.set("app:job", EntryState::Failed("trap".into()));
        assert_eq!(status.ready("app:job").await, Err(EntryState::Failed("trap".into())));
        status.set("app:cmd", EntryState::Finished(0));
        assert_eq!(status.ready("app:cmd").await, Ok(()));
    }
}
