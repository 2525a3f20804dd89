//! Watcher guests: components that export `wasi:keyvalue/watcher`
//! (`0.2.0-draft2`, Spin's, or `0.2.0-draft`, wasmtime's; world
//! `watch-service`), called once per change to the keys they watch, each call
//! in a fresh instance within the guest's limits.
//!
//! [`GuestRunner::prepare_watcher`] links a component once and finds which
//! draft it exports; [`GuestRunner::call_watcher`] makes one call;
//! [`WatcherPrepared::deliver`] reads a [`Watch`] and calls the guest for each
//! change, one at a time, so that the changes to a key arrive in the order
//! they were made. A call that traps or runs over its time fails alone: it
//! is logged and counted, and the next change is delivered.

use wasmtime::component::{Component, Resource};
use wasmtime_wasi::WasiCtx;

use super::diagnose::{self, failure};
use super::limits::{GuestLimits, Stopped};
use super::runner::GuestRunner;
use super::state::GuestState;
use crate::access::{Bucket, KvCtx};
use crate::metrics::Metrics;
use crate::watch::{Event, Watch};

/// Bindings for the `watch-service` world of each draft: only the export is
/// generated; the store, atomics and batch imports are the host's own
/// (`crate::interfaces`), so `bucket` is the same resource in both.
mod bindings {
    pub(super) mod draft2 {
        wasmtime::component::bindgen!({
            path: "wit",
            world: "wasi:keyvalue/watch-service@0.2.0-draft2",
            exports: { default: async },
            with: {
                "wasi:keyvalue/store@0.2.0-draft2": crate::interfaces::bindings::wasi::keyvalue0_2_0_draft2::store,
                "wasi:keyvalue/atomics@0.2.0-draft2": crate::interfaces::bindings::wasi::keyvalue0_2_0_draft2::atomics,
                "wasi:keyvalue/batch@0.2.0-draft2": crate::interfaces::bindings::wasi::keyvalue0_2_0_draft2::batch,
            },
            require_store_data_send: true,
        });
    }

    pub(super) mod draft {
        wasmtime::component::bindgen!({
            path: "wit",
            world: "wasi:keyvalue/watch-service@0.2.0-draft",
            exports: { default: async },
            with: {
                "wasi:keyvalue/store@0.2.0-draft": crate::interfaces::bindings::wasi::keyvalue0_2_0_draft::store,
                "wasi:keyvalue/atomics@0.2.0-draft": crate::interfaces::bindings::wasi::keyvalue0_2_0_draft::atomics,
                "wasi:keyvalue/batch@0.2.0-draft": crate::interfaces::bindings::wasi::keyvalue0_2_0_draft::batch,
            },
            require_store_data_send: true,
        });
    }
}

/// The draft a watcher exports.
#[derive(Clone)]
enum Exports {
    Draft2(bindings::draft2::WatchServicePre<GuestState>),
    Draft(bindings::draft::WatchServicePre<GuestState>),
}

/// A watcher component linked against kvhost and WASI, ready to instantiate
/// per change. Cloning is cheap and shares the compiled code.
#[derive(Clone)]
pub struct WatcherPrepared(Exports);

/// How one call of a watcher ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// `on-set` or `on-delete` returned.
    Ok,
    /// The guest trapped, or ran out of memory.
    Trap,
    /// The guest ran past its `limits.timeout`.
    Timeout,
    /// The runner was interrupted (the host is shutting down).
    Interrupted,
}

impl CallOutcome {
    /// As the metric `kvhost_watcher_calls_total` labels it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Trap => "trap",
            Self::Timeout => "timeout",
            Self::Interrupted => "interrupted",
        }
    }
}

/// What every call of one watcher component runs with.
#[derive(Debug, Clone)]
pub struct WatcherContext {
    /// The component's name (its registry ID), in logs, errors and metrics.
    pub name: String,
    /// Environment variables each instance sees.
    pub env: Vec<(String, String)>,
    /// The stores each instance may open.
    pub kv: KvCtx,
    /// Memory and time limits of each call.
    pub limits: GuestLimits,
    /// Where calls are counted (`kvhost_watcher_calls_total`), if anywhere.
    pub metrics: Option<Metrics>,
}

impl WatcherPrepared {
    /// The `wasi:keyvalue` draft the component exports its watcher in:
    /// `0.2.0-draft2` or `0.2.0-draft`.
    pub fn draft(&self) -> &'static str {
        match self.0 {
            Exports::Draft2(_) => "0.2.0-draft2",
            Exports::Draft(_) => "0.2.0-draft",
        }
    }

    /// Call the guest for every change `watch` yields until it ends (its
    /// store stopped) or `stop` resolves (checked between calls, so a call in
    /// flight finishes), one change at a time, each with `bucket` (the
    /// watched store under the guest's grant). A failed call is logged
    /// (naming the component, store and key) and counted; missed changes
    /// are logged.
    pub async fn deliver(
        &self,
        runner: &GuestRunner,
        cx: &WatcherContext,
        bucket: &Bucket,
        mut watch: Watch,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let component = cx.name.as_str();
        let store = watch.store().to_owned();
        let mut stop = std::pin::pin!(stop);
        loop {
            let event = tokio::select! {
                biased;
                () = &mut stop => return,
                event = watch.next() => event,
            };
            let Some(event) = event else {
                tracing::info!(component, %store, "watcher: the watched store stopped");
                return;
            };
            if let Event::Missed { count } = event {
                let count = count.map_or_else(|| "an unknown number of".to_owned(), |n| n.to_string());
                tracing::warn!(component, %store, "watcher missed {count} changes (it fell behind, or the store's connection was lost)");
                continue;
            }
            let outcome = match runner.call_watcher(self, cx, bucket.clone(), &event).await {
                Ok(()) => CallOutcome::Ok,
                Err((outcome, e)) => {
                    let key = event.key().unwrap_or_default();
                    tracing::warn!(component, %store, key, outcome = outcome.as_str(), "watcher call failed: {e:#}");
                    outcome
                }
            };
            if let Some(m) = &cx.metrics {
                m.watcher_call(component, outcome.as_str());
            }
        }
    }
}

impl GuestRunner {
    /// Link a watcher component (one that exports `wasi:keyvalue/watcher`
    /// of either draft) once, so that each change only instantiates it.
    pub fn prepare_watcher(&self, component: &Component) -> anyhow::Result<WatcherPrepared> {
        let pre = self.linker.instantiate_pre(component).map_err(diagnose::link_error)?;
        if let Ok(p) = bindings::draft2::WatchServicePre::new(pre.clone()) {
            return Ok(WatcherPrepared(Exports::Draft2(p)));
        }
        if let Ok(p) = bindings::draft::WatchServicePre::new(pre) {
            return Ok(WatcherPrepared(Exports::Draft(p)));
        }
        Err(diagnose::not_runnable(&self.engine, component, "wasi:keyvalue/watcher@0.2.0-draft2 (or @0.2.0-draft)"))
    }

    /// Call `on-set` or `on-delete` of a fresh instance of `guest` that may
    /// open the stores `cx.kv` grants, within `cx.limits`, with `bucket` as
    /// the changed store. [`Event::Missed`] calls nothing. On failure, how
    /// it failed and why. (Not counted in `cx.metrics`: that is
    /// [`WatcherPrepared::deliver`]'s.)
    pub async fn call_watcher(
        &self,
        guest: &WatcherPrepared,
        cx: &WatcherContext,
        bucket: Bucket,
        event: &Event,
    ) -> Result<(), (CallOutcome, anyhow::Error)> {
        let name = cx.name.as_str();
        let (key, value) = match event {
            Event::Set { key, value } => (key.as_str(), Some(value.as_slice())),
            Event::Delete { key } => (key.as_str(), None),
            _ => return Ok(()),
        };
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr().envs(&cx.env);
        let (mut store, watchdog) = self.instance(wasi.build(), cx.kv.clone(), &cx.limits).await;
        let handle: Resource<Bucket> = match store.data_mut().table.push(bucket) {
            Ok(h) => h,
            Err(e) => return Err((CallOutcome::Trap, anyhow::anyhow!("cannot hand the bucket to {name}: {e}"))),
        };
        let call = async {
            match &guest.0 {
                Exports::Draft2(pre) => {
                    let w = pre.instantiate_async(&mut store).await?;
                    let w = w.wasi_keyvalue0_2_0_draft2_watcher();
                    match value {
                        Some(value) => w.call_on_set(&mut store, handle, key, value).await,
                        None => w.call_on_delete(&mut store, handle, key).await,
                    }
                }
                Exports::Draft(pre) => {
                    let w = pre.instantiate_async(&mut store).await?;
                    let w = w.wasi_keyvalue0_2_0_draft_watcher();
                    match value {
                        Some(value) => w.call_on_set(&mut store, handle, key, value).await,
                        None => w.call_on_delete(&mut store, handle, key).await,
                    }
                }
            }
        };
        watchdog.run(call).await.map_err(|e| {
            let outcome = match Stopped::of(&e) {
                Some(Stopped::OverTime(_)) => CallOutcome::Timeout,
                Some(Stopped::Interrupted) => CallOutcome::Interrupted,
                None => CallOutcome::Trap,
            };
            (outcome, failure(name, e, store.data().memory.refusal()))
        })
    }
}
