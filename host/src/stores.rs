//! The running stores, by ID: what guests open.

use std::sync::Arc;

use dashmap::DashMap;

use crate::store::SharedStore;

/// The stores that are running now, shared by every guest of a host.
///
/// Cloning is cheap and shares the same set.
#[derive(Clone, Default)]
pub struct Stores(Arc<DashMap<String, SharedStore>>);

impl Stores {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Make `store` openable under its `info().id`, replacing any store with
    /// that ID. Opens from then on share the store's `max_concurrency` cap.
    pub fn insert(&self, store: SharedStore) {
        self.0.insert(store.info().id.clone(), crate::gate::gate(store));
    }

    /// Stop serving `id` to new opens; guests holding it keep their handle.
    pub fn remove(&self, id: &str) -> Option<SharedStore> {
        self.0.remove(id).map(|(_, s)| s)
    }

    /// The running store with this ID.
    pub fn get(&self, id: &str) -> Option<SharedStore> {
        self.0.get(id).map(|s| s.value().clone())
    }

    /// IDs of the running stores, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.0.iter().map(|e| e.key().clone()).collect();
        ids.sort();
        ids
    }
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Stores").field(&self.ids()).finish()
    }
}
