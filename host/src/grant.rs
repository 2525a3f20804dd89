//! Grants: which store a guest may open, which of its keys, and whether it
//! may write them.
//!
//! A grant that is narrower than the whole store hands the guest a [`Scoped`]
//! view of it, which checks every operation (lists and batches included)
//! before the backend sees it. A denial is [`Error::AccessDenied`].

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::{Condition, SharedStore, Store, StoreInfo, Versioned};

/// What a grant lets a guest do with the keys it covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Access {
    /// Read only: get, exists, list, get-entry, get-many.
    Read,
    /// Read and write. The default.
    #[default]
    ReadWrite,
}

impl std::str::FromStr for Access {
    type Err = String;

    /// `read`, or `write` (also `read-write`), as registries and `--allow` spell it.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "read" => Ok(Access::Read),
            "write" | "read-write" => Ok(Access::ReadWrite),
            other => Err(format!("unknown access `{other}`; expected read or write")),
        }
    }
}

/// One store a guest may open, optionally limited to keys with a prefix or to reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The store's registry ID.
    pub store: String,
    /// Keys the guest may touch start with this; empty = every key.
    pub prefix: String,
    /// Read only, or read and write.
    pub access: Access,
}

impl Grant {
    /// Every key of `store`, read and write.
    pub fn new(store: impl Into<String>) -> Self {
        Self { store: store.into(), prefix: String::new(), access: Access::ReadWrite }
    }

    /// Only keys starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Reads only.
    pub fn read_only(mut self) -> Self {
        self.access = Access::Read;
        self
    }

    /// Whether this grant covers the whole store, read and write.
    pub fn is_full(&self) -> bool {
        self.prefix.is_empty() && self.access == Access::ReadWrite
    }

    /// `store` as a guest with this grant sees it.
    pub(crate) fn apply(&self, store: SharedStore) -> SharedStore {
        if self.is_full() { store } else { Arc::new(Scoped { inner: store, grant: self.clone() }) }
    }
}

/// A store seen through a narrower-than-full [`Grant`].
struct Scoped {
    inner: SharedStore,
    grant: Grant,
}

impl Scoped {
    fn read(&self, key: &str) -> Result<()> {
        if key.starts_with(&self.grant.prefix) {
            return Ok(());
        }
        Err(Error::AccessDenied(format!(
            "key {key:?} is outside this guest's grant on {}: only keys starting with {:?}",
            self.grant.store, self.grant.prefix
        )))
    }

    fn write(&self, op: &str, key: &str) -> Result<()> {
        if self.grant.access == Access::Read {
            return Err(Error::AccessDenied(format!(
                "{op} is a write, and {} is granted read-only to this guest",
                self.grant.store
            )));
        }
        self.read(key)
    }

    fn read_all(&self, keys: impl IntoIterator<Item = impl AsRef<str>>) -> Result<()> {
        keys.into_iter().try_for_each(|k| self.read(k.as_ref()))
    }

    fn write_all(&self, op: &str, keys: impl IntoIterator<Item = impl AsRef<str>>) -> Result<()> {
        keys.into_iter().try_for_each(|k| self.write(op, k.as_ref()))
    }
}

impl Store for Scoped {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(key)?;
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        self.write("set", key)?;
        self.inner.set(key, value, ttl)
    }

    fn set_owned(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        self.write("set", key)?;
        self.inner.set_owned(key, value, ttl)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        self.write("delete", key)?;
        self.inner.delete(key)
    }

    fn exists(&self, key: &str) -> Result<bool> {
        self.read(key)?;
        self.inner.exists(key)
    }

    /// Clearing removes every key of the store, so a prefix grant cannot.
    fn clear(&self) -> Result<()> {
        self.write("clear", &self.grant.prefix)?;
        if !self.grant.prefix.is_empty() {
            return Err(Error::AccessDenied(format!(
                "clear removes every key of {}, and this guest is granted only keys starting with {:?}; \
                 delete them with list-keys and delete-many instead",
                self.grant.store, self.grant.prefix
            )));
        }
        self.inner.clear()
    }

    fn remove_expired(&self) -> Result<u64> {
        self.inner.remove_expired()
    }

    fn info(&self) -> &StoreInfo {
        self.inner.info()
    }

    /// Only granted keys are listed: a broader prefix is narrowed to the
    /// grant's, and a prefix outside it lists nothing.
    fn list(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let granted = self.grant.prefix.as_str();
        if prefix.starts_with(granted) {
            self.inner.list(prefix, after, limit)
        } else if granted.starts_with(prefix) {
            self.inner.list(granted, after, limit)
        } else {
            Ok(Vec::new())
        }
    }

    fn get_entry(&self, key: &str) -> Result<Option<Versioned>> {
        self.read(key)?;
        self.inner.get_entry(key)
    }

    fn put(&self, key: &str, value: &[u8], ttl: Option<Duration>, condition: Condition) -> Result<u64> {
        self.write("put", key)?;
        self.inner.put(key, value, ttl, condition)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.write("increment", key)?;
        self.inner.increment(key, delta)
    }

    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        self.read_all(keys)?;
        self.inner.get_many(keys)
    }

    fn set_many(&self, entries: &[(String, Vec<u8>)], ttl: Option<Duration>) -> Result<()> {
        self.write_all("set-many", entries.iter().map(|(k, _)| k))?;
        self.inner.set_many(entries, ttl)
    }

    fn delete_many(&self, keys: &[String]) -> Result<u64> {
        self.write_all("delete-many", keys)?;
        self.inner.delete_many(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    fn scoped(grant: Grant) -> (SharedStore, SharedStore) {
        let inner: SharedStore = Arc::new(MemoryStore::builder("app:kv").build());
        for k in ["user:1", "user:2", "admin:1", "u"] {
            inner.set(k, b"v", None).unwrap();
        }
        (grant.apply(inner.clone()), inner)
    }

    fn denied<T: std::fmt::Debug>(r: Result<T>) -> String {
        match r {
            Err(Error::AccessDenied(m)) => m,
            other => panic!("expected access-denied, got {other:?}"),
        }
    }

    #[test]
    fn full_grant_hands_out_the_store_itself() {
        let inner: SharedStore = Arc::new(MemoryStore::builder("app:kv").build());
        assert!(Arc::ptr_eq(&Grant::new("app:kv").apply(inner.clone()), &inner));
    }

    #[test]
    fn prefix_grant_denies_keys_outside_it_on_every_operation() {
        let (s, inner) = scoped(Grant::new("app:kv").prefix("user:"));
        assert_eq!(s.get("user:1").unwrap().as_deref(), Some(&b"v"[..]));
        let m = denied(s.get("admin:1"));
        assert!(m.contains("\"admin:1\"") && m.contains("\"user:\""), "{m}");
        denied(s.exists("admin:1"));
        denied(s.get_entry("admin:1"));
        denied(s.set("admin:1", b"x", None));
        denied(s.set_owned("admin:1", b"x".to_vec(), None));
        denied(s.delete("admin:1"));
        denied(s.put("admin:1", b"x", None, Condition::Always));
        denied(s.increment("admin:2", 1));
        denied(s.get_many(&["user:1".into(), "admin:1".into()]));
        denied(s.set_many(&[("user:3".into(), b"x".to_vec()), ("admin:3".into(), b"x".to_vec())], None));
        denied(s.delete_many(&["user:1".into(), "admin:1".into()]));
        denied(s.clear());
        // Nothing outside the prefix changed, and no batch half-applied.
        assert_eq!(inner.get("admin:1").unwrap().as_deref(), Some(&b"v"[..]));
        assert!(!inner.exists("admin:2").unwrap() && !inner.exists("user:3").unwrap());
        assert!(inner.exists("user:1").unwrap());
    }

    #[test]
    fn prefix_grant_lists_only_granted_keys() {
        let (s, _) = scoped(Grant::new("app:kv").prefix("user:"));
        assert_eq!(s.list("", None, 10).unwrap(), ["user:1", "user:2"]);
        assert_eq!(s.list("us", None, 10).unwrap(), ["user:1", "user:2"]);
        assert_eq!(s.list("user:2", None, 10).unwrap(), ["user:2"]);
        assert_eq!(s.list("", Some("user:1"), 10).unwrap(), ["user:2"]);
        assert!(s.list("admin:", None, 10).unwrap().is_empty());
    }

    #[test]
    fn prefix_grant_allows_writes_inside_it() {
        let (s, inner) = scoped(Grant::new("app:kv").prefix("user:"));
        s.set("user:9", b"x", None).unwrap();
        assert_eq!(s.increment("user:n", 2).unwrap(), 2);
        assert!(s.delete("user:1").unwrap());
        assert_eq!(s.delete_many(&["user:2".into(), "user:9".into()]).unwrap(), 2);
        assert_eq!(inner.list("", None, 10).unwrap(), ["admin:1", "u", "user:n"]);
    }

    #[test]
    fn read_only_grant_denies_every_write_and_allows_reads() {
        let (s, inner) = scoped(Grant::new("app:kv").read_only());
        assert!(s.exists("admin:1").unwrap());
        assert_eq!(s.get_many(&["u".into()]).unwrap(), [Some(b"v".to_vec())]);
        assert_eq!(s.list("", None, 10).unwrap().len(), 4);
        let m = denied(s.set("u", b"x", None));
        assert!(m.contains("read-only") && m.contains("app:kv"), "{m}");
        denied(s.delete("u"));
        denied(s.clear());
        denied(s.put("u", b"x", None, Condition::IfAbsent));
        denied(s.increment("n", 1));
        denied(s.set_many(&[("u".into(), b"x".to_vec())], None));
        denied(s.delete_many(&["u".into()]));
        assert_eq!(inner.list("", None, 10).unwrap().len(), 4);
        assert_eq!(inner.get("u").unwrap().as_deref(), Some(&b"v"[..]));
    }
}
