//! [`Bucket`]: an open store, and the one place where every rule is applied.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cursor::{self, Numbered};
use super::gate::Permit;
use super::grant::Grant;
use super::guarded::Guarded;
use super::limits::Limits;
use crate::backend::{Condition, Expiry, Op, StoreInfo, Versioned};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::watch::{Watch, WatchScope};

/// The default and the largest page of a listing.
pub(crate) const DEFAULT_PAGE: u32 = 1000;
pub(crate) const MAX_PAGE: u32 = 10_000;

/// A store opened under a grant: what a guest's `open` gives it, what the
/// resource table holds, and what [`crate::KvCtx::open`] hands an embedder.
///
/// Every operation runs the same steps, in order, whoever calls it: the
/// store's limits (key, value and batch sizes), the grant (key prefix,
/// read-only), a permit under the store's `max_concurrency`, then the backend.
/// Each emits a `kv` span at debug level (target `kvhost::store`) with the
/// store, the operation, the key length, the outcome and the duration; with
/// debug logging off it costs one check.
///
/// Operations return an [`Op`], a future: async callers await it,
/// synchronous ones call [`crate::Wait::wait`]. A memory store's operations
/// come back ready, with nothing allocated on the way.
pub struct Bucket {
    store: Arc<Guarded>,
    grant: Arc<Grant>,
    /// Numeric cursors this handle issued (`wasi:keyvalue@0.2.0-draft`).
    pub(crate) numbered: Numbered,
}

/// One page of keys and the cursor that continues the listing, if more follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Keys in ascending byte order.
    pub keys: Vec<String>,
    /// Pass it back to get the next page; `None` on the last page.
    pub cursor: Option<String>,
}

impl Clone for Bucket {
    /// Another handle on the same store and grant, with no cursors issued.
    fn clone(&self) -> Self {
        Self::new(self.store.clone(), self.grant.clone())
    }
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("store", &self.id()).field("grant", &self.grant).finish()
    }
}

impl Bucket {
    pub(crate) fn new(store: Arc<Guarded>, grant: Arc<Grant>) -> Self {
        Self { store, grant, numbered: Numbered::default() }
    }

    /// The store's registry ID.
    pub fn id(&self) -> &str {
        &self.store.backend.info().id
    }

    /// What the store is.
    pub fn info(&self) -> &StoreInfo {
        self.store.backend.info()
    }

    /// The store's limits.
    pub fn limits(&self) -> &Limits {
        &self.store.limits
    }

    /// How many entries the store holds now, when it knows without asking
    /// its server (a memory store does; SQL and Redis stores do not).
    pub fn entries(&self) -> Option<u64> {
        self.store.backend.entries()
    }

    /// The grant this bucket was opened under.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The value under `key`, or `None`.
    pub fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>> {
        let checked = self.limits().check_key(key).and_then(|()| self.grant.read(key));
        self.run("get", key.len(), checked, move || self.store.backend.get(key))
    }

    /// Insert or overwrite `key`; a `ttl` of `None` (or zero) never expires.
    pub fn set<'a>(&'a self, key: &'a str, value: impl Into<Vec<u8>>, ttl: Option<Duration>) -> Op<'a, ()> {
        let value = value.into();
        let checked = self.check_write("set", key, &value);
        self.run("set", key.len(), checked, move || self.store.backend.set(key, value, ttl))
    }

    /// Remove `key`; whether a live entry was there.
    pub fn delete<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        let checked = self.limits().check_key(key).and_then(|()| self.grant.write("delete", key));
        self.run("delete", key.len(), checked, move || self.store.backend.delete(key))
    }

    /// Whether a live entry is under `key`.
    pub fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        let checked = self.limits().check_key(key).and_then(|()| self.grant.read(key));
        self.run("exists", key.len(), checked, move || self.store.backend.exists(key))
    }

    /// Remove every entry of the store. Refused under a prefix grant.
    pub fn clear(&self) -> Op<'_, ()> {
        self.run("clear", 0, self.grant.clear(), move || self.store.backend.clear())
    }

    /// One page of the keys starting with `prefix`, after `cursor` (from a
    /// previous page of this store), at most `limit` (0 = 1000, at most
    /// 10000), and fewer if they would carry more than `max_result_bytes`.
    /// Only keys under the grant's prefix are listed.
    pub fn list<'a>(&'a self, prefix: &'a str, cursor: Option<&'a str>, limit: u32) -> Op<'a, Page> {
        let limit = if limit == 0 { DEFAULT_PAGE } else { limit.min(MAX_PAGE) } as usize;
        let after = match cursor.map(|c| cursor::decode(self.id(), c)).transpose() {
            Ok(after) => after,
            Err(e) => return self.run("list", prefix.len(), Err(e), || Op::ready(Ok(Page::default()))),
        };
        let narrowed = self.grant.narrow(prefix);
        // The decoded cursor is owned, so the listing is a future that holds it.
        let listed = Op::pending(async move {
            match narrowed {
                Some(prefix) => self.store.backend.list(prefix, after.as_deref(), limit + 1).await,
                None => Ok(Vec::new()),
            }
        });
        self.run("list", prefix.len(), Ok(()), move || listed).map(move |keys| Ok(self.page(keys?, limit)))
    }

    /// The keys a page may carry: at most `limit`, and fewer rather than
    /// more than `max_result_bytes`; always one, since max_key_bytes <=
    /// max_result_bytes. The cursor continues after the last one.
    fn page(&self, mut keys: Vec<String>, limit: usize) -> Page {
        let budget = self.limits().max_result_bytes;
        let mut bytes = 0u64;
        let fit = keys
            .iter()
            .position(|k| {
                bytes += k.len() as u64;
                bytes > budget
            })
            .unwrap_or(keys.len())
            .clamp(1.min(keys.len()), limit);
        let more = keys.len() > fit;
        keys.truncate(fit);
        let cursor = more.then(|| keys.last().map(|k| cursor::encode(self.id(), k))).flatten();
        Page { keys, cursor }
    }

    /// The value under `key` with its version.
    pub fn get_entry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Versioned>> {
        let checked = self.limits().check_key(key).and_then(|()| self.grant.read(key));
        self.run("get-entry", key.len(), checked, move || self.store.backend.get_entry(key))
    }

    /// When the live entry under `key` expires (`None`: absent).
    pub fn expiry<'a>(&'a self, key: &'a str) -> Op<'a, Option<Expiry>> {
        let checked = self.limits().check_key(key).and_then(|()| self.grant.read(key));
        self.run("expiry", key.len(), checked, move || self.store.backend.expiry(key))
    }

    /// Write `key` if `condition` holds, atomically; the new version, or
    /// [`Error::Conflict`].
    pub fn put<'a>(
        &'a self,
        key: &'a str,
        value: impl Into<Vec<u8>>,
        ttl: Option<Duration>,
        condition: Condition,
    ) -> Op<'a, u64> {
        let value = value.into();
        let checked = self.check_write("put", key, &value);
        self.run("put", key.len(), checked, move || self.store.backend.put(key, value, ttl, condition))
    }

    /// Add `delta` to the decimal integer under `key` (absent = 0),
    /// atomically, keeping its expiry; the new value.
    pub fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64> {
        let checked = self.limits().check_key(key).and_then(|()| self.grant.write("increment", key));
        self.run("increment", key.len(), checked, move || self.store.backend.increment(key, delta))
    }

    /// The values of `keys`, in order; `too-large` if together they are
    /// over `max_result_bytes`.
    pub fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, Vec<Option<Vec<u8>>>> {
        let checked = keys.iter().try_for_each(|k| self.limits().check_key(k).and_then(|()| self.grant.read(k)));
        self.run("get-many", keys.len(), checked, move || self.store.backend.get_many(keys)).map(move |values| {
            let values = values?;
            let bytes = values.iter().flatten().map(|v| v.len() as u64).sum();
            self.limits().check_batch("get-many result", bytes)?;
            Ok(values)
        })
    }

    /// Set every pair with the same TTL. Every key and value is checked
    /// before any is written.
    pub fn set_many<'a>(&'a self, entries: &'a [(String, Vec<u8>)], ttl: Option<Duration>) -> Op<'a, ()> {
        let limits = self.limits();
        let mut bytes = 0u64;
        let checked = entries
            .iter()
            .try_for_each(|(k, v)| {
                bytes += (k.len() + v.len()) as u64;
                limits.check_key(k)?;
                limits.check_value(v)?;
                self.grant.write("set-many", k)
            })
            .and_then(|()| limits.check_batch("set-many request", bytes));
        self.run("set-many", entries.len(), checked, move || self.store.backend.set_many(entries, ttl))
    }

    /// Delete `keys`; how many live entries were removed.
    pub fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, u64> {
        let checked =
            keys.iter().try_for_each(|k| self.limits().check_key(k).and_then(|()| self.grant.write("delete-many", k)));
        self.run("delete-many", keys.len(), checked, move || self.store.backend.delete_many(keys))
    }

    /// The changes to keys starting with `prefix` from now on, as a stream
    /// (see [`crate::watch`]): every key under the grant's prefix when
    /// `prefix` is wider, access-denied when the two do not overlap. A
    /// store whose backend publishes no changes gives invalid-argument.
    pub fn watch(&self, prefix: &str) -> Result<Watch> {
        let Some(narrowed) = self.grant.narrow(prefix) else {
            return Err(Error::AccessDenied(format!(
                "cannot watch keys starting with {prefix:?} on {}: this guest is granted only keys starting with {:?}",
                self.id(),
                self.grant.prefix
            )));
        };
        let feed = self.store.backend.feed().ok_or_else(|| {
            Error::InvalidArgument(format!("store {} cannot be watched: its backend publishes no changes", self.id()))
        })?;
        Ok(Watch::new(feed.subscribe(), self.id(), narrowed, self.store.metrics.clone()))
    }

    /// Which changes [`Bucket::watch`] sees on this store (`None`: it cannot
    /// be watched).
    pub fn watch_scope(&self) -> Option<WatchScope> {
        self.store.backend.feed().map(|f| f.scope())
    }

    fn check_write(&self, op: &str, key: &str, value: &[u8]) -> Result<()> {
        let limits = self.limits();
        limits.check_key(key)?;
        limits.check_value(value)?;
        self.grant.write(op, key)
    }

    /// The steps every operation takes after its arguments were `checked`
    /// against the limits and the grant: a concurrency permit, then `call` to
    /// the backend, traced. (`len` is the key's length, or a batch's size.)
    ///
    /// With a free permit and a store that answers at once, this is plain
    /// function calls and the result is ready: no future is built or
    /// boxed. Waiting for a permit, waiting on the backend, and the span
    /// (when debug logging is on) each take one boxed future.
    fn run<'a, T: Send + 'a>(
        &'a self,
        op: &'static str,
        len: usize,
        checked: Result<()>,
        call: impl FnOnce() -> Op<'a, T> + Send + 'a,
    ) -> Op<'a, T> {
        let traced = tracing::enabled!(target: "kvhost::store", tracing::Level::DEBUG);
        if traced || self.store.metrics.is_some() {
            return self.run_observed(op, len, traced, checked, call);
        }
        if let Err(e) = checked {
            return Op::ready(Err(e));
        }
        let Some(permit) = self.store.gate.try_enter() else {
            return self.run_after_waiting(call);
        };
        match call().into_ready() {
            Ok(result) => {
                drop(permit);
                Op::ready(result)
            }
            Err(pending) => holding(permit, pending),
        }
    }

    /// [`Bucket::run`] when every permit is taken: wait for one, then call.
    #[cold]
    #[inline(never)]
    fn run_after_waiting<'a, T: Send + 'a>(&'a self, call: impl FnOnce() -> Op<'a, T> + Send + 'a) -> Op<'a, T> {
        Op::pending(async move {
            let _permit = self.store.gate.wait(self.id()).await?;
            call().await
        })
    }

    /// [`Bucket::run`] when the operation is traced or its store has
    /// metrics: out of line, to keep the common path short.
    #[inline(never)]
    fn run_observed<'a, T: Send + 'a>(
        &'a self,
        op: &'static str,
        len: usize,
        traced: bool,
        checked: Result<()>,
        call: impl FnOnce() -> Op<'a, T> + Send + 'a,
    ) -> Op<'a, T> {
        let metrics = self.store.metrics.as_ref();
        Op::pending(observed(self.id(), op, len, traced, metrics, self.work(checked, call)))
    }

    /// [`Bucket::run`]'s steps as one future, for the traced path.
    async fn work<'a, T>(&'a self, checked: Result<()>, call: impl FnOnce() -> Op<'a, T>) -> Result<T> {
        checked?;
        let gate = &self.store.gate;
        let _permit = match gate.try_enter() {
            Some(permit) => permit,
            None => gate.wait(self.id()).await?,
        };
        call().await
    }
}

/// An operation still pending, which holds its concurrency `permit` until it
/// ends. Out of line, to keep the common path short: a memory store's
/// operations never come here.
#[inline(never)]
fn holding<'a, T: Send + 'a>(permit: Permit<'a>, pending: Op<'a, T>) -> Op<'a, T> {
    Op::pending(async move {
        let _permit = permit;
        pending.await
    })
}

/// `work`, with how it ended and how long it took recorded in `metrics` and,
/// if `traced`, in a `kv` span.
async fn observed<T>(
    store: &str,
    op: &'static str,
    len: usize,
    traced: bool,
    metrics: Option<&Metrics>,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    use tracing::Instrument as _;
    let span = traced.then(|| {
        tracing::debug_span!(
            target: "kvhost::store",
            "kv",
            store,
            op,
            key_len = len,
            outcome = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        )
    });
    let started = Instant::now();
    let result = match &span {
        Some(span) => work.instrument(span.clone()).await,
        None => work.await,
    };
    let outcome = result.as_ref().map_or_else(Error::kind, |_| "ok");
    let took = started.elapsed();
    if let Some(m) = metrics {
        m.store_op(store, op, outcome, took);
    }
    if let Some(span) = span {
        span.record("outcome", outcome).record("duration_us", took.as_micros() as u64);
        tracing::debug!(target: "kvhost::store", parent: &span, outcome, "done");
    }
    result
}

#[cfg(test)]
mod tests;
