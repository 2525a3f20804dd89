//! The in-memory store: a sharded concurrent map with TTL and a size cap.
//!
//! Each entry is one allocation (a [`Slot`]: expiry, version, key and value)
//! behind an 8-byte pointer in a shard's hashbrown table, so an entry costs
//! its key and value plus about 45 bytes (BENCHMARKS.md, measure 7).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::clock::{self, SharedClock};
use super::{Condition, Expiry, Op, Store, StoreInfo, Versioned, add_decimal, expiry};
use crate::error::{Error, Result};
use crate::watch::Feed;

mod config;
// The one allocation per entry: raw memory, confined to this module.
#[allow(unsafe_code)]
mod slot;
mod table;

pub(crate) use config::KIND;
pub use config::MemoryConfig;
use slot::Slot;
use table::{Place, Table, holds};

/// Builds a [`MemoryStore`].
///
/// ```
/// use kvhost::memory::MemoryStore;
/// use kvhost::{Store, Wait};
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
            table: Table::new(),
            len: AtomicU64::new(0),
            earliest_expiry: AtomicU64::new(NEVER),
            max_size: self.max_size,
            clock: self.clock,
            feed: Feed::local(),
            info: StoreInfo { id: self.id, backend: "memory", durable: false, versioned: true },
        }
    }
}

/// `expires_at` of an entry that never expires.
const NEVER: u64 = u64::MAX;

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

    fn is_live(&self, s: &Slot) -> bool {
        s.expires_at() == NEVER || s.is_live_at(self.get())
    }
}

/// What a write puts under a key.
struct Fresh<'v> {
    value: Cow<'v, [u8]>,
    /// Unix milliseconds, or [`NEVER`].
    expires_at: u64,
}

/// An in-memory store. Data is lost when the host stops.
///
/// `max_size` is exact under concurrency: room for an entry is reserved in an atomic
/// counter while the key's shard is locked, so concurrent writers can never
/// push the store past it. Expired entries are invisible at once and do not
/// count: a full store first purges expired entries before refusing a key.
pub struct MemoryStore {
    table: Table,
    /// Entries in `table`, live or expired-but-not-purged. Never above `max_size`.
    len: AtomicU64,
    /// A lower bound on the earliest `expires_at` in `table`, so that a full
    /// store knows in O(1) whether purging could make room.
    earliest_expiry: AtomicU64,
    max_size: u64,
    clock: SharedClock,
    /// Its changes, published under the key's shard lock.
    feed: Feed,
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

    /// Make room for a new key, or fail if the store is full.
    fn reserve_room(&self) -> bool {
        if self.max_size == 0 {
            self.len.fetch_add(1, Ordering::AcqRel);
            return true;
        }
        self.len.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max_size).then_some(n + 1)).is_ok()
    }

    fn release_room(&self) {
        self.len.fetch_sub(1, Ordering::AcqRel);
    }

    fn note_expiry(&self, expires_at: u64) {
        if expires_at != NEVER {
            self.earliest_expiry.fetch_min(expires_at, Ordering::AcqRel);
        }
    }

    /// Write `key` with what `f` makes of its live entry (None if absent or
    /// expired) and the version the write will have, under the key's shard
    /// lock; `f` runs at most once. An existing slot, live or expired, is
    /// overwritten in place. A new key takes room; if the store is full,
    /// expired entries are purged once before refusing it.
    fn upsert<'v, T>(
        &self,
        key: &str,
        now: &Now<'_>,
        mut f: impl FnMut(Option<&Slot>, u64) -> Result<(Fresh<'v>, T)>,
    ) -> Result<T> {
        let place = self.table.place(key);
        let mut purged = false;
        loop {
            let mut shard = place.write();
            let version = shard.new_version();
            if let Some(slot) = shard.slots.find_mut(place.hash, holds(key)) {
                let (new, out) = f(Some(&*slot).filter(|s| now.is_live(s)), version)?;
                slot.overwrite(&new.value, new.expires_at, version);
                self.feed.set(key, &new.value);
                drop(shard);
                self.note_expiry(new.expires_at);
                return Ok(out);
            }
            // Reserve first, so that `f` runs only for a write that can happen.
            if !self.reserve_room() {
                drop(shard);
                let may_free = self.earliest_expiry.load(Ordering::Acquire) <= now.get();
                if !purged && may_free {
                    self.remove_expired()?;
                    purged = true;
                    continue;
                }
                return Err(Error::StoreFull { store: self.info.id.clone(), max_size: self.max_size });
            }
            let (new, out) = f(None, version).inspect_err(|_| self.release_room())?;
            shard.slots.insert_unique(
                place.hash,
                Slot::new(key, &new.value, new.expires_at, version),
                self.table.rehash(),
            );
            self.feed.set(key, &new.value);
            drop(shard);
            self.note_expiry(new.expires_at);
            return Ok(out);
        }
    }

    /// Store `value` if `condition` holds; the new version.
    fn write(&self, key: &str, value: &[u8], ttl: Option<Duration>, condition: Condition) -> Result<u64> {
        let now = Now::new(&*self.clock);
        let expires_at = ttl.map_or(NEVER, |t| expiry(now.get(), Some(t)).unwrap_or(NEVER));
        self.upsert(key, &now, |live, version| {
            if !condition.holds(live.map(Slot::version)) {
                return Err(condition.conflict(key));
            }
            Ok((Fresh { value: Cow::Borrowed(value), expires_at }, version))
        })
    }

    /// `f` of the live entry under `key`; an expired one found on the way is
    /// removed.
    fn read<T>(&self, key: &str, f: impl FnOnce(Option<&Slot>) -> T) -> T {
        let now = Now::new(&*self.clock);
        let place = self.table.place(key);
        let shard = place.read();
        match shard.slots.find(place.hash, holds(key)) {
            Some(slot) if !now.is_live(slot) => {
                drop(shard);
                self.remove_if_expired(key, &place, now.get());
                f(None)
            }
            found => f(found),
        }
    }

    /// Remove `key` (found at `place`) if it is still expired: another
    /// writer may have replaced it since it was read.
    fn remove_if_expired(&self, key: &str, place: &Place<'_>, now_ms: u64) {
        let mut shard = place.write();
        if let Ok(found) = shard.slots.find_entry(place.hash, holds(key))
            && !found.get().is_live_at(now_ms)
        {
            found.remove();
            self.feed.delete(key);
            self.release_room();
        }
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("id", &self.info.id)
            .field("stored", &self.stored_len())
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

// The operations themselves: synchronous, since the map never waits on I/O.
// `Store` hands each result back ready.
impl MemoryStore {
    pub(crate) fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.read(key, |live| live.map(|s| s.value().to_vec())))
    }

    pub(crate) fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        self.write(key, value, ttl, Condition::Always).map(drop)
    }

    pub(crate) fn delete(&self, key: &str) -> Result<bool> {
        let now = self.clock.now_ms();
        let place = self.table.place(key);
        let mut shard = place.write();
        let Ok(found) = shard.slots.find_entry(place.hash, holds(key)) else { return Ok(false) };
        let slot = found.remove().0;
        // An expired entry removed here is a change too: it had not been
        // reported gone.
        self.feed.delete(key);
        drop(shard);
        self.release_room();
        Ok(slot.is_live_at(now))
    }

    pub(crate) fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.read(key, |live| live.is_some()))
    }

    pub(crate) fn clear(&self) -> Result<()> {
        let watched = self.feed.is_watched();
        self.table.each_write(|shard| {
            self.len.fetch_sub(shard.slots.len() as u64, Ordering::AcqRel);
            if watched {
                shard.slots.iter().for_each(|s| self.feed.delete(s.key()));
            }
            shard.slots.clear();
        });
        Ok(())
    }

    pub(crate) fn remove_expired(&self) -> Result<u64> {
        let now = self.clock.now_ms();
        // Reset the bound first: every entry that survives the scan lowers it
        // again, and so does every concurrent `set` that lands after the reset.
        self.earliest_expiry.store(NEVER, Ordering::Release);
        let mut removed = 0;
        self.table.each_write(|shard| {
            let before = shard.slots.len();
            shard.slots.retain(|s| {
                let live = s.is_live_at(now);
                if live {
                    self.note_expiry(s.expires_at());
                } else {
                    self.feed.delete(s.key());
                }
                live
            });
            let n = (before - shard.slots.len()) as u64;
            self.len.fetch_sub(n, Ordering::AcqRel);
            removed += n;
        });
        Ok(removed)
    }

    pub(crate) fn list(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let now = self.clock.now_ms();
        // Keep the `limit` smallest matching keys in a max-heap: O(n log limit).
        let mut heap = std::collections::BinaryHeap::with_capacity(limit + 1);
        self.table.each_read(|shard| {
            for s in shard.slots.iter() {
                let k = s.key();
                if k.starts_with(prefix) && after.is_none_or(|a| k > a) && s.is_live_at(now) {
                    if heap.len() < limit {
                        heap.push(k.to_owned());
                    } else if heap.peek().is_some_and(|top: &String| k < top.as_str()) {
                        heap.pop();
                        heap.push(k.to_owned());
                    }
                }
            }
        });
        Ok(heap.into_sorted_vec())
    }

    pub(crate) fn get_entry(&self, key: &str) -> Result<Option<Versioned>> {
        Ok(self.read(key, |live| live.map(|s| Versioned { value: s.value().to_vec(), version: s.version() })))
    }

    pub(crate) fn expiry(&self, key: &str) -> Option<Expiry> {
        self.read(key, |live| {
            live.map(|s| {
                let at = (s.expires_at() != NEVER).then(|| s.expires_at());
                Expiry::at(at, self.clock.now_ms())
            })
        })
    }

    pub(crate) fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let now = Now::new(&*self.clock);
        self.upsert(key, &now, |live, _| {
            let n = add_decimal(key, live.map(Slot::value), delta)?;
            let expires_at = live.map_or(NEVER, Slot::expires_at);
            let value = Cow::Owned(n.to_string().into_bytes());
            Ok((Fresh { value, expires_at }, n))
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
        MemoryStore::set(self, key, &value, ttl).into()
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
        self.write(key, &value, ttl, condition).into()
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

    fn expiry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Expiry>> {
        Op::ready(Ok(MemoryStore::expiry(self, key)))
    }

    fn feed(&self) -> Option<&Feed> {
        Some(&self.feed)
    }
}

#[cfg(test)]
mod tests;
