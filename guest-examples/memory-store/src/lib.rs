//! kvhost:store as a component: every operation of the interface over an
//! in-memory map, importing nothing beyond WASI (the clock, for TTL).
//!
//! Compose a guest with it and the result runs under plain `wasmtime run`:
//!
//! ```text
//! wasm-tools compose guest.wasm -d kvhost_memory_store.wasm -o composed.wasm
//! wasmtime run composed.wasm
//! ```
//!
//! Like `kvhost run GUEST` without a registry, it grants one store: `open("")`
//! and `open("default")` give it, any other identifier is access-denied. The
//! limits are kvhost's defaults (255-byte keys, 1 MiB values). It is a test
//! double, not a security boundary: cursors are checked for shape only.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

wit_bindgen::generate!({
    path: "../../wit",
    world: "kvhost:store/memory-store",
});

use exports::kvhost::store::store::{Bucket, Guest, GuestBucket};
use exports::kvhost::store::types::{Condition, Entry, Error, Info, KeyPage};

const MAX_KEY_BYTES: u32 = 255;
const MAX_VALUE_BYTES: u32 = 1 << 20;
const DEFAULT_PAGE: usize = 1000;
const MAX_PAGE: usize = 10_000;

struct Stored {
    value: Vec<u8>,
    version: u64,
    /// Unix milliseconds; None = never.
    expires_at: Option<u64>,
}

#[derive(Default)]
struct Map {
    entries: BTreeMap<String, Stored>,
    next_version: u64,
}

thread_local! {
    /// The one store: every bucket of this instance shares it.
    static STORE: RefCell<Map> = RefCell::new(Map::default());
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() {
        return Err(Error::InvalidArgument("key must not be empty".into()));
    }
    if key.contains('\0') {
        return Err(Error::InvalidArgument("key must not contain NUL (U+0000)".into()));
    }
    if key.len() > MAX_KEY_BYTES as usize {
        return Err(Error::InvalidArgument(format!(
            "key is {} bytes, over this store's max_key_bytes ({MAX_KEY_BYTES})",
            key.len()
        )));
    }
    Ok(())
}

fn check_value(value: &[u8]) -> Result<(), Error> {
    if value.len() > MAX_VALUE_BYTES as usize {
        return Err(Error::TooLarge(format!(
            "value is {} bytes, over this store's max_value_bytes ({MAX_VALUE_BYTES})",
            value.len()
        )));
    }
    Ok(())
}

fn expiry(ttl_ms: Option<u64>) -> Option<u64> {
    ttl_ms.filter(|&t| t > 0).map(|t| now_ms().saturating_add(t))
}

impl Map {
    /// The live entry under `key`; an expired one is removed on sight.
    fn live(&mut self, key: &str) -> Option<&Stored> {
        let now = now_ms();
        if self.entries.get(key).is_some_and(|e| e.expires_at.is_some_and(|at| at <= now)) {
            self.entries.remove(key);
        }
        self.entries.get(key)
    }

    fn write(&mut self, key: &str, value: Vec<u8>, expires_at: Option<u64>) -> u64 {
        self.next_version += 1;
        let version = self.next_version;
        self.entries.insert(key.to_owned(), Stored { value, version, expires_at });
        version
    }
}

fn with<T>(f: impl FnOnce(&mut Map) -> T) -> T {
    STORE.with(|s| f(&mut s.borrow_mut()))
}

fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect::<String>() + ".c"
}

fn decode_cursor(cursor: &str) -> Result<String, Error> {
    let bad = || Error::InvalidArgument(format!("cursor {cursor:?} was not issued by this store"));
    let hex = cursor.strip_suffix(".c").ok_or_else(bad)?;
    if hex.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    String::from_utf8(bytes).map_err(|_| bad())
}

struct Component;

impl Guest for Component {
    type Bucket = MemoryBucket;

    fn open(identifier: String) -> Result<Bucket, Error> {
        match identifier.as_str() {
            "" | "default" => Ok(Bucket::new(MemoryBucket)),
            _ => Err(Error::AccessDenied),
        }
    }
}

struct MemoryBucket;

impl GuestBucket for MemoryBucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        check_key(&key)?;
        Ok(with(|m| m.live(&key).map(|e| e.value.clone())))
    }

    fn set(&self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<(), Error> {
        check_key(&key)?;
        check_value(&value)?;
        with(|m| m.write(&key, value, expiry(ttl_ms)));
        Ok(())
    }

    fn delete(&self, key: String) -> Result<bool, Error> {
        check_key(&key)?;
        Ok(with(|m| m.live(&key).is_some() && m.entries.remove(&key).is_some()))
    }

    fn exists(&self, key: String) -> Result<bool, Error> {
        check_key(&key)?;
        Ok(with(|m| m.live(&key).is_some()))
    }

    fn clear(&self) -> Result<(), Error> {
        with(|m| m.entries.clear());
        Ok(())
    }

    fn info(&self) -> Info {
        Info {
            id: "default".into(),
            backend: "memory-component".into(),
            durable: false,
            ttl: true,
            versioned: true,
            conditional: true,
            listable: true,
            max_key_bytes: MAX_KEY_BYTES,
            max_value_bytes: MAX_VALUE_BYTES,
        }
    }

    fn list_keys(&self, prefix: String, cursor: Option<String>, limit: u32) -> Result<KeyPage, Error> {
        let after = cursor.as_deref().map(decode_cursor).transpose()?;
        let limit = if limit == 0 { DEFAULT_PAGE } else { (limit as usize).min(MAX_PAGE) };
        let now = now_ms();
        let mut keys: Vec<String> = with(|m| {
            let start = after.clone().unwrap_or_else(|| prefix.clone());
            m.entries
                .range(start..)
                .filter(|(k, _)| after.as_deref() != Some(k.as_str()))
                .take_while(|(k, _)| k.starts_with(&prefix))
                .filter(|(_, e)| e.expires_at.is_none_or(|at| at > now))
                .map(|(k, _)| k.clone())
                .take(limit + 1)
                .collect()
        });
        let more = keys.len() > limit;
        keys.truncate(limit);
        let cursor = more.then(|| keys.last().map(|k| encode_cursor(k))).flatten();
        Ok(KeyPage { keys, cursor })
    }

    fn get_entry(&self, key: String) -> Result<Option<Entry>, Error> {
        check_key(&key)?;
        Ok(with(|m| m.live(&key).map(|e| Entry { value: e.value.clone(), version: e.version })))
    }

    fn put(&self, key: String, value: Vec<u8>, ttl_ms: Option<u64>, condition: Condition) -> Result<u64, Error> {
        check_key(&key)?;
        check_value(&value)?;
        with(|m| {
            let current = m.live(&key).map(|e| e.version);
            let holds = match condition {
                Condition::Always => true,
                Condition::IfAbsent => current.is_none(),
                Condition::IfVersion(v) => current == Some(v),
            };
            if !holds {
                return Err(Error::Conflict);
            }
            Ok(m.write(&key, value, expiry(ttl_ms)))
        })
    }

    fn increment(&self, key: String, delta: i64) -> Result<i64, Error> {
        check_key(&key)?;
        with(|m| {
            let (current, expires_at) = match m.live(&key) {
                None => (0, None),
                Some(e) => {
                    let n =
                        std::str::from_utf8(&e.value).ok().and_then(|s| s.parse::<i64>().ok()).ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "cannot increment {key:?}: its value is not a decimal integer"
                            ))
                        })?;
                    (n, e.expires_at)
                }
            };
            let next = current.checked_add(delta).ok_or_else(|| {
                Error::InvalidArgument(format!("cannot increment {key:?}: {current} + {delta} overflows"))
            })?;
            m.write(&key, next.to_string().into_bytes(), expires_at);
            Ok(next)
        })
    }

    fn get_many(&self, keys: Vec<String>) -> Result<Vec<Option<Vec<u8>>>, Error> {
        keys.iter().try_for_each(|k| check_key(k))?;
        Ok(with(|m| keys.iter().map(|k| m.live(k).map(|e| e.value.clone())).collect()))
    }

    fn set_many(&self, entries: Vec<(String, Vec<u8>)>, ttl_ms: Option<u64>) -> Result<(), Error> {
        for (k, v) in &entries {
            check_key(k)?;
            check_value(v)?;
        }
        let expires_at = expiry(ttl_ms);
        with(|m| {
            entries.into_iter().for_each(|(k, v)| {
                m.write(&k, v, expires_at);
            })
        });
        Ok(())
    }

    fn delete_many(&self, keys: Vec<String>) -> Result<u32, Error> {
        keys.iter().try_for_each(|k| check_key(k))?;
        Ok(with(|m| {
            keys.iter().filter(|k| m.live(k).is_some() && m.entries.remove(k.as_str()).is_some()).count() as u32
        }))
    }
}

export!(Component);
