//! Running guest components: a wasmtime engine with WASI 0.2 and kvhost
//! linked, each guest a task on the tokio runtime.
//!
//! Guests run on wasmtime's async support: a guest waiting on a store that
//! waits on a server gives its thread back to the runtime, and a guest that
//! computes yields at every epoch tick, so a thousand guests share the
//! runtime's few worker threads.

mod component_cache;
mod diagnose;
#[cfg(feature = "serve")]
mod http;
mod memory_budget;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, UpdateDeadline};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxView, WasiView};

pub use self::component_cache::{ComponentCache, Source};
#[cfg(feature = "serve")]
pub use self::http::{HttpPrepared, HttpResponse};
pub use self::memory_budget::DEFAULT_MAX_MEMORY;
use self::memory_budget::MemoryBudget;
use crate::access::KvCtx;
use crate::interfaces::KvView;
use crate::registry::GuestLimits;

/// How often the engine's epoch ticks: the granularity of timeouts and
/// Ctrl-C, and how often a computing guest yields its thread.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How many instances of an HTTP guest `kvhost serve` and a registry's HTTP
/// components keep alive at once (the size of a [`GuestRunner::pooled`]),
/// unless told otherwise.
pub const DEFAULT_MAX_INSTANCES: u32 = 1000;

/// Most bytes of output kept from a guest whose output is captured.
const CAPTURE_LIMIT: usize = 16 << 20;

/// What each guest instance owns.
struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    kv: KvCtx,
    memory: MemoryBudget,
    #[cfg(feature = "serve")]
    http: http::HttpState,
    /// The pooling allocator's slot this instance holds, if pooled.
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Where a guest's stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// The host process's own streams, as `wasmtime run` does.
    Inherit,
    /// Kept in memory and returned in [`GuestOutput`].
    Capture,
}

/// One run of a guest command.
#[derive(Debug, Clone)]
pub struct GuestRun {
    /// `argv[0]` as the guest sees it.
    pub name: String,
    /// Arguments after the name.
    pub args: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Which stores it may open.
    pub kv: KvCtx,
    /// Memory and time limits.
    pub limits: GuestLimits,
    /// Where its output goes.
    pub stdio: Stdio,
}

/// How a guest run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestOutput {
    /// The exit code: 0 for success, or what the guest passed to `exit`.
    pub exit_code: i32,
    /// Captured stdout (empty when inherited).
    pub stdout: Vec<u8>,
    /// Captured stderr (empty when inherited).
    pub stderr: Vec<u8>,
}

/// A component linked against kvhost and WASI, ready to instantiate.
/// Cloning is cheap and shares the compiled code.
#[derive(Clone)]
pub struct Prepared(CommandPre<GuestState>);

/// Compiles and runs guest components, each run a future to await on a tokio
/// runtime (multi-thread or current-thread). One per host; cheap to share by
/// reference.
pub struct GuestRunner {
    engine: Engine,
    linker: Linker<GuestState>,
    interrupted: tokio::sync::watch::Sender<bool>,
    ticker_stop: Arc<AtomicBool>,
    cache: Option<ComponentCache>,
    /// With the pooling allocator: one permit per instance slot, held by
    /// each store.
    slots: Option<Arc<tokio::sync::Semaphore>>,
}

impl GuestRunner {
    /// The engine configuration the runner uses: the component model, and
    /// epoch interruption for yielding, timeouts and Ctrl-C.
    pub fn config() -> Config {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config
    }

    /// An engine with the component model, WASI 0.2 and kvhost linked.
    pub fn new() -> anyhow::Result<Self> {
        Self::with_config(&Self::config())
    }

    /// Like [`GuestRunner::new`], with wasmtime's pooling allocator sized for
    /// `instances` guests running at once; more wait for a free slot.
    /// Instantiation reuses memory slots instead of mapping fresh memory each
    /// time, which is what keeps many short instances (one per HTTP request)
    /// cheap.
    pub fn pooled(instances: u32) -> anyhow::Result<Self> {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(8))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(8));
        let mut config = Self::config();
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        let mut runner = Self::with_config(&config)?;
        runner.slots = Some(Arc::new(tokio::sync::Semaphore::new(instances as usize)));
        Ok(runner)
    }

    fn with_config(config: &Config) -> anyhow::Result<Self> {
        let engine = Engine::new(config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        #[cfg(feature = "serve")]
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::interfaces::add_to_linker_async(&mut linker, |s: &mut GuestState| KvView::new(&s.kv, &mut s.table))?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let (e, stop) = (engine.clone(), ticker_stop.clone());
        std::thread::Builder::new().name("kvhost-epoch".into()).spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                e.increment_epoch();
            }
        })?;
        let (interrupted, _) = tokio::sync::watch::channel(false);
        Ok(Self { engine, linker, interrupted, ticker_stop, cache: None, slots: None })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Keep compiled components in `cache`, so a component compiles once.
    pub fn with_cache(mut self, cache: ComponentCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Load and compile a component file, or load it from the cache.
    /// Compiling takes seconds for a large component: async callers use
    /// [`GuestRunner::load_async`].
    pub fn load(&self, path: &Path) -> anyhow::Result<Component> {
        let started = Instant::now();
        let loaded = std::fs::read(path).map_err(anyhow::Error::from).and_then(|bytes| {
            check_is_component(&bytes)?;
            match &self.cache {
                Some(cache) => cache.load(&self.engine, &bytes),
                None => Ok((Component::new(&self.engine, &bytes)?, Source::Compiled)),
            }
        });
        let (component, source) = loaded.with_context(|| format!("cannot load component {}", path.display()))?;
        tracing::debug!(path = %path.display(), ?source, elapsed = ?started.elapsed(), "component loaded");
        Ok(component)
    }

    /// [`GuestRunner::load`] on a blocking thread, so that compiling does
    /// not hold up the runtime's workers.
    pub async fn load_async(self: &Arc<Self>, path: impl Into<std::path::PathBuf>) -> anyhow::Result<Component> {
        let (loader, path) = (self.clone(), path.into());
        tokio::task::spawn_blocking(move || loader.load(&path)).await.context("compiling the component failed")?
    }

    /// Stop every running and future guest of this runner ("interrupted"),
    /// whether it is computing or waiting on a store.
    pub fn interrupt(&self) {
        self.interrupted.send_replace(true);
    }

    /// Link a command component once, so that each run only instantiates it.
    pub fn prepare(&self, component: &Component) -> anyhow::Result<Prepared> {
        let pre = self.linker.instantiate_pre(component).map_err(diagnose::link_error)?;
        let pre = CommandPre::new(pre).map_err(|_| diagnose::not_runnable(&self.engine, component, "wasi:cli/run"))?;
        Ok(Prepared(pre))
    }

    /// Run a command component (one that exports `wasi:cli/run`) to completion.
    ///
    /// A guest that calls `exit(n)` ends with exit code `n`. A trap, a blown
    /// limit or an interrupt is an error that says which.
    pub async fn run(&self, component: &Component, run: GuestRun) -> anyhow::Result<GuestOutput> {
        self.run_prepared(&self.prepare(component)?, run).await
    }

    /// Run a component linked by [`GuestRunner::prepare`].
    pub async fn run_prepared(&self, prepared: &Prepared, run: GuestRun) -> anyhow::Result<GuestOutput> {
        let mut wasi = WasiCtx::builder();
        let mut argv = vec![run.name.clone()];
        argv.extend(run.args.iter().cloned());
        wasi.args(&argv).envs(&run.env);
        let pipes = match run.stdio {
            Stdio::Inherit => {
                wasi.inherit_stdio();
                None
            }
            Stdio::Capture => {
                let (out, err) = (MemoryOutputPipe::new(CAPTURE_LIMIT), MemoryOutputPipe::new(CAPTURE_LIMIT));
                wasi.stdout(out.clone()).stderr(err.clone());
                Some((out, err))
            }
        };
        let (mut store, limiter) = self.store(wasi.build(), run.kv, &run.limits).await;
        let guest = async {
            let cmd = prepared.0.instantiate_async(&mut store).await?;
            cmd.wasi_cli_run().call_run(&mut store).await
        };
        let result = limiter.run(guest).await;
        let exit_code = match result {
            Ok(Ok(())) => 0,
            Ok(Err(())) => 1,
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(failure(&run.name, e, store.data().memory.refusal())),
            },
        };
        let (stdout, stderr) = match pipes {
            Some((out, err)) => (out.contents().to_vec(), err.contents().to_vec()),
            None => (Vec::new(), Vec::new()),
        };
        Ok(GuestOutput { exit_code, stdout, stderr })
    }
}

/// Refuse, with what to do about it, a file that is not a WebAssembly
/// component: not WebAssembly at all, or a core module.
fn check_is_component(bytes: &[u8]) -> anyhow::Result<()> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        anyhow::bail!("it is not a WebAssembly file (those start with \\0asm)");
    }
    // Bytes 4..8: version and layer; a core module is version 1, layer 0.
    if bytes[4..8] == [1, 0, 0, 0] {
        anyhow::bail!(
            "it is a core WebAssembly module, not a component: build for the wasm32-wasip2 target, or wrap it with \
             `wasm-tools component new MODULE.wasm --adapt wasi_snapshot_preview1.reactor.wasm -o COMPONENT.wasm` \
             (the adapter comes from wasmtime's releases or the crate wasi-preview1-component-adapter-provider)"
        );
    }
    Ok(())
}

impl GuestRunner {
    /// A wasmtime store for one instance (once a slot is free, if pooled):
    /// its WASI context, its stores, its memory budget, and an epoch
    /// callback that yields at every tick and stops the guest when
    /// interrupted or past `limits.timeout` (returned as a [`Limiter`] for
    /// the waits).
    async fn store(&self, wasi: WasiCtx, kv: KvCtx, limits: &GuestLimits) -> (Store<GuestState>, Limiter) {
        let slot = match &self.slots {
            Some(slots) => Some(slots.clone().acquire_owned().await.expect("the slots are never closed")),
            None => None,
        };
        let memory = MemoryBudget::new(limits.max_memory.unwrap_or(DEFAULT_MAX_MEMORY));
        let state = GuestState {
            wasi,
            table: ResourceTable::new(),
            kv,
            memory,
            #[cfg(feature = "serve")]
            http: http::HttpState::default(),
            _slot: slot,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);

        // A computing guest meets its limits at an epoch tick, and yields
        // there; a guest waiting on a store meets them in `Limiter::run`.
        let deadline = limits.timeout.map(|t| (Instant::now() + t, t));
        let stopped = self.interrupted.subscribe();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| match Stopped::why(*stopped.borrow(), deadline) {
            Some(why) => Err(wasmtime::Error::new(why)),
            None => Ok(UpdateDeadline::Yield(1)),
        });
        (store, Limiter { interrupted: self.interrupted.subscribe(), deadline })
    }
}

/// The limits a guest meets while it waits: the runner's interrupt and its
/// deadline.
struct Limiter {
    interrupted: tokio::sync::watch::Receiver<bool>,
    deadline: Deadline,
}

impl Limiter {
    /// Run `guest` until it ends, the runner is interrupted, or the deadline
    /// passes while it waits; the last two end it with a [`Stopped`] error.
    async fn run<T>(self, guest: impl Future<Output = wasmtime::Result<T>>) -> wasmtime::Result<T> {
        let Self { mut interrupted, deadline } = self;
        let limit = async {
            let timed_out = async {
                match deadline {
                    Some((at, limit)) => {
                        tokio::time::sleep_until(at.into()).await;
                        limit
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = interrupted.wait_for(|stop| *stop) => Stopped::Interrupted,
                limit = timed_out => Stopped::OverTime(limit),
            }
        };
        tokio::select! {
            result = guest => result,
            why = limit => Err(wasmtime::Error::new(why)),
        }
    }
}

/// When a guest must stop by, and its time limit.
type Deadline = Option<(Instant, Duration)>;

/// Why the runner stopped a guest that had not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Stopped {
    #[error("guest interrupted")]
    Interrupted,
    #[error("guest exceeded its time limit of {} (limits.timeout)", humantime::format_duration(*.0))]
    OverTime(Duration),
}

impl Stopped {
    /// Why a guest must stop now, if it must: interrupted, or past its deadline.
    fn why(interrupted: bool, deadline: Deadline) -> Option<Self> {
        match deadline {
            _ if interrupted => Some(Self::Interrupted),
            Some((at, limit)) if Instant::now() >= at => Some(Self::OverTime(limit)),
            _ => None,
        }
    }

    /// The reason `e` carries, if the runner stopped the guest.
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    pub(crate) fn of(e: &wasmtime::Error) -> Option<Self> {
        e.chain().find_map(|c| c.downcast_ref::<Self>()).copied()
    }
}

/// One line that says why guest `name` stopped: out of memory, a trap, a
/// limit or an interrupt. The wasm backtrace goes to the debug log.
fn failure(name: &str, e: wasmtime::Error, memory_refusal: Option<String>) -> anyhow::Error {
    tracing::debug!(guest = name, "guest failed: {e:?}");
    let why = match (memory_refusal, e.downcast_ref::<wasmtime::Trap>()) {
        (Some(refusal), _) => format!("{refusal} (then: {})", e.root_cause()),
        (None, Some(trap)) => trap.to_string(),
        (None, None) => e.root_cause().to_string(),
    };
    anyhow::anyhow!("guest {name} failed: {why}")
}

impl Drop for GuestRunner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}
