//! The per-store cap on operations in flight (`max_concurrency`).
//!
//! [`Stores::insert`](crate::Stores::insert) puts every store with a cap
//! behind a [`Gated`] view, so the cap holds across all guests together. An
//! operation over the cap fails at once with `unavailable`, which a guest can
//! retry; it never queues behind a slow backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::{Condition, SharedStore, Store, StoreInfo, Versioned};

/// `store` behind its `max_concurrency` cap, or itself when it has none.
pub(crate) fn gate(store: SharedStore) -> SharedStore {
    match store.info().limits.max_concurrency {
        0 => store,
        max => Arc::new(Gated { inner: store, in_flight: AtomicU32::new(0), max }),
    }
}

struct Gated {
    inner: SharedStore,
    in_flight: AtomicU32,
    max: u32,
}

/// One operation in flight; leaving it frees the slot, on every path.
struct Permit<'a>(&'a AtomicU32);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gated {
    fn enter(&self) -> Result<Permit<'_>> {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Unavailable(format!(
                "store {} already has {} operations in flight, its max_concurrency; retry, or raise max_concurrency",
                self.inner.info().id,
                self.max
            )));
        }
        Ok(Permit(&self.in_flight))
    }
}

impl Store for Gated {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let _p = self.enter()?;
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        let _p = self.enter()?;
        self.inner.set(key, value, ttl)
    }

    fn set_owned(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        let _p = self.enter()?;
        self.inner.set_owned(key, value, ttl)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let _p = self.enter()?;
        self.inner.delete(key)
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let _p = self.enter()?;
        self.inner.exists(key)
    }

    fn clear(&self) -> Result<()> {
        let _p = self.enter()?;
        self.inner.clear()
    }

    /// Cleanup is the host's own work, not a guest's: never refused.
    fn remove_expired(&self) -> Result<u64> {
        self.inner.remove_expired()
    }

    fn info(&self) -> &StoreInfo {
        self.inner.info()
    }

    fn list(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let _p = self.enter()?;
        self.inner.list(prefix, after, limit)
    }

    fn get_entry(&self, key: &str) -> Result<Option<Versioned>> {
        let _p = self.enter()?;
        self.inner.get_entry(key)
    }

    fn put(&self, key: &str, value: &[u8], ttl: Option<Duration>, condition: Condition) -> Result<u64> {
        let _p = self.enter()?;
        self.inner.put(key, value, ttl, condition)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let _p = self.enter()?;
        self.inner.increment(key, delta)
    }

    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let _p = self.enter()?;
        self.inner.get_many(keys)
    }

    fn set_many(&self, entries: &[(String, Vec<u8>)], ttl: Option<Duration>) -> Result<()> {
        let _p = self.enter()?;
        self.inner.set_many(entries, ttl)
    }

    fn delete_many(&self, keys: &[String]) -> Result<u64> {
        let _p = self.enter()?;
        self.inner.delete_many(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, MemoryStore};

    fn gated(max: u32) -> Gated {
        let limits = Limits { max_concurrency: max, ..Limits::default() };
        Gated {
            inner: Arc::new(MemoryStore::builder("app:kv").limits(limits).build()),
            in_flight: AtomicU32::new(0),
            max,
        }
    }

    #[test]
    fn errors_naming_the_limit_when_the_store_is_at_its_concurrency_cap() {
        let g = gated(2);
        let held = [g.enter().unwrap(), g.enter().unwrap()];
        match g.set("k", b"v", None) {
            Err(Error::Unavailable(m)) => assert!(m.contains("max_concurrency") && m.contains("app:kv"), "{m}"),
            other => panic!("expected unavailable, got {other:?}"),
        }
        assert!(!g.inner.exists("k").unwrap(), "a refused write must not happen");
        drop(held);
        g.set("k", b"v", None).unwrap();
        assert_eq!(g.get("k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(g.in_flight.load(Ordering::Acquire), 0, "every slot is freed, errors included");
    }

    #[test]
    fn slots_are_freed_when_an_operation_fails() {
        let g = gated(1);
        g.set("k", b"not a number", None).unwrap();
        assert!(matches!(g.increment("k", 1), Err(Error::InvalidArgument(_))));
        assert_eq!(g.in_flight.load(Ordering::Acquire), 0);
        assert!(g.delete("k").unwrap(), "the only slot is free again");
    }

    #[test]
    fn a_store_without_a_cap_is_not_wrapped() {
        let limits = Limits { max_concurrency: 0, ..Limits::default() };
        let s: SharedStore = Arc::new(MemoryStore::builder("app:kv").limits(limits).build());
        assert!(Arc::ptr_eq(&gate(s.clone()), &s));
    }
}
