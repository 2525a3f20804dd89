//! Backends: the [`Store`] contract and the stores that implement it.
//!
//! A backend only stores. The rules (key and value limits, grants, the
//! concurrency cap) are applied before it by [`crate::Bucket`], so a backend
//! can trust that keys are non-empty, within the store's limits and free of
//! NUL.
//!
//! Adding a backend is one module (the store, and the registry kinds that
//! declare it, parsed by the backend itself) plus one line in
//! [`STORE_KINDS`] or [`DATABASE_KINDS`].

pub(crate) mod clock;
pub(crate) mod deadline;
pub(crate) mod kind;
pub(crate) mod memory;
mod op;
#[cfg(feature = "redis")]
pub(crate) mod redis;
#[cfg(feature = "sql")]
pub(crate) mod sql;

use std::sync::Arc;
use std::time::Duration;

pub(crate) use self::kind::{DatabaseConfig, DatabaseKind, SharedDatabase, StoreConfig, StoreKind, downcast};
pub use self::op::Op;
use crate::error::{Error, Result};
use crate::watch::Feed;

/// Every `store.*` kind this build knows.
pub(crate) static STORE_KINDS: &[&StoreKind] = &[
    &memory::KIND,
    #[cfg(feature = "sql")]
    &sql::STORE_KIND,
    #[cfg(feature = "redis")]
    &redis::STORE_KIND,
];

/// Every `db.*` kind this build knows.
pub(crate) static DATABASE_KINDS: &[&DatabaseKind] = &[
    #[cfg(feature = "postgres")]
    &sql::POSTGRES_KIND,
    #[cfg(feature = "mysql")]
    &sql::MYSQL_KIND,
    #[cfg(feature = "sqlite")]
    &sql::SQLITE_KIND,
    #[cfg(feature = "redis")]
    &redis::DATABASE_KIND,
];

/// The kinds a build may leave out, each with the cargo feature that brings
/// it, so that a registry naming one is told which feature to build with.
pub(crate) static OPTIONAL_KINDS: &[(&str, &str)] = &[
    ("store.sql", "`sqlite`, `postgres` or `mysql`"),
    ("db.sql.postgres", "`postgres`"),
    ("db.sql.mysql", "`mysql`"),
    ("db.sql.sqlite", "`sqlite`"),
    ("store.redis", "`redis`"),
    ("db.redis", "`redis`"),
];

/// A key-value store backend.
///
/// Methods take `&self`: a store is shared by every guest that opened it and
/// must be safe under concurrent callers. Each returns an [`Op`]: ready at
/// once for a store that answers from memory, a future for one that waits on
/// a server. Implementations hide expired entries from every method at once,
/// whether or not [`Store::remove_expired`] has run.
pub trait Store: Send + Sync + 'static {
    /// What this store is.
    fn info(&self) -> &StoreInfo;
    /// How many entries the store holds now, if it knows without I/O (for
    /// metrics). Default `None`.
    fn entries(&self) -> Option<u64> {
        None
    }
    /// The value under `key`, or `None` if it is absent or expired.
    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>>;
    /// Insert or overwrite `key`. `ttl` of `None` never expires.
    fn set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>) -> Op<'a, ()>;
    /// Remove `key`; whether a live entry was there.
    fn delete<'a>(&'a self, key: &'a str) -> Op<'a, bool>;
    /// Whether a live entry is under `key`.
    fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool>;
    /// Remove every entry of this store, and nothing else.
    fn clear(&self) -> Op<'_, ()>;
    /// Remove expired entries from storage; how many were removed.
    fn remove_expired(&self) -> Op<'_, u64>;
    /// Live keys starting with `prefix` and greater than `after`, in ascending
    /// byte order, at most `limit`. Keyset pagination: a key live throughout a
    /// listing is returned exactly once.
    fn list<'a>(&'a self, prefix: &'a str, after: Option<&'a str>, limit: usize) -> Op<'a, Vec<String>>;
    /// The value under `key` with its version.
    fn get_entry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Versioned>>;
    /// Write if `condition` holds, atomically; the new version, or
    /// [`Error::Conflict`].
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<Duration>, condition: Condition) -> Op<'a, u64>;
    /// Add `delta` to the decimal integer under `key` (absent = 0), atomically,
    /// keeping the entry's expiry; the new value.
    fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64>;
    /// The values of `keys`, in order.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, Vec<Option<Vec<u8>>>>;
    /// Set every pair with the same TTL; of a repeated key, the last value wins.
    fn set_many<'a>(&'a self, entries: &'a [(String, Vec<u8>)], ttl: Option<Duration>) -> Op<'a, ()>;
    /// Delete `keys`; how many live entries were removed.
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, u64>;
    /// When the live entry under `key` expires, from now by the store's
    /// clock; `None` if it is absent or expired. The default says the store
    /// cannot tell.
    fn expiry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Expiry>> {
        let _ = key;
        Op::ready(Err(Error::InvalidArgument(format!("store {} does not report when entries expire", self.info().id))))
    }
    /// Where this store publishes the changes its writes make (see
    /// [`crate::watch`]), if it does. Default `None`: the store cannot be
    /// watched.
    fn feed(&self) -> Option<&Feed> {
        None
    }
}

/// A store shared between guests and the host.
pub type SharedStore = Arc<dyn Store>;

/// What a store is, as `info()` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// Registry ID, such as `app:sessions`.
    pub id: String,
    /// `memory`, `sqlite`, `postgres`, `mysql` or `redis`.
    pub backend: &'static str,
    /// Whether data survives a restart of the host.
    pub durable: bool,
    /// Whether versions change on every write (a counter), or are a hash of
    /// the value (SQL tables without a version column: `sql::value_version`;
    /// Redis: `redis::redis_version`) so that a write of the same value
    /// keeps it.
    pub versioned: bool,
}

/// A value and the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: Vec<u8>,
    /// Its version; see [`StoreInfo::versioned`].
    pub version: u64,
}

/// When a live entry expires, as [`Store::expiry`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// It never expires.
    Never,
    /// It expires after this long (by the store's clock).
    In(Duration),
}

impl Expiry {
    /// The expiry of an entry that expires at `at` (Unix ms, `None`: never),
    /// seen at `now_ms`.
    pub(crate) fn at(at: Option<u64>, now_ms: u64) -> Self {
        at.map_or(Self::Never, |at| Self::In(Duration::from_millis(at.saturating_sub(now_ms))))
    }
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
pub(crate) fn add_decimal(key: &str, current: Option<&[u8]>, delta: i64) -> Result<i64> {
    let n = match current {
        None => 0,
        Some(bytes) => canonical_decimal(bytes).ok_or_else(|| {
            Error::InvalidArgument(format!("cannot increment {key:?}: its value is not a decimal integer"))
        })?,
    };
    n.checked_add(delta).ok_or_else(|| {
        Error::InvalidArgument(format!("cannot increment {key:?}: {n} + {delta} overflows a signed 64-bit integer"))
    })
}

/// `bytes` as a signed 64-bit integer written the way Redis writes one
/// (and alone accepts for INCRBY): an optional `-`, then `0` or digits
/// without a leading zero; no `+`, no spaces, no `-0`. Every store accepts
/// exactly these.
fn canonical_decimal(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let canonical = match digits {
        [] => false,
        [b'0'] => digits.len() == bytes.len(),
        [first, ..] => (b'1'..=b'9').contains(first) && digits.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// The Unix-millisecond instant at which an entry set `now_ms` with `ttl` expires.
pub(crate) fn expiry(now_ms: u64, ttl: Option<Duration>) -> Option<u64> {
    ttl.filter(|t| !t.is_zero()).map(|t| now_ms.saturating_add(t.as_millis().min(u64::MAX as u128) as u64))
}
