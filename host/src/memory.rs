//! The in-memory store: a sharded concurrent map with TTL and a size cap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;

use crate::clock::{self, SharedClock};
use crate::error::{Error, Result};
use crate::store::{Limits, Store, StoreInfo, expiry};

/// Builds a [`MemoryStore`].
///
/// ```
/// use kvhost::{MemoryStore, Store};
/// let store = MemoryStore::builder("app:sessions").max_size(2).build();
/// store.set("a", b"1", None).unwrap();
/// assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"1"[..]));
/// ```
#[derive(Debug)]
pub struct MemoryStoreBuilder {
    id: String,
    max_size: u64,
    limits: Limits,
    clock: SharedClock,
}

impl MemoryStoreBuilder {
    /// The most live entries the store holds; `0` = unlimited. Default 10000.
    pub fn max_size(mut self, max_size: u64) -> Self {
        self.max_size = max_size;
        self
    }

    /// Key and value size limits reported by `info()`.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The clock that decides expiry. Default: the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The store.
    pub fn build(self) -> MemoryStore {
        MemoryStore {
            map: DashMap::new(),
            len: AtomicU64::new(0),
            earliest_expiry: AtomicU64::new(NEVER),
            max_size: self.max_size,
            clock: self.clock,
            info: StoreInfo {
                id: self.id,
                backend: "memory",
                durable: false,
                limits: self.limits,
            },
        }
    }
}

/// `expires_at` of an entry that never expires.
const NEVER: u64 = u64::MAX;

#[derive(Debug)]
struct Entry {
    value: Box<[u8]>,
    /// Unix milliseconds, or [`NEVER`].
    expires_at: u64,
}

impl Entry {
    fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at > now_ms
    }
}

/// An in-memory store. Data is lost when the host stops.
///
/// `max_size` is exact under concurrency: a slot is reserved in an atomic
/// counter while the key's shard is locked, so concurrent writers can never
/// push the store past it. Expired entries are invisible at once and do not
/// count: a full store first purges expired entries before refusing a key.
#[derive(Debug)]
pub struct MemoryStore {
    map: DashMap<Box<str>, Entry>,
    /// Entries in `map`, live or expired-but-not-purged. Never above `max_size`.
    len: AtomicU64,
    /// A lower bound on the earliest `expires_at` in `map`, so that a full
    /// store knows in O(1) whether purging could free a slot.
    earliest_expiry: AtomicU64,
    max_size: u64,
    clock: SharedClock,
    info: StoreInfo,
}

impl MemoryStore {
    /// Default `max_size`.
    pub const DEFAULT_MAX_SIZE: u64 = 10_000;

    /// A builder for a store with the given registry ID.
    pub fn builder(id: impl Into<String>) -> MemoryStoreBuilder {
        MemoryStoreBuilder {
            id: id.into(),
            max_size: Self::DEFAULT_MAX_SIZE,
            limits: Limits::default(),
            clock: clock::system(),
        }
    }

    /// Entries held in memory, including expired ones not yet purged.
    pub fn stored_len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// Take a slot for a new key, or fail if the store is full.
    fn reserve_slot(&self) -> bool {
        if self.max_size == 0 {
            self.len.fetch_add(1, Ordering::AcqRel);
            return true;
        }
        self.len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_size).then_some(n + 1)
            })
            .is_ok()
    }

    fn release_slot(&self) {
        self.len.fetch_sub(1, Ordering::AcqRel);
    }

    fn note_expiry(&self, expires_at: u64) {
        if expires_at != NEVER {
            self.earliest_expiry.fetch_min(expires_at, Ordering::AcqRel);
        }
    }

    fn remove_if_expired(&self, key: &str, now_ms: u64) {
        if self.map.remove_if(key, |_, e| !e.is_live(now_ms)).is_some() {
            self.release_slot();
        }
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let now = self.clock.now_ms();
        match self.map.get(key) {
            Some(e) if e.is_live(now) => Ok(Some(e.value.to_vec())),
            Some(e) => {
                drop(e);
                self.remove_if_expired(key, now);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        let now = self.clock.now_ms();
        let expires_at = expiry(now, ttl).unwrap_or(NEVER);
        let mut purged = false;
        loop {
            match self.map.entry(key.into()) {
                MapEntry::Occupied(mut e) => {
                    // An overwrite, of a live or an expired entry, takes no new slot.
                    *e.get_mut() = Entry { value: value.into(), expires_at };
                }
                MapEntry::Vacant(e) => {
                    if !self.reserve_slot() {
                        drop(e);
                        let may_free = self.earliest_expiry.load(Ordering::Acquire) <= now;
                        if !purged && may_free {
                            self.remove_expired()?;
                            purged = true;
                            continue;
                        }
                        return Err(Error::StoreFull {
                            store: self.info.id.clone(),
                            max_size: self.max_size,
                        });
                    }
                    e.insert(Entry { value: value.into(), expires_at });
                }
            }
            self.note_expiry(expires_at);
            return Ok(());
        }
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let now = self.clock.now_ms();
        match self.map.remove(key) {
            Some((_, e)) => {
                self.release_slot();
                Ok(e.is_live(now))
            }
            None => Ok(false),
        }
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let now = self.clock.now_ms();
        match self.map.get(key) {
            Some(e) if e.is_live(now) => Ok(true),
            Some(e) => {
                drop(e);
                self.remove_if_expired(key, now);
                Ok(false)
            }
            None => Ok(false),
        }
    }

    fn clear(&self) -> Result<()> {
        self.map.retain(|_, _| {
            self.release_slot();
            false
        });
        Ok(())
    }

    fn remove_expired(&self) -> Result<u64> {
        let now = self.clock.now_ms();
        // Reset the bound first: every entry that survives the scan lowers it
        // again, and so does every concurrent `set` that lands after the reset.
        self.earliest_expiry.store(NEVER, Ordering::Release);
        let mut removed = 0;
        self.map.retain(|_, e| {
            if e.is_live(now) {
                self.note_expiry(e.expires_at);
                true
            } else {
                self.release_slot();
                removed += 1;
                false
            }
        });
        Ok(removed)
    }

    fn info(&self) -> &StoreInfo {
        &self.info
    }
}

#[cfg(test)]
mod tests;
