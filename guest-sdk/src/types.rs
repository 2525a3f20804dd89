//! The records of `kvhost:store`, as plain Rust types.

use crate::bindings::kvhost::store::types as wit;

/// When [`Store::put`](crate::Store::put) writes.
///
/// ```no_run
/// use kvhost_guest::{Condition, Store};
///
/// # fn main() -> Result<(), kvhost_guest::Error> {
/// let store = Store::open_default()?;
/// let v1 = store.put("config", b"a", None, Condition::Always)?;
/// // Compare-and-swap: only if nobody wrote since we read version v1.
/// let v2 = store.put("config", b"b", None, Condition::IfVersion(v1))?;
/// # let _ = v2;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Condition {
    /// Always, like [`Store::set`](crate::Store::set).
    #[default]
    Always,
    /// Only if no live entry has the key.
    IfAbsent,
    /// Only if the live entry has this version (from
    /// [`Store::get_entry`](crate::Store::get_entry) or an earlier `put`).
    IfVersion(u64),
}

impl From<Condition> for wit::Condition {
    fn from(c: Condition) -> Self {
        match c {
            Condition::Always => wit::Condition::Always,
            Condition::IfAbsent => wit::Condition::IfAbsent,
            Condition::IfVersion(v) => wit::Condition::IfVersion(v),
        }
    }
}

/// A value with the version it was read at ([`Store::get_entry`](crate::Store::get_entry)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// The version to give [`Condition::IfVersion`].
    pub version: u64,
}

impl From<wit::Entry> for Entry {
    fn from(e: wit::Entry) -> Self {
        Entry { value: e.value, version: e.version }
    }
}

/// What a store is and what it can do ([`Store::info`](crate::Store::info)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Info {
    /// The store's ID in the registry, such as `app:sessions`.
    pub id: String,
    /// The backend: `memory`, `sqlite`, `postgres`, `mysql`, `redis`...
    pub backend: String,
    /// Whether data survives a restart of the host.
    pub durable: bool,
    /// Entries with a TTL are honoured.
    pub ttl: bool,
    /// Versions change on every write (false: a version is a hash of the
    /// value, so a write of the same value keeps it).
    pub versioned: bool,
    /// [`Store::put`](crate::Store::put) with a condition is atomic.
    pub conditional: bool,
    /// Keys can be listed ([`Store::keys`](crate::Store::keys)).
    pub listable: bool,
    /// Maximum key length in bytes.
    pub max_key_bytes: u32,
    /// Maximum value length in bytes.
    pub max_value_bytes: u32,
}

impl From<wit::Info> for Info {
    fn from(i: wit::Info) -> Self {
        Info {
            id: i.id,
            backend: i.backend,
            durable: i.durable,
            ttl: i.ttl,
            versioned: i.versioned,
            conditional: i.conditional,
            listable: i.listable,
            max_key_bytes: i.max_key_bytes,
            max_value_bytes: i.max_value_bytes,
        }
    }
}

/// One page of keys ([`Store::list_keys`](crate::Store::list_keys)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KeyPage {
    /// Keys in ascending byte order.
    pub keys: Vec<String>,
    /// Give this to `list_keys` for the next page; `None` on the last page.
    pub cursor: Option<String>,
}

impl From<wit::KeyPage> for KeyPage {
    fn from(p: wit::KeyPage) -> Self {
        KeyPage { keys: p.keys, cursor: p.cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_convert_case_by_case() {
        assert!(matches!(wit::Condition::from(Condition::Always), wit::Condition::Always));
        assert!(matches!(wit::Condition::from(Condition::IfAbsent), wit::Condition::IfAbsent));
        assert!(matches!(wit::Condition::from(Condition::IfVersion(7)), wit::Condition::IfVersion(7)));
        assert_eq!(Condition::default(), Condition::Always);
    }

    #[test]
    fn records_convert_field_by_field() {
        let e = Entry::from(wit::Entry { value: b"v".to_vec(), version: 3 });
        assert_eq!(e, Entry { value: b"v".to_vec(), version: 3 });
        let p = KeyPage::from(wit::KeyPage { keys: vec!["a".into()], cursor: Some("c".into()) });
        assert_eq!(p, KeyPage { keys: vec!["a".into()], cursor: Some("c".into()) });
        let i = Info::from(wit::Info {
            id: "app:kv".into(),
            backend: "memory".into(),
            durable: false,
            ttl: true,
            versioned: true,
            conditional: true,
            listable: true,
            max_key_bytes: 256,
            max_value_bytes: 1 << 20,
        });
        assert_eq!(
            (i.id.as_str(), i.backend.as_str(), i.max_key_bytes, i.max_value_bytes),
            ("app:kv", "memory", 256, 1 << 20)
        );
        assert!(!i.durable && i.ttl && i.versioned && i.conditional && i.listable);
    }
}
