//! `wasi:keyvalue@0.2.0-draft` (wasmtime's `-S keyvalue`): store, atomics, batch.

use wasmtime::component::Resource;

use crate::bindings::wasi::keyvalue0_2_0_draft::{atomics, batch, store};
use crate::ctx::{Bucket, KvView, list_page};
use crate::error::{Error, Result};

/// Cursors kept per bucket handle; older ones stop being accepted.
const KEPT_CURSORS: usize = 64;

impl store::Host for KvView<'_> {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>> {
        self.open_bucket(&identifier)
    }

    fn convert_error(&mut self, err: Error) -> wasmtime::Result<store::Error> {
        Ok(match err {
            Error::NoSuchStore(_) => store::Error::NoSuchStore,
            Error::AccessDenied(_) => store::Error::AccessDenied,
            other => store::Error::Other(other.to_string()),
        })
    }
}

impl store::HostBucket for KvView<'_> {
    fn get(&mut self, b: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>> {
        self.store_for(&b, &key)?.get(&key)
    }

    fn set(&mut self, b: Resource<Bucket>, key: String, value: Vec<u8>) -> Result<()> {
        self.set_value(&b, &key, value, None)
    }

    fn delete(&mut self, b: Resource<Bucket>, key: String) -> Result<()> {
        self.store_for(&b, &key)?.delete(&key).map(drop)
    }

    fn exists(&mut self, b: Resource<Bucket>, key: String) -> Result<bool> {
        self.store_for(&b, &key)?.exists(&key)
    }

    /// Cursors are numbers in this draft: each names the last key of a page
    /// this bucket handle returned, and only those are accepted.
    fn list_keys(&mut self, b: Resource<Bucket>, cursor: Option<u64>) -> Result<store::KeyResponse> {
        let bucket = self.table.get_mut(&b).map_err(|e| Error::Other(format!("bad bucket handle: {e}")))?;
        let after = match cursor {
            None => None,
            Some(c) => Some(
                bucket
                    .issued
                    .iter()
                    .find(|(id, _)| *id == c)
                    .map(|(_, key)| key.clone())
                    .ok_or_else(|| Error::InvalidArgument(format!("cursor {c} was not issued by this bucket")))?,
            ),
        };
        let (keys, last) = list_page(&bucket.store, "", after.as_deref(), 0)?;
        let cursor = last.map(|key| {
            let id = bucket.next_cursor;
            bucket.next_cursor += 1;
            if bucket.issued.len() == KEPT_CURSORS {
                bucket.issued.pop_front();
            }
            bucket.issued.push_back((id, key));
            id
        });
        Ok(store::KeyResponse { keys, cursor })
    }

    fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for KvView<'_> {
    fn increment(&mut self, b: Resource<Bucket>, key: String, delta: u64) -> Result<u64> {
        let delta = i64::try_from(delta)
            .map_err(|_| Error::InvalidArgument(format!("increment delta {delta} is over {}", i64::MAX)))?;
        let n = self.store_for(&b, &key)?.increment(&key, delta)?;
        u64::try_from(n)
            .map_err(|_| Error::InvalidArgument(format!("{key:?} is {n}, which this draft's u64 cannot return")))
    }
}

impl batch::Host for KvView<'_> {
    fn get_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<Vec<Option<(String, Vec<u8>)>>> {
        let values = KvView::get_many(self, &b, &keys)?;
        Ok(keys.into_iter().zip(values).map(|(k, v)| v.map(|v| (k, v))).collect())
    }

    fn set_many(&mut self, b: Resource<Bucket>, key_values: Vec<(String, Vec<u8>)>) -> Result<()> {
        let s = self.store_for_entries(&b, &key_values)?;
        s.set_many(&key_values, None)
    }

    fn delete_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<()> {
        let s = self.store_for_keys(&b, &keys)?;
        s.delete_many(&keys).map(drop)
    }
}
