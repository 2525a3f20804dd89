//! The in-memory store: a sharded concurrent map with TTL and a size cap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;

use super::clock::{self, SharedClock};
use super::{Condition, Op, Store, StoreInfo, Versioned, add_decimal, expiry};
use crate::error::{Error, Result};

mod config;

pub(crate) use config::KIND;
pub use config::MemoryConfig;

/// Builds a [`MemoryStore`].
///
/// ```
/// use kvhost::{MemoryStore, Store, Wait};
/// let store = MemoryStore::builder("app:sessions").max_size(2).build();
/// store.set("a", b"1".to_vec(), None).wait().unwrap();
/// assert_eq!(store.get("a").wait().unwrap().as_deref(), Some(&b"1"[..]));
/// ```
#[derive(Debug)]
pub struct MemoryStoreBuilder {
    id: String,
    max_size: u64,
    clock: SharedClock,
}

impl MemoryStoreBuilder {
    /// The most live entries the store holds; `0` = unlimited. Default 10000.
    pub fn max_size(mut self, max_size: u64) -> Self {
        self.max_size = max_size;
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
            map: DashMap::with_shard_amount(SHARDS),
            len: AtomicU64::new(0),
            earliest_expiry: AtomicU64::new(NEVER),
            next_version: AtomicU64::new(1),
            max_size: self.max_size,
            clock: self.clock,
            info: StoreInfo { id: self.id, backend: "memory", durable: false, versioned: true },
        }
    }
}

/// `expires_at` of an entry that never expires.
const NEVER: u64 = u64::MAX;

/// Shards of the map. Cleanup locks one shard at a time, so more shards mean
/// shorter pauses for readers (about 4k entries per lock at 1M entries).
const SHARDS: usize = 256;

/// The clock, read at most once per operation and only if an entry expires.
struct Now<'a> {
    clock: &'a dyn super::clock::Clock,
    read: std::cell::Cell<Option<u64>>,
}

impl<'a> Now<'a> {
    fn new(clock: &'a dyn super::clock::Clock) -> Self {
        Self { clock, read: std::cell::Cell::new(None) }
    }

    fn get(&self) -> u64 {
        match self.read.get() {
            Some(now) => now,
            None => {
                let now = self.clock.now_ms();
                self.read.set(Some(now));
                now
            }
        }
    }

    fn is_live(&self, e: &Entry) -> bool {
        e.expires_at == NEVER || e.is_live(self.get())
    }
}

#[derive(Debug)]
struct Entry {
    value: Box<[u8]>,
    /// Unix milliseconds, or [`NEVER`].
    expires_at: u64,
    /// Changes on every write; unique within the store.
    version: u64,
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
    next_version: AtomicU64,
    max_size: u64,
    clock: SharedClock,
    info: StoreInfo,
}

impl MemoryStore {
    /// Default `max_size`.
    pub const DEFAULT_MAX_SIZE: u64 = 10_000;

    /// A builder for a store with the given registry ID.
    pub fn builder(id: impl Into<String>) -> MemoryStoreBuilder {
        MemoryStoreBuilder { id: id.into(), max_size: Self::DEFAULT_MAX_SIZE, clock: clock::system() }
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
        self.len.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max_size).then_some(n + 1)).is_ok()
    }

    fn release_slot(&self) {
        self.len.fetch_sub(1, Ordering::AcqRel);
    }

    fn note_expiry(&self, expires_at: u64) {
        if expires_at != NEVER {
            self.earliest_expiry.fetch_min(expires_at, Ordering::AcqRel);
        }
    }

    /// Write `key` with what `f` makes of its live entry (None if absent or
    /// expired), under the key's shard lock; `f` runs at most once. A new key
    /// takes a slot; if the store is full, expired entries are purged once
    /// before refusing it.
    fn upsert<T>(
        &self,
        key: &str,
        now: &Now<'_>,
        mut f: impl FnMut(Option<&Entry>) -> Result<(Entry, T)>,
    ) -> Result<T> {
        // An existing key is overwritten in place, without allocating its key again.
        let existing = self.map.get_mut(key).map(|mut e| overwrite(&mut e, now, &mut f));
        if let Some(written) = existing {
            let (expires_at, out) = written?;
            self.note_expiry(expires_at);
            return Ok(out);
        }
        let mut purged = false;
        loop {
            let (expires_at, out) = match self.map.entry(key.into()) {
                // Inserted by another writer since the fast path looked.
                MapEntry::Occupied(mut e) => overwrite(e.get_mut(), now, &mut f)?,
                MapEntry::Vacant(e) => {
                    // Reserve first, so that `f` runs only for a write that can happen.
                    if !self.reserve_slot() {
                        drop(e);
                        let may_free = self.earliest_expiry.load(Ordering::Acquire) <= now.get();
                        if !purged && may_free {
                            self.remove_expired()?;
                            purged = true;
                            continue;
                        }
                        return Err(Error::StoreFull { store: self.info.id.clone(), max_size: self.max_size });
                    }
                    let (new, out) = f(None).inspect_err(|_| self.release_slot())?;
                    let expires_at = new.expires_at;
                    e.insert(new);
                    (expires_at, out)
                }
            };
            self.note_expiry(expires_at);
            return Ok(out);
        }
    }

    /// Store `value` if `condition` holds; the new version.
    fn write(&self, key: &str, value: Box<[u8]>, ttl: Option<Duration>, condition: Condition) -> Result<u64> {
        let now = Now::new(&*self.clock);
        let expires_at = ttl.map_or(NEVER, |t| expiry(now.get(), Some(t)).unwrap_or(NEVER));
        let mut value = Some(value);
        self.upsert(key, &now, |live| {
            if !condition.holds(live.map(|e| e.version)) {
                return Err(condition.conflict(key));
            }
            let version = self.new_version();
            let value = value.take().expect("upsert runs its closure at most once");
            Ok((Entry { value, expires_at, version }, version))
        })
    }

    fn new_version(&self) -> u64 {
        self.next_version.fetch_add(1, Ordering::Relaxed)
    }

    fn remove_if_expired(&self, key: &str, now_ms: u64) {
        if self.map.remove_if(key, |_, e| !e.is_live(now_ms)).is_some() {
            self.release_slot();
        }
    }
}

/// Replace an existing entry, live or expired, with what `f` makes of it;
/// it keeps its slot. The new expiry and `f`'s result.
fn overwrite<T>(
    slot: &mut Entry,
    now: &Now<'_>,
    f: &mut impl FnMut(Option<&Entry>) -> Result<(Entry, T)>,
) -> Result<(u64, T)> {
    let (new, out) = f(Some(&*slot).filter(|e| now.is_live(e)))?;
    let expires_at = new.expires_at;
    *slot = new;
    Ok((expires_at, out))
}

// The operations themselves: synchronous, since the map never waits on I/O.
// `Store` hands each result back ready.
impl MemoryStore {
    pub(crate) fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let now = Now::new(&*self.clock);
        match self.map.get(key) {
            Some(e) if now.is_live(&e) => Ok(Some(e.value.to_vec())),
            Some(e) => {
                drop(e);
                self.remove_if_expired(key, now.get());
                Ok(None)
            }
            None => Ok(None),
        }
    }

    pub(crate) fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        self.write(key, value.into(), ttl, Condition::Always).map(drop)
    }

    pub(crate) fn set_owned(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        self.write(key, value.into_boxed_slice(), ttl, Condition::Always).map(drop)
    }

    pub(crate) fn delete(&self, key: &str) -> Result<bool> {
        let now = self.clock.now_ms();
        match self.map.remove(key) {
            Some((_, e)) => {
                self.release_slot();
                Ok(e.is_live(now))
            }
            None => Ok(false),
        }
    }

    pub(crate) fn exists(&self, key: &str) -> Result<bool> {
        let now = Now::new(&*self.clock);
        match self.map.get(key) {
            Some(e) if now.is_live(&e) => Ok(true),
            Some(e) => {
                drop(e);
                self.remove_if_expired(key, now.get());
                Ok(false)
            }
            None => Ok(false),
        }
    }

    pub(crate) fn clear(&self) -> Result<()> {
        self.map.retain(|_, _| {
            self.release_slot();
            false
        });
        Ok(())
    }

    pub(crate) fn remove_expired(&self) -> Result<u64> {
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

    pub(crate) fn list(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let now = self.clock.now_ms();
        // Keep the `limit` smallest matching keys in a max-heap: O(n log limit).
        let mut heap = std::collections::BinaryHeap::with_capacity(limit + 1);
        for e in self.map.iter() {
            let k: &str = e.key();
            if k.starts_with(prefix) && after.is_none_or(|a| k > a) && e.is_live(now) {
                if heap.len() < limit {
                    heap.push(k.to_owned());
                } else if heap.peek().is_some_and(|top: &String| k < top.as_str()) {
                    heap.pop();
                    heap.push(k.to_owned());
                }
            }
        }
        Ok(heap.into_sorted_vec())
    }

    pub(crate) fn get_entry(&self, key: &str) -> Result<Option<Versioned>> {
        let now = Now::new(&*self.clock);
        Ok(self
            .map
            .get(key)
            .filter(|e| now.is_live(e))
            .map(|e| Versioned { value: e.value.to_vec(), version: e.version }))
    }

    pub(crate) fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let now = Now::new(&*self.clock);
        self.upsert(key, &now, |live| {
            let n = add_decimal(key, live.map(|e| &*e.value), delta)?;
            let expires_at = live.map_or(NEVER, |e| e.expires_at);
            let entry = Entry { value: n.to_string().into_bytes().into(), expires_at, version: self.new_version() };
            Ok((entry, n))
        })
    }
}

impl Store for MemoryStore {
    fn info(&self) -> &StoreInfo {
        &self.info
    }

    fn entries(&self) -> Option<u64> {
        Some(self.len.load(Ordering::Relaxed))
    }

    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>> {
        MemoryStore::get(self, key).into()
    }

    fn set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>) -> Op<'a, ()> {
        self.set_owned(key, value, ttl).into()
    }

    fn delete<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        MemoryStore::delete(self, key).into()
    }

    fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        MemoryStore::exists(self, key).into()
    }

    fn clear(&self) -> Op<'_, ()> {
        MemoryStore::clear(self).into()
    }

    fn remove_expired(&self) -> Op<'_, u64> {
        MemoryStore::remove_expired(self).into()
    }

    fn list<'a>(&'a self, prefix: &'a str, after: Option<&'a str>, limit: usize) -> Op<'a, Vec<String>> {
        MemoryStore::list(self, prefix, after, limit).into()
    }

    fn get_entry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Versioned>> {
        MemoryStore::get_entry(self, key).into()
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>, condition: Condition) -> Op<'a, u64> {
        self.write(key, value.into_boxed_slice(), ttl, condition).into()
    }

    fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64> {
        MemoryStore::increment(self, key, delta).into()
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, Vec<Option<Vec<u8>>>> {
        keys.iter().map(|k| MemoryStore::get(self, k)).collect::<Result<_>>().into()
    }

    fn set_many<'a>(&'a self, entries: &'a [(String, Vec<u8>)], ttl: Option<Duration>) -> Op<'a, ()> {
        entries.iter().try_for_each(|(k, v)| MemoryStore::set(self, k, v, ttl)).into()
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, u64> {
        keys.iter().try_fold(0, |n, k| Ok(n + u64::from(MemoryStore::delete(self, k)?))).into()
    }
}

#[cfg(test)]
mod tests;
