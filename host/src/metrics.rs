//! Prometheus metrics: store operations, watchers' changes and calls, and
//! HTTP requests, as text for a `/metrics` endpoint.
//!
//! Recording is off until a [`Metrics`] is given to a catalog
//! ([`crate::Catalog::with_metrics`], [`crate::HostBuilder::metrics`]) or an
//! HTTP server; without one an operation pays one branch.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::backend::Store;

/// One set of metrics, shared by every store and server that records into
/// it. Cloning is cheap and shares the same set.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    store_ops: Family<OpLabels, Counter>,
    store_seconds: Family<StoreOpLabels, Histogram, fn() -> Histogram>,
    store_entries: Family<StoreLabels, Gauge>,
    watch_events: Family<WatchLabels, Counter>,
    watcher_calls: Family<CallLabels, Counter>,
    /// Stores that count their entries, read when the metrics are encoded.
    counted: Mutex<Vec<(String, Weak<dyn Store>)>>,
    // Recorded by HTTP servers (the `serve` feature); registered either way.
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    http_requests: Family<RequestLabels, Counter>,
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    http_in_flight: Family<ComponentLabels, Gauge>,
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    http_seconds: Family<ComponentLabels, Histogram, fn() -> Histogram>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    store: String,
    op: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreOpLabels {
    store: String,
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    store: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WatchLabels {
    store: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    component: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    component: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: String,
}

/// Latency buckets from 1 µs to about 4 s, by factors of 4.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(1e-6, 4.0, 12))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// An empty set, every family registered under the prefix `kvhost`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kvhost");
        let store_ops = Family::default();
        let store_seconds = Family::new_with_constructor(latency as fn() -> Histogram);
        let store_entries = Family::default();
        let watch_events = Family::default();
        let watcher_calls = Family::default();
        let http_requests = Family::default();
        let http_in_flight = Family::default();
        let http_seconds = Family::new_with_constructor(latency as fn() -> Histogram);
        registry.register("store_operations", "Store operations by store, operation and outcome", store_ops.clone());
        registry.register(
            "store_operation_seconds",
            "Time from the call to the result, limits and waiting for a permit included",
            store_seconds.clone(),
        );
        registry.register(
            "store_entries",
            "Entries a memory store holds (expired ones until cleanup purges them)",
            store_entries.clone(),
        );
        registry.register(
            "watch_events",
            "Changes given to watchers (delivered), and changes they missed: queue overflows (missed) \
             and losses of a store's server connection (lost)",
            watch_events.clone(),
        );
        registry.register(
            "watcher_calls",
            "Calls of watcher components (on-set, on-delete), by component and outcome: ok, trap, timeout, \
             interrupted",
            watcher_calls.clone(),
        );
        registry.register("http_requests", "HTTP requests answered, by component and status", http_requests.clone());
        registry.register("http_requests_in_flight", "HTTP requests being answered now", http_in_flight.clone());
        registry.register(
            "http_request_seconds",
            "Time from a request to its response head: the instance's set-up and the handler's work",
            http_seconds.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            store_ops,
            store_seconds,
            store_entries,
            watch_events,
            watcher_calls,
            counted: Mutex::new(Vec::new()),
            http_requests,
            http_in_flight,
            http_seconds,
        }))
    }

    /// Everything recorded, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let inner = &self.0;
        let mut counted = inner.counted.lock().unwrap_or_else(|e| e.into_inner());
        counted.retain(|(id, store)| match store.upgrade().and_then(|s| s.entries()) {
            Some(n) => {
                inner.store_entries.get_or_create(&StoreLabels { store: id.clone() }).set(n as i64);
                true
            }
            None => {
                inner.store_entries.remove(&StoreLabels { store: id.clone() });
                false
            }
        });
        drop(counted);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &inner.registry).expect("writing to a String");
        text
    }

    /// Start reading `store`'s entry count, if it keeps one.
    pub(crate) fn count_entries(&self, store: &Arc<dyn Store>) {
        if store.entries().is_some() {
            let mut counted = self.0.counted.lock().unwrap_or_else(|e| e.into_inner());
            counted.push((store.info().id.clone(), Arc::downgrade(store)));
        }
    }

    /// Record one store operation.
    pub(crate) fn store_op(&self, store: &str, op: &'static str, outcome: &'static str, took: Duration) {
        let labels = OpLabels { store: store.to_owned(), op, outcome };
        self.0.store_ops.get_or_create(&labels).inc();
        let labels = StoreOpLabels { store: labels.store, op };
        self.0.store_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// `n` changes of `store` had this `outcome` for a watcher.
    pub(crate) fn watch_event(&self, store: &str, outcome: &'static str, n: u64) {
        self.0.watch_events.get_or_create(&WatchLabels { store: store.to_owned(), outcome }).inc_by(n);
    }

    /// One call of watcher `component` ended with `outcome`.
    pub(crate) fn watcher_call(&self, component: &str, outcome: &'static str) {
        self.0.watcher_calls.get_or_create(&CallLabels { component: component.to_owned(), outcome }).inc();
    }

    /// A request to `component` begins: counted in flight until the
    /// returned guard is finished or dropped.
    #[cfg(feature = "serve")]
    pub(crate) fn http_request(&self, component: &str) -> RequestGuard {
        let labels = ComponentLabels { component: component.to_owned() };
        self.0.http_in_flight.get_or_create(&labels).inc();
        RequestGuard { metrics: self.clone(), labels, started: std::time::Instant::now() }
    }
}

/// An HTTP request being answered; see `Metrics::http_request`.
#[cfg(feature = "serve")]
pub(crate) struct RequestGuard {
    metrics: Metrics,
    labels: ComponentLabels,
    started: std::time::Instant,
}

#[cfg(feature = "serve")]
impl RequestGuard {
    /// The request was answered with `status`.
    pub(crate) fn finish(self, status: u16) {
        let inner = &self.metrics.0;
        inner.http_seconds.get_or_create(&self.labels).observe(self.started.elapsed().as_secs_f64());
        let labels = RequestLabels { component: self.labels.component.clone(), status };
        inner.http_requests.get_or_create(&labels).inc();
    }
}

#[cfg(feature = "serve")]
impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.metrics.0.http_in_flight.get_or_create(&self.labels).dec();
    }
}
