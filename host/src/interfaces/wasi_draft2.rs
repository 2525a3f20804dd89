//! `wasi:keyvalue@0.2.0-draft2` (Spin's): store, atomics with CAS, batch.

use wasmtime::component::Resource;

use crate::bindings::wasi::keyvalue0_2_0_draft2::{atomics, batch, store};
use crate::ctx::{Bucket, Cas, KvView};
use crate::error::{Error, Result};
use crate::store::Condition;

/// wasi:keyvalue knows three errors; the rest keep their message.
pub(crate) fn wasi_error(err: Error) -> store::Error {
    match err {
        Error::NoSuchStore(_) => store::Error::NoSuchStore,
        Error::AccessDenied(_) => store::Error::AccessDenied,
        other => store::Error::Other(other.to_string()),
    }
}

impl store::Host for KvView<'_> {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>> {
        self.open_bucket(&identifier)
    }

    fn convert_error(&mut self, err: Error) -> wasmtime::Result<store::Error> {
        Ok(wasi_error(err))
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

    fn list_keys(&mut self, b: Resource<Bucket>, cursor: Option<String>) -> Result<store::KeyResponse> {
        let (keys, cursor) = self.list_signed(&b, "", cursor.as_deref(), 0)?;
        Ok(store::KeyResponse { keys, cursor })
    }

    fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::HostCas for KvView<'_> {
    fn new(&mut self, b: Resource<Bucket>, key: String) -> Result<Resource<Cas>> {
        let store = self.store_for(&b, &key)?.clone();
        let current = store.get_entry(&key)?;
        self.table.push(Cas { store, key, current }).map_err(|e| Error::Other(format!("too many CAS handles: {e}")))
    }

    fn current(&mut self, cas: Resource<Cas>) -> Result<Option<Vec<u8>>> {
        let cas = self.table.get(&cas).map_err(|e| Error::Other(format!("bad CAS handle: {e}")))?;
        Ok(cas.current.as_ref().map(|v| v.value.clone()))
    }

    fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl atomics::Host for KvView<'_> {
    fn increment(&mut self, b: Resource<Bucket>, key: String, delta: i64) -> Result<i64> {
        self.store_for(&b, &key)?.increment(&key, delta)
    }

    /// Write `value` if the key still has the version `cas` read; otherwise
    /// `cas-failed` with a fresh handle holding the current value, to retry.
    fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let Cas { store, key, current } = self.table.delete(cas)?;
        let condition = current.map_or(Condition::IfAbsent, |c| Condition::IfVersion(c.version));
        let result = store.info().limits.check_value(&value).and_then(|()| store.put(&key, &value, None, condition));
        Ok(match result {
            Ok(_) => Ok(()),
            Err(Error::Conflict(_)) => match store.get_entry(&key) {
                Ok(current) => {
                    let fresh = self.table.push(Cas { store, key, current })?;
                    Err(atomics::CasError::CasFailed(fresh))
                }
                Err(e) => Err(atomics::CasError::StoreError(wasi_error(e))),
            },
            Err(e) => Err(atomics::CasError::StoreError(wasi_error(e))),
        })
    }
}

impl batch::Host for KvView<'_> {
    fn get_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<Vec<(String, Option<Vec<u8>>)>> {
        let values = KvView::get_many(self, &b, &keys)?;
        Ok(keys.into_iter().zip(values).collect())
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
