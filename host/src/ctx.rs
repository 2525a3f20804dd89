//! What a guest may do: its grants, and the `kvhost:store` host functions.
//!
//! Shaped like wasmtime's `wasi-keyvalue`: a [`KvCtx`] built by a
//! [`KvCtxBuilder`] lives in the embedder's state, and a [`KvView`] borrows
//! it together with the resource table for each call.

use std::collections::HashSet;

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::kvhost::store::{store, types};
use crate::error::{Error, Result};
use crate::store::{SharedStore, ttl_from_ms};
use crate::stores::Stores;

/// A guest's access to stores: which IDs it may open, and its default.
///
/// Deny by default: a guest opens only what its builder allowed.
#[derive(Debug, Clone)]
pub struct KvCtx {
    stores: Stores,
    grants: HashSet<String>,
    default_store: Option<String>,
}

/// Builds a [`KvCtx`].
#[derive(Debug, Clone)]
pub struct KvCtxBuilder {
    stores: Stores,
    grants: HashSet<String>,
    default_store: Option<String>,
}

impl KvCtxBuilder {
    /// Let the guest open the store with this ID.
    pub fn allow(mut self, id: impl Into<String>) -> Self {
        self.grants.insert(id.into());
        self
    }

    /// The store opened by `open("")` and `open("default")`. Implies [`Self::allow`].
    pub fn default_store(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.grants.insert(id.clone());
        self.default_store = Some(id);
        self
    }

    /// The context.
    pub fn build(self) -> KvCtx {
        KvCtx { stores: self.stores, grants: self.grants, default_store: self.default_store }
    }
}

impl KvCtx {
    /// A builder over the running `stores`, with no grants.
    pub fn builder(stores: Stores) -> KvCtxBuilder {
        KvCtxBuilder { stores, grants: HashSet::new(), default_store: None }
    }

    /// Resolve an identifier as a guest gives it to `open`, checking grants.
    ///
    /// An ID that was not granted is `access-denied` whether or not a store
    /// has it, so guests cannot probe what exists.
    pub fn open(&self, identifier: &str) -> Result<SharedStore> {
        let id = match identifier {
            "" | "default" => self
                .default_store
                .as_deref()
                .ok_or_else(|| Error::AccessDenied("this guest has no default store".into()))?,
            id if self.grants.contains(id) => id,
            other => {
                return Err(Error::AccessDenied(format!("store `{other}` is not granted to this guest")));
            }
        };
        self.stores.get(id).ok_or_else(|| Error::NoSuchStore(id.to_owned()))
    }
}

/// An open store, as a guest holds it.
pub struct Bucket {
    store: SharedStore,
}

/// A guest's context and resource table, borrowed for one host call.
pub struct KvView<'a> {
    ctx: &'a KvCtx,
    table: &'a mut ResourceTable,
}

impl<'a> KvView<'a> {
    /// Borrow the parts of the embedder's state that kvhost needs.
    pub fn new(ctx: &'a KvCtx, table: &'a mut ResourceTable) -> Self {
        Self { ctx, table }
    }

    fn bucket(&self, b: &Resource<Bucket>) -> Result<&SharedStore> {
        self.table
            .get(b)
            .map(|b| &b.store)
            .map_err(|e| Error::Other(format!("bad bucket handle: {e}")))
    }
}

struct HasKv;

impl HasData for HasKv {
    type Data<'a> = KvView<'a>;
}

/// Add every kvhost interface (`kvhost:store`) to `linker`.
///
/// `get` borrows the kvhost state out of the embedder's store data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> KvView<'_>,
) -> wasmtime::Result<()> {
    types::add_to_linker::<_, HasKv>(linker, get)?;
    store::add_to_linker::<_, HasKv>(linker, get)?;
    Ok(())
}

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
        let store = self.ctx.open(&identifier)?;
        self.table.push(Bucket { store }).map_err(|e| Error::Other(format!("too many open buckets: {e}")))
    }
}

impl store::HostBucket for KvView<'_> {
    fn get(&mut self, b: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>> {
        let s = self.bucket(&b)?;
        s.info().limits.check_key(&key)?;
        s.get(&key)
    }

    fn set(&mut self, b: Resource<Bucket>, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<()> {
        let s = self.bucket(&b)?;
        s.info().limits.check_key(&key)?;
        s.info().limits.check_value(&value)?;
        s.set(&key, &value, ttl_from_ms(ttl_ms))
    }

    fn delete(&mut self, b: Resource<Bucket>, key: String) -> Result<bool> {
        let s = self.bucket(&b)?;
        s.info().limits.check_key(&key)?;
        s.delete(&key)
    }

    fn exists(&mut self, b: Resource<Bucket>, key: String) -> Result<bool> {
        let s = self.bucket(&b)?;
        s.info().limits.check_key(&key)?;
        s.exists(&key)
    }

    fn clear(&mut self, b: Resource<Bucket>) -> Result<()> {
        self.bucket(&b)?.clear()
    }

    fn info(&mut self, b: Resource<Bucket>) -> wasmtime::Result<types::Info> {
        let info = self.bucket(&b)?.info();
        Ok(types::Info {
            id: info.id.clone(),
            backend: info.backend.to_owned(),
            durable: info.durable,
            ttl: true,
            max_key_bytes: info.limits.max_key_bytes,
            max_value_bytes: info.limits.max_value_bytes,
        })
    }

    fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}
