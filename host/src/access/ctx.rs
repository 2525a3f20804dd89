//! [`KvCtx`]: what one guest may open, and its default store.

use std::collections::HashMap;
use std::sync::Arc;

use super::bucket::Bucket;
use super::catalog::Catalog;
use super::grant::{Grant, check_names};
use crate::config::FieldError;
use crate::error::{Error, Result};

/// A guest's access to stores: the names it may open (store IDs and the
/// aliases its grants give them), which keys, and its default store. Deny by
/// default: a guest opens only what its builder granted. The embedder's own
/// calls go through it too ([`KvCtx::open`]), under the same rules.
#[derive(Debug, Clone)]
pub struct KvCtx {
    catalog: Catalog,
    /// Each name the guest may open, and the grant it opens under.
    names: HashMap<String, Arc<Grant>>,
    default_store: Option<String>,
}

/// Builds a [`KvCtx`].
#[derive(Debug, Clone)]
pub struct KvCtxBuilder {
    catalog: Catalog,
    grants: Vec<Grant>,
    /// Where each grant came from, for errors: a flag, a registry field.
    sources: Vec<Option<String>>,
    default_store: Option<String>,
}

impl KvCtxBuilder {
    /// Let the guest open the store with this ID: every key, read and write.
    pub fn allow(self, id: impl Into<String>) -> Self {
        self.grant(Grant::new(id))
    }

    /// Let the guest open a store as `grant` says (a key prefix, read only),
    /// by its ID and by the grant's alias if it has one. A later grant of the
    /// same store takes its ID over from an earlier one.
    pub fn grant(mut self, grant: Grant) -> Self {
        self.grants.push(grant);
        self.sources.push(None);
        self
    }

    /// Like [`Self::grant`], saying where the grant came from (such as the
    /// command-line flag that gave it), which [`Self::try_build`]'s error
    /// then names.
    pub fn grant_from(mut self, grant: Grant, source: impl Into<String>) -> Self {
        self.grants.push(grant);
        self.sources.push(Some(source.into()));
        self
    }

    /// The store opened by `open("")` and `open("default")`. Implies
    /// [`Self::allow`] unless the store already has a grant, which it keeps.
    pub fn default_store(mut self, id: impl Into<String>) -> Self {
        self.default_store = Some(id.into());
        self
    }

    /// The context, or an error naming the grant whose alias breaks the
    /// naming rules: empty, `default`, over 255 bytes, or another granted
    /// name (a store ID, the default store, an earlier alias). The error's
    /// field is where the grant came from ([`Self::grant_from`]), else
    /// `the grant of STORE`.
    pub fn try_build(self) -> std::result::Result<KvCtx, FieldError> {
        let mut names = self.grants.clone();
        names.extend(self.default_store.iter().map(Grant::new));
        check_names(&names).map_err(|(i, message)| {
            let source = self.sources[i].clone();
            FieldError::new(source.unwrap_or_else(|| format!("the grant of {}", self.grants[i].store)), message)
        })?;
        Ok(self.build())
    }

    /// The context. Aliases are not checked (see [`Self::try_build`]): of
    /// two grants with one name, the later has it.
    pub fn build(self) -> KvCtx {
        let mut names = HashMap::new();
        for grant in self.grants {
            let grant = Arc::new(grant);
            if let Some(alias) = &grant.alias {
                names.insert(alias.clone(), grant.clone());
            }
            names.insert(grant.store.clone(), grant);
        }
        if let Some(id) = &self.default_store {
            names.entry(id.clone()).or_insert_with(|| Arc::new(Grant::new(id.clone())));
        }
        KvCtx { catalog: self.catalog, names, default_store: self.default_store }
    }
}

impl KvCtx {
    /// A builder over the stores of `catalog`, with no grants.
    pub fn builder(catalog: Catalog) -> KvCtxBuilder {
        KvCtxBuilder { catalog, grants: Vec::new(), sources: Vec::new(), default_store: None }
    }

    /// Open a store as a guest names it in `open`: `""` or `"default"` for
    /// its default store, a granted store's ID, or a grant's alias.
    ///
    /// Any other name is `access-denied`, whether or not a store has it, so
    /// guests cannot probe what exists; a granted name whose store is not
    /// running is `no-such-store`.
    pub fn open(&self, name: &str) -> Result<Bucket> {
        let name = match name {
            "" | "default" => self
                .default_store
                .as_deref()
                .ok_or_else(|| Error::AccessDenied("this guest has no default store".into()))?,
            name => name,
        };
        let grant = self
            .names
            .get(name)
            .ok_or_else(|| Error::AccessDenied(format!("store `{name}` is not granted to this guest")))?;
        let store = self.catalog.guarded(&grant.store).ok_or_else(|| Error::NoSuchStore(grant.store.clone()))?;
        Ok(Bucket::new(store, grant.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Limits, Wait};
    use crate::backend::memory::MemoryStore;

    fn catalog() -> Catalog {
        let catalog = Catalog::new();
        for id in ["app:cache", "app:secret"] {
            catalog.insert(Arc::new(MemoryStore::builder(id).build()), Limits::default());
        }
        catalog
    }

    #[test]
    fn opens_a_store_by_its_alias_under_that_grants_prefix_and_access() {
        let kv = KvCtx::builder(catalog())
            .grant(Grant::new("app:cache").alias("in_memory"))
            .grant(Grant::new("app:cache").alias("readers").prefix("user:").read_only())
            .try_build()
            .unwrap();
        let full = kv.open("in_memory").unwrap();
        assert_eq!(full.id(), "app:cache");
        full.set("user:1", b"ada", None).wait().unwrap();
        let ro = kv.open("readers").unwrap();
        assert_eq!(ro.get("user:1").wait().unwrap().as_deref(), Some(&b"ada"[..]));
        assert!(matches!(ro.set("user:1", b"x", None).wait(), Err(Error::AccessDenied(_))));
        assert!(matches!(ro.get("admin").wait(), Err(Error::AccessDenied(_))));
        // The ID opens under the last grant of the store.
        assert!(matches!(kv.open("app:cache").unwrap().set("k", b"v", None).wait(), Err(Error::AccessDenied(_))));
    }

    #[test]
    fn errors_the_same_way_for_an_unknown_alias_and_an_ungranted_store() {
        let kv = KvCtx::builder(catalog()).grant(Grant::new("app:cache").alias("in_memory")).build();
        let message = |name: &str| match kv.open(name) {
            Err(Error::AccessDenied(m)) => m.replace(name, "NAME"),
            other => panic!("expected access-denied for {name}, got {other:?}"),
        };
        assert_eq!(message("sessions"), message("app:secret"));
    }

    #[test]
    fn try_build_refuses_an_alias_given_twice() {
        let built = KvCtx::builder(catalog())
            .grant(Grant::new("app:cache").alias("x"))
            .grant(Grant::new("app:secret").alias("x"))
            .try_build();
        let e = built.unwrap_err();
        assert_eq!(e.field, "the grant of app:secret");
        assert!(e.message.contains("alias `x` is already given to app:cache"), "{e}");
    }
}
