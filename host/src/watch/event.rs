//! [`Event`]: one change as a watcher reads it.

/// One change to a watched store, or news of changes a watcher missed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `key` was written (set, put, increment, swap, set-many); `value` is
    /// its new value.
    Set {
        /// The key, under the watched prefix.
        key: String,
        /// Its new value.
        value: Vec<u8>,
    },
    /// `key` was removed: deleted, cleared, or expired and removed.
    Delete {
        /// The key, under the watched prefix.
        key: String,
    },
    /// Changes were lost before this point: `count` of them when this
    /// watcher's queue overflowed, `None` when the store's connection to
    /// its server was down for a while and nobody knows how many. The queue
    /// is the store's, so `count` is an upper bound: it includes changes to
    /// keys outside the watched prefix. A watcher that keeps a copy of the
    /// data should read it again.
    Missed {
        /// How many, when known.
        count: Option<u64>,
    },
}

impl Event {
    /// The key this event is about; `None` for [`Event::Missed`].
    pub fn key(&self) -> Option<&str> {
        match self {
            Event::Set { key, .. } | Event::Delete { key } => Some(key),
            Event::Missed { .. } => None,
        }
    }
}
