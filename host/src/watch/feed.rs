//! [`Feed`]: where a store publishes its changes, for its watchers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use tokio::sync::broadcast;

/// The changes a watcher may fall behind by before it misses some: the
/// length of a store's queue. A write never waits for a watcher; one that
/// is slower than this many changes reads [`crate::watch::Event::Missed`].
pub const QUEUE: usize = 4096;

/// Which changes a store's watchers see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchScope {
    /// The changes made by this process (memory, SQLite, MariaDB).
    Local,
    /// The changes made by every host that shares the store, through its
    /// server (PostgreSQL LISTEN/NOTIFY, Redis pub/sub).
    Shared,
}

impl WatchScope {
    /// `local` or `shared`.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchScope::Local => "local",
            WatchScope::Shared => "shared",
        }
    }
}

impl std::fmt::Display for WatchScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change as the queue carries it, shared by every watcher.
#[derive(Debug)]
pub(crate) enum Change {
    Set {
        key: Box<str>,
        value: Box<[u8]>,
    },
    Delete {
        key: Box<str>,
    },
    /// The feed's server connection was lost; changes made meanwhile are gone.
    #[cfg_attr(not(any(feature = "redis", feature = "postgres")), allow(dead_code))]
    Lost,
}

/// Starts a shared feed's listener: given the feed's [`Publisher`], it
/// spawns the task that receives the server's changes.
type Start = Box<dyn FnOnce(Publisher) + Send>;

/// Where a store publishes the changes its writes make, and where
/// [`crate::Bucket::watch`] subscribes.
///
/// A store that nobody watches pays one atomic load per write: nothing is
/// copied, and the queue is allocated when the first watcher subscribes.
/// A store implementation holds one and calls [`Feed::set`] and
/// [`Feed::delete`] after each write, while it still holds whatever orders
/// writes to that key (a lock, a transaction), so that watchers see the
/// changes of one key in the order they were made.
pub struct Feed {
    inner: Arc<Inner>,
}

struct Inner {
    scope: WatchScope,
    /// Watchers subscribed now; publishing is skipped while there are none.
    watchers: AtomicUsize,
    queue: OnceLock<broadcast::Sender<Arc<Change>>>,
    start: Mutex<Option<Start>>,
    /// Whether changes made elsewhere reach this feed now.
    listening: tokio::sync::watch::Sender<bool>,
}

impl Feed {
    /// A feed of this process's changes.
    pub fn local() -> Self {
        Self::new(WatchScope::Local, None)
    }

    /// A feed of the changes every host makes, received by the listener
    /// that `start` spawns when the first watcher subscribes.
    #[cfg_attr(not(any(feature = "redis", feature = "postgres")), allow(dead_code))]
    pub(crate) fn shared(start: impl FnOnce(Publisher) + Send + 'static) -> Self {
        Self::new(WatchScope::Shared, Some(Box::new(start)))
    }

    fn new(scope: WatchScope, start: Option<Start>) -> Self {
        let (listening, _) = tokio::sync::watch::channel(start.is_none());
        let inner =
            Inner { scope, watchers: AtomicUsize::new(0), queue: OnceLock::new(), start: Mutex::new(start), listening };
        Self { inner: Arc::new(inner) }
    }

    /// Which changes this feed carries.
    pub fn scope(&self) -> WatchScope {
        self.inner.scope
    }

    /// Whether anyone watches: a store may skip work that only watchers
    /// need (reading back the keys a `clear` removes, say).
    #[inline]
    pub fn is_watched(&self) -> bool {
        self.inner.is_watched()
    }

    /// Publish that `key` now holds `value`.
    #[inline]
    pub fn set(&self, key: &str, value: &[u8]) {
        if self.is_watched() {
            self.inner.send(Change::Set { key: key.into(), value: value.into() });
        }
    }

    /// Publish that `key` was removed.
    #[inline]
    pub fn delete(&self, key: &str) {
        if self.is_watched() {
            self.inner.send(Change::Delete { key: key.into() });
        }
    }

    /// A handle for a listener task, which does not keep the feed alive.
    pub(crate) fn publisher(&self) -> Publisher {
        Publisher(Arc::downgrade(&self.inner))
    }

    /// A new watcher's queue, its place among the watchers, and whether the
    /// feed is listening. Starts a shared feed's listener the first time.
    pub(crate) fn subscribe(&self) -> Subscription {
        let queue = self.inner.queue.get_or_init(|| broadcast::channel(QUEUE).0).subscribe();
        self.inner.watchers.fetch_add(1, Ordering::SeqCst);
        let start = self.inner.start.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(start) = start {
            start(self.publisher());
        }
        Subscription { queue, listening: self.inner.listening.subscribe(), feed: Arc::downgrade(&self.inner) }
    }
}

impl Default for Feed {
    fn default() -> Self {
        Self::local()
    }
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("scope", &self.inner.scope)
            .field("watchers", &self.inner.watchers.load(Ordering::Relaxed))
            .finish()
    }
}

impl Inner {
    #[inline]
    fn is_watched(&self) -> bool {
        self.watchers.load(Ordering::Acquire) > 0
    }

    #[cold]
    fn send(&self, change: Change) {
        if let Some(queue) = self.queue.get() {
            // An error means every receiver has gone since the check: nobody to tell.
            let _ = queue.send(Arc::new(change));
        }
    }
}

/// A listener task's handle on its feed: what it receives from the server
/// goes out to the watchers. Each method returns `false` once the store is
/// gone, and the task should end.
#[derive(Clone)]
pub(crate) struct Publisher(Weak<Inner>);

// Shared feeds (PostgreSQL, Redis) are the only publishers from outside.
#[cfg_attr(not(any(feature = "redis", feature = "postgres")), allow(dead_code))]
impl Publisher {
    fn with(&self, f: impl FnOnce(&Inner)) -> bool {
        match self.0.upgrade() {
            Some(inner) => {
                f(&inner);
                true
            }
            None => false,
        }
    }

    /// Whether anyone watches (and the feed is still there).
    #[allow(dead_code)]
    pub(crate) fn is_watched(&self) -> bool {
        self.0.upgrade().is_some_and(|i| i.is_watched())
    }

    pub(crate) fn set(&self, key: &str, value: &[u8]) -> bool {
        self.with(|i| {
            if i.is_watched() {
                i.send(Change::Set { key: key.into(), value: value.into() })
            }
        })
    }

    pub(crate) fn delete(&self, key: &str) -> bool {
        self.with(|i| {
            if i.is_watched() {
                i.send(Change::Delete { key: key.into() })
            }
        })
    }

    /// The server connection is up (`true`) and changes flow, or was lost
    /// (`false`): watchers are told that they missed changes.
    pub(crate) fn listening(&self, up: bool) -> bool {
        self.with(|i| {
            let was = i.listening.send_replace(up);
            if was && !up && i.is_watched() {
                i.send(Change::Lost);
            }
        })
    }
}

/// What [`Feed::subscribe`] gives a watcher.
pub(crate) struct Subscription {
    pub(crate) queue: broadcast::Receiver<Arc<Change>>,
    pub(crate) listening: tokio::sync::watch::Receiver<bool>,
    feed: Weak<Inner>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.feed.upgrade() {
            inner.watchers.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
