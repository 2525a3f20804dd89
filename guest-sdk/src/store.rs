//! [`Store`]: an open store and its operations.

use std::fmt;
use std::time::Duration;

use crate::bindings::kvhost::store::store as wit;
use crate::error::{Error, Result};
use crate::keys::Keys;
use crate::ttl::{opt_ttl_ms, ttl_ms};
use crate::types::{Condition, Entry, Info, KeyPage};

/// An open key-value store.
///
/// Open one with [`Store::open`] (by ID) or [`Store::open_default`]; the host
/// decides which stores a guest may open. Each operation works on this store
/// alone. Keys are non-empty strings (up to [`Info::max_key_bytes`] bytes),
/// values are bytes (up to [`Info::max_value_bytes`]). The handle is released
/// when the `Store` is dropped.
///
/// ```no_run
/// use kvhost_guest::Store;
/// use std::time::Duration;
///
/// # fn main() -> Result<(), kvhost_guest::Error> {
/// let store = Store::open_default()?;
/// store.set("greeting", "hello")?;
/// store.set_with_ttl("session:42", b"token", Duration::from_secs(1800))?;
/// assert_eq!(store.get("greeting")?.as_deref(), Some(&b"hello"[..]));
/// let visits = store.increment("visits", 1)?;
/// println!("visit {visits}");
/// # Ok(())
/// # }
/// ```
pub struct Store {
    bucket: wit::Bucket,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("handle", &self.bucket.handle()).finish()
    }
}

impl Store {
    /// Open the store with this ID (`namespace:name`, such as `app:cache`).
    /// `""` and `"default"` open the guest's default store.
    ///
    /// An ID this guest was not granted is [`Error::AccessDenied`], whether or
    /// not a store has that ID; a granted store that is not running is
    /// [`Error::NoSuchStore`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), kvhost_guest::Error> {
    /// let cache = kvhost_guest::Store::open("app:cache")?;
    /// # let _ = cache;
    /// # Ok(())
    /// # }
    /// ```
    pub fn open(id: impl AsRef<str>) -> Result<Store> {
        // Keeps the bindings' description of the imports in the final binary,
        // which the component linker needs (see wit-bindgen's docs).
        crate::bindings::__link_custom_section_describing_imports();
        let bucket = wit::open(id.as_ref()).map_err(Error::from_wit)?;
        Ok(Store { bucket })
    }

    /// Open the guest's default store (what `kvhost run` gives every guest).
    pub fn open_default() -> Result<Store> {
        Store::open("")
    }

    /// The value stored under `key`, or `None` if it is absent or expired.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.bucket.get(key).map_err(Error::from_wit)
    }

    /// Insert or overwrite `key`; the entry never expires.
    pub fn set(&self, key: &str, value: impl AsRef<[u8]>) -> Result<()> {
        self.bucket.set(key, value.as_ref(), None).map_err(Error::from_wit)
    }

    /// Insert or overwrite `key`; the entry disappears `ttl` from now.
    ///
    /// The TTL is rounded up to whole milliseconds (and saturates at
    /// `u64::MAX` ms). A zero `ttl` is refused with
    /// [`Error::InvalidArgument`], without asking the host: the WIT would
    /// read it as "never expires", which is what [`Store::set`] is for.
    pub fn set_with_ttl(&self, key: &str, value: impl AsRef<[u8]>, ttl: Duration) -> Result<()> {
        let ttl = ttl_ms(ttl)?;
        self.bucket.set(key, value.as_ref(), Some(ttl)).map_err(Error::from_wit)
    }

    /// Remove `key`; `true` if a live entry was there.
    pub fn delete(&self, key: &str) -> Result<bool> {
        self.bucket.delete(key).map_err(Error::from_wit)
    }

    /// Whether a live entry exists under `key`.
    pub fn exists(&self, key: &str) -> Result<bool> {
        self.bucket.exists(key).map_err(Error::from_wit)
    }

    /// Remove every entry of this store, and nothing else.
    pub fn clear(&self) -> Result<()> {
        self.bucket.clear().map_err(Error::from_wit)
    }

    /// The store's ID, backend, capabilities and limits.
    pub fn info(&self) -> Info {
        self.bucket.info().into()
    }

    /// The value under `key` with its version, or `None`. Give the version to
    /// [`Store::put_if_version`] for a compare-and-swap.
    pub fn get_entry(&self, key: &str) -> Result<Option<Entry>> {
        self.bucket.get_entry(key).map(|e| e.map(Entry::from)).map_err(Error::from_wit)
    }

    /// Write `value` under `key` if `condition` holds, atomically, and return
    /// the entry's new version. A condition that does not hold is
    /// [`Error::Conflict`]. `ttl` is as in [`Store::set_with_ttl`]; `None`
    /// never expires.
    ///
    /// ```no_run
    /// use kvhost_guest::{Condition, Error, Store};
    /// use std::time::Duration;
    ///
    /// # fn main() -> Result<(), Error> {
    /// let store = Store::open_default()?;
    /// // A lease: take it only if nobody holds it, for 30 seconds.
    /// match store.put("lease", b"worker-1", Some(Duration::from_secs(30)), Condition::IfAbsent) {
    ///     Ok(_) => println!("leased"),
    ///     Err(Error::Conflict) => println!("held by someone else"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, key: &str, value: impl AsRef<[u8]>, ttl: Option<Duration>, condition: Condition) -> Result<u64> {
        let ttl = opt_ttl_ms(ttl)?;
        self.bucket.put(key, value.as_ref(), ttl, condition.into()).map_err(Error::from_wit)
    }

    /// Write only if no live entry has `key` (no TTL); the new version, or
    /// [`Error::Conflict`].
    pub fn put_if_absent(&self, key: &str, value: impl AsRef<[u8]>) -> Result<u64> {
        self.put(key, value, None, Condition::IfAbsent)
    }

    /// Write only if the live entry under `key` has `version` (no TTL); the
    /// new version, or [`Error::Conflict`].
    ///
    /// ```no_run
    /// use kvhost_guest::{Error, Store};
    ///
    /// # fn main() -> Result<(), Error> {
    /// let store = Store::open_default()?;
    /// // Append to a list, retrying when another writer got there first.
    /// loop {
    ///     let (mut list, version) = match store.get_entry("list")? {
    ///         Some(entry) => (entry.value, Some(entry.version)),
    ///         None => (Vec::new(), None),
    ///     };
    ///     list.extend_from_slice(b"item;");
    ///     let written = match version {
    ///         Some(v) => store.put_if_version("list", &list, v),
    ///         None => store.put_if_absent("list", &list),
    ///     };
    ///     match written {
    ///         Ok(_) => break,
    ///         Err(Error::Conflict) => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_if_version(&self, key: &str, value: impl AsRef<[u8]>, version: u64) -> Result<u64> {
        self.put(key, value, None, Condition::IfVersion(version))
    }

    /// Add `delta` to the decimal integer stored under `key` (absent = 0) and
    /// return the result, atomically; the entry's TTL is kept. The value is
    /// kept as decimal ASCII text, so a key set to `"5"` increments to 6. A
    /// non-numeric value or an overflow is [`Error::InvalidArgument`].
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.bucket.increment(key, delta).map_err(Error::from_wit)
    }

    /// The values of `keys`, in the same order (`None` for absent ones).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), kvhost_guest::Error> {
    /// let store = kvhost_guest::Store::open_default()?;
    /// store.set_many([("a", "1"), ("b", "2")])?;
    /// let values = store.get_many(["a", "b", "c"])?;
    /// assert_eq!(values, [Some(b"1".to_vec()), Some(b"2".to_vec()), None]);
    /// assert_eq!(store.delete_many(["a", "b", "c"])?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_many<I>(&self, keys: I) -> Result<Vec<Option<Vec<u8>>>>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.bucket.get_many(&owned_keys(keys)).map_err(Error::from_wit)
    }

    /// Set every `(key, value)` pair; none expires. Atomic on SQL stores.
    pub fn set_many<I, K, V>(&self, entries: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        self.bucket.set_many(&owned_entries(entries), None).map_err(Error::from_wit)
    }

    /// Set every `(key, value)` pair, all expiring `ttl` from now (as in
    /// [`Store::set_with_ttl`]). Atomic on SQL stores.
    pub fn set_many_with_ttl<I, K, V>(&self, entries: I, ttl: Duration) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let ttl = ttl_ms(ttl)?;
        self.bucket.set_many(&owned_entries(entries), Some(ttl)).map_err(Error::from_wit)
    }

    /// Delete `keys`; how many live entries were removed.
    pub fn delete_many<I>(&self, keys: I) -> Result<u32>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.bucket.delete_many(&owned_keys(keys)).map_err(Error::from_wit)
    }

    /// Every key that starts with `prefix` (`""` for all), in ascending byte
    /// order, fetched page by page as the iterator is used: see [`Keys`].
    pub fn keys(&self, prefix: &str) -> Keys<'_> {
        Keys::new(self, prefix)
    }

    /// One page of the keys that start with `prefix`: at most `limit` (`0` =
    /// the store's default, 1000), after `cursor` (`None` for the first
    /// page). [`Store::keys`] does this paging for you. A cursor this store
    /// did not issue is [`Error::InvalidArgument`].
    pub fn list_keys(&self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<KeyPage> {
        self.bucket.list_keys(prefix, cursor, limit).map(KeyPage::from).map_err(Error::from_wit)
    }
}

fn owned_keys<I>(keys: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    keys.into_iter().map(|k| k.as_ref().to_owned()).collect()
}

fn owned_entries<I, K, V>(entries: I) -> Vec<(String, Vec<u8>)>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    entries.into_iter().map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_vec())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn batch_arguments_accept_the_usual_shapes() {
        assert_eq!(owned_keys(["a", "b"]), ["a", "b"]);
        assert_eq!(owned_keys(&["a".to_string()]), ["a"]);
        assert_eq!(owned_entries([("a", "1"), ("b", "2")]), [("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())]);
        let map = BTreeMap::from([("k".to_string(), vec![1u8, 2])]);
        assert_eq!(owned_entries(&map), [("k".into(), vec![1, 2])]);
        assert_eq!(owned_entries(map), [("k".into(), vec![1, 2])]);
    }
}
