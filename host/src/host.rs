//! [`Host`]: a registry's entries started in dependency order, its
//! components run, and everything stopped in reverse.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::{Catalog, KvCtx, Wait};
use crate::backend::clock::{self, SharedClock};
use crate::backend::{Database, SharedDatabase, SharedStore, downcast};
use crate::guest::{GuestOutput, GuestRun, GuestRunner, Stdio};
use crate::registry::{ComponentConfig, Entry, Kind, Registry};

/// A registry being served: its running databases and stores, their cleanup
/// tasks, and the catalog guests open stores from.
pub struct Host {
    registry: Registry,
    catalog: Catalog,
    clock: SharedClock,
    /// Connected database entries, by ID.
    databases: HashMap<String, SharedDatabase>,
    /// Started entries, in start order.
    running: Vec<Running>,
}

struct Running {
    id: String,
    stop_timeout: Duration,
    cleanup: Option<Cleanup>,
    database: Option<SharedDatabase>,
}

struct Cleanup {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// How one component of the registry ended.
#[derive(Debug)]
pub struct ComponentExit {
    /// The component's ID.
    pub id: String,
    /// Its output, or why it failed.
    pub result: anyhow::Result<GuestOutput>,
}

impl Host {
    /// A host for `registry` with nothing started yet.
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            catalog: Catalog::new(),
            clock: clock::system(),
            databases: HashMap::new(),
            running: Vec::new(),
        }
    }

    /// Use `clock` for every store this host starts (tests move time with it).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The registry being served.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The running stores.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A connected database entry, as the backend type `T` that runs it
    /// (such as [`crate::sql::SqlDatabase`]).
    pub fn database<T: Database>(&self, id: &str) -> Option<Arc<T>> {
        self.databases.get(id).and_then(downcast)
    }

    /// Start the entries whose lifecycle says `auto_start`, and what they need.
    pub async fn start_auto(&mut self) -> anyhow::Result<()> {
        let ids: Vec<String> = self.registry.auto_start().map(|e| e.id.clone()).collect();
        self.start(&ids).await
    }

    /// Start these entries and everything they depend on, dependencies first.
    /// Entries already running are left alone; components are not run.
    pub async fn start(&mut self, ids: &[String]) -> anyhow::Result<()> {
        for id in ids {
            if self.registry.get(id).is_none() {
                bail!("no entry `{id}` in the registry");
            }
        }
        let order: Vec<Entry> =
            self.registry.start_order(ids.iter().map(String::as_str)).into_iter().cloned().collect();
        for entry in order {
            if self.running.iter().any(|r| r.id == entry.id) || matches!(entry.kind, Kind::Component(_)) {
                continue;
            }
            let timeout = entry.lifecycle.start_timeout;
            let started = tokio::time::timeout(timeout, self.start_entry(&entry))
                .await
                .map_err(|_| {
                    anyhow::anyhow!("did not start within its start_timeout ({})", humantime::format_duration(timeout))
                })
                .and_then(|r| r)
                .with_context(|| format!("cannot start {} ({})", entry.id, entry.file.display()))?;
            tracing::info!(id = %entry.id, kind = entry.kind.name(), "started");
            if let Some(db) = &started.database {
                self.databases.insert(entry.id.clone(), db.clone());
            }
            self.running.push(started);
        }
        Ok(())
    }

    async fn start_entry(&self, entry: &Entry) -> anyhow::Result<Running> {
        let mut running =
            Running { id: entry.id.clone(), stop_timeout: entry.lifecycle.stop_timeout, cleanup: None, database: None };
        match &entry.kind {
            Kind::Store(cfg) => {
                let database = match &cfg.database {
                    Some(id) => Some(self.databases.get(id).with_context(|| format!("database {id} is not running"))?),
                    None => None,
                };
                let store = cfg.config.open(&entry.id, database, self.clock.clone()).await?;
                running.cleanup = spawn_cleanup(store.clone(), cfg.cleanup_interval);
                self.catalog.insert(store, cfg.limits);
            }
            Kind::Database(cfg) => running.database = Some(cfg.config.connect(&entry.id).await?),
            Kind::Component(_) => {}
        }
        Ok(running)
    }

    /// Record the stores' operations in `metrics`, and the requests of HTTP
    /// components; call it before starting anything.
    pub fn with_metrics(mut self, metrics: crate::Metrics) -> Self {
        self.catalog = Catalog::with_metrics(metrics);
        self
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

    /// Run the registry's `auto_start` components (starting what they need
    /// first) until each ends, and say how each ended.
    ///
    /// Commands run to completion. HTTP components (`http:` in the entry)
    /// serve until `shutdown` turns true; then they stop accepting and let
    /// requests in flight finish, each within its entry's `stop_timeout`,
    /// and after that the commands still running are interrupted.
    pub async fn run_components(
        &mut self,
        runner: Arc<GuestRunner>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Vec<ComponentExit>> {
        let components: Vec<(String, ComponentConfig, Duration)> = self
            .registry
            .auto_start()
            .filter_map(|e| match &e.kind {
                Kind::Component(c) => Some((e.id.clone(), c.clone(), e.lifecycle.stop_timeout)),
                _ => None,
            })
            .collect();
        let ids: Vec<String> = components.iter().map(|(id, ..)| id.clone()).collect();
        self.start(&ids).await?;
        // Every HTTP server holds a sender; once all are gone after a
        // shutdown, the commands are interrupted.
        let (serving, mut drained) = tokio::sync::mpsc::channel::<()>(1);
        let mut tasks = Vec::new();
        for (id, cfg, stop_timeout) in components {
            let kv = self.kv_ctx(&cfg);
            let runner = runner.clone();
            tracing::info!(%id, path = %cfg.path.display(), "running component");
            let task = match cfg.http {
                Some(http) => {
                    let (shutdown, serving) = (shutdown.clone(), serving.clone());
                    let metrics = self.catalog.metrics().cloned();
                    let component = HttpComponent { id: id.clone(), cfg, http, kv, stop_timeout, metrics };
                    tokio::spawn(async move {
                        let served = component.serve(&runner, shutdown).await;
                        drop(serving);
                        served
                    })
                }
                None => {
                    let run = GuestRun {
                        name: id.clone(),
                        args: cfg.args.clone(),
                        env: cfg.env.clone().into_iter().collect(),
                        kv,
                        limits: cfg.limits,
                        stdio: Stdio::Inherit,
                    };
                    tokio::spawn(async move {
                        let component = runner.load_async(&cfg.path).await?;
                        runner.run(&component, run).await
                    })
                }
            };
            tasks.push((id, task));
        }
        drop(serving);
        let mut shutdown = shutdown;
        let interrupter = runner.clone();
        let stopper = tokio::spawn(async move {
            if shutdown.wait_for(|stop| *stop).await.is_ok() {
                while drained.recv().await.is_some() {}
                interrupter.interrupt();
            }
        });
        let mut exits = Vec::new();
        for (id, task) in tasks {
            let result = task.await.unwrap_or_else(|e| Err(anyhow::anyhow!("component task failed: {e}")));
            exits.push(ComponentExit { id, result });
        }
        stopper.abort();
        Ok(exits)
    }

    /// Stop every started entry, in reverse start order, each within its stop_timeout.
    pub async fn shutdown(mut self) {
        while let Some(r) = self.running.pop() {
            self.catalog.remove(&r.id);
            if let Some(c) = r.cleanup {
                let _ = c.stop.send(true);
                if tokio::time::timeout(r.stop_timeout, c.task).await.is_err() {
                    tracing::warn!(id = %r.id, "cleanup task did not stop within stop_timeout");
                }
            }
            if let Some(db) = r.database {
                self.databases.remove(&r.id);
                if tokio::time::timeout(r.stop_timeout, db.close()).await.is_err() {
                    tracing::warn!(id = %r.id, "connections did not close within stop_timeout");
                }
            }
            tracing::info!(id = %r.id, "stopped");
        }
    }
}

/// Purge expired entries every `interval` until told to stop.
fn spawn_cleanup(store: SharedStore, interval: Duration) -> Option<Cleanup> {
    if interval.is_zero() {
        return None;
    }
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => return,
            }
            // On a blocking thread: a memory store's purge is CPU work that
            // would hold up a runtime worker for its whole pass.
            let s = store.clone();
            match tokio::task::spawn_blocking(move || s.remove_expired().wait()).await {
                Ok(Ok(n)) if n > 0 => tracing::debug!(id = %store.info().id, removed = n, "cleanup"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(id = %store.info().id, error = %e, "cleanup failed"),
                Err(e) => tracing::warn!(id = %store.info().id, error = %e, "cleanup task panicked"),
            }
        }
    });
    Some(Cleanup { stop, task })
}

/// An HTTP component of the registry, ready to serve.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
struct HttpComponent {
    id: String,
    cfg: ComponentConfig,
    http: crate::registry::HttpConfig,
    kv: KvCtx,
    stop_timeout: Duration,
    metrics: Option<crate::Metrics>,
}

impl HttpComponent {
    /// Serve it at `http.addr` until `shutdown` turns true.
    #[cfg(feature = "serve")]
    async fn serve(
        self,
        runner: &Arc<GuestRunner>,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<GuestOutput> {
        let Self { id, cfg, http, kv, stop_timeout, metrics } = self;
        let guest = runner.prepare_http(&runner.load_async(&cfg.path).await?)?;
        let listener = tokio::net::TcpListener::bind(http.addr)
            .await
            .with_context(|| format!("cannot listen on {} (http.addr)", http.addr))?;
        tracing::warn!(%id, "serving HTTP on http://{}/", listener.local_addr()?);
        let mut server =
            crate::serve::HttpServer::new(runner.clone(), guest, kv, cfg.limits).stop_timeout(stop_timeout);
        if let Some(metrics) = metrics {
            server = server.metrics(metrics, id);
        }
        server
            .serve(listener, async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await;
        Ok(GuestOutput { exit_code: 0, stdout: Vec::new(), stderr: Vec::new() })
    }

    #[cfg(not(feature = "serve"))]
    async fn serve(self, _runner: &Arc<GuestRunner>, _shutdown: watch::Receiver<bool>) -> anyhow::Result<GuestOutput> {
        anyhow::bail!("this kvhost was built without the `serve` feature, so it cannot serve `http:` components")
    }
}
