//! A backend store called from synchronous code, each operation waited for
//! with [`kvhost::Wait`]: how the conformance suite drives the `Store`
//! contract, from plain threads too.

use std::time::Duration;

use kvhost::{Condition, Expiry, Result, SharedStore, StoreInfo, Versioned, Wait};

/// A store whose operations block until they end. Cloning shares the store.
#[derive(Clone)]
pub struct Blocking(pub SharedStore);

impl Blocking {
    pub fn info(&self) -> &StoreInfo {
        self.0.info()
    }
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.0.get(key).wait()
    }
    pub fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        self.0.set(key, value.to_vec(), ttl).wait()
    }
    pub fn delete(&self, key: &str) -> Result<bool> {
        self.0.delete(key).wait()
    }
    pub fn exists(&self, key: &str) -> Result<bool> {
        self.0.exists(key).wait()
    }
    pub fn clear(&self) -> Result<()> {
        self.0.clear().wait()
    }
    pub fn remove_expired(&self) -> Result<u64> {
        self.0.remove_expired().wait()
    }
    pub fn list(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        self.0.list(prefix, after, limit).wait()
    }
    pub fn get_entry(&self, key: &str) -> Result<Option<Versioned>> {
        self.0.get_entry(key).wait()
    }
    pub fn expiry(&self, key: &str) -> Result<Option<Expiry>> {
        self.0.expiry(key).wait()
    }
    pub fn put(&self, key: &str, value: &[u8], ttl: Option<Duration>, condition: Condition) -> Result<u64> {
        self.0.put(key, value.to_vec(), ttl, condition).wait()
    }
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.0.increment(key, delta).wait()
    }
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        self.0.get_many(keys).wait()
    }
    pub fn set_many(&self, entries: &[(String, Vec<u8>)], ttl: Option<Duration>) -> Result<()> {
        self.0.set_many(entries, ttl).wait()
    }
    pub fn delete_many(&self, keys: &[String]) -> Result<u64> {
        self.0.delete_many(keys).wait()
    }
}
