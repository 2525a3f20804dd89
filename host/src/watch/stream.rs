//! [`Watch`]: one watcher's stream of changes.

use std::sync::Arc;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::event::Event;
use super::feed::{Change, Subscription};
use crate::metrics::Metrics;

/// The changes to the keys of one store under one prefix, in the order they
/// were made for each key, as [`crate::Bucket::watch`] gives them.
///
/// Read it with [`Watch::next`] (async) or [`Watch::blocking_next`]. It ends
/// (`None`) when the store stops. A watcher that falls more than
/// [`crate::watch::QUEUE`] changes behind reads [`Event::Missed`] instead of
/// what it missed.
///
/// ```
/// use kvhost::memory::MemoryStore;
/// use kvhost::watch::Event;
/// use kvhost::{Catalog, Limits, Wait};
/// # fn main() -> kvhost::Result<()> {
/// let catalog = Catalog::new();
/// catalog.insert(std::sync::Arc::new(MemoryStore::builder("app:cache").build()), Limits::default());
/// let bucket = catalog.open("app:cache").unwrap();
/// let mut users = bucket.watch("user:")?;
/// bucket.set("user:1", b"Ada", None).wait()?;
/// bucket.set("order:9", b"tea", None).wait()?;
/// bucket.delete("user:1").wait()?;
/// assert_eq!(users.try_next(), Some(Event::Set { key: "user:1".into(), value: b"Ada".to_vec() }));
/// assert_eq!(users.try_next(), Some(Event::Delete { key: "user:1".into() }));
/// assert_eq!(users.try_next(), None);
/// # Ok(())
/// # }
/// ```
pub struct Watch {
    sub: Subscription,
    store: String,
    prefix: String,
    metrics: Option<Metrics>,
}

impl Watch {
    pub(crate) fn new(sub: Subscription, store: &str, prefix: &str, metrics: Option<Metrics>) -> Self {
        Self { sub, store: store.to_owned(), prefix: prefix.to_owned(), metrics }
    }

    /// The watched store's ID.
    pub fn store(&self) -> &str {
        &self.store
    }

    /// The prefix watched: the one asked for, narrowed by the grant.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The next change, waiting for one; `None` once the store has stopped.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            let received = self.sub.queue.recv().await;
            if let Some(event) = self.accept(received)? {
                return Some(event);
            }
        }
    }

    /// The next change if one is waiting, without waiting; `None` if none
    /// is (or the store has stopped).
    pub fn try_next(&mut self) -> Option<Event> {
        loop {
            let received = match self.sub.queue.try_recv() {
                Ok(change) => Ok(change),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty | TryRecvError::Closed) => return None,
            };
            if let Some(event) = self.accept(received)? {
                return Some(event);
            }
        }
    }

    /// [`Watch::next`] for synchronous callers: blocks this thread. Not for
    /// use inside an async task.
    pub fn blocking_next(&mut self) -> Option<Event> {
        loop {
            let received = self.sub.queue.blocking_recv();
            if let Some(event) = self.accept(received)? {
                return Some(event);
            }
        }
    }

    /// Wait until changes made by other hosts reach this watch: at once for
    /// a local feed, once its connection listens for a shared one (after a
    /// connection is lost, until it listens again).
    pub async fn listening(&mut self) {
        // An error means the store has stopped: nothing more to wait for.
        let _ = self.sub.listening.wait_for(|up| *up).await;
    }

    /// Whether changes made by other hosts reach this watch now.
    pub fn is_listening(&self) -> bool {
        *self.sub.listening.borrow()
    }

    /// What a received change means to this watcher: `None` once the feed
    /// has closed, `Some(None)` for a change outside the prefix (read on),
    /// else the event.
    fn accept(&self, received: Result<Arc<Change>, RecvError>) -> Option<Option<Event>> {
        let event = match received {
            Ok(change) => match &*change {
                Change::Set { key, .. } | Change::Delete { key } if !key.starts_with(&self.prefix) => {
                    return Some(None);
                }
                Change::Set { key, value } => Event::Set { key: key.to_string(), value: value.to_vec() },
                Change::Delete { key } => Event::Delete { key: key.to_string() },
                Change::Lost => {
                    tracing::warn!(store = %self.store, "watch: the connection to the store's server was lost; changes made meanwhile are missed");
                    self.count("lost", 1);
                    return Some(Some(Event::Missed { count: None }));
                }
            },
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(store = %self.store, prefix = %self.prefix, missed = n, "watch: a watcher fell behind by more than its queue; changes missed");
                self.count("missed", n);
                return Some(Some(Event::Missed { count: Some(n) }));
            }
            Err(RecvError::Closed) => return None,
        };
        self.count("delivered", 1);
        Some(Some(event))
    }

    fn count(&self, outcome: &'static str, n: u64) {
        if let Some(m) = &self.metrics {
            m.watch_event(&self.store, outcome, n);
        }
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("store", &self.store).field("prefix", &self.prefix).finish_non_exhaustive()
    }
}
