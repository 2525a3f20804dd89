//! Supervision: a registry's components run as tasks, each when the
//! components it requires are ready; commands to their end, HTTP and
//! watcher components until shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::Host;
use super::status::{EntryState, HostStatus};
use crate::access::KvCtx;
use crate::guest::{GuestRun, GuestRunner, Stdio, WatcherContext};
use crate::metrics::Metrics;
use crate::registry::{ComponentConfig, Kind};

/// How one component of the registry ended.
#[derive(Debug, Clone)]
pub struct ComponentExit {
    /// The component's ID.
    pub id: String,
    /// Its last state: [`EntryState::Finished`] for a command that ran to
    /// its end, [`EntryState::Stopped`] for a server stopped by shutdown,
    /// [`EntryState::Failed`] with the reason otherwise.
    pub state: EntryState,
}

impl ComponentExit {
    /// Whether it ended well: a command that exited 0, or a server that
    /// stopped when told to.
    pub fn succeeded(&self) -> bool {
        matches!(self.state, EntryState::Finished(0) | EntryState::Stopped)
    }
}

/// One component to run, with what it runs under.
struct Job {
    id: String,
    cfg: ComponentConfig,
    /// Components that must be ready first.
    requires: Vec<String>,
    start_timeout: Duration,
    stop_timeout: Duration,
    kv: KvCtx,
    runner: Arc<GuestRunner>,
    status: HostStatus,
    metrics: Option<Metrics>,
}

/// Run `host`'s `auto_start` components and the components they require;
/// see [`Host::run_components`].
pub(super) async fn run_components(
    host: &Host,
    runner: Arc<GuestRunner>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Vec<ComponentExit>> {
    let registry = host.registry();
    let auto: Vec<&str> = registry.auto_start().map(|e| e.id.as_str()).collect();
    let order = registry.start_order(auto);
    let is_component = |id: &str| registry.get(id).is_some_and(|e| matches!(e.kind, Kind::Component(_)));
    let mut jobs = Vec::new();
    for entry in order {
        let Kind::Component(cfg) = &entry.kind else { continue };
        jobs.push(Job {
            id: entry.id.clone(),
            cfg: cfg.clone(),
            requires: entry.lifecycle.requires.iter().filter(|id| is_component(id)).cloned().collect(),
            start_timeout: entry.lifecycle.start_timeout,
            stop_timeout: entry.lifecycle.stop_timeout,
            kv: host.kv_ctx(cfg),
            runner: runner.clone(),
            status: host.status(),
            metrics: host.catalog().metrics().cloned(),
        });
    }
    let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    host.start(&ids).await?;

    // Every HTTP server and watcher holds a sender; once all are gone after a shutdown,
    // the commands still running are interrupted.
    let (serving, mut drained) = mpsc::channel::<()>(1);
    let mut tasks = Vec::new();
    for job in jobs {
        job.status.set(&job.id, EntryState::Starting);
        let (id, shutdown, serving) = (job.id.clone(), shutdown.clone(), serving.clone());
        // Its last state is set as soon as it ends, not when the tasks
        // before it end: a command beside a server or watcher has finished
        // for everyone watching the status.
        let (status, ended_id) = (job.status.clone(), id.clone());
        tasks.push((
            id,
            tokio::spawn(async move {
                let state = job.run(shutdown, serving).await;
                status.set(&ended_id, state.clone());
                state
            }),
        ));
    }
    drop(serving);
    let mut shutdown = shutdown;
    let stopper = tokio::spawn(async move {
        if shutdown.wait_for(|stop| *stop).await.is_ok() {
            while drained.recv().await.is_some() {}
            runner.interrupt();
        }
    });
    let mut exits = Vec::new();
    for (id, task) in tasks {
        let state = task.await.unwrap_or_else(|e| EntryState::Failed(format!("component task failed: {e}")));
        host.status().set(&id, state.clone());
        exits.push(ComponentExit { id, state });
    }
    stopper.abort();
    Ok(exits)
}

impl Job {
    /// Wait for the components this one requires, then run it; its last state.
    async fn run(self, shutdown: watch::Receiver<bool>, serving: mpsc::Sender<()>) -> EntryState {
        for dep in &self.requires {
            if let Err(state) = self.status.ready(dep).await {
                return EntryState::Failed(format!("it requires {dep}, which is {state}"));
            }
        }
        tracing::info!(id = %self.id, path = %self.cfg.path.display(), "running component");
        let ended = match self.cfg.http {
            // A build without `serve` refuses `http:` when the registry loads.
            #[cfg(feature = "serve")]
            Some(http) => self.serve(http, shutdown, serving).await,
            _ if self.cfg.is_watcher() => self.watch(shutdown, serving).await,
            _ => {
                drop((shutdown, serving));
                self.run_command().await
            }
        };
        ended.unwrap_or_else(|e| EntryState::Failed(format!("{e:#}")))
    }

    async fn run_command(self) -> anyhow::Result<EntryState> {
        let component = self.runner.load_async(&self.cfg.path).await?;
        let prepared = self.runner.prepare(&component)?;
        let run = GuestRun {
            name: self.id.clone(),
            args: self.cfg.args.clone(),
            env: self.cfg.env.clone().into_iter().collect(),
            kv: self.kv,
            limits: self.cfg.limits,
            stdio: Stdio::Inherit,
        };
        self.status.set(&self.id, EntryState::Running);
        let output = self.runner.run_prepared(&prepared, run).await?;
        Ok(EntryState::Finished(output.exit_code))
    }

    /// Serve the component at `http.addr` until `shutdown` turns true, then
    /// let requests in flight finish within its `stop_timeout`.
    #[cfg(feature = "serve")]
    async fn serve(
        self,
        http: crate::registry::HttpConfig,
        mut shutdown: watch::Receiver<bool>,
        serving: mpsc::Sender<()>,
    ) -> anyhow::Result<EntryState> {
        use anyhow::Context as _;
        let guest = self.runner.prepare_http(&self.runner.load_async(&self.cfg.path).await?)?;
        let listener = tokio::net::TcpListener::bind(http.addr)
            .await
            .with_context(|| format!("cannot listen on {} (http.addr)", http.addr))?;
        let addr = listener.local_addr()?;
        tracing::warn!(id = %self.id, "serving HTTP on http://{addr}/");
        let mut server = crate::serve::HttpServer::new(self.runner.clone(), guest, self.kv, self.cfg.limits)
            .stop_timeout(self.stop_timeout)
            .serve_limits(http.limits);
        if let Some(metrics) = self.metrics {
            server = server.metrics(metrics, self.id.clone());
        }
        self.status.set(&self.id, EntryState::Serving(addr));
        server
            .serve(listener, async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await;
        drop(serving);
        Ok(EntryState::Stopped)
    }

    /// Watch the stores of `watch:` and call the component for each change,
    /// until `shutdown` turns true; then let the calls in flight finish
    /// within its `stop_timeout`. Ready ([`EntryState::Watching`]) once
    /// every watch listens.
    async fn watch(self, mut shutdown: watch::Receiver<bool>, serving: mpsc::Sender<()>) -> anyhow::Result<EntryState> {
        use anyhow::Context as _;
        let guest = self.runner.prepare_watcher(&self.runner.load_async(&self.cfg.path).await?)?;
        let mut watches = Vec::new();
        for (i, w) in self.cfg.watch.iter().enumerate() {
            let bucket = self.kv.open(&w.store).with_context(|| format!("cannot open {} (watch[{i}])", w.store))?;
            let watch = bucket.watch(&w.prefix).with_context(|| format!("cannot watch {} (watch[{i}])", w.store))?;
            watches.push((bucket, watch));
        }
        let listening = async {
            for (_, watch) in &mut watches {
                watch.listening().await;
            }
        };
        tokio::time::timeout(self.start_timeout, listening).await.map_err(|_| {
            anyhow::anyhow!(
                "its watches did not listen within its start_timeout ({})",
                humantime::format_duration(self.start_timeout)
            )
        })?;
        tracing::info!(id = %self.id, draft = guest.draft(), "watching");
        self.status.set(&self.id, EntryState::Watching);
        let cx = Arc::new(WatcherContext {
            name: self.id.clone(),
            env: self.cfg.env.clone().into_iter().collect(),
            kv: self.kv.clone(),
            limits: self.cfg.limits,
            metrics: self.metrics.clone(),
        });
        let mut tasks = tokio::task::JoinSet::new();
        for (bucket, watch) in watches {
            let (runner, cx, guest, mut shutdown) = (self.runner.clone(), cx.clone(), guest.clone(), shutdown.clone());
            tasks.spawn(async move {
                let stop = async move {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                };
                guest.deliver(&runner, &cx, &bucket, watch, stop).await;
            });
        }
        let stopped = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => true,
            () = async { while tasks.join_next().await.is_some() {} } => false,
        };
        // The deliveries end on shutdown too, maybe before this task sees it:
        // only deliveries that ended without one mean the stores stopped.
        if !stopped && !*shutdown.borrow() {
            return Ok(EntryState::Failed("the stores it watches stopped".into()));
        }
        // Calls in flight get the stop_timeout; after it the runner is
        // interrupted (once every server and watcher has let go).
        let drained = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(self.stop_timeout, drained).await.is_err() {
            tracing::warn!(id = %self.id, "watcher calls did not finish within stop_timeout; interrupting them");
        }
        drop(serving);
        while tasks.join_next().await.is_some() {}
        Ok(EntryState::Stopped)
    }
}
