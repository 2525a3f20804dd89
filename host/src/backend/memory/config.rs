//! The `store.memory` registry kind: its fields, and how its store starts.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::MemoryStore;
use crate::backend::SharedStore;
use crate::backend::clock::SharedClock;
use crate::backend::kind::{BoxFuture, SharedDatabase, StoreConfig, StoreKind};
use crate::config::{ConfigError, Fields};

/// `store.memory`: an in-memory store, gone when the host stops.
pub(crate) static KIND: StoreKind = StoreKind {
    name: "store.memory",
    databases: &[],
    cleanup_interval: Duration::from_secs(300),
    fields: &["max_size"],
    parse,
};

/// The fields of a `store.memory` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Most live entries; 0 = unlimited. Default 10000.
    pub max_size: u64,
}

fn parse(f: &mut Fields, _file: &Path) -> Result<Arc<dyn StoreConfig>, ConfigError> {
    let max_size = f.u64("max_size")?.unwrap_or(MemoryStore::DEFAULT_MAX_SIZE);
    Ok(Arc::new(MemoryConfig { max_size }))
}

impl StoreConfig for MemoryConfig {
    fn open<'a>(
        &'a self,
        id: &'a str,
        _database: Option<&'a SharedDatabase>,
        clock: SharedClock,
    ) -> BoxFuture<'a, anyhow::Result<SharedStore>> {
        let store = MemoryStore::builder(id).max_size(self.max_size).clock(clock).build();
        Box::pin(std::future::ready(Ok(Arc::new(store) as SharedStore)))
    }
}
