//! Lifecycle: a registry's stores and databases started in dependency
//! order, each with its cleanup, and stopped in reverse.

use std::time::Duration;

use anyhow::Context as _;
use dashmap::DashMap;

use super::cleanup::Cleanup;
use super::status::{EntryState, HostStatus};
use crate::access::Catalog;
use crate::backend::SharedDatabase;
use crate::backend::clock::SharedClock;
use crate::registry::{Entry, Kind, Registry};

/// The entries a host has started, in start order, and its databases.
pub(super) struct Lifecycle {
    /// Started entries, in start order; the lock also keeps two starts from
    /// interleaving.
    running: tokio::sync::Mutex<Vec<Running>>,
    /// Connected database entries, by ID.
    pub(super) databases: DashMap<String, SharedDatabase>,
}

/// One started store or database.
struct Running {
    id: String,
    stop_timeout: Duration,
    cleanup: Option<Cleanup>,
    database: Option<SharedDatabase>,
}

impl Lifecycle {
    pub(super) fn new() -> Self {
        Self { running: tokio::sync::Mutex::new(Vec::new()), databases: DashMap::new() }
    }

    /// Start the stores and databases among `entries` (dependencies first)
    /// that are not running yet, each within its `start_timeout`, its store
    /// put in `catalog`.
    pub(super) async fn start(
        &self,
        entries: Vec<Entry>,
        catalog: &Catalog,
        clock: &SharedClock,
        status: &HostStatus,
    ) -> anyhow::Result<()> {
        let mut running = self.running.lock().await;
        for entry in entries {
            if running.iter().any(|r| r.id == entry.id) || matches!(entry.kind, Kind::Component(_)) {
                continue;
            }
            status.set(&entry.id, EntryState::Starting);
            let timeout = entry.lifecycle.start_timeout;
            let started = tokio::time::timeout(timeout, self.start_entry(&entry, catalog, clock))
                .await
                .map_err(|_| {
                    anyhow::anyhow!("did not start within its start_timeout ({})", humantime::format_duration(timeout))
                })
                .and_then(|r| r)
                .with_context(|| format!("cannot start {} ({})", entry.id, entry.file.display()));
            let started = match started {
                Ok(started) => started,
                Err(e) => {
                    status.set(&entry.id, EntryState::Failed(format!("{e:#}")));
                    return Err(e);
                }
            };
            tracing::info!(id = %entry.id, kind = entry.kind.name(), "started");
            status.set(&entry.id, EntryState::Running);
            if let Some(db) = &started.database {
                self.databases.insert(entry.id.clone(), db.clone());
            }
            running.push(started);
        }
        Ok(())
    }

    async fn start_entry(&self, entry: &Entry, catalog: &Catalog, clock: &SharedClock) -> anyhow::Result<Running> {
        let mut running =
            Running { id: entry.id.clone(), stop_timeout: entry.lifecycle.stop_timeout, cleanup: None, database: None };
        match &entry.kind {
            Kind::Store(cfg) => {
                let database = match cfg.database() {
                    Some(id) => {
                        Some(self.databases.get(id).with_context(|| format!("database {id} is not running"))?.clone())
                    }
                    None => None,
                };
                let store = cfg.open(&entry.id, database.as_ref(), clock.clone()).await?;
                running.cleanup = Cleanup::spawn(store.clone(), cfg.cleanup_interval());
                catalog.insert(store, *cfg.limits());
            }
            Kind::Database(cfg) => running.database = Some(cfg.connect(&entry.id).await?),
            Kind::Component(_) => {}
        }
        Ok(running)
    }

    /// Stop every started entry, in reverse start order, each within its
    /// `stop_timeout`.
    pub(super) async fn stop_all(&self, catalog: &Catalog, status: &HostStatus) {
        let mut running = self.running.lock().await;
        while let Some(r) = running.pop() {
            catalog.remove(&r.id);
            if let Some(cleanup) = r.cleanup {
                cleanup.stop(&r.id, r.stop_timeout).await;
            }
            if let Some(db) = r.database {
                self.databases.remove(&r.id);
                if tokio::time::timeout(r.stop_timeout, db.close()).await.is_err() {
                    tracing::warn!(id = %r.id, "connections did not close within stop_timeout");
                }
            }
            status.set(&r.id, EntryState::Stopped);
            tracing::info!(id = %r.id, "stopped");
        }
    }
}

/// The entries of `registry` to start for `ids`: those and everything they
/// depend on, dependencies first; an unknown ID is an error.
pub(super) fn start_order(registry: &Registry, ids: &[String]) -> anyhow::Result<Vec<Entry>> {
    if let Some(id) = ids.iter().find(|id| registry.get(id).is_none()) {
        anyhow::bail!("no entry `{id}` in the registry");
    }
    Ok(registry.start_order(ids.iter().map(String::as_str)).into_iter().cloned().collect())
}
