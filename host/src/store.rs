//! The backend trait every store implements, and the checks they share.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
pub use crate::limits::Limits;

/// A key-value store backend.
///
/// Methods take `&self`: a store is shared by every guest that opened it and
/// must be safe under concurrent callers. Implementations hide expired entries
/// from every method at once, whether or not [`Store::remove_expired`] has run.
/// Keys reach a backend already checked by [`Limits::check_key`].
pub trait Store: Send + Sync + 'static {
    /// The value under `key`, or `None` if it is absent or expired.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Insert or overwrite `key`. `ttl` of `None` never expires.
    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()>;
    /// [`Store::set`] with an owned value, which a store may keep without
    /// copying (guests hand the host an owned buffer).
    fn set_owned(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        self.set(key, &value, ttl)
    }
    /// Remove `key`; whether a live entry was there.
    fn delete(&self, key: &str) -> Result<bool>;
    /// Whether a live entry is under `key`.
    fn exists(&self, key: &str) -> Result<bool>;
    /// Remove every entry of this store.
    fn clear(&self) -> Result<()>;
    /// Remove expired entries from storage; how many were removed.
    fn remove_expired(&self) -> Result<u64>;
    /// What this store is.
    fn info(&self) -> &StoreInfo;

    /// Live keys starting with `prefix` and greater than `after`, in ascending
    /// byte order, at most `limit`. Keyset pagination: a key live throughout a
    /// listing is returned exactly once.
    fn list(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>>;
    /// The value under `key` with its version.
    fn get_entry(&self, key: &str) -> Result<Option<Versioned>>;
    /// Write if `condition` holds, atomically; the new version, or
    /// [`Error::Conflict`].
    fn put(&self, key: &str, value: &[u8], ttl: Option<Duration>, condition: Condition) -> Result<u64>;
    /// Add `delta` to the decimal integer under `key` (absent = 0), atomically,
    /// keeping the entry's expiry; the new value.
    fn increment(&self, key: &str, delta: i64) -> Result<i64>;

    /// The values of `keys`, in order.
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// Set every pair with the same TTL.
    fn set_many(&self, entries: &[(String, Vec<u8>)], ttl: Option<Duration>) -> Result<()> {
        entries.iter().try_for_each(|(k, v)| self.set(k, v, ttl))
    }
    /// Delete `keys`; how many live entries were removed.
    fn delete_many(&self, keys: &[String]) -> Result<u64> {
        keys.iter().try_fold(0, |n, k| Ok(n + u64::from(self.delete(k)?)))
    }
}

/// A value and the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: Vec<u8>,
    /// Its version; see [`StoreInfo::versioned`].
    pub version: u64,
}

/// When [`Store::put`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Always, like `set`.
    Always,
    /// Only if no live entry has the key.
    IfAbsent,
    /// Only if the live entry has this version.
    IfVersion(u64),
}

impl Condition {
    /// Whether a write may go ahead over `current` (the live entry's version).
    pub fn holds(self, current: Option<u64>) -> bool {
        match self {
            Condition::Always => true,
            Condition::IfAbsent => current.is_none(),
            Condition::IfVersion(v) => current == Some(v),
        }
    }

    /// The error for a condition that did not hold on `key`.
    pub fn conflict(self, key: &str) -> Error {
        match self {
            Condition::IfAbsent => Error::Conflict(format!("key {key:?} already exists")),
            _ => Error::Conflict(format!("key {key:?} is absent or has another version")),
        }
    }
}

/// `current` (decimal ASCII, absent = 0) plus `delta`, for `increment`.
pub fn add_decimal(key: &str, current: Option<&[u8]>, delta: i64) -> Result<i64> {
    let n = match current {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes).ok().and_then(|s| s.parse::<i64>().ok()).ok_or_else(|| {
            Error::InvalidArgument(format!("cannot increment {key:?}: its value is not a decimal integer"))
        })?,
    };
    n.checked_add(delta).ok_or_else(|| {
        Error::InvalidArgument(format!("cannot increment {key:?}: {n} + {delta} overflows a signed 64-bit integer"))
    })
}

/// The version of a value in stores without a version counter: a 64-bit
/// FNV-1a hash of the bytes. Writing the same value keeps the version.
pub fn value_version(value: &[u8]) -> u64 {
    value.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A store shared between guests and the registry.
pub type SharedStore = Arc<dyn Store>;

/// A store's identity and limits, as reported to guests by `info()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// Registry ID, such as `app:sessions`.
    pub id: String,
    /// `memory`, `sqlite`, `postgres` or `mysql`.
    pub backend: &'static str,
    /// Whether data survives a restart of the host.
    pub durable: bool,
    /// Whether versions change on every write (a counter), or are a hash of
    /// the value ([`value_version`]) so that a write of the same value keeps it.
    pub versioned: bool,
    /// Size and concurrency limits.
    pub limits: Limits,
}

/// A TTL as guests give it (milliseconds, 0 = none) turned into an option.
pub fn ttl_from_ms(ttl_ms: Option<u64>) -> Option<Duration> {
    ttl_ms.filter(|&ms| ms > 0).map(Duration::from_millis)
}

/// The Unix-millisecond instant at which an entry set `now_ms` with `ttl` expires.
pub(crate) fn expiry(now_ms: u64, ttl: Option<Duration>) -> Option<u64> {
    ttl.filter(|t| !t.is_zero()).map(|t| now_ms.saturating_add(t.as_millis().min(u64::MAX as u128) as u64))
}
