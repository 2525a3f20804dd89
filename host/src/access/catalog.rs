//! The catalog: the running stores by ID, each with the rules that guard it.

use std::sync::Arc;

use dashmap::DashMap;

use super::bucket::Bucket;
use super::grant::Grant;
use super::guarded::Guarded;
use super::limits::Limits;
use crate::backend::SharedStore;
use crate::metrics::Metrics;

/// The stores guests and the embedder can open now, shared by every guest of
/// a host. Cloning is cheap and shares the same set.
#[derive(Clone, Default)]
pub struct Catalog {
    stores: Arc<DashMap<String, Arc<Guarded>>>,
    metrics: Option<Metrics>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty catalog whose stores record their operations (and, for
    /// memory stores, their entry counts) in `metrics`.
    pub fn with_metrics(metrics: Metrics) -> Self {
        Self { stores: Arc::default(), metrics: Some(metrics) }
    }

    /// Where this catalog's stores record their operations, if anywhere.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_ref()
    }

    /// Make `store` openable under its ID (`info().id`), guarded by
    /// `limits`, replacing any store with that ID.
    pub fn insert(&self, store: SharedStore, limits: Limits) {
        let guarded = Guarded::new(store, limits, self.metrics.clone());
        self.stores.insert(guarded.backend.info().id.clone(), Arc::new(guarded));
    }

    /// Stop serving `id` to new opens; buckets already open keep working.
    /// Whether a store had that ID.
    pub fn remove(&self, id: &str) -> bool {
        self.stores.remove(id).is_some()
    }

    /// A bucket on store `id` with every key, read and write: the host's own
    /// access. Limits and the concurrency cap apply as to any bucket.
    pub fn open(&self, id: &str) -> Option<Bucket> {
        self.guarded(id).map(|store| Bucket::new(store, Arc::new(Grant::new(id))))
    }

    /// Operations on store `id` in flight now, from every bucket together.
    pub fn in_flight(&self, id: &str) -> Option<u32> {
        self.stores.get(id).map(|g| g.gate.in_flight())
    }

    /// Operations on store `id` waiting now for a permit under its
    /// `max_concurrency`.
    pub fn waiting(&self, id: &str) -> Option<u32> {
        self.stores.get(id).map(|g| g.gate.waiting())
    }

    /// IDs of the running stores, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.stores.iter().map(|e| e.key().clone()).collect();
        ids.sort();
        ids
    }

    pub(crate) fn guarded(&self, id: &str) -> Option<Arc<Guarded>> {
        self.stores.get(id).map(|g| g.value().clone())
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Catalog").field(&self.ids()).finish()
    }
}
