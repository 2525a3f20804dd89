//! [`GuestRunner`]: one wasmtime engine with WASI 0.2 and kvhost linked,
//! which compiles components and makes their instances' stores.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;

use super::component_cache::{ComponentCache, Source};
use super::diagnose;
use super::limits::{GuestLimits, Stopped, Watchdog, deadline};
use super::memory_budget::{DEFAULT_MAX_MEMORY, MemoryBudget};
use super::state::GuestState;
use super::ticker::Ticker;
use crate::access::KvCtx;
use crate::interfaces::KvView;

/// Compiles and runs guest components, each run a future to await on a tokio
/// runtime (multi-thread or current-thread). One per host; cheap to share by
/// reference.
pub struct GuestRunner {
    pub(super) engine: Engine,
    pub(super) linker: Linker<GuestState>,
    interrupted: tokio::sync::watch::Sender<bool>,
    cache: Option<ComponentCache>,
    /// With the pooling allocator: one permit per place in the pool, held by
    /// each instance's store.
    pool: Option<Arc<tokio::sync::Semaphore>>,
    _ticker: Ticker,
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
        Self::with_config(&Self::config(), None)
    }

    /// Like [`GuestRunner::new`], with wasmtime's pooling allocator sized for
    /// `instances` guests running at once; more wait for a free place.
    /// Instantiation reuses memory instead of mapping fresh memory each
    /// time, which is what keeps many short instances (one per HTTP request,
    /// one per watched change) cheap.
    pub fn pooled(instances: u32) -> anyhow::Result<Self> {
        let mut config = Self::config();
        config.allocation_strategy(pooling(instances));
        Self::with_config(&config, Some(instances))
    }

    fn with_config(config: &Config, pooled: Option<u32>) -> anyhow::Result<Self> {
        let engine = Engine::new(config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        #[cfg(feature = "serve")]
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::interfaces::add_to_linker_async(&mut linker, |s: &mut GuestState| KvView::new(&s.kv, &mut s.table))?;
        let ticker = Ticker::start(&engine)?;
        let (interrupted, _) = tokio::sync::watch::channel(false);
        let pool = pooled.map(|n| Arc::new(tokio::sync::Semaphore::new(n as usize)));
        Ok(Self { engine, linker, interrupted, cache: None, pool, _ticker: ticker })
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
            diagnose::check_is_component(&bytes)?;
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
    pub async fn load_async(self: &Arc<Self>, path: impl Into<PathBuf>) -> anyhow::Result<Component> {
        let (loader, path) = (self.clone(), path.into());
        tokio::task::spawn_blocking(move || loader.load(&path)).await.context("compiling the component failed")?
    }

    /// Stop every running and future guest of this runner ("interrupted"),
    /// whether it is computing or waiting on a store.
    pub fn interrupt(&self) {
        self.interrupted.send_replace(true);
    }

    /// A wasmtime store for one instance (once a place in the pool is free,
    /// if pooled): its WASI context, its stores, its memory budget, and an
    /// epoch callback that yields at every tick and stops the guest when
    /// interrupted or past `limits.timeout`; with the [`Watchdog`] that
    /// stops it the same way while it waits.
    pub(super) async fn instance(
        &self,
        wasi: WasiCtx,
        kv: KvCtx,
        limits: &GuestLimits,
    ) -> (Store<GuestState>, Watchdog) {
        let pool_place = match &self.pool {
            Some(pool) => Some(pool.clone().acquire_owned().await.expect("the pool's semaphore is never closed")),
            None => None,
        };
        let state = GuestState {
            wasi,
            table: ResourceTable::new(),
            kv,
            memory: MemoryBudget::new(limits.max_memory.unwrap_or(DEFAULT_MAX_MEMORY)),
            #[cfg(feature = "serve")]
            http: Default::default(),
            _pool_place: pool_place,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);

        // A computing guest meets its limits at an epoch tick, and yields
        // there; a guest waiting on a store meets them in the watchdog.
        let deadline = deadline(limits);
        let stopped = self.interrupted.subscribe();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| match Stopped::why(*stopped.borrow(), deadline) {
            Some(why) => Err(wasmtime::Error::new(why)),
            None => Ok(UpdateDeadline::Yield(1)),
        });
        (store, Watchdog { interrupted: self.interrupted.subscribe(), deadline })
    }
}

/// wasmtime's pooling allocator with room for `instances` component
/// instances and the core instances, memories and tables they hold.
fn pooling(instances: u32) -> wasmtime::InstanceAllocationStrategy {
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(8));
    wasmtime::InstanceAllocationStrategy::Pooling(pool)
}
