//! [`KvCtx`]: what one guest may open, and its default store.

use std::collections::HashMap;
use std::sync::Arc;

use super::bucket::Bucket;
use super::catalog::Catalog;
use super::grant::Grant;
use crate::error::{Error, Result};

/// A guest's access to stores: which IDs it may open, which of their keys,
/// and its default store. Deny by default: a guest opens only what its
/// builder granted. The embedder's own calls go through it too
/// ([`KvCtx::open`]), under the same rules.
#[derive(Debug, Clone)]
pub struct KvCtx {
    catalog: Catalog,
    grants: HashMap<String, Arc<Grant>>,
    default_store: Option<String>,
}

/// Builds a [`KvCtx`].
#[derive(Debug, Clone)]
pub struct KvCtxBuilder {
    catalog: Catalog,
    grants: HashMap<String, Arc<Grant>>,
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
        self.grants.insert(grant.store.clone(), Arc::new(grant));
        self
    }

    /// The store opened by `open("")` and `open("default")`. Implies
    /// [`Self::allow`] unless the store already has a grant, which it keeps.
    pub fn default_store(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.grants.entry(id.clone()).or_insert_with(|| Arc::new(Grant::new(id.clone())));
        self.default_store = Some(id);
        self
    }

    /// The context.
    pub fn build(self) -> KvCtx {
        KvCtx { catalog: self.catalog, grants: self.grants, default_store: self.default_store }
    }
}

impl KvCtx {
    /// A builder over the stores of `catalog`, with no grants.
    pub fn builder(catalog: Catalog) -> KvCtxBuilder {
        KvCtxBuilder { catalog, grants: HashMap::new(), default_store: None }
    }

    /// Open a store as a guest names it in `open`: `""` or `"default"` for
    /// its default store, or a granted ID.
    ///
    /// An ID that was not granted is `access-denied` whether or not a store
    /// has it, so guests cannot probe what exists; a granted ID whose store
    /// is not running is `no-such-store`.
    pub fn open(&self, identifier: &str) -> Result<Bucket> {
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
        let store = self.catalog.guarded(id).ok_or_else(|| Error::NoSuchStore(id.to_owned()))?;
        Ok(Bucket::new(store, grant.clone()))
    }
}
