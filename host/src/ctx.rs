//! What a guest may do: its grants, and the `kvhost:store` host functions.
//!
//! Shaped like wasmtime's `wasi-keyvalue`: a [`KvCtx`] built by a
//! [`KvCtxBuilder`] lives in the embedder's state, and a [`KvView`] borrows
//! it together with the resource table for each call.

use std::collections::HashMap;

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::kvhost::store::{store, types};
use crate::error::{Error, Result};
use crate::grant::Grant;
use crate::store::SharedStore;
use crate::stores::Stores;

/// A guest's access to stores: which IDs it may open, which of their keys,
/// and its default store.
///
/// Deny by default: a guest opens only what its builder granted.
#[derive(Debug, Clone)]
pub struct KvCtx {
    stores: Stores,
    grants: HashMap<String, Grant>,
    default_store: Option<String>,
}

/// Builds a [`KvCtx`].
#[derive(Debug, Clone)]
pub struct KvCtxBuilder {
    stores: Stores,
    grants: HashMap<String, Grant>,
    default_store: Option<String>,
}

impl KvCtxBuilder {
    /// Let the guest open the store with this ID: every key, read and write.
    pub fn allow(self, id: impl Into<String>) -> Self {
        self.grant(Grant::new(id))
    }

    /// Let the guest open a store as `grant` says (a key prefix, read only),
    /// replacing any earlier grant on that store.
    pub fn grant(mut self, grant: Grant) -> Self {
        self.grants.insert(grant.store.clone(), grant);
        self
    }

    /// The store opened by `open("")` and `open("default")`. Implies
    /// [`Self::allow`] unless the store already has a grant, which it keeps.
    pub fn default_store(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.grants.entry(id.clone()).or_insert_with(|| Grant::new(id.clone()));
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
        KvCtxBuilder { stores, grants: HashMap::new(), default_store: None }
    }

    /// Resolve an identifier as a guest gives it to `open`, checking grants.
    ///
    /// An ID that was not granted is `access-denied` whether or not a store
    /// has it, so guests cannot probe what exists.
    /// A grant narrower than the whole store gives a view that checks every
    /// operation against it.
    pub fn open(&self, identifier: &str) -> Result<SharedStore> {
        let id = match identifier {
            "" | "default" => self
                .default_store
                .as_deref()
                .ok_or_else(|| Error::AccessDenied("this guest has no default store".into()))?,
            id => id,
        };
        let grant = self
            .grants
            .get(id)
            .ok_or_else(|| Error::AccessDenied(format!("store `{id}` is not granted to this guest")))?;
        let store = self.stores.get(id).ok_or_else(|| Error::NoSuchStore(id.to_owned()))?;
        Ok(grant.apply(store))
    }
}

/// An open store, as a guest holds it.
pub struct Bucket {
    pub(crate) store: SharedStore,
    /// `wasi:keyvalue@0.2.0-draft` cursors are numbers: the ones issued, with
    /// the last key of their page. Only these are accepted.
    pub(crate) issued: std::collections::VecDeque<(u64, String)>,
    pub(crate) next_cursor: u64,
}

impl Bucket {
    pub(crate) fn new(store: SharedStore) -> Self {
        Self { store, issued: Default::default(), next_cursor: 1 }
    }
}

/// A `wasi:keyvalue` compare-and-swap handle: a key and what was read.
pub struct Cas {
    pub(crate) store: SharedStore,
    pub(crate) key: String,
    pub(crate) current: Option<crate::store::Versioned>,
}

/// A guest's context and resource table, borrowed for one host call.
pub struct KvView<'a> {
    pub(crate) ctx: &'a KvCtx,
    pub(crate) table: &'a mut ResourceTable,
}

impl<'a> KvView<'a> {
    /// Borrow the parts of the embedder's state that kvhost needs.
    pub fn new(ctx: &'a KvCtx, table: &'a mut ResourceTable) -> Self {
        Self { ctx, table }
    }

    /// Open `identifier` for the guest (grants checked) and put it in the table.
    pub(crate) fn open_bucket(&mut self, identifier: &str) -> Result<Resource<Bucket>> {
        let store = self.ctx.open(identifier)?;
        self.table.push(Bucket::new(store)).map_err(|e| Error::Other(format!("too many open buckets: {e}")))
    }

    /// The store behind a bucket handle, borrowed from the table.
    pub(crate) fn store(&self, b: &Resource<Bucket>) -> Result<&SharedStore> {
        self.table.get(b).map(|b| &b.store).map_err(|e| Error::Other(format!("bad bucket handle: {e}")))
    }

    /// The store behind a handle, after checking `key` against its limits.
    pub(crate) fn store_for(&self, b: &Resource<Bucket>, key: &str) -> Result<&SharedStore> {
        let s = self.store(b)?;
        s.info().limits.check_key(key)?;
        Ok(s)
    }

    /// The store behind a handle, after checking every key against its limits.
    pub(crate) fn store_for_keys(&self, b: &Resource<Bucket>, keys: &[String]) -> Result<&SharedStore> {
        let s = self.store(b)?;
        keys.iter().try_for_each(|k| s.info().limits.check_key(k))?;
        Ok(s)
    }

    /// The store behind a handle, after checking every key and value, and
    /// the batch's size.
    pub(crate) fn store_for_entries(
        &self,
        b: &Resource<Bucket>,
        entries: &[(String, Vec<u8>)],
    ) -> Result<&SharedStore> {
        let s = self.store(b)?;
        let limits = s.info().limits;
        let mut bytes = 0u64;
        for (k, v) in entries {
            limits.check_key(k)?;
            limits.check_value(v)?;
            bytes += (k.len() + v.len()) as u64;
        }
        limits.check_batch("set-many request", bytes)?;
        Ok(s)
    }

    /// Every interface's `get-many`: the values of `keys` in order, within
    /// the store's `max_result_bytes`.
    pub(crate) fn get_many(&self, b: &Resource<Bucket>, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let s = self.store_for_keys(b, keys)?;
        let values = s.get_many(keys)?;
        let bytes = values.iter().flatten().map(|v| v.len() as u64).sum();
        s.info().limits.check_batch("get-many result", bytes)?;
        Ok(values)
    }

    /// Check and store one value: every interface's `set`.
    pub(crate) fn set_value(
        &self,
        b: &Resource<Bucket>,
        key: &str,
        value: Vec<u8>,
        ttl: Option<std::time::Duration>,
    ) -> Result<()> {
        let s = self.store_for(b, key)?;
        s.info().limits.check_value(&value)?;
        s.set_owned(key, value, ttl)
    }
}

/// The default and largest page of a listing.
pub(crate) const DEFAULT_PAGE: usize = 1000;
pub(crate) const MAX_PAGE: usize = 10_000;

impl KvView<'_> {
    /// One page of a bucket's keys with opaque string cursors, as
    /// `kvhost:store` and `wasi:keyvalue` draft2 give them: the keys, and the
    /// cursor of the next page if there is one.
    pub(crate) fn list_signed(
        &self,
        b: &Resource<Bucket>,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>)> {
        let s = self.store(b)?;
        let id = &s.info().id;
        let after = cursor.map(|c| crate::cursor::decode(id, c)).transpose()?;
        let (keys, last) = list_page(s, prefix, after.as_deref(), limit)?;
        Ok((keys, last.map(|k| crate::cursor::encode(id, &k))))
    }
}

/// One page of `store`'s keys after `after`, and the last key if more follow.
pub(crate) fn list_page(
    store: &SharedStore,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<String>, Option<String>)> {
    let limit = if limit == 0 { DEFAULT_PAGE } else { limit.min(MAX_PAGE) };
    let mut keys = store.list(prefix, after, limit + 1)?;
    // A page ends early rather than carry more than max_result_bytes of keys;
    // it always holds one key, since max_key_bytes <= max_result_bytes.
    let budget = store.info().limits.max_result_bytes;
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
    let last = more.then(|| keys.last().cloned()).flatten();
    Ok((keys, last))
}

struct HasKv;

impl HasData for HasKv {
    type Data<'a> = KvView<'a>;
}

/// Add every interface kvhost implements to `linker`: `kvhost:store`, and
/// `wasi:keyvalue` store, atomics and batch at `0.2.0-draft2` and `0.2.0-draft`.
///
/// `get` borrows the kvhost state out of the embedder's store data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> KvView<'_>,
) -> wasmtime::Result<()> {
    use crate::bindings::wasi::{keyvalue0_2_0_draft as draft, keyvalue0_2_0_draft2 as draft2};
    types::add_to_linker::<_, HasKv>(linker, get)?;
    store::add_to_linker::<_, HasKv>(linker, get)?;
    draft2::store::add_to_linker::<_, HasKv>(linker, get)?;
    draft2::atomics::add_to_linker::<_, HasKv>(linker, get)?;
    draft2::batch::add_to_linker::<_, HasKv>(linker, get)?;
    draft::store::add_to_linker::<_, HasKv>(linker, get)?;
    draft::atomics::add_to_linker::<_, HasKv>(linker, get)?;
    draft::batch::add_to_linker::<_, HasKv>(linker, get)?;
    Ok(())
}
