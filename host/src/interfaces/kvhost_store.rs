//! `kvhost:store`: every operation, TTL included.

use wasmtime::component::Resource;

use crate::bindings::kvhost::store::{store, types};
use crate::ctx::{Bucket, KvView};
use crate::error::{Error, Result};
use crate::store::{Condition, ttl_from_ms};

impl types::Host for KvView<'_> {
    fn convert_error(&mut self, err: Error) -> wasmtime::Result<types::Error> {
        Ok(match err {
            Error::NoSuchStore(_) => types::Error::NoSuchStore,
            Error::AccessDenied(_) => types::Error::AccessDenied,
            Error::StoreFull { .. } => types::Error::StoreFull,
            Error::InvalidArgument(m) => types::Error::InvalidArgument(m),
            Error::TooLarge(m) => types::Error::TooLarge(m),
            Error::Conflict(_) => types::Error::Conflict,
            Error::Unavailable(m) => types::Error::Unavailable(m),
            Error::Other(m) => types::Error::Other(m),
        })
    }
}

impl store::Host for KvView<'_> {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>> {
        self.open_bucket(&identifier)
    }
}

impl store::HostBucket for KvView<'_> {
    fn get(&mut self, b: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>> {
        self.store_for(&b, &key)?.get(&key)
    }

    fn set(&mut self, b: Resource<Bucket>, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<()> {
        self.set_value(&b, &key, value, ttl_from_ms(ttl_ms))
    }

    fn delete(&mut self, b: Resource<Bucket>, key: String) -> Result<bool> {
        self.store_for(&b, &key)?.delete(&key)
    }

    fn exists(&mut self, b: Resource<Bucket>, key: String) -> Result<bool> {
        self.store_for(&b, &key)?.exists(&key)
    }

    fn clear(&mut self, b: Resource<Bucket>) -> Result<()> {
        self.store(&b)?.clear()
    }

    fn info(&mut self, b: Resource<Bucket>) -> wasmtime::Result<types::Info> {
        let s = self.store(&b)?;
        let info = s.info();
        Ok(types::Info {
            id: info.id.clone(),
            backend: info.backend.to_owned(),
            durable: info.durable,
            ttl: true,
            versioned: info.versioned,
            conditional: true,
            listable: true,
            max_key_bytes: info.limits.max_key_bytes,
            max_value_bytes: info.limits.max_value_bytes,
        })
    }

    fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        prefix: String,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<types::KeyPage> {
        let (keys, cursor) = self.list_signed(&b, &prefix, cursor.as_deref(), limit as usize)?;
        Ok(types::KeyPage { keys, cursor })
    }

    fn get_entry(&mut self, b: Resource<Bucket>, key: String) -> Result<Option<types::Entry>> {
        let entry = self.store_for(&b, &key)?.get_entry(&key)?;
        Ok(entry.map(|e| types::Entry { value: e.value, version: e.version }))
    }

    fn put(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
        condition: types::Condition,
    ) -> Result<u64> {
        let s = self.store_for(&b, &key)?;
        s.info().limits.check_value(&value)?;
        let condition = match condition {
            types::Condition::Always => Condition::Always,
            types::Condition::IfAbsent => Condition::IfAbsent,
            types::Condition::IfVersion(v) => Condition::IfVersion(v),
        };
        s.put(&key, &value, ttl_from_ms(ttl_ms), condition)
    }

    fn increment(&mut self, b: Resource<Bucket>, key: String, delta: i64) -> Result<i64> {
        self.store_for(&b, &key)?.increment(&key, delta)
    }

    fn get_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<Vec<Option<Vec<u8>>>> {
        KvView::get_many(self, &b, &keys)
    }

    fn set_many(&mut self, b: Resource<Bucket>, entries: Vec<(String, Vec<u8>)>, ttl_ms: Option<u64>) -> Result<()> {
        let s = self.store_for_entries(&b, &entries)?;
        s.set_many(&entries, ttl_from_ms(ttl_ms))
    }

    fn delete_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<u32> {
        let s = self.store_for_keys(&b, &keys)?;
        s.delete_many(&keys).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}
