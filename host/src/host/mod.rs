//! [`Host`]: a registry brought to life. Split by job:
//!
//! - lifecycle.rs: stores and databases started in dependency order, each
//!   within its `start_timeout`, and stopped in reverse; cleanup.rs: each
//!   store's periodic purge of expired entries.
//! - supervisor.rs: the registry's components run as tasks (commands,
//!   HTTP servers), each once the components it requires are ready.
//! - status.rs: [`HostStatus`], what every entry is doing, readable while
//!   the components run.

mod cleanup;
mod lifecycle;
mod status;
mod supervisor;

use std::any::Any;
use std::sync::Arc;

use tokio::sync::watch;

use self::lifecycle::Lifecycle;
pub use self::status::{EntryState, HostStatus};
pub use self::supervisor::ComponentExit;
use crate::access::{Catalog, KvCtx};
use crate::backend::clock::{self, SharedClock};
use crate::backend::downcast;
use crate::guest::GuestRunner;
use crate::metrics::Metrics;
use crate::registry::{ComponentConfig, Kind, Registry};

/// A registry being served: its running databases and stores with their
/// cleanup tasks, the catalog guests open stores from, and its components.
///
/// Every method takes `&self`, so that while [`Host::run_components`] runs
/// the components, other tasks can read the [`Host::status`], open stores
/// from the [`Host::catalog`] or start more entries.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> anyhow::Result<()> {
/// use kvhost::Host;
/// use kvhost::registry::Registry;
///
/// let registry = Registry::from_yaml("inline.yaml", "namespace: app\nentries:\n  - {name: cache, kind: store.memory}\n")?;
/// let host = Host::builder(registry).build();
/// host.start(&["app:cache".to_owned()]).await?;
/// let cache = host.catalog().open("app:cache").expect("started");
/// cache.set("k", b"v", None).await?;
/// assert!(host.status().get("app:cache").is_some_and(|s| s.is_ready()));
/// host.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct Host {
    registry: Registry,
    catalog: Catalog,
    clock: SharedClock,
    lifecycle: Lifecycle,
    status: HostStatus,
}

/// Builds a [`Host`]: what its stores are given when they start.
pub struct HostBuilder {
    registry: Registry,
    clock: SharedClock,
    metrics: Option<Metrics>,
}

impl HostBuilder {
    /// Use `clock` for every store the host starts (tests move time with
    /// it). Default: the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Record the stores' operations, and the requests of HTTP components,
    /// in `metrics`.
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The host, with nothing started yet.
    pub fn build(self) -> Host {
        let catalog = self.metrics.map_or_else(Catalog::new, Catalog::with_metrics);
        Host {
            registry: self.registry,
            catalog,
            clock: self.clock,
            lifecycle: Lifecycle::new(),
            status: HostStatus::default(),
        }
    }
}

impl Host {
    /// A builder for a host of `registry`.
    pub fn builder(registry: Registry) -> HostBuilder {
        HostBuilder { registry, clock: clock::system(), metrics: None }
    }

    /// A host for `registry` with the system clock and no metrics, nothing
    /// started yet.
    pub fn new(registry: Registry) -> Self {
        Self::builder(registry).build()
    }

    /// The registry being served.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The running stores.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// What every entry is doing: a handle that stays valid, and current,
    /// while the host runs.
    pub fn status(&self) -> HostStatus {
        self.status.clone()
    }

    /// A connected database entry, as the backend type `T` that runs it
    /// (such as [`crate::sql::SqlDatabase`]).
    pub fn database<T: Any + Send + Sync>(&self, id: &str) -> Option<Arc<T>> {
        self.lifecycle.databases.get(id).and_then(|db| downcast(db.value()))
    }

    /// Start the entries whose lifecycle says `auto_start`, and what they need.
    pub async fn start_auto(&self) -> anyhow::Result<()> {
        let ids: Vec<String> = self.registry.auto_start().map(|e| e.id.clone()).collect();
        self.start(&ids).await
    }

    /// Start these entries and everything they depend on, dependencies first.
    /// Entries already running are left alone; components are not run (see
    /// [`Host::run_components`]).
    pub async fn start(&self, ids: &[String]) -> anyhow::Result<()> {
        let entries = lifecycle::start_order(&self.registry, ids)?;
        self.lifecycle.start(entries, &self.catalog, &self.clock, &self.status).await
    }

    /// A runner fit for the registry's `auto_start` components: with
    /// wasmtime's pooling allocator (room for
    /// [`crate::guest::DEFAULT_MAX_INSTANCES`]) when one of them makes an
    /// instance per event (an HTTP component per request, a watcher per
    /// change), else the
    /// default allocator.
    pub fn guest_runner(&self) -> anyhow::Result<GuestRunner> {
        let per_event = self
            .registry
            .auto_start()
            .any(|e| matches!(&e.kind, Kind::Component(c) if c.http.is_some() || c.is_watcher()));
        if per_event { GuestRunner::pooled(crate::guest::DEFAULT_MAX_INSTANCES) } else { GuestRunner::new() }
    }

    /// A guest context for a registry component: its grants and default store.
    pub fn kv_ctx(&self, component: &ComponentConfig) -> KvCtx {
        let mut b = KvCtx::builder(self.catalog.clone());
        for grant in &component.stores {
            b = b.grant(grant.clone());
        }
        if let Some(id) = &component.default_store {
            b = b.default_store(id);
        }
        b.build()
    }

    /// Run the registry's `auto_start` components, and the components they
    /// require (starting the stores they need first), until each ends, and
    /// say how each ended.
    ///
    /// A component starts once every component in its `lifecycle.requires`
    /// is ready (see [`EntryState::is_ready`]); if one fails, so does it.
    /// Commands run to completion. HTTP components (`http:` in the entry)
    /// serve until `shutdown` turns true; then they stop accepting and let
    /// requests in flight finish, each within its entry's `stop_timeout`,
    /// and after that the commands still running are interrupted. Watchers
    /// (`watch:` in the entry) are called once per change to the keys they
    /// watch, and are ready once their watches listen; at shutdown they
    /// stop like HTTP components.
    pub async fn run_components(
        &self,
        runner: Arc<GuestRunner>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Vec<ComponentExit>> {
        supervisor::run_components(self, runner, shutdown).await
    }

    /// Stop every started entry, in reverse start order, each within its
    /// `stop_timeout`.
    pub async fn shutdown(self) {
        self.lifecycle.stop_all(&self.catalog, &self.status).await;
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("catalog", &self.catalog).field("status", &self.status).finish_non_exhaustive()
    }
}
